package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"github.com/portico-dev/portico/auth"
	sessionv1 "github.com/portico-dev/portico/gen/portico/session/v1"
	"github.com/portico-dev/portico/gen/portico/session/v1/sessionv1connect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var (
	_ sessionv1connect.SessionServiceHandler = (*Service)(nil)
	_ auth.SessionResolver                   = (*Service)(nil)
)

// idLen is the length of a session id in bytes: 256 bits.
const idLen = 32

var (
	errNeedBearer = errors.New("CreateSession needs a bearer token in the Authorization header, not a session cookie")
	errMalformed  = errors.New("malformed session id")
	errExpired    = errors.New("session expired")
)

// Service implements sessionv1connect.SessionServiceHandler and
// [auth.SessionResolver] over a [Store]. It is safe for concurrent use.
type Service struct {
	store    Store
	ttl      time.Duration
	sameSite http.SameSite
	logger   *slog.Logger
	now      func() time.Time
}

// New returns a Service that keeps sessions in store. It panics if store is
// nil or an option is out of range: both are programming errors.
func New(store Store, opts ...Option) *Service {
	if store == nil {
		panic("session: New called with a nil Store")
	}
	cfg := newConfig(opts)
	if cfg.ttl < MinTTL || cfg.ttl > MaxTTL {
		panic("session: WithTTL out of range")
	}
	switch cfg.sameSite {
	case http.SameSiteLaxMode, http.SameSiteStrictMode, http.SameSiteNoneMode:
	default:
		panic("session: WithSameSite: want Lax, Strict or None")
	}
	return &Service{store: store, ttl: cfg.ttl, sameSite: cfg.sameSite, logger: cfg.logger, now: cfg.now}
}

// CreateSession implements sessionv1connect.SessionServiceHandler: it
// stores a new session for the caller of the bearer token and sets its
// cookie. A session cookie the request carried is revoked first.
func (s *Service) CreateSession(ctx context.Context, req *connect.Request[sessionv1.CreateSessionRequest]) (*connect.Response[sessionv1.CreateSessionResponse], error) {
	caller, ok := auth.CallerFrom(ctx)
	if !ok || caller.Credential != auth.CredentialBearer {
		return nil, connect.NewError(connect.CodeUnauthenticated, errNeedBearer)
	}
	if err := s.revoke(ctx, req.Header()); err != nil {
		return nil, s.internal(ctx, "revoke the previous session", err)
	}
	var raw [idLen]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails (Go 1.24+)
	// The store keeps microseconds.
	now := s.now().UTC().Truncate(time.Microsecond)
	sess := Session{Subject: caller.Subject, Issuer: caller.Issuer, CreateTime: now, ExpireTime: now.Add(s.ttl)}
	if err := s.store.Create(ctx, sha256.Sum256(raw[:]), sess); err != nil {
		return nil, s.internal(ctx, "create session", err)
	}
	res := connect.NewResponse(&sessionv1.CreateSessionResponse{
		Subject:    sess.Subject,
		ExpireTime: timestamppb.New(sess.ExpireTime),
	})
	res.Header().Add("Set-Cookie", s.cookie(base64.RawURLEncoding.EncodeToString(raw[:]), int(s.ttl/time.Second)).String())
	return res, nil
}

// DeleteSession implements sessionv1connect.SessionServiceHandler: it
// revokes the request's session, if any, and clears the cookie.
func (s *Service) DeleteSession(ctx context.Context, req *connect.Request[sessionv1.DeleteSessionRequest]) (*connect.Response[sessionv1.DeleteSessionResponse], error) {
	if err := s.revoke(ctx, req.Header()); err != nil {
		return nil, s.internal(ctx, "delete session", err)
	}
	res := connect.NewResponse(&sessionv1.DeleteSessionResponse{})
	// Max-Age=0 deletes the cookie (RFC 6265bis §5.6.2); the __Host-
	// attributes must be repeated for the browser to accept the deletion.
	res.Header().Add("Set-Cookie", s.cookie("", -1).String())
	return res, nil
}

// ResolveSession implements [auth.SessionResolver].
func (s *Service) ResolveSession(ctx context.Context, value string) (auth.Caller, error) {
	key, err := keyOf(value)
	if err != nil {
		return auth.Caller{}, err
	}
	sess, err := s.store.Get(ctx, key)
	if err != nil {
		return auth.Caller{}, err
	}
	if !s.now().Before(sess.ExpireTime) {
		return auth.Caller{}, errExpired
	}
	return auth.Caller{Subject: sess.Subject, Issuer: sess.Issuer, Credential: auth.CredentialSession}, nil
}

// revoke deletes the session of the request's cookie, if any.
func (s *Service) revoke(ctx context.Context, h http.Header) error {
	value, ok := auth.SessionFromHeader(h)
	if !ok {
		return nil
	}
	key, err := keyOf(value)
	if err != nil {
		return nil // nothing stored could match it
	}
	return s.store.Delete(ctx, key)
}

// cookie returns the session cookie with value; maxAge is in seconds, -1
// for deletion.
func (s *Service) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     auth.SessionCookie,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		Secure:   true,
		HttpOnly: true,
		SameSite: s.sameSite,
	}
}

// internal logs err and returns a generic internal error.
func (s *Service) internal(ctx context.Context, what string, err error) error {
	s.logger.ErrorContext(ctx, "session: "+what, "error", err.Error())
	return connect.NewError(connect.CodeInternal, errors.New("internal error"))
}

// keyOf returns the store key of a cookie value: the SHA-256 of the id it
// encodes.
func keyOf(value string) (Key, error) {
	if len(value) != base64.RawURLEncoding.EncodedLen(idLen) {
		return Key{}, errMalformed
	}
	var raw [idLen]byte
	if n, err := base64.RawURLEncoding.Strict().Decode(raw[:], []byte(value)); err != nil || n != idLen {
		return Key{}, errMalformed
	}
	return sha256.Sum256(raw[:]), nil
}
