package status

import (
	"runtime/debug"
	"time"
)

// An Option configures a [Service].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	version string
	start   time.Time
}

func newConfig(opts []Option) *config {
	cfg := &config{}
	for _, opt := range opts {
		opt.apply(cfg)
	}
	if cfg.version == "" {
		cfg.version = buildVersion()
	}
	if cfg.start.IsZero() {
		cfg.start = time.Now()
	}
	return cfg
}

// WithVersion sets the version GetStatus reports, such as the release
// version stamped into a binary. The default, also restored by "", is the
// main module's version in the build information: "v1.2.3" for go install
// of a release, "(devel)" for a build from a checkout.
func WithVersion(version string) Option {
	return optionFunc(func(c *config) { c.version = version })
}

// WithStartTime sets the start time GetStatus reports. The default, also
// restored by the zero time, is the time of [New].
func WithStartTime(t time.Time) Option {
	return optionFunc(func(c *config) { c.start = t })
}

// buildVersion is the main module's version, or "(devel)" when unknown.
func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}
