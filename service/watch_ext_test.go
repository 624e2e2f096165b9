package service_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/portico-dev/portico/auth"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	"github.com/portico-dev/portico/service"
)

func TestWatchProfile(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t, service.WithWatchInterval(10*time.Millisecond))
	mux := http.NewServeMux()
	dev, err := auth.LoadDevSigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	token, err := dev.Token("alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(profilev1connect.NewProfileServiceHandler(svc, connect.WithInterceptors(auth.NewInterceptor(auth.WithTokenVerifiers(dev)))))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := profilev1connect.NewProfileServiceClient(srv.Client(), srv.URL)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req := connect.NewRequest(&profilev1.WatchProfileRequest{})
	req.Header().Set("Authorization", "Bearer "+token)
	stream, err := client.WatchProfile(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	next := func() *profilev1.WatchProfileResponse {
		t.Helper()
		if !stream.Receive() {
			t.Fatalf("stream ended: %v", stream.Err())
		}
		return stream.Msg()
	}
	if msg := next(); msg.GetProfile() != nil {
		t.Fatalf("first message = %v, want no profile", msg)
	}
	seed(t, svc, "alice", 1)
	if msg := next(); msg.GetProfile().GetEtag() != etag(1) {
		t.Fatalf("second message = %v, want version 1", msg)
	}
	if _, err := svc.UpdateProfile(as(t, "alice"), updateRequest(content(2), etag(1))); err != nil {
		t.Fatal(err)
	}
	if msg := next(); msg.GetProfile().GetEtag() != etag(2) {
		t.Fatalf("third message = %v, want version 2", msg)
	}
	// StopWatches ends the stream, so a server can drain, with unavailable
	// so that the client knows to reconnect.
	svc.StopWatches()
	if stream.Receive() {
		t.Fatalf("unexpected message after StopWatches: %v", stream.Msg())
	}
	assertCode(t, stream.Err(), connect.CodeUnavailable)

	// Without credentials the stream fails with unauthenticated.
	anon, err := client.WatchProfile(ctx, connect.NewRequest(&profilev1.WatchProfileRequest{}))
	if err == nil {
		for anon.Receive() {
		}
		err = anon.Err()
	}
	assertCode(t, err, connect.CodeUnauthenticated)
}
