package validation

import (
	"log/slog"

	"buf.build/go/protovalidate"
)

// An Option configures the interceptor returned by [NewInterceptor].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	// validator checks messages. By default NewInterceptor creates one with
	// protovalidate.New.
	validator protovalidate.Validator
	// logger records the causes of internal errors. By default slog.Default().
	logger *slog.Logger
}

func newConfig(opts []Option) *config {
	cfg := &config{}
	for _, opt := range opts {
		opt.apply(cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	return cfg
}

// WithValidator makes the interceptor use v instead of a validator of its
// own, for example one shared with other code or built with
// [protovalidate.ValidatorOption]s. A nil v restores the default.
func WithValidator(v protovalidate.Validator) Option {
	return optionFunc(func(c *config) { c.validator = v })
}

// WithLogger sets the logger that records why a message could not be
// validated; the client only learns "internal error". The default, also
// restored by a nil logger, is [slog.Default] at the time of [NewInterceptor].
// Violations are the client's mistake and are not logged.
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = logger })
}
