package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"connectrpc.com/connect"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/csrf"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	sessionv1 "github.com/portico-dev/portico/gen/portico/session/v1"
	"github.com/portico-dev/portico/gen/portico/session/v1/sessionv1connect"
	statusv1 "github.com/portico-dev/portico/gen/portico/status/v1"
	"github.com/portico-dev/portico/gen/portico/status/v1/statusv1connect"
	"github.com/portico-dev/portico/internal/corsconfig"
	"github.com/portico-dev/portico/internal/securityheaders"
	"github.com/portico-dev/portico/session"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// An Env is the name of the deployment environment: "dev", "staging",
// "prod" or any other. It selects the environment's section of the
// deployment configuration, and decides whether development tokens are
// accepted: only in EnvDev.
type Env string

const (
	// EnvDev accepts development tokens, signed with a key kept in the data
	// directory (`portico dev-token`), next to the tokens of the configured
	// issuer, if any.
	EnvDev Env = "dev"
	// EnvProd accepts only the tokens of the configured issuer, which it
	// requires, as every environment but EnvDev does.
	EnvProd Env = "prod"
)

// AuthConfig configures who may call the services. The zero AuthConfig is
// the development mode with no issuer: only development tokens.
type AuthConfig struct {
	// Env is the environment's name. Empty means EnvProd if Issuer is set, else
	// EnvDev: a deployment that names its issuer never accepts development
	// tokens unless it asks for them.
	Env Env
	// Issuer, Audience and JWKSURL configure the OpenID Connect issuer, as
	// auth.OIDCConfig does. Audience is required with Issuer; an empty
	// JWKSURL means discovery, at start-up.
	Issuer, Audience, JWKSURL string
	// HTTPClient fetches the issuer's discovery document and keys; nil
	// means a client with a 10s timeout.
	HTTPClient *http.Client
	// SessionTTL is the lifetime of a session cookie; zero means
	// session.DefaultTTL (12h).
	SessionTTL time.Duration
	// SessionSameSite is the cookie's SameSite attribute; zero means Lax,
	// for the recommended deployment (the API on a subdomain of the
	// frontend's site).
	SessionSameSite http.SameSite
}

// ResolvedEnv returns the environment c selects: Env, or its default.
func (c AuthConfig) ResolvedEnv() Env {
	switch {
	case c.Env != "":
		return c.Env
	case c.Issuer != "":
		return EnvProd
	}
	return EnvDev
}

// Check reports what is wrong with c, without network access: one
// [*auth.ConfigError] per problem, whose Field names the AuthConfig field
// (Env, Issuer, Audience, JWKSURL or SessionTTL), joined with errors.Join.
func (c AuthConfig) Check() error {
	var errs []error
	switch env := c.ResolvedEnv(); {
	case !corsconfig.ValidEnvName(string(env)):
		errs = append(errs, &auth.ConfigError{Field: "Env", Value: string(c.Env),
			Err: errors.New("want an environment name such as dev, staging or prod: lower case letters, digits and hyphens, starting with a letter, at most 32 bytes")})
	case env != EnvDev && c.Issuer == "":
		errs = append(errs, &auth.ConfigError{Field: "Env", Value: string(env),
			Err: fmt.Errorf("an Issuer is required: development tokens are only accepted in dev, not in %s", env)})
	}
	switch {
	case c.Issuer != "":
		errs = append(errs, c.oidc().Check())
	case c.Audience != "":
		errs = append(errs, &auth.ConfigError{Field: "Audience", Value: c.Audience, Err: errors.New("needs an Issuer")})
	case c.JWKSURL != "":
		errs = append(errs, &auth.ConfigError{Field: "JWKSURL", Value: c.JWKSURL, Err: errors.New("needs an Issuer")})
	}
	if c.SessionTTL != 0 && (c.SessionTTL < session.MinTTL || c.SessionTTL > session.MaxTTL) {
		errs = append(errs, &auth.ConfigError{Field: "SessionTTL", Value: c.SessionTTL.String(),
			Err: fmt.Errorf("want %v to %v", session.MinTTL, session.MaxTTL)})
	}
	return errors.Join(errs...)
}

func (c AuthConfig) oidc() auth.OIDCConfig {
	return auth.OIDCConfig{Issuer: c.Issuer, Audience: c.Audience, JWKSURL: c.JWKSURL, HTTPClient: c.HTTPClient}
}

// anonymousProcedures may be called without credentials: the public read,
// and DeleteSession, so that a browser can drop a cookie that no longer
// works (it is HttpOnly: only the server can clear it).
var anonymousProcedures = []string{
	profilev1connect.ProfileServiceGetPublicProfileProcedure,
	sessionv1connect.SessionServiceDeleteSessionProcedure,
	statusv1connect.StatusServiceGetStatusProcedure,
}

// guardedServices are the services whose NO_SIDE_EFFECTS methods the
// cross-site request forgery guard leaves alone.
var guardedServices = []protoreflect.ServiceDescriptor{
	profilev1.File_portico_profile_v1_profile_proto.Services().ByName("ProfileService"),
	sessionv1.File_portico_session_v1_session_proto.Services().ByName("SessionService"),
	statusv1.File_portico_status_v1_status_proto.Services().ByName("StatusService"),
}

// identity is what authenticates callers: the token verifiers, the session
// store and service, and the interceptor that uses them.
type identity struct {
	interceptor connect.Interceptor
	sessions    *session.Service
	store       *session.SQLiteStore
}

// newIdentity builds the verifiers cfg.Auth names and opens the session
// store in cfg.DataDir.
func newIdentity(ctx context.Context, cfg Config, logger *slog.Logger) (*identity, error) {
	ac := cfg.Auth
	if err := ac.Check(); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if cfg.DataDir == "" {
		return nil, errors.New("auth: sessions and development keys need a data directory")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	var verifiers []auth.TokenVerifier
	if ac.Issuer != "" {
		v, err := auth.NewOIDCVerifier(ctx, ac.oidc())
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		verifiers = append(verifiers, v)
		logger.InfoContext(ctx, "auth: issuer trusted", "issuer", ac.Issuer, "audience", ac.Audience)
	}
	if ac.ResolvedEnv() == EnvDev {
		dev, err := auth.LoadDevSigner(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		verifiers = append(verifiers, dev)
		logger.WarnContext(ctx, "auth: development mode: tokens signed with the key in the data directory are accepted; set PORTICO_ENV=prod in deployments",
			"key", filepath.Join(cfg.DataDir, auth.DevKeyFile))
	}
	store, err := session.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "sessions.db"))
	if err != nil {
		return nil, err
	}
	opts := []session.Option{session.WithLogger(logger)}
	if ac.SessionTTL != 0 {
		opts = append(opts, session.WithTTL(ac.SessionTTL))
	}
	if ac.SessionSameSite != 0 {
		opts = append(opts, session.WithSameSite(ac.SessionSameSite))
	}
	sessions := session.New(store, opts...)
	return &identity{
		interceptor: auth.NewInterceptor(
			auth.AllowAnonymous(anonymousProcedures...),
			auth.WithTokenVerifiers(verifiers...),
			auth.WithSessions(sessions),
			auth.WithLogger(logger),
		),
		sessions: sessions,
		store:    store,
	}, nil
}

// guard returns the cross-site request forgery guard for the services
// mounted on gw.
func guard(allowed csrf.OriginPolicy, logger *slog.Logger) *csrf.Guard {
	return csrf.New(allowed, guardedServices, csrf.WithLogger(logger))
}

// secure wraps h with the security response headers unless disabled.
func secure(h http.Handler, disabled bool) http.Handler {
	if disabled {
		return h
	}
	return securityheaders.New()(h)
}

// Close closes the session store.
func (id *identity) Close() error { return id.store.Close() }
