// Package auth identifies the caller of a Connect handler.
//
// It implements a minimal DEVELOPMENT bearer-token scheme: a request
// authenticates as subject "alice" by sending
//
//	Authorization: Bearer dev-alice
//
// where the subject matches ^[a-z0-9][a-z0-9_-]{0,63}$.
//
// # This scheme is not secure
//
// A development token is not a secret: anyone can claim to be anyone by
// choosing the subject. Use it only on a developer's machine and in tests,
// never in a deployment reachable by untrusted clients. A later issue
// replaces it with OIDC-issued JWTs behind the same [Caller] and
// [CallerFrom] API, so handlers will not change.
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
	// Subject identifies the caller, for example a user id. It is never empty
	// for a Caller returned by [CallerFrom].
	Subject string
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
// attached Caller is the zero Caller.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	if !ok || c.Subject == "" {
		return Caller{}, false
	}
	return c, true
}
