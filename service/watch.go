package service

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
)

const defaultWatchInterval = 250 * time.Millisecond

// errShuttingDown ends watch streams when the server drains: unavailable is
// the code clients retry on.
var errShuttingDown = connect.NewError(connect.CodeUnavailable, errors.New("server is shutting down: reconnect"))

// WatchProfile streams the caller's profile: the current version at once,
// then each new version, until the client cancels, or until
// [ProfileService.StopWatches] is called, when the stream ends with
// unavailable so that clients know to reconnect (to another instance). A message without a profile means
// the caller has none. Versions written faster than the poll interval may be
// coalesced: a watcher always sees the latest.
func (s *ProfileService) WatchProfile(
	ctx context.Context,
	req *connect.Request[profilev1.WatchProfileRequest],
	stream *connect.ServerStream[profilev1.WatchProfileResponse],
) error {
	caller, err := callerFrom(ctx)
	if err != nil {
		return s.toConnect(ctx, req.Spec(), err)
	}
	ticker := time.NewTicker(s.watchInterval)
	defer ticker.Stop()
	sent := int64(-1) // the version last sent; 0 for "no profile"
	for {
		rec, err := s.store.Get(ctx, caller.Subject)
		switch {
		case errors.Is(err, errNotFound):
			rec, err = Record{}, nil
		case err != nil && ctx.Err() != nil:
			return nil // the client went away
		case err != nil:
			return s.toConnect(ctx, req.Spec(), err)
		}
		if rec.Version != sent {
			msg := &profilev1.WatchProfileResponse{}
			if rec.Version != 0 {
				msg.Profile = toProfile(rec)
			}
			if err := stream.Send(msg); err != nil {
				return nil // the client went away; nothing to report to it
			}
			sent = rec.Version
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.stopped:
			return errShuttingDown
		case <-ticker.C:
		}
	}
}

// StopWatches ends every WatchProfile stream, now and later, so that a
// server can drain: http.Server.Shutdown waits for streams, which would
// otherwise last until the client leaves. It is safe to call more than once.
func (s *ProfileService) StopWatches() {
	s.stopOnce.Do(func() { close(s.stopped) })
}
