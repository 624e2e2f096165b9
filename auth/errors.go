package auth

import (
	"errors"

	"connectrpc.com/connect"
)

// The reasons a request is refused. Their text goes to the client, so it
// describes the expected form and never includes the credentials sent, nor
// which issuer or audience the server expects.
var (
	errNoCredentials  = errors.New("missing credentials: send an Authorization: Bearer token, or a session cookie")
	errMalformed      = errors.New("malformed Authorization header: want a single Bearer <token>")
	errNotBearer      = errors.New("unsupported authorization scheme: want Bearer")
	errInvalidToken   = errors.New("invalid bearer token")
	errTokenExpired   = errors.New("bearer token expired")
	errSessionInvalid = errors.New("session expired or revoked: sign in again")
)

// errUnknownIssuer is a cause behind errInvalidToken, for the logs.
var errUnknownIssuer = errors.New("token issuer not trusted")

// A refusal is a refused credential: the reason the client sees (one of the
// sentinels above) and the cause, which only the server's log shows.
type refusal struct {
	reason error
	cause  error
}

func (e *refusal) Error() string { return e.reason.Error() + ": " + e.cause.Error() }

// Is lets errors.Is match the client-facing reason.
func (e *refusal) Is(target error) bool { return target == e.reason }

func (e *refusal) Unwrap() error { return e.cause }

// invalidToken wraps the cause of a refused token.
func invalidToken(cause error) error { return &refusal{reason: errInvalidToken, cause: cause} }

// expiredToken wraps the cause of an expired token.
func expiredToken(cause error) error { return &refusal{reason: errTokenExpired, cause: cause} }

// invalidSession wraps the cause of a refused session cookie.
func invalidSession(cause error) error { return &refusal{reason: errSessionInvalid, cause: cause} }

// toConnect turns a refusal into an unauthenticated *connect.Error whose
// message is only the client-facing reason, with a WWW-Authenticate
// challenge in its metadata, as RFC 6750 §3 asks of a resource server that
// refuses a request.
func toConnect(err error) *connect.Error {
	reason := err
	var r *refusal
	if errors.As(err, &r) {
		reason = r.reason
	}
	cerr := connect.NewError(connect.CodeUnauthenticated, reason)
	switch {
	case errors.Is(err, errNoCredentials), errors.Is(err, errSessionInvalid):
		// RFC 6750 §3.1: no error code when the request has no (bearer)
		// credentials.
		cerr.Meta().Set("WWW-Authenticate", bearerScheme)
	case errors.Is(err, errMalformed), errors.Is(err, errNotBearer):
		cerr.Meta().Set("WWW-Authenticate", bearerScheme+` error="invalid_request"`)
	default:
		cerr.Meta().Set("WWW-Authenticate", bearerScheme+` error="invalid_token"`)
	}
	return cerr
}
