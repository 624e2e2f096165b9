package gateway

import "log/slog"

// An Option configures a [Gateway].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	logger     *slog.Logger
	bindings   []binding
	observer   Observer
	reportOnly []reportOnlyOverride
	counting   bool
}

// binding adds origins to a named origin set, as a deployment configures it.
type binding struct {
	set     string
	source  string
	origins []string
}

// WithOriginSet adds origins to the origin set named set, for every procedure
// whose policy names that set. Origins follow the rules of the proto option
// (exact origins or one-label wildcards, no public suffixes); source names
// where they come from, such as the environment variable, and appears in
// errors. [New] fails if no policy names the set or an origin is invalid,
// even with no origins. Calling it again adds more.
func WithOriginSet(set, source string, origins ...string) Option {
	return optionFunc(func(c *config) {
		c.bindings = append(c.bindings, binding{set: set, source: source, origins: origins})
	})
}

// WithLogger sets the logger for CORS decisions: refusals are logged at
// [slog.LevelWarn] with the procedure, origin and reason, approved
// preflights at [slog.LevelDebug]. The default is
// [slog.Default]. A nil logger disables logging.
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if logger == nil {
			logger = slog.New(slog.DiscardHandler)
		}
		c.logger = logger
	})
}
