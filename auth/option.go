package auth

// An Option configures the interceptor returned by [NewInterceptor].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	// anonymous holds the procedures that may be called without credentials.
	// By default there are none.
	anonymous map[string]struct{}
}

func newConfig(opts []Option) *config {
	cfg := &config{anonymous: make(map[string]struct{})}
	for _, opt := range opts {
		opt.apply(cfg)
	}
	return cfg
}

// AllowAnonymous lets requests without an Authorization header call the
// named procedures, for example
// profilev1connect.ProfileServiceGetPublicProfileProcedure
// ("/portico.profile.v1.ProfileService/GetPublicProfile"). Such requests
// proceed without a caller, so [CallerFrom] reports false.
//
// Procedures are compared exactly with [connectrpc.com/connect.Spec]
// Procedure. A request that does send an Authorization header is still
// authenticated, and refused if the header is invalid, even for these
// procedures. By default no procedure is anonymous; the option may be given
// more than once, and calling it with no procedures is a no-op.
func AllowAnonymous(procedures ...string) Option {
	return optionFunc(func(c *config) {
		for _, p := range procedures {
			c.anonymous[p] = struct{}{}
		}
	})
}
