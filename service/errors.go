package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"connectrpc.com/connect"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
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
)

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

// internal logs err and returns the generic internal error.
func (s *ProfileService) internal(ctx context.Context, spec connect.Spec, err error) error {
	s.logger.ErrorContext(ctx, "profile service: internal error",
		slog.String("procedure", spec.Procedure), slog.Any("error", err))
	return connect.NewError(connect.CodeInternal, errInternal)
}
