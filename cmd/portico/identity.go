package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/internal/app"
	"github.com/portico-dev/portico/session"
)

// authVars names the environment variable of each app.AuthConfig field, for
// error messages.
var authVars = map[string]string{
	"Env":        "PORTICO_ENV",
	"Issuer":     "PORTICO_AUTH_ISSUER",
	"Audience":   "PORTICO_AUTH_AUDIENCE",
	"JWKSURL":    "PORTICO_AUTH_JWKS_URL",
	"Algorithms": "PORTICO_AUTH_ISSUER",
	"SessionTTL": "PORTICO_SESSION_TTL",
}

// isIdentityVar reports whether key configures identity: setIdentity reads
// it.
func isIdentityVar(key string) bool {
	return key == "PORTICO_ENV" || key == "PORTICO_SECURITY_HEADERS" || key == "K_SERVICE" ||
		strings.HasPrefix(key, "PORTICO_AUTH_") || strings.HasPrefix(key, "PORTICO_SESSION_")
}

// setIdentity reads one identity variable into cfg. Unknown PORTICO_AUTH_
// and PORTICO_SESSION_ variables are errors: a misspelt security setting
// must not be silently ignored.
func (cfg *config) setIdentity(key, value string) error {
	if value == "" && key != "K_SERVICE" {
		return fmt.Errorf("%s is empty: unset it for the default, or give a value", key)
	}
	switch key {
	case "K_SERVICE":
		// Cloud Run sets K_SERVICE to the service's name.
		cfg.onCloudRun = value != ""
	case "PORTICO_ENV":
		cfg.auth.Env = app.Env(value)
		cfg.envSet = true
	case "PORTICO_AUTH_ISSUER":
		cfg.auth.Issuer = value
	case "PORTICO_AUTH_AUDIENCE":
		cfg.auth.Audience = value
	case "PORTICO_AUTH_JWKS_URL":
		cfg.auth.JWKSURL = value
	case "PORTICO_SESSION_TTL":
		d, err := time.ParseDuration(value)
		if err != nil {
			return fmt.Errorf("PORTICO_SESSION_TTL=%q: want a duration from %v to %v, such as 12h", value, session.MinTTL, session.MaxTTL)
		}
		cfg.auth.SessionTTL = d // range checked with the rest
	case "PORTICO_SESSION_SAMESITE":
		mode, err := session.ParseSameSite(value)
		if err != nil {
			return fmt.Errorf("PORTICO_SESSION_SAMESITE=%q: want lax (the default), strict or none", value)
		}
		cfg.auth.SessionSameSite = mode
	case "PORTICO_SECURITY_HEADERS":
		switch value {
		case "on":
			cfg.disableSecurityHeaders = false
		case "off":
			cfg.disableSecurityHeaders = true
		default:
			return fmt.Errorf("PORTICO_SECURITY_HEADERS=%q: want on (the default) or off", value)
		}
	default:
		return fmt.Errorf("%s: unknown variable (known: PORTICO_ENV, PORTICO_AUTH_ISSUER, PORTICO_AUTH_AUDIENCE, PORTICO_AUTH_JWKS_URL, PORTICO_SESSION_TTL, PORTICO_SESSION_SAMESITE, PORTICO_SECURITY_HEADERS)", key)
	}
	return nil
}

// checkIdentity reports what app.AuthConfig.Check finds, each error naming
// its variable; and refuses the implicit development mode on Cloud Run.
func (cfg *config) checkIdentity() error {
	var errs []error
	for _, err := range flatten(cfg.auth.Check()) {
		var ce *auth.ConfigError
		if errors.As(err, &ce) {
			if name, ok := authVars[ce.Field]; ok {
				if ce.Value == "" {
					errs = append(errs, fmt.Errorf("%s: %w", name, ce.Err))
				} else {
					errs = append(errs, fmt.Errorf("%s=%q: %w", name, ce.Value, ce.Err))
				}
				continue
			}
		}
		errs = append(errs, err)
	}
	if cfg.onCloudRun && !cfg.envSet && cfg.auth.Issuer == "" {
		errs = append(errs, errors.New("on Cloud Run (K_SERVICE is set) with no PORTICO_AUTH_ISSUER: "+
			"set PORTICO_AUTH_ISSUER and PORTICO_AUTH_AUDIENCE, or PORTICO_ENV=dev to accept development tokens on purpose"))
	}
	return errors.Join(errs...)
}

// flatten unwraps nested errors.Join results.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}

// devToken runs `portico dev-token --sub <subject> [--ttl 1h]`: it prints a
// development token signed with the key in PORTICO_DATA_DIR, creating the
// key if needed, for a server in the development environment.
func devToken(args, environ []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("portico dev-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sub := fs.String("sub", "", "the token's subject, matching ^[a-z0-9][a-z0-9_-]{0,63}$ (required)")
	ttl := fs.Duration("ttl", time.Hour, fmt.Sprintf("the token's lifetime, at most %v", auth.MaxDevTokenTTL))
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: portico dev-token --sub <subject> [--ttl 1h]\n\n"+
			"Prints a development token for a portico in the dev environment that uses the same\n"+
			"PORTICO_DATA_DIR. Refused when PORTICO_ENV is prod (the default with PORTICO_AUTH_ISSUER).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *sub == "" {
		fs.Usage()
		return 2
	}
	cfg, err := parseConfig(environ)
	if err != nil {
		fmt.Fprintln(stderr, "portico dev-token:", err)
		return 1
	}
	if env := cfg.auth.ResolvedEnv(); env != app.EnvDev {
		why := "PORTICO_ENV=" + string(env)
		if !cfg.envSet {
			why = "the default with PORTICO_AUTH_ISSUER"
		}
		fmt.Fprintf(stderr, "portico dev-token: refused: the environment is %s (%s); development tokens are only accepted with PORTICO_ENV=dev\n", env, why)
		return 1
	}
	if err := os.MkdirAll(cfg.dataDir, 0o700); err != nil {
		fmt.Fprintf(stderr, "portico dev-token: PORTICO_DATA_DIR=%q: %v\n", cfg.dataDir, err)
		return 1
	}
	signer, err := auth.LoadDevSigner(cfg.dataDir)
	if err != nil {
		fmt.Fprintln(stderr, "portico dev-token:", err)
		return 1
	}
	token, err := signer.Token(*sub, *ttl)
	if err != nil {
		fmt.Fprintln(stderr, "portico dev-token:", err)
		return 2
	}
	fmt.Fprintln(stdout, token)
	return 0
}
