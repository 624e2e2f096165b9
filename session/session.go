// Package session keeps browser sessions on the server: the SessionService
// of portico/session/v1 exchanges a verified bearer token for an HttpOnly
// cookie, and resolves that cookie back to the caller on later requests.
//
// A session id is 32 random bytes (256 bits), sent to the browser once, in
// the cookie, base64url-encoded. The [Store] keeps only its SHA-256 [Key],
// so that a copy of the store (a backup, a leaked file) holds no usable
// cookie; a 256-bit random id needs no salt or slow hash, since nothing
// smaller than the id itself can be guessed. Sessions are revocable: delete
// the row and the cookie stops working at once, on every request.
//
// [Service] implements the generated sessionv1connect.SessionServiceHandler
// and [auth.SessionResolver]; mount it behind the auth interceptor, which
// must list DeleteSession with auth.AllowAnonymous. Store sessions with
// [OpenSQLite], or any [Store].
//
// Start with [New].
package session

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"
)

// A Session is the server side of a session cookie.
type Session struct {
	// Subject is the caller's user id, from the bearer token the session
	// was created with.
	Subject string
	// Issuer is that token's issuer.
	Issuer string
	// CreateTime is when the session was created.
	CreateTime time.Time
	// ExpireTime is when it stops being valid.
	ExpireTime time.Time
}

// A Key identifies a session in a [Store]: the SHA-256 of its id.
type Key [sha256.Size]byte

// ErrNotFound is returned by [Store.Get] for a key with no session.
var ErrNotFound = errors.New("session: not found")

// A Store keeps sessions by [Key]. Implementations must be safe for
// concurrent use.
type Store interface {
	// Create stores s under k. Keys are random: a collision is an error.
	Create(ctx context.Context, k Key, s Session) error
	// Get returns the session stored under k, or an error wrapping
	// [ErrNotFound]. It may return sessions that have expired; the
	// [Service] checks ExpireTime.
	Get(ctx context.Context, k Key) (Session, error)
	// Delete removes the session stored under k. Deleting a key with no
	// session is not an error.
	Delete(ctx context.Context, k Key) error
}
