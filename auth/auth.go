// Package auth identifies the caller of a Connect handler, from a bearer
// token or a session cookie.
//
// Bearer tokens are JSON Web Tokens, such as OpenID Connect ID tokens issued
// by Firebase Authentication, Identity Platform, Google or any OIDC issuer,
// sent as
//
//	Authorization: Bearer <JWT>
//
// A [TokenVerifier] checks each token: [NewOIDCVerifier] verifies the
// signature with github.com/coreos/go-oidc/v3 against the issuer's JWKS
// (fetched by discovery or from a configured URL, cached, and refetched when
// the issuer rotates its keys), then the issuer, the audience and the expiry.
// Only asymmetric algorithms are accepted (RS256 and ES256 by default);
// "none" and the HMAC algorithms never are, so a token "signed" with a
// public key as an HMAC secret is refused.
//
// For development, [LoadDevSigner] keeps an ES256 key in a directory and
// signs tokens for any subject with it (`portico dev-token --sub alice`);
// the [DevSigner] is a TokenVerifier for exactly those tokens. Deployments
// leave it out: possession of the key file is the only thing a development
// token proves.
//
// A browser session is a cookie named [SessionCookie], which a
// [SessionResolver] (package session) turns back into a caller; the cookie
// is ambient, so state-changing methods must also be guarded against
// cross-site request forgery (package csrf).
//
// Start with [NewInterceptor] and install it on handlers with
// [connectrpc.com/connect.WithInterceptors]. Handlers read the caller with
// [CallerFrom]; tests and other interceptors attach one with [WithCaller].
package auth

import "context"

// A Caller is the authenticated party of a request.
//
// The zero Caller is no caller: [WithCaller] with a zero Caller makes
// [CallerFrom] report false.
type Caller struct {
	// Subject identifies the caller within its issuer: the token's "sub"
	// claim. It is never empty for a Caller returned by [CallerFrom].
	Subject string
	// Issuer is the "iss" claim of the token that authenticated the caller,
	// or of the token a session was created from. Empty when unknown, as for
	// a Caller that a test attached with [WithCaller].
	Issuer string
	// Credential is how the caller authenticated.
	Credential Credential
}

// A Credential names the kind of credential that authenticated a [Caller].
// The zero Credential is CredentialUnknown.
type Credential int

const (
	// CredentialUnknown is a caller attached by [WithCaller] without saying
	// how it authenticated.
	CredentialUnknown Credential = iota
	// CredentialBearer is a bearer token in the Authorization header.
	CredentialBearer
	// CredentialSession is a session cookie.
	CredentialSession
)

// String returns "unknown", "bearer" or "session".
func (c Credential) String() string {
	switch c {
	case CredentialBearer:
		return "bearer"
	case CredentialSession:
		return "session"
	}
	return "unknown"
}

type callerKey struct{}

// WithCaller returns a copy of ctx that carries c, for [CallerFrom] to find.
// It is meant for tests and for other interceptors; handlers behind
// [NewInterceptor] get the caller from the interceptor.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller that [NewInterceptor] or [WithCaller]
// attached to ctx. It reports false if there is none, as for a procedure
// allowed with [AllowAnonymous] called without credentials, or if the
// attached Caller has no subject.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	if !ok || c.Subject == "" {
		return Caller{}, false
	}
	return c, true
}
