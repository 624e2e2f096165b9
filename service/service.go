// Package service implements the business logic of Portico's
// ProfileService: each caller's own profile, guarded by ETag preconditions,
// and a public read of anyone's profile.
//
// [ProfileService] implements the generated
// profilev1connect.ProfileServiceHandler on top of a [Store]: the embedded
// [SQLiteStore] that [OpenSQLite] returns, or the [PostgresStore] of
// [OpenPostgres] for instances that share a database. It knows nothing of
// HTTP routing or CORS: mount it with
// profilev1connect.NewProfileServiceHandler, behind the interceptors of the
// auth and validation packages, which identify the caller and refuse invalid
// messages before the service sees them.
//
// The protocol of a profile's life, per the proto comments:
//
//   - Every version has the strong ETag "profile-v<version>", quotes
//     included, starting at version 1. GetProfile and UpdateProfile send it
//     in the ETag response header and in Profile.etag.
//   - UpdateProfile without a precondition creates the profile; once it
//     exists, replacing it requires its current ETag, in the If-Match header
//     or the etag field, or "*". A missing or stale precondition fails with
//     failed_precondition and changes nothing. The failure carries a
//     profilev1.EtagMismatch detail and the current ETag as ETag metadata.
//   - DeleteProfile takes the same optional precondition. A profile created
//     again after a deletion continues the version sequence rather than
//     starting over, so no ETag of the deleted profile ever matches it.
//
// Start with [New].
package service

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/portico-dev/portico/auth"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Header fields the service reads and writes.
const (
	headerETag     = "ETag"
	headerIfMatch  = "If-Match"
	headerLocation = "Location"
	// headerRetryAfter is set on unavailable errors.
	headerRetryAfter = "Retry-After"
)

var _ profilev1connect.ProfileServiceHandler = (*ProfileService)(nil)

// ProfileService implements profilev1connect.ProfileServiceHandler. It is
// safe for concurrent use; concurrency control lies in its [Store]'s
// conditional writes.
type ProfileService struct {
	store         Store
	logger        *slog.Logger
	now           func() time.Time
	watchInterval time.Duration
	stopOnce      sync.Once
	stopped       chan struct{} // closed by StopWatches
}

// New returns a ProfileService that keeps profiles in store. It panics if
// store is nil.
func New(store Store, opts ...Option) *ProfileService {
	if store == nil {
		panic("service: New called with a nil Store")
	}
	cfg := newConfig(opts)
	return &ProfileService{
		store:         store,
		logger:        cfg.logger,
		now:           cfg.now,
		watchInterval: cfg.watchInterval,
		stopped:       make(chan struct{}),
	}
}

// GetProfile returns the caller's profile, with its ETag in the ETag
// response header. It fails with not_found if the caller has none.
func (s *ProfileService) GetProfile(
	ctx context.Context,
	req *connect.Request[profilev1.GetProfileRequest],
) (*connect.Response[profilev1.GetProfileResponse], error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, s.toConnect(ctx, req.Spec(), err)
	}
	rec, err := s.store.Get(ctx, caller.Subject)
	if err != nil {
		return nil, s.toConnect(ctx, req.Spec(), err)
	}
	res := connect.NewResponse(&profilev1.GetProfileResponse{Profile: toProfile(rec)})
	res.Header().Set(headerETag, formatETag(rec.Version))
	return res, nil
}

// UpdateProfile creates or replaces the caller's profile, conditional on
// the precondition in the If-Match header or the etag field (see the
// package doc). The response carries the new ETag and a Location header
// naming GetProfile.
func (s *ProfileService) UpdateProfile(
	ctx context.Context,
	req *connect.Request[profilev1.UpdateProfileRequest],
) (*connect.Response[profilev1.UpdateProfileResponse], error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, s.toConnect(ctx, req.Spec(), err)
	}
	cond, err := preconditionFrom(req.Header().Values(headerIfMatch), req.Msg.GetEtag())
	if err != nil {
		return nil, s.toConnect(ctx, req.Spec(), err)
	}
	rec := Record{
		ID:          caller.Subject,
		DisplayName: req.Msg.GetDisplayName(),
		Email:       req.Msg.GetEmail(),
		Bio:         req.Msg.GetBio(),
		UpdateTime:  s.timestamp(),
	}
	var stored Record
	if cond.none() {
		stored, err = s.store.Create(ctx, rec)
	} else {
		stored, err = s.store.Update(ctx, rec, cond.version)
	}
	if mismatch := new(versionMismatchError); errors.As(err, &mismatch) {
		err = cond.unmet(mismatch.current)
	} else if errors.Is(err, errNotFound) {
		// Update found nothing to match.
		err = cond.unmet(0)
	}
	if err != nil {
		return nil, s.toConnect(ctx, req.Spec(), err)
	}
	res := connect.NewResponse(&profilev1.UpdateProfileResponse{Profile: toProfile(stored)})
	res.Header().Set(headerETag, formatETag(stored.Version))
	res.Header().Set(headerLocation, profilev1connect.ProfileServiceGetProfileProcedure)
	return res, nil
}

// DeleteProfile deletes the caller's profile, conditional on the optional
// precondition in the If-Match header or the etag field. It fails with
// not_found if the caller has no profile, whatever the precondition. The
// profile's ETags stay spent: should the caller create a profile again, it
// gets a version the deleted one never had.
func (s *ProfileService) DeleteProfile(
	ctx context.Context,
	req *connect.Request[profilev1.DeleteProfileRequest],
) (*connect.Response[profilev1.DeleteProfileResponse], error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, s.toConnect(ctx, req.Spec(), err)
	}
	cond, err := preconditionFrom(req.Header().Values(headerIfMatch), req.Msg.GetEtag())
	if err != nil {
		return nil, s.toConnect(ctx, req.Spec(), err)
	}
	err = s.store.Delete(ctx, caller.Subject, cond.version, s.timestamp())
	if mismatch := new(versionMismatchError); errors.As(err, &mismatch) {
		err = cond.unmet(mismatch.current)
	}
	if err != nil {
		return nil, s.toConnect(ctx, req.Spec(), err)
	}
	return connect.NewResponse(&profilev1.DeleteProfileResponse{}), nil
}

// GetPublicProfile returns the public part of anyone's profile; it never
// includes the email address. It needs no caller, and fails with not_found
// if there is no profile with the id.
func (s *ProfileService) GetPublicProfile(
	ctx context.Context,
	req *connect.Request[profilev1.GetPublicProfileRequest],
) (*connect.Response[profilev1.GetPublicProfileResponse], error) {
	rec, err := s.store.Get(ctx, req.Msg.GetId())
	if err != nil {
		return nil, s.toConnect(ctx, req.Spec(), err)
	}
	return connect.NewResponse(&profilev1.GetPublicProfileResponse{
		Profile: &profilev1.PublicProfile{
			Id:          rec.ID,
			DisplayName: rec.DisplayName,
			Bio:         rec.Bio,
		},
	}), nil
}

// callerFrom returns the authenticated caller. The auth interceptor normally
// refuses requests without one first; this is defense in depth.
func callerFrom(ctx context.Context) (auth.Caller, error) {
	caller, ok := auth.CallerFrom(ctx)
	if !ok {
		return auth.Caller{}, errUnauthenticated
	}
	return caller, nil
}

// timestamp returns the time of a write, in UTC and truncated to
// microseconds, so that every Store returns the time it was given.
func (s *ProfileService) timestamp() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}

func toProfile(rec Record) *profilev1.Profile {
	return &profilev1.Profile{
		Id:          rec.ID,
		DisplayName: rec.DisplayName,
		Email:       rec.Email,
		Bio:         rec.Bio,
		Etag:        formatETag(rec.Version),
		UpdateTime:  timestamppb.New(rec.UpdateTime),
	}
}
