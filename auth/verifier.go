package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// A TokenVerifier checks the bearer tokens of one issuer. Implementations
// are safe for concurrent use.
type TokenVerifier interface {
	// Issuer returns the issuer identifier, which the "iss" claim of the
	// tokens this verifier accepts equals exactly.
	Issuer() string
	// Verify checks token and returns its caller, with Credential
	// [CredentialBearer]. The error of a refused token is for the server's
	// log; clients are only told that the token is invalid or expired.
	Verify(ctx context.Context, token string) (Caller, error)
}

// DefaultAlgorithms are the signature algorithms an [OIDCConfig] without
// Algorithms accepts: RS256, which every OpenID provider supports (OpenID
// Connect Core §15.1; Firebase and Google sign with it), and ES256.
var DefaultAlgorithms = []string{"RS256", "ES256"}

// allowedAlgorithms are the algorithms Algorithms may name: asymmetric
// only. "none" and HS256/384/512 are never allowed: with an HMAC algorithm
// a verifier that holds only public keys could be fooled by a token "signed"
// with the public key as the secret.
var allowedAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// The defaults of [OIDCConfig].
const (
	// DefaultKeyRefreshInterval is the least time between two JWKS fetches
	// caused by tokens with an unknown kid.
	DefaultKeyRefreshInterval = 30 * time.Second
	// DefaultKeyMaxAge is how long fetched keys are used before the JWKS is
	// fetched again.
	DefaultKeyMaxAge = time.Hour
	// discoveryTimeout bounds OpenID discovery and each JWKS fetch, with
	// the default client.
	discoveryTimeout = 10 * time.Second
)

// OIDCConfig configures [NewOIDCVerifier]. Issuer and Audience are
// required.
type OIDCConfig struct {
	// Issuer is the issuer identifier, for example
	// "https://securetoken.google.com/my-project" (Firebase Authentication
	// and Identity Platform) or "https://accounts.google.com". Tokens must
	// carry it as "iss", exactly. It must be an https URL; http is accepted
	// only for loopback hosts, for tests.
	Issuer string
	// Audience is the value the "aud" claim must contain: the OAuth client
	// id, or the Firebase project id.
	Audience string
	// JWKSURL is where the issuer publishes its keys. Empty means OpenID
	// discovery: the jwks_uri of Issuer/.well-known/openid-configuration,
	// fetched once by [NewOIDCVerifier]. Same URL rules as Issuer.
	JWKSURL string
	// Algorithms are the accepted "alg" values. Empty means
	// [DefaultAlgorithms]. Only asymmetric algorithms may be named.
	Algorithms []string
	// HTTPClient fetches the discovery document and the keys. Nil means a
	// client with a 10s timeout.
	HTTPClient *http.Client
	// KeyRefreshInterval is the least time between two JWKS fetches caused
	// by unknown kids; zero means [DefaultKeyRefreshInterval].
	KeyRefreshInterval time.Duration
	// KeyMaxAge is how long fetched keys are used before they are fetched
	// again; zero means [DefaultKeyMaxAge].
	KeyMaxAge time.Duration
	// Now is the clock for expiry checks; nil means time.Now.
	Now func() time.Time
}

// A ConfigError is an invalid field of an [OIDCConfig].
type ConfigError struct {
	// Field is the name of the field, for example "Issuer".
	Field string
	// Value is the field's value, as given.
	Value string
	// Err is the reason.
	Err error
}

// Error implements error.
func (e *ConfigError) Error() string { return fmt.Sprintf("%s %q: %v", e.Field, e.Value, e.Err) }

// Unwrap returns the reason.
func (e *ConfigError) Unwrap() error { return e.Err }

// Check reports every invalid field of cfg, as [*ConfigError] values joined
// with [errors.Join], without any network access.
func (cfg OIDCConfig) Check() error {
	var errs []error
	if cfg.Issuer == "" {
		errs = append(errs, &ConfigError{Field: "Issuer", Err: errors.New("required")})
	} else if err := checkURL(cfg.Issuer); err != nil {
		errs = append(errs, &ConfigError{Field: "Issuer", Value: cfg.Issuer, Err: err})
	}
	if cfg.Audience == "" {
		errs = append(errs, &ConfigError{Field: "Audience", Err: errors.New("required with an issuer")})
	}
	if cfg.JWKSURL != "" {
		if err := checkURL(cfg.JWKSURL); err != nil {
			errs = append(errs, &ConfigError{Field: "JWKSURL", Value: cfg.JWKSURL, Err: err})
		}
	}
	for _, alg := range cfg.Algorithms {
		if !slices.Contains(allowedAlgorithms, alg) {
			errs = append(errs, &ConfigError{Field: "Algorithms", Value: alg,
				Err: fmt.Errorf("not an asymmetric JWS algorithm (allowed: %v)", allowedAlgorithms)})
		}
	}
	return errors.Join(errs...)
}

// checkURL accepts https URLs, and http URLs of loopback hosts.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Host == "" || u.User != nil || u.Fragment != "" {
		return errors.New("want an absolute https URL with no userinfo or fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if u.Hostname() == "localhost" {
			return nil
		}
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return errors.New("want https (http only for loopback hosts)")
}

// An OIDCVerifier verifies the JWTs of one OpenID Connect issuer. It is
// safe for concurrent use.
type OIDCVerifier struct {
	issuer   string
	verifier *oidc.IDTokenVerifier
}

var _ TokenVerifier = (*OIDCVerifier)(nil)

// NewOIDCVerifier checks cfg and returns a verifier for its issuer. With no
// JWKSURL, it runs OpenID discovery now, bounded by ctx and the HTTP
// client's timeout, and fails if the discovery document names another
// issuer. Keys are fetched on first use, not here.
func NewOIDCVerifier(ctx context.Context, cfg OIDCConfig) (*OIDCVerifier, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: discoveryTimeout}
	}
	jwksURL := cfg.JWKSURL
	if jwksURL == "" {
		provider, err := oidc.NewProvider(oidc.ClientContext(ctx, client), cfg.Issuer)
		if err != nil {
			return nil, fmt.Errorf("OpenID discovery for %s: %w", cfg.Issuer, err)
		}
		var meta struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := provider.Claims(&meta); err != nil {
			return nil, fmt.Errorf("OpenID discovery for %s: %w", cfg.Issuer, err)
		}
		if err := checkURL(meta.JWKSURI); err != nil {
			return nil, fmt.Errorf("OpenID discovery for %s: jwks_uri %q: %w", cfg.Issuer, meta.JWKSURI, err)
		}
		jwksURL = meta.JWKSURI
	}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = DefaultAlgorithms
	}
	keys := &remoteKeySet{
		url:        jwksURL,
		client:     client,
		algs:       joseAlgorithms(algs),
		minRefresh: orDefault(cfg.KeyRefreshInterval, DefaultKeyRefreshInterval),
		maxAge:     orDefault(cfg.KeyMaxAge, DefaultKeyMaxAge),
		now:        time.Now,
	}
	return &OIDCVerifier{
		issuer: cfg.Issuer,
		verifier: oidc.NewVerifier(cfg.Issuer, keys, &oidc.Config{
			ClientID:             cfg.Audience,
			SupportedSigningAlgs: slices.Clone(algs),
			Now:                  cfg.Now,
		}),
	}, nil
}

// orDefault returns d, or def if d is not positive.
func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func joseAlgorithms(algs []string) []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(algs))
	for i, a := range algs {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}

// Issuer implements [TokenVerifier].
func (v *OIDCVerifier) Issuer() string { return v.issuer }

// Verify implements [TokenVerifier]: go-oidc checks the algorithm against
// the allowed ones, the signature against the issuer's keys, then "iss",
// "aud", "exp" and "nbf".
func (v *OIDCVerifier) Verify(ctx context.Context, token string) (Caller, error) {
	return verifyWith(ctx, v.verifier, token)
}

// verifyWith runs an oidc verifier and turns its result into a Caller.
func verifyWith(ctx context.Context, v *oidc.IDTokenVerifier, token string) (Caller, error) {
	idt, err := v.Verify(ctx, token)
	if err != nil {
		if expired := new(oidc.TokenExpiredError); errors.As(err, &expired) {
			return Caller{}, expiredToken(err)
		}
		return Caller{}, invalidToken(err)
	}
	if !validSubject(idt.Subject) {
		return Caller{}, invalidToken(errors.New(`"sub" claim missing or not 1 to 255 printable ASCII characters`))
	}
	return Caller{Subject: idt.Subject, Issuer: idt.Issuer, Credential: CredentialBearer}, nil
}

// byIssuer routes a token to the verifier of its (unverified) "iss" claim,
// so that several issuers can be trusted at once without trying each. The
// claim only picks the verifier, which checks it again with the signature.
type byIssuer map[string]TokenVerifier

func (b byIssuer) verify(ctx context.Context, token string) (Caller, error) {
	if len(b) == 1 {
		for _, v := range b {
			return v.Verify(ctx, token)
		}
	}
	jws, err := jose.ParseSignedCompact(token, joseAlgorithms(allowedAlgorithms))
	if err != nil {
		return Caller{}, invalidToken(fmt.Errorf("malformed jwt: %w", err))
	}
	var claims struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil {
		return Caller{}, invalidToken(fmt.Errorf("malformed claims: %w", err))
	}
	v, ok := b[claims.Issuer]
	if !ok {
		return Caller{}, invalidToken(errUnknownIssuer)
	}
	return v.Verify(ctx, token)
}
