package auth

import (
	"context"
	"log/slog"
)

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
	// verifiers check bearer tokens, by issuer. By default there are none,
	// and every bearer token is refused.
	verifiers byIssuer
	// sessions resolves session cookies. Nil (the default) ignores cookies.
	sessions SessionResolver
	// logger receives the causes of refusals at debug level. The default
	// discards them.
	logger *slog.Logger
}

func newConfig(opts []Option) *config {
	cfg := &config{
		anonymous: make(map[string]struct{}),
		verifiers: make(byIssuer),
		logger:    slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		opt.apply(cfg)
	}
	return cfg
}

// AllowAnonymous lets requests without credentials call the named
// procedures, for example
// profilev1connect.ProfileServiceGetPublicProfileProcedure
// ("/portico.profile.v1.ProfileService/GetPublicProfile"). Such requests
// proceed without a caller, so [CallerFrom] reports false.
//
// Procedures are compared exactly with [connectrpc.com/connect.Spec]
// Procedure. A request that does send an Authorization header is still
// authenticated, and refused if the header is invalid, even for these
// procedures; a session cookie that no longer resolves is ignored instead,
// since browsers send cookies without being asked. By default no procedure
// is anonymous; the option may be given more than once, and calling it with
// no procedures is a no-op.
func AllowAnonymous(procedures ...string) Option {
	return optionFunc(func(c *config) {
		for _, p := range procedures {
			c.anonymous[p] = struct{}{}
		}
	})
}

// WithTokenVerifiers trusts the bearer tokens that verifiers accept. A token
// goes to the verifier whose [TokenVerifier.Issuer] equals its "iss" claim;
// a token of any other issuer is refused. With no verifiers (the default),
// every bearer token is refused. The option may be given more than once; a
// later verifier for the same issuer replaces an earlier one. Nil verifiers
// are ignored.
func WithTokenVerifiers(verifiers ...TokenVerifier) Option {
	return optionFunc(func(c *config) {
		for _, v := range verifiers {
			if v != nil {
				c.verifiers[v.Issuer()] = v
			}
		}
	})
}

// A SessionResolver returns the caller of a session cookie's value, or an
// error if the session does not exist, has expired or was revoked. It must
// be safe for concurrent use. The session package's Service is one.
type SessionResolver interface {
	ResolveSession(ctx context.Context, value string) (Caller, error)
}

// WithSessions authenticates requests without an Authorization header by
// their [SessionCookie], through r. A request that sends both is
// authenticated by the Authorization header alone. By default (or with a
// nil r) cookies are ignored.
func WithSessions(r SessionResolver) Option {
	return optionFunc(func(c *config) { c.sessions = r })
}

// WithLogger logs why each request was refused (the verifier's error, which
// clients never see) at [slog.LevelDebug]. Nil, or the default, logs
// nothing.
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if logger != nil {
			c.logger = logger
		}
	})
}
