package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"github.com/portico-dev/portico/auth"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/service"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

const location = "/portico.profile.v1.ProfileService/GetProfile"

// t0 is the first time the test clock tells; it has nanoseconds, which the
// service truncates.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.UTC)

// newService returns a service on an empty SQLite store in a temporary
// directory, with a clock that advances by a second per reading.
func newService(tb testing.TB, opts ...service.Option) (*service.ProfileService, *service.SQLiteStore) {
	tb.Helper()
	store, err := service.OpenSQLite(tb.Context(), filepath.Join(tb.TempDir(), "profiles.db"))
	if err != nil {
		tb.Fatalf("OpenSQLite() error = %v", err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	var ticks atomic.Int64
	clock := func() time.Time { return t0.Add(time.Duration(ticks.Add(1)-1) * time.Second) }
	opts = append([]service.Option{service.WithClock(clock)}, opts...)
	return service.New(store, opts...), store
}

// as returns a context in which subject is the caller.
func as(tb testing.TB, subject string) context.Context {
	tb.Helper()
	return auth.WithCaller(tb.Context(), auth.Caller{Subject: subject})
}

func etag(version int64) string { return fmt.Sprintf(`"profile-v%d"`, version) }

func updateRequest(msg *profilev1.UpdateProfileRequest, ifMatch ...string) *connect.Request[profilev1.UpdateProfileRequest] {
	req := connect.NewRequest(msg)
	for _, v := range ifMatch {
		req.Header().Add("If-Match", v)
	}
	return req
}

func deleteRequest(msg *profilev1.DeleteProfileRequest, ifMatch ...string) *connect.Request[profilev1.DeleteProfileRequest] {
	req := connect.NewRequest(msg)
	for _, v := range ifMatch {
		req.Header().Add("If-Match", v)
	}
	return req
}

func content(n int64) *profilev1.UpdateProfileRequest {
	return &profilev1.UpdateProfileRequest{
		DisplayName: fmt.Sprintf("Alice %d", n),
		Email:       fmt.Sprintf("alice%d@example.com", n),
		Bio:         fmt.Sprintf("Version %d.", n),
	}
}

// seed gives subject a profile at version n >= 1, written through svc, and
// returns it.
func seed(tb testing.TB, svc *service.ProfileService, subject string, n int64) *profilev1.Profile {
	tb.Helper()
	var p *profilev1.Profile
	for v := int64(1); v <= n; v++ {
		var ifMatch []string
		if v > 1 {
			ifMatch = []string{etag(v - 1)}
		}
		res, err := svc.UpdateProfile(as(tb, subject), updateRequest(content(v), ifMatch...))
		if err != nil {
			tb.Fatalf("seed: UpdateProfile(v%d) error = %v", v, err)
		}
		p = res.Msg.GetProfile()
	}
	return p
}

// current returns subject's stored profile, or nil if there is none.
func current(tb testing.TB, svc *service.ProfileService, subject string) *profilev1.Profile {
	tb.Helper()
	res, err := svc.GetProfile(as(tb, subject), connect.NewRequest(&profilev1.GetProfileRequest{}))
	if connect.CodeOf(err) == connect.CodeNotFound {
		return nil
	}
	if err != nil {
		tb.Fatalf("GetProfile() error = %v", err)
	}
	return res.Msg.GetProfile()
}

// assertCode fails tb unless err is a *connect.Error with code, and
// returns it.
func assertCode(tb testing.TB, err error, code connect.Code) *connect.Error {
	tb.Helper()
	var cerr *connect.Error
	if !errors.As(err, &cerr) {
		tb.Fatalf("error = %v; want a *connect.Error with code %v", err, code)
	}
	if cerr.Code() != code {
		tb.Fatalf("code = %v (%v); want %v", cerr.Code(), cerr.Message(), code)
	}
	return cerr
}

// assertMismatch fails tb unless cerr carries exactly the EtagMismatch
// detail want, and the current ETag, if any, as ETag metadata.
func assertMismatch(tb testing.TB, cerr *connect.Error, want *profilev1.EtagMismatch) {
	tb.Helper()
	var got []proto.Message
	for _, d := range cerr.Details() {
		v, err := d.Value()
		if err != nil {
			tb.Fatalf("decode detail %s: %v", d.Type(), err)
		}
		got = append(got, v)
	}
	if diff := cmp.Diff([]proto.Message{want}, got, protocmp.Transform()); diff != "" {
		tb.Errorf("details (-want +got):\n%s", diff)
	}
	if got := cerr.Meta().Values("Etag"); want.GetCurrentEtag() == "" && len(got) != 0 ||
		want.GetCurrentEtag() != "" && (len(got) != 1 || got[0] != want.GetCurrentEtag()) {
		tb.Errorf("ETag metadata = %q; want %q", got, want.GetCurrentEtag())
	}
}

// ignoreUpdateTime compares profiles without their update_time.
var ignoreUpdateTime = protocmp.IgnoreFields(&profilev1.Profile{}, "update_time")

func TestGetProfile(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	_, err := svc.GetProfile(as(t, "alice"), connect.NewRequest(&profilev1.GetProfileRequest{}))
	assertCode(t, err, connect.CodeNotFound)

	seed(t, svc, "alice", 3)
	res, err := svc.GetProfile(as(t, "alice"), connect.NewRequest(&profilev1.GetProfileRequest{}))
	if err != nil {
		t.Fatalf("GetProfile() error = %v", err)
	}
	want := &profilev1.Profile{
		Id:          "alice",
		DisplayName: "Alice 3",
		Email:       "alice3@example.com",
		Bio:         "Version 3.",
		Etag:        `"profile-v3"`,
	}
	if diff := cmp.Diff(want, res.Msg.GetProfile(), protocmp.Transform(), ignoreUpdateTime); diff != "" {
		t.Errorf("profile (-want +got):\n%s", diff)
	}
	// The third write, at the third tick, truncated to microseconds.
	wantTime := t0.Add(2 * time.Second).Truncate(time.Microsecond)
	if got := res.Msg.GetProfile().GetUpdateTime().AsTime(); !got.Equal(wantTime) {
		t.Errorf("update_time = %v; want %v", got, wantTime)
	}
	if got := res.Header().Values("ETag"); len(got) != 1 || got[0] != `"profile-v3"` {
		t.Errorf("ETag header = %q; want %q", got, `"profile-v3"`)
	}

	// Another caller does not see it.
	_, err = svc.GetProfile(as(t, "bob"), connect.NewRequest(&profilev1.GetProfileRequest{}))
	assertCode(t, err, connect.CodeNotFound)
}

func TestUpdateProfile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		existing int64    // version of the existing profile; 0 for none
		ifMatch  []string // If-Match header values
		field    string   // the etag field
		// On success, the new version; otherwise the code and, for
		// failed_precondition, the detail.
		wantVersion int64
		wantCode    connect.Code
		wantDetail  *profilev1.EtagMismatch
		wantMessage string // part of the error message
	}{
		{name: "create", wantVersion: 1},
		{
			name: "create with If-Match", ifMatch: []string{etag(1)},
			wantCode:   connect.CodeFailedPrecondition,
			wantDetail: &profilev1.EtagMismatch{RequestedEtag: etag(1)},
		},
		{
			name: "create with star", ifMatch: []string{"*"},
			wantCode:   connect.CodeFailedPrecondition,
			wantDetail: &profilev1.EtagMismatch{RequestedEtag: "*"},
		},
		{
			name: "create with etag field", field: etag(1),
			wantCode:   connect.CodeFailedPrecondition,
			wantDetail: &profilev1.EtagMismatch{RequestedEtag: etag(1)},
		},
		{
			name: "replace without precondition", existing: 1,
			wantCode:    connect.CodeFailedPrecondition,
			wantDetail:  &profilev1.EtagMismatch{CurrentEtag: etag(1)},
			wantMessage: `send If-Match with its current ETag "profile-v1"`,
		},
		{name: "replace with If-Match", existing: 1, ifMatch: []string{etag(1)}, wantVersion: 2},
		{name: "replace with If-Match and whitespace", existing: 2, ifMatch: []string{" " + etag(2) + " "}, wantVersion: 3},
		{name: "replace with star", existing: 3, ifMatch: []string{"*"}, wantVersion: 4},
		{name: "replace with etag field", existing: 2, field: etag(2), wantVersion: 3},
		{name: "replace with star field", existing: 2, field: "*", wantVersion: 3},
		{name: "replace with both agreeing", existing: 2, ifMatch: []string{etag(2)}, field: etag(2), wantVersion: 3},
		{
			name: "stale If-Match", existing: 2, ifMatch: []string{etag(1)},
			wantCode:    connect.CodeFailedPrecondition,
			wantDetail:  &profilev1.EtagMismatch{RequestedEtag: etag(1), CurrentEtag: etag(2)},
			wantMessage: "profile has changed",
		},
		{
			name: "future If-Match", existing: 2, ifMatch: []string{etag(3)},
			wantCode:   connect.CodeFailedPrecondition,
			wantDetail: &profilev1.EtagMismatch{RequestedEtag: etag(3), CurrentEtag: etag(2)},
		},
		{
			name: "stale etag field", existing: 2, field: etag(1),
			wantCode:   connect.CodeFailedPrecondition,
			wantDetail: &profilev1.EtagMismatch{RequestedEtag: etag(1), CurrentEtag: etag(2)},
		},
		{
			name: "header and field disagree", existing: 2, ifMatch: []string{etag(2)}, field: etag(1),
			wantCode: connect.CodeInvalidArgument, wantMessage: "disagree",
		},
		{
			name: "star header and tag field", existing: 2, ifMatch: []string{"*"}, field: etag(2),
			wantCode: connect.CodeInvalidArgument,
		},
		{
			name: "disagree without profile", ifMatch: []string{etag(1)}, field: etag(2),
			wantCode: connect.CodeInvalidArgument,
		},
		{
			name: "unquoted If-Match", existing: 1, ifMatch: []string{"profile-v1"},
			wantCode: connect.CodeInvalidArgument, wantMessage: "malformed If-Match",
		},
		{name: "weak If-Match", existing: 1, ifMatch: []string{`W/"profile-v1"`}, wantCode: connect.CodeInvalidArgument},
		{name: "empty If-Match", existing: 1, ifMatch: []string{""}, wantCode: connect.CodeInvalidArgument},
		{name: "If-Match list", existing: 1, ifMatch: []string{etag(1) + ", " + etag(2)}, wantCode: connect.CodeInvalidArgument},
		{name: "two If-Match", existing: 1, ifMatch: []string{etag(1), etag(1)}, wantCode: connect.CodeInvalidArgument},
		{name: "If-Match v0", existing: 1, ifMatch: []string{etag(0)}, wantCode: connect.CodeInvalidArgument},
		{
			name: "If-Match overflowing", existing: 1, ifMatch: []string{`"profile-v9999999999999999999"`},
			wantCode: connect.CodeInvalidArgument,
		},
		{name: "foreign If-Match", ifMatch: []string{`"abc"`}, wantCode: connect.CodeInvalidArgument},
		{
			name: "malformed etag field", existing: 1, field: "profile-v1",
			wantCode: connect.CodeInvalidArgument, wantMessage: "malformed etag field",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc, _ := newService(t)
			var before *profilev1.Profile
			if tc.existing > 0 {
				before = seed(t, svc, "alice", tc.existing)
			}
			msg := &profilev1.UpdateProfileRequest{
				DisplayName: "New Alice",
				Email:       "new@example.com",
				Bio:         "New bio.",
				Etag:        tc.field,
			}
			res, err := svc.UpdateProfile(as(t, "alice"), updateRequest(msg, tc.ifMatch...))
			after := current(t, svc, "alice")

			if tc.wantCode != 0 {
				cerr := assertCode(t, err, tc.wantCode)
				if !strings.Contains(cerr.Message(), tc.wantMessage) {
					t.Errorf("message = %q; want it to contain %q", cerr.Message(), tc.wantMessage)
				}
				if tc.wantDetail != nil {
					assertMismatch(t, cerr, tc.wantDetail)
				} else if len(cerr.Details()) != 0 {
					t.Errorf("error has %d details; want none", len(cerr.Details()))
				}
				// A refused update changes nothing.
				if diff := cmp.Diff(before, after, protocmp.Transform()); diff != "" {
					t.Errorf("stored profile changed (-before +after):\n%s", diff)
				}
				return
			}

			if err != nil {
				t.Fatalf("UpdateProfile() error = %v", err)
			}
			want := &profilev1.Profile{
				Id:          "alice",
				DisplayName: "New Alice",
				Email:       "new@example.com",
				Bio:         "New bio.",
				Etag:        etag(tc.wantVersion),
			}
			got := res.Msg.GetProfile()
			if diff := cmp.Diff(want, got, protocmp.Transform(), ignoreUpdateTime); diff != "" {
				t.Errorf("response profile (-want +got):\n%s", diff)
			}
			if before != nil && !got.GetUpdateTime().AsTime().After(before.GetUpdateTime().AsTime()) {
				t.Errorf("update_time %v is not after the previous %v",
					got.GetUpdateTime().AsTime(), before.GetUpdateTime().AsTime())
			}
			if diff := cmp.Diff(got, after, protocmp.Transform()); diff != "" {
				t.Errorf("stored profile differs from the response (-response +stored):\n%s", diff)
			}
			if got := res.Header().Values("ETag"); len(got) != 1 || got[0] != etag(tc.wantVersion) {
				t.Errorf("ETag header = %q; want %q", got, etag(tc.wantVersion))
			}
			if got := res.Header().Values("Location"); len(got) != 1 || got[0] != location {
				t.Errorf("Location header = %q; want %q", got, location)
			}
		})
	}
}

// TestUpdateProfileStale checks, in detail, that an update with a stale
// ETag leaves the stored profile exactly as it was.
func TestUpdateProfileStale(t *testing.T) {
	t.Parallel()
	svc, store := newService(t)
	seed(t, svc, "alice", 2)
	before, err := store.Get(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.UpdateProfile(as(t, "alice"), updateRequest(content(99), etag(1)))
	cerr := assertCode(t, err, connect.CodeFailedPrecondition)
	assertMismatch(t, cerr, &profilev1.EtagMismatch{RequestedEtag: etag(1), CurrentEtag: etag(2)})
	after, err := store.Get(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("stale update changed the record:\nbefore %+v\nafter  %+v", before, after)
	}
}

func TestUpdateProfileConcurrent(t *testing.T) {
	t.Parallel()
	const writers = 20
	svc, store := newService(t)
	seed(t, svc, "alice", 1)

	var (
		wg       sync.WaitGroup
		start    = make(chan struct{})
		winners  atomic.Int64
		winner   atomic.Int64
		failures = make(chan error, writers)
	)
	for i := range writers {
		wg.Go(func() {
			<-start
			msg := &profilev1.UpdateProfileRequest{DisplayName: fmt.Sprintf("writer %d", i)}
			_, err := svc.UpdateProfile(as(t, "alice"), updateRequest(msg, etag(1)))
			if err == nil {
				winners.Add(1)
				winner.Store(int64(i))
				return
			}
			failures <- err
		})
	}
	close(start)
	wg.Wait()
	close(failures)

	if got := winners.Load(); got != 1 {
		t.Fatalf("%d writers succeeded; want exactly 1", got)
	}
	for err := range failures {
		cerr := assertCode(t, err, connect.CodeFailedPrecondition)
		assertMismatch(t, cerr, &profilev1.EtagMismatch{RequestedEtag: etag(1), CurrentEtag: etag(2)})
	}
	rec, err := store.Get(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Version != 2 {
		t.Errorf("final version = %d; want 2", rec.Version)
	}
	if want := fmt.Sprintf("writer %d", winner.Load()); rec.DisplayName != want {
		t.Errorf("stored display name = %q; want the winner's %q", rec.DisplayName, want)
	}
}

func TestCreateProfileConcurrent(t *testing.T) {
	t.Parallel()
	const writers = 20
	svc, store := newService(t)
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		winners atomic.Int64
		codes   = make(chan connect.Code, writers)
	)
	for range writers {
		wg.Go(func() {
			<-start
			_, err := svc.UpdateProfile(as(t, "alice"), updateRequest(content(1)))
			if err == nil {
				winners.Add(1)
				return
			}
			codes <- connect.CodeOf(err)
		})
	}
	close(start)
	wg.Wait()
	close(codes)
	if got := winners.Load(); got != 1 {
		t.Fatalf("%d creators succeeded; want exactly 1", got)
	}
	for code := range codes {
		if code != connect.CodeFailedPrecondition {
			t.Errorf("losing creator got %v; want %v", code, connect.CodeFailedPrecondition)
		}
	}
	if rec, err := store.Get(t.Context(), "alice"); err != nil || rec.Version != 1 {
		t.Errorf("stored version = %d, %v; want 1", rec.Version, err)
	}
}

func TestDeleteProfile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		existing    int64 // version of the existing profile; 0 for none
		ifMatch     []string
		field       string
		wantCode    connect.Code // 0 for success
		wantDetail  *profilev1.EtagMismatch
		wantMessage string
	}{
		{name: "missing", wantCode: connect.CodeNotFound, wantMessage: "not found"},
		{name: "missing with If-Match", ifMatch: []string{etag(1)}, wantCode: connect.CodeNotFound},
		{name: "missing with star", ifMatch: []string{"*"}, wantCode: connect.CodeNotFound},
		{name: "without precondition", existing: 2},
		{name: "with If-Match", existing: 2, ifMatch: []string{etag(2)}},
		{name: "with star", existing: 2, ifMatch: []string{"*"}},
		{name: "with etag field", existing: 2, field: etag(2)},
		{name: "with both agreeing", existing: 2, ifMatch: []string{etag(2)}, field: etag(2)},
		{
			name: "stale If-Match", existing: 2, ifMatch: []string{etag(1)},
			wantCode:   connect.CodeFailedPrecondition,
			wantDetail: &profilev1.EtagMismatch{RequestedEtag: etag(1), CurrentEtag: etag(2)},
		},
		{
			name: "stale etag field", existing: 2, field: etag(1),
			wantCode:   connect.CodeFailedPrecondition,
			wantDetail: &profilev1.EtagMismatch{RequestedEtag: etag(1), CurrentEtag: etag(2)},
		},
		{
			name: "header and field disagree", existing: 2, ifMatch: []string{etag(2)}, field: etag(1),
			wantCode: connect.CodeInvalidArgument, wantMessage: "disagree",
		},
		{
			name: "malformed If-Match", existing: 2, ifMatch: []string{"profile-v2"},
			wantCode: connect.CodeInvalidArgument, wantMessage: "malformed If-Match",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc, _ := newService(t)
			var before *profilev1.Profile
			if tc.existing > 0 {
				before = seed(t, svc, "alice", tc.existing)
			}
			seed(t, svc, "bob", 1)
			bob := current(t, svc, "bob")

			_, err := svc.DeleteProfile(as(t, "alice"), deleteRequest(&profilev1.DeleteProfileRequest{Etag: tc.field}, tc.ifMatch...))
			after := current(t, svc, "alice")
			if tc.wantCode == 0 {
				if err != nil {
					t.Fatalf("DeleteProfile() error = %v", err)
				}
				if after != nil {
					t.Errorf("profile still stored after deletion: %v", after)
				}
			} else {
				cerr := assertCode(t, err, tc.wantCode)
				if !strings.Contains(cerr.Message(), tc.wantMessage) {
					t.Errorf("message = %q; want it to contain %q", cerr.Message(), tc.wantMessage)
				}
				if tc.wantDetail != nil {
					assertMismatch(t, cerr, tc.wantDetail)
				} else if len(cerr.Details()) != 0 {
					t.Errorf("error has %d details; want none", len(cerr.Details()))
				}
				if diff := cmp.Diff(before, after, protocmp.Transform()); diff != "" {
					t.Errorf("stored profile changed (-before +after):\n%s", diff)
				}
			}
			if diff := cmp.Diff(bob, current(t, svc, "bob"), protocmp.Transform()); diff != "" {
				t.Errorf("another caller's profile changed (-before +after):\n%s", diff)
			}
		})
	}
}

// TestDeleteThenCreate checks that a profile created again after a
// deletion never matches an ETag of the deleted one.
func TestDeleteThenCreate(t *testing.T) {
	t.Parallel()
	svc, store := newService(t)
	seed(t, svc, "alice", 1)
	if _, err := svc.DeleteProfile(as(t, "alice"), deleteRequest(&profilev1.DeleteProfileRequest{}, etag(1))); err != nil {
		t.Fatalf("DeleteProfile() error = %v", err)
	}

	// The deleted profile is gone, for its owner and for everyone.
	_, err := svc.GetProfile(as(t, "alice"), connect.NewRequest(&profilev1.GetProfileRequest{}))
	assertCode(t, err, connect.CodeNotFound)
	_, err = svc.GetPublicProfile(t.Context(), connect.NewRequest(&profilev1.GetPublicProfileRequest{Id: "alice"}))
	assertCode(t, err, connect.CodeNotFound)
	// Its ETag matches nothing: as if there were no profile.
	_, err = svc.UpdateProfile(as(t, "alice"), updateRequest(content(9), etag(1)))
	cerr := assertCode(t, err, connect.CodeFailedPrecondition)
	assertMismatch(t, cerr, &profilev1.EtagMismatch{RequestedEtag: etag(1)})
	_, err = svc.UpdateProfile(as(t, "alice"), updateRequest(content(9), "*"))
	cerr = assertCode(t, err, connect.CodeFailedPrecondition)
	assertMismatch(t, cerr, &profilev1.EtagMismatch{RequestedEtag: "*"})
	for _, ifMatch := range [][]string{nil, {etag(1)}, {"*"}} {
		_, err = svc.DeleteProfile(as(t, "alice"), deleteRequest(&profilev1.DeleteProfileRequest{}, ifMatch...))
		assertCode(t, err, connect.CodeNotFound)
	}
	if p := current(t, svc, "alice"); p != nil {
		t.Fatalf("refused writes revived the deleted profile: %v", p)
	}

	// Created again, the profile continues the version sequence: the
	// deletion spent version 2.
	res, err := svc.UpdateProfile(as(t, "alice"), updateRequest(content(2)))
	if err != nil {
		t.Fatalf("UpdateProfile() after deletion error = %v", err)
	}
	created := res.Msg.GetProfile()
	if got, want := created.GetEtag(), etag(3); got != want {
		t.Errorf("etag = %q; want %q", got, want)
	}
	if got, want := res.Header().Get("ETag"), etag(3); got != want {
		t.Errorf("ETag header = %q; want %q", got, want)
	}
	before, err := store.Get(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}

	// A client still holding the ETag from before the deletion can neither
	// overwrite nor delete the new profile.
	_, err = svc.UpdateProfile(as(t, "alice"), updateRequest(content(99), etag(1)))
	cerr = assertCode(t, err, connect.CodeFailedPrecondition)
	assertMismatch(t, cerr, &profilev1.EtagMismatch{RequestedEtag: etag(1), CurrentEtag: etag(3)})
	_, err = svc.UpdateProfile(as(t, "alice"), updateRequest(&profilev1.UpdateProfileRequest{DisplayName: "Mallory", Etag: etag(1)}))
	cerr = assertCode(t, err, connect.CodeFailedPrecondition)
	assertMismatch(t, cerr, &profilev1.EtagMismatch{RequestedEtag: etag(1), CurrentEtag: etag(3)})
	for _, tag := range []string{etag(1), etag(2)} {
		_, err = svc.DeleteProfile(as(t, "alice"), deleteRequest(&profilev1.DeleteProfileRequest{}, tag))
		cerr = assertCode(t, err, connect.CodeFailedPrecondition)
		assertMismatch(t, cerr, &profilev1.EtagMismatch{RequestedEtag: tag, CurrentEtag: etag(3)})
	}
	after, err := store.Get(t.Context(), "alice")
	if err != nil {
		t.Fatalf("Get() after stale writes error = %v", err)
	}
	if after != before {
		t.Errorf("stale writes changed the profile:\nbefore %+v\nafter  %+v", before, after)
	}
	if diff := cmp.Diff(created, current(t, svc, "alice"), protocmp.Transform()); diff != "" {
		t.Errorf("stored profile differs from the created one (-created +stored):\n%s", diff)
	}

	// The current ETag works as ever.
	res, err = svc.UpdateProfile(as(t, "alice"), updateRequest(content(4), etag(3)))
	if err != nil {
		t.Fatalf("UpdateProfile(If-Match %s) error = %v", etag(3), err)
	}
	if got, want := res.Msg.GetProfile().GetEtag(), etag(4); got != want {
		t.Errorf("etag = %q; want %q", got, want)
	}
}

// TestDeleteThenCreateConcurrent races creators of a deleted profile:
// exactly one revives it.
func TestDeleteThenCreateConcurrent(t *testing.T) {
	t.Parallel()
	const writers = 20
	svc, store := newService(t)
	seed(t, svc, "alice", 1)
	if _, err := svc.DeleteProfile(as(t, "alice"), deleteRequest(&profilev1.DeleteProfileRequest{})); err != nil {
		t.Fatalf("DeleteProfile() error = %v", err)
	}
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		winners atomic.Int64
		codes   = make(chan connect.Code, writers)
	)
	for range writers {
		wg.Go(func() {
			<-start
			_, err := svc.UpdateProfile(as(t, "alice"), updateRequest(content(1)))
			if err == nil {
				winners.Add(1)
				return
			}
			codes <- connect.CodeOf(err)
		})
	}
	close(start)
	wg.Wait()
	close(codes)
	if got := winners.Load(); got != 1 {
		t.Fatalf("%d creators succeeded; want exactly 1", got)
	}
	for code := range codes {
		if code != connect.CodeFailedPrecondition {
			t.Errorf("losing creator got %v; want %v", code, connect.CodeFailedPrecondition)
		}
	}
	if rec, err := store.Get(t.Context(), "alice"); err != nil || rec.Version != 3 {
		t.Errorf("stored version = %d, %v; want 3", rec.Version, err)
	}
}

func TestGetPublicProfile(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	seed(t, svc, "alice", 2)
	tests := []struct {
		name     string
		ctx      context.Context
		id       string
		want     *profilev1.PublicProfile
		wantCode connect.Code
	}{
		{
			name: "anonymous", ctx: t.Context(), id: "alice",
			want: &profilev1.PublicProfile{Id: "alice", DisplayName: "Alice 2", Bio: "Version 2."},
		},
		{
			name: "another caller", ctx: as(t, "bob"), id: "alice",
			want: &profilev1.PublicProfile{Id: "alice", DisplayName: "Alice 2", Bio: "Version 2."},
		},
		{name: "missing", ctx: t.Context(), id: "bob", wantCode: connect.CodeNotFound},
		{name: "empty id", ctx: t.Context(), id: "", wantCode: connect.CodeNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := svc.GetPublicProfile(tc.ctx, connect.NewRequest(&profilev1.GetPublicProfileRequest{Id: tc.id}))
			if tc.wantCode != 0 {
				assertCode(t, err, tc.wantCode)
				return
			}
			if err != nil {
				t.Fatalf("GetPublicProfile() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, res.Msg.GetProfile(), protocmp.Transform()); diff != "" {
				t.Errorf("profile (-want +got):\n%s", diff)
			}
			// The email must not leak anywhere in the response.
			wire, err := proto.Marshal(res.Msg)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(wire, []byte("@example.com")) {
				t.Errorf("public response contains the email: %v", res.Msg)
			}
			if len(res.Header()) != 0 {
				t.Errorf("public response has headers %v; want none", res.Header())
			}
		})
	}
}

func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	seed(t, svc, "alice", 1)
	ctxs := map[string]context.Context{
		"no caller":   t.Context(),
		"zero caller": auth.WithCaller(t.Context(), auth.Caller{}),
	}
	calls := map[string]func(context.Context) error{
		"GetProfile": func(ctx context.Context) error {
			_, err := svc.GetProfile(ctx, connect.NewRequest(&profilev1.GetProfileRequest{}))
			return err
		},
		"UpdateProfile": func(ctx context.Context) error {
			_, err := svc.UpdateProfile(ctx, updateRequest(content(2), "*"))
			return err
		},
		"DeleteProfile": func(ctx context.Context) error {
			_, err := svc.DeleteProfile(ctx, deleteRequest(&profilev1.DeleteProfileRequest{}))
			return err
		},
	}
	for ctxName, ctx := range ctxs {
		for callName, call := range calls {
			t.Run(ctxName+"/"+callName, func(t *testing.T) {
				t.Parallel()
				assertCode(t, call(ctx), connect.CodeUnauthenticated)
			})
		}
	}
	if got := current(t, svc, "alice").GetEtag(); got != etag(1) {
		t.Errorf("etag = %q after unauthenticated calls; want %q", got, etag(1))
	}
}

func TestStoreFailures(t *testing.T) {
	t.Parallel()
	canceled, cancel := context.WithCancel(as(t, "alice"))
	cancel()
	expired, cancel := context.WithDeadline(as(t, "alice"), time.Unix(0, 0))
	t.Cleanup(cancel)

	tests := []struct {
		name     string
		ctx      context.Context
		close    bool // close the store first
		wantCode connect.Code
		wantMsg  string
	}{
		{name: "canceled", ctx: canceled, wantCode: connect.CodeCanceled, wantMsg: context.Canceled.Error()},
		{name: "deadline", ctx: expired, wantCode: connect.CodeDeadlineExceeded, wantMsg: context.DeadlineExceeded.Error()},
		{name: "closed store", ctx: as(t, "alice"), close: true, wantCode: connect.CodeInternal, wantMsg: "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			svc, store := newService(t, service.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			seed(t, svc, "alice", 1)
			if tc.close {
				if err := store.Close(); err != nil {
					t.Fatal(err)
				}
			}
			calls := map[string]func() error{
				"GetProfile": func() error {
					_, err := svc.GetProfile(tc.ctx, connect.NewRequest(&profilev1.GetProfileRequest{}))
					return err
				},
				"UpdateProfile": func() error {
					_, err := svc.UpdateProfile(tc.ctx, updateRequest(content(2), etag(1)))
					return err
				},
				"DeleteProfile": func() error {
					_, err := svc.DeleteProfile(tc.ctx, deleteRequest(&profilev1.DeleteProfileRequest{}))
					return err
				},
				"GetPublicProfile": func() error {
					_, err := svc.GetPublicProfile(tc.ctx, connect.NewRequest(&profilev1.GetPublicProfileRequest{Id: "alice"}))
					return err
				},
			}
			for name, call := range calls {
				cerr := assertCode(t, call(), tc.wantCode)
				if cerr.Message() != tc.wantMsg {
					t.Errorf("%s: message = %q; want %q", name, cerr.Message(), tc.wantMsg)
				}
			}
			if tc.close {
				// The cause is logged, never sent.
				if got := logs.String(); !strings.Contains(got, "database is closed") {
					t.Errorf("log %q does not record the cause", got)
				}
			} else if logs.Len() != 0 {
				t.Errorf("context errors logged %q; want nothing", logs.String())
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func TestNewPanicsOnNilStore(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("New(nil) did not panic")
		}
	}()
	service.New(nil)
}
