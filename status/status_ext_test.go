package status_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"github.com/portico-dev/portico/auth"
	statusv1 "github.com/portico-dev/portico/gen/portico/status/v1"
	"github.com/portico-dev/portico/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestGetStatus(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 2, 15, 4, 5, 0, time.FixedZone("CET", 3600))
	svc := status.New(status.Limits{}, status.WithVersion("v1.2.3"), status.WithStartTime(start))
	res, err := svc.GetStatus(t.Context(), connect.NewRequest(&statusv1.GetStatusRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	want := &statusv1.GetStatusResponse{Version: "v1.2.3", StartTime: timestamppb.New(start)}
	if diff := cmp.Diff(want, res.Msg, protocmp.Transform()); diff != "" {
		t.Errorf("GetStatus (-want +got):\n%s", diff)
	}

	// The defaults: the build's version, and the time of New.
	before := time.Now()
	res, err = status.New(status.Limits{}, status.WithVersion("")).GetStatus(t.Context(), connect.NewRequest(&statusv1.GetStatusRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Msg.GetVersion() == "" {
		t.Error("no default version")
	}
	if got := res.Msg.GetStartTime().AsTime(); got.Before(before.Add(-time.Second)) || got.After(time.Now()) {
		t.Errorf("default start time %v, want about %v", got, before)
	}
}

func TestGetSettings(t *testing.T) {
	t.Parallel()
	limits := status.Limits{MaxRequestBytes: 1 << 20, MaxTimeout: 5 * time.Second}
	svc := status.New(limits)
	tests := []struct {
		name   string
		ctx    context.Context
		want   *statusv1.Settings
		wantOK bool
	}{
		{
			name:   "bearer",
			ctx:    auth.WithCaller(t.Context(), auth.Caller{Subject: "alice", Credential: auth.CredentialBearer}),
			want:   &statusv1.Settings{Subject: "alice", Credential: statusv1.Credential_CREDENTIAL_BEARER, MaxRequestBytes: 1 << 20, MaxTimeout: durationpb.New(5 * time.Second)},
			wantOK: true,
		},
		{
			name:   "session",
			ctx:    auth.WithCaller(t.Context(), auth.Caller{Subject: "bob", Credential: auth.CredentialSession}),
			want:   &statusv1.Settings{Subject: "bob", Credential: statusv1.Credential_CREDENTIAL_SESSION, MaxRequestBytes: 1 << 20, MaxTimeout: durationpb.New(5 * time.Second)},
			wantOK: true,
		},
		{
			name:   "attached without a credential",
			ctx:    auth.WithCaller(t.Context(), auth.Caller{Subject: "carol"}),
			want:   &statusv1.Settings{Subject: "carol", MaxRequestBytes: 1 << 20, MaxTimeout: durationpb.New(5 * time.Second)},
			wantOK: true,
		},
		{name: "no caller", ctx: t.Context()},
		{name: "zero caller", ctx: auth.WithCaller(t.Context(), auth.Caller{})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := svc.GetSettings(tc.ctx, connect.NewRequest(&statusv1.GetSettingsRequest{}))
			if !tc.wantOK {
				if connect.CodeOf(err) != connect.CodeUnauthenticated {
					t.Fatalf("GetSettings = %v, %v; want unauthenticated", res, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, res.Msg.GetSettings(), protocmp.Transform()); diff != "" {
				t.Errorf("GetSettings (-want +got):\n%s", diff)
			}
		})
	}
}
