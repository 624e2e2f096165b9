package session

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// The bounds and default of a session's lifetime ([WithTTL]).
const (
	DefaultTTL = 12 * time.Hour
	MinTTL     = time.Minute
	// MaxTTL is two weeks, as for Firebase session cookies.
	MaxTTL = 14 * 24 * time.Hour
)

// An Option configures a [Service].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	ttl      time.Duration
	sameSite http.SameSite
	logger   *slog.Logger
	now      func() time.Time
}

func newConfig(opts []Option) *config {
	cfg := &config{ttl: DefaultTTL, sameSite: http.SameSiteLaxMode}
	for _, opt := range opts {
		opt.apply(cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	return cfg
}

// WithTTL sets how long a session lasts from its creation; the cookie's
// Max-Age says the same. The default is [DefaultTTL]; [New] panics if d is
// outside [MinTTL, MaxTTL].
func WithTTL(d time.Duration) Option {
	return optionFunc(func(c *config) { c.ttl = d })
}

// WithSameSite sets the cookie's SameSite attribute: [http.SameSiteLaxMode]
// (the default), [http.SameSiteStrictMode] or [http.SameSiteNoneMode]. [New]
// panics on any other value. Lax fits the recommended deployment, the API
// on a subdomain of the frontend's site (api.example.com for
// app.example.com): the cookie goes with same-site fetches, not with
// cross-site subrequests. None is for an API on another site, where most
// browsers block the cookie anyway as a third-party cookie.
func WithSameSite(mode http.SameSite) Option {
	return optionFunc(func(c *config) { c.sameSite = mode })
}

// ParseSameSite parses "lax", "strict" or "none", in any case, for
// [WithSameSite].
func ParseSameSite(s string) (http.SameSite, error) {
	switch strings.ToLower(s) {
	case "lax":
		return http.SameSiteLaxMode, nil
	case "strict":
		return http.SameSiteStrictMode, nil
	case "none":
		return http.SameSiteNoneMode, nil
	}
	return 0, fmt.Errorf("SameSite %q: want lax, strict or none", s)
}

// WithLogger sets the logger that records the causes of internal errors.
// The default, also restored by nil, is [slog.Default] at the time of [New].
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = logger })
}

// WithClock sets the clock of creation and expiry; it must be safe for
// concurrent use. The default, also restored by nil, is [time.Now].
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.now = now })
}
