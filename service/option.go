package service

import (
	"log/slog"
	"time"
)

// An Option configures a [ProfileService].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	// logger records the causes of internal errors. By default slog.Default().
	logger *slog.Logger
	// now tells the time of a write. By default time.Now.
	now func() time.Time
	// watchInterval is how often WatchProfile polls the store. By default
	// defaultWatchInterval.
	watchInterval time.Duration
}

func newConfig(opts []Option) *config {
	cfg := &config{}
	for _, opt := range opts {
		opt.apply(cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.watchInterval <= 0 {
		cfg.watchInterval = defaultWatchInterval
	}
	return cfg
}

// WithLogger sets the logger that records the causes of internal errors,
// which clients only see as "internal error". The default, also restored by
// a nil logger, is [slog.Default] at the time of [New].
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = logger })
}

// WithClock sets the clock that timestamps writes; it must be safe for
// concurrent use. The default, also restored by nil, is [time.Now]. Times are
// stored in UTC, truncated to microseconds.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.now = now })
}

// WithWatchInterval sets how often WatchProfile polls the store for a new
// version. Polling, rather than an in-process notification, sees writes made
// by every instance sharing the store. The default is 250ms; zero or less
// restores it.
func WithWatchInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.watchInterval = d })
}
