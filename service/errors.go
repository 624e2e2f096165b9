package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgconn"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The errors of the service and of its [Store]s. This file is the one place
// that turns them into *connect.Error, in [ProfileService.toConnect].
var (
	errUnauthenticated  = errors.New("unauthenticated: no caller")
	errNotFound         = errors.New("profile not found")
	errMalformedIfMatch = errors.New(
		`malformed If-Match header: want "*" or one profile ETag, such as "profile-v1" in double quotes`)
	errMalformedETag = errors.New(
		`malformed etag field: want "*" or one profile ETag, such as "profile-v1" in double quotes`)
	errPreconditionConflict = errors.New("the If-Match header and the etag field disagree")
	// errInternal is all a client learns of an unexpected failure.
	errInternal = errors.New("internal error")
	// errUnavailable is all a client learns of a store failure that a
	// retry may cure; see [storeUnavailable].
	errUnavailable = errors.New("profile store unavailable: retry later")
	// errStoreTimeout is a store's report that the database did not answer
	// within the store's own deadline, while the caller's context was still
	// live. It deliberately does not wrap context.DeadlineExceeded: the
	// caller's deadline was not exceeded.
	errStoreTimeout = errors.New("database did not answer in time")
)

// retryAfterSeconds is the Retry-After that unavailable errors carry, as a
// hint for clients that back off (RFC 9110 §10.2.3). The profile policy
// exposes Retry-After to browsers.
const retryAfterSeconds = "1"

// storeUnavailable reports whether err is a failure of a [Store] that a
// retry may cure, so that the client should get unavailable rather than
// internal: the database is unreachable, refusing connections, shutting down
// or restarting, overloaded, or slower than the store's own deadline; or it
// aborted a statement on a lock conflict. Every conditional write is one
// statement, so such a failure never leaves a write half done: the write
// happened entirely or not at all, and a retry with the same precondition is
// safe (a write that did happen makes its retry fail the precondition).
//
// It is the one place that reads the errors of the database drivers
// (jackc/pgx and modernc.org/sqlite) and of the network.
func storeUnavailable(err error) bool {
	// A server's answer decides first: a connection refused for a bad
	// password (28P01) or a missing database (3D000) will not heal by
	// itself, even though pgx reports it as a failed connect.
	if pgErr := new(pgconn.PgError); errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection_exception
			strings.HasPrefix(pgErr.Code, "53"): // insufficient_resources, too_many_connections
			return true
		}
		switch pgErr.Code {
		case "57P01", // admin_shutdown
			"57P02", // crash_shutdown
			"57P03", // cannot_connect_now: starting up or in recovery
			"57014", // query_canceled, by statement_timeout
			"40001", // serialization_failure
			"40P01", // deadlock_detected
			"55P03": // lock_not_available, by lock_timeout
			return true
		}
		return false
	}
	if sqliteErr := new(sqlite.Error); errors.As(err, &sqliteErr) {
		// SQLite reports BUSY once sqlitedb.BusyTimeout has passed waiting for another
		// connection's lock.
		switch sqliteErr.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
		return false
	}
	var (
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)
	switch {
	case errors.Is(err, errStoreTimeout),
		errors.As(err, &connectErr), // dial refused, DNS, TLS, handshake
		errors.As(err, &netErr),     // reset, broken pipe, I/O timeout
		pgconn.Timeout(err),
		pgconn.SafeToRetry(err),
		errors.Is(err, pgconn.ErrConnClosed),
		// The server closed the connection mid-answer.
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	}
	return false
}

// A versionMismatchError is a [Store]'s report that a conditional write
// found another version than it was conditional on, and changed nothing.
type versionMismatchError struct {
	// current is the stored version; 0 if there is no record.
	current int64
}

func (e *versionMismatchError) Error() string {
	if e.current == 0 {
		return "version mismatch: no stored version"
	}
	return fmt.Sprintf("version mismatch: stored version is %d", e.current)
}

// A preconditionFailedError reports that the stored profile does not satisfy
// a request's precondition, or that the request lacks one it needs.
type preconditionFailedError struct {
	// requested is the precondition's tag: "" for none, "*", or an ETag.
	requested string
	// current is the stored version; 0 if there is no profile.
	current int64
}

// unmet returns the error for a request with precondition p that found the
// stored version current (0 for none).
func (p precondition) unmet(current int64) *preconditionFailedError {
	return &preconditionFailedError{requested: p.tag, current: current}
}

// currentETag returns the ETag of the stored profile, or "" if there is none.
func (e *preconditionFailedError) currentETag() string {
	if e.current == 0 {
		return ""
	}
	return formatETag(e.current)
}

func (e *preconditionFailedError) Error() string {
	switch {
	case e.requested == "" && e.current != 0:
		return "profile exists: send If-Match with its current ETag " + e.currentETag() + " to replace it"
	case e.requested != "" && e.current == 0:
		return "no profile matches If-Match " + e.requested + ": send no If-Match to create one"
	case e.requested != "":
		return "profile has changed: If-Match " + e.requested + " is not the current ETag " + e.currentETag()
	default:
		return "profile changed concurrently: retry"
	}
}

// toConnect turns err into a *connect.Error with the most precise code.
// Internal errors get the generic message "internal error"; their cause is
// logged, never sent.
func (s *ProfileService) toConnect(ctx context.Context, spec connect.Spec, err error) error {
	var (
		failed   *preconditionFailedError
		mismatch *versionMismatchError
	)
	switch {
	case errors.Is(err, errUnauthenticated):
		return connect.NewError(connect.CodeUnauthenticated, errUnauthenticated)
	case errors.Is(err, errNotFound):
		return connect.NewError(connect.CodeNotFound, errNotFound)
	case errors.Is(err, errMalformedIfMatch),
		errors.Is(err, errMalformedETag),
		errors.Is(err, errPreconditionConflict):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.As(err, &failed):
		return s.failedPrecondition(ctx, spec, failed)
	case errors.As(err, &mismatch):
		// A store's report that no handler turned into a
		// preconditionFailedError; the request's tag is unknown here.
		return s.failedPrecondition(ctx, spec, &preconditionFailedError{current: mismatch.current})
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, context.DeadlineExceeded)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, context.Canceled)
	case storeUnavailable(err):
		return s.unavailable(ctx, spec, err)
	default:
		return s.internal(ctx, spec, err)
	}
}

// failedPrecondition returns a failed_precondition error with an
// EtagMismatch detail and, if there is a current profile, its ETag in the
// error's metadata, which Connect sends as a response header that browsers
// may read.
func (s *ProfileService) failedPrecondition(ctx context.Context, spec connect.Spec, failed *preconditionFailedError) error {
	cerr := connect.NewError(connect.CodeFailedPrecondition, failed)
	detail, err := connect.NewErrorDetail(&profilev1.EtagMismatch{
		RequestedEtag: failed.requested,
		CurrentEtag:   failed.currentETag(),
	})
	if err != nil {
		return s.internal(ctx, spec, fmt.Errorf("encode EtagMismatch: %w", err))
	}
	cerr.AddDetail(detail)
	if tag := failed.currentETag(); tag != "" {
		cerr.Meta().Set(headerETag, tag)
	}
	return cerr
}

// unavailable logs err, a failure of the store that a retry may cure, and
// returns the generic unavailable error, which Connect clients and gRPC
// retry policies treat as retryable. Like every error, it still carries the
// gateway's CORS headers.
func (s *ProfileService) unavailable(ctx context.Context, spec connect.Spec, err error) error {
	s.logger.WarnContext(ctx, "profile service: store unavailable",
		slog.String("procedure", spec.Procedure), slog.Any("error", err))
	cerr := connect.NewError(connect.CodeUnavailable, errUnavailable)
	cerr.Meta().Set(headerRetryAfter, retryAfterSeconds)
	return cerr
}

// internal logs err and returns the generic internal error.
func (s *ProfileService) internal(ctx context.Context, spec connect.Spec, err error) error {
	s.logger.ErrorContext(ctx, "profile service: internal error",
		slog.String("procedure", spec.Procedure), slog.Any("error", err))
	return connect.NewError(connect.CodeInternal, errInternal)
}
