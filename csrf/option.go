package csrf

import "log/slog"

// An Option configures a [Guard].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	logger *slog.Logger
}

// WithLogger sets the logger of refusals, logged at [slog.LevelWarn] with
// the procedure, the Origin and the Sec-Fetch-Site header. The default is
// [slog.Default]; a nil logger disables logging.
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if logger == nil {
			logger = slog.New(slog.DiscardHandler)
		}
		c.logger = logger
	})
}
