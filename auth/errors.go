package auth

import (
	"errors"

	"connectrpc.com/connect"
)

// The reasons a request is refused. Their text goes to the client, so it
// describes the expected form and never includes the credentials sent.
var (
	errNoCredentials  = errors.New("missing credentials: send Authorization: Bearer dev-<subject>")
	errMalformed      = errors.New("malformed Authorization header: want a single Bearer <token>")
	errNotBearer      = errors.New("unsupported authorization scheme: want Bearer")
	errNotDevToken    = errors.New("unrecognized bearer token: want a development token dev-<subject>")
	errInvalidSubject = errors.New("invalid development token: the subject must match ^[a-z0-9][a-z0-9_-]{0,63}$")
)

// toConnect turns a sentinel of this file into an unauthenticated
// *connect.Error with a WWW-Authenticate challenge in its metadata, as
// RFC 6750 §3 asks of a resource server that refuses a request.
func toConnect(err error) *connect.Error {
	cerr := connect.NewError(connect.CodeUnauthenticated, err)
	switch {
	case errors.Is(err, errNoCredentials):
		// RFC 6750 §3.1: no error code when the request has no credentials.
		cerr.Meta().Set("WWW-Authenticate", bearerScheme)
	case errors.Is(err, errMalformed), errors.Is(err, errNotBearer):
		cerr.Meta().Set("WWW-Authenticate", bearerScheme+` error="invalid_request"`)
	default:
		cerr.Meta().Set("WWW-Authenticate", bearerScheme+` error="invalid_token"`)
	}
	return cerr
}
