package main

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	_ "modernc.org/sqlite" // the "sqlite" driver, as the server uses
)

// TestDrain sends SIGTERM while a slow unary call is in flight, and checks
// the Cloud Run contract: the listener closes, health watchers are told
// NOT_SERVING, the call completes successfully, and the process exits 0 as
// soon as it has, within the grace period.
//
// The call is slow for a real reason: the test holds SQLite's write lock on
// the server's own database file, so UpdateProfile waits in SQLite's busy
// handler (up to 5 s) until the test releases it, 500 ms after the signal.
func TestDrain(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, "PORTICO_DATA_DIR="+dataDir, "PORTICO_SHUTDOWN_GRACE=4s")
	conn := dialGRPC(t, s)
	ctx, cancel := context.WithTimeout(t.Context(), 2*stopTimeout)
	defer cancel()

	watch, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatalf("Watch() error = %v", err)
	}
	if res, err := watch.Recv(); err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Watch() first = %v, %v; want SERVING", res.GetStatus(), err)
	}

	release := lockStore(t, filepath.Join(dataDir, "profiles.db"))
	done := make(chan error, 1)
	res := &profilev1.UpdateProfileResponse{}
	grace := s.bearer(t, "grace")
	go func() {
		auth := metadata.AppendToOutgoingContext(ctx, "authorization", grace)
		done <- conn.Invoke(auth, procUpdateProfile,
			&profilev1.UpdateProfileRequest{DisplayName: "Grace", Email: "grace@example.com"}, res)
	}()
	// Let the call reach the server and wait on the lock.
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("UpdateProfile() returned %v before the lock was released", err)
	default:
	}

	signaled := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Health watchers learn of the drain, then their stream ends.
	if res, err := watch.Recv(); err != nil || res.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("Watch() after SIGTERM = %v, %v; want NOT_SERVING", res.GetStatus(), err)
	}
	if _, err := watch.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("Watch() at the end of the drain: error = %v, want EOF", err)
	}
	// No new connections are accepted.
	refused := false
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", s.base[len("http://"):], 100*time.Millisecond)
		if err != nil {
			refused = true
			break
		}
		_ = c.Close()
	}
	if !refused {
		t.Error("the server still accepts connections during the drain")
	}

	time.Sleep(time.Until(signaled.Add(500 * time.Millisecond)))
	select {
	case <-s.exited:
		t.Fatal("exited before the call in flight completed")
	default:
	}
	released := time.Now()
	release()
	if err := <-done; err != nil {
		t.Fatalf("in-flight UpdateProfile() error = %v, want success", err)
	}
	if got := res.GetProfile().GetEtag(); got != `"profile-v1"` {
		t.Errorf("in-flight UpdateProfile() etag = %q", got)
	}
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		t.Fatalf("still running %v after SIGTERM", stopTimeout)
	}
	t.Logf("call completed and process exited %v after the release, %v after SIGTERM",
		time.Since(released).Round(time.Millisecond), time.Since(signaled).Round(time.Millisecond))
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status = %d, want 0", code)
	}
	if d := time.Since(released); d > 2*time.Second {
		t.Errorf("exited %v after the last call completed, want promptly", d)
	}
	var sawCall bool
	for _, e := range s.entries(t) {
		if e.str("message") == "request" && e.str("procedure") == procUpdateProfile {
			sawCall = e.str("code") == "ok"
		}
	}
	if !sawCall {
		t.Error("no access line with code ok for the drained call")
	}
}

// lockStore takes SQLite's write lock on the database at path, as another
// writer would, and returns the function that releases it (also run at
// cleanup). Writers in the server then wait in their busy handler.
func lockStore(tb testing.TB, path string) (release func()) {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		tb.Fatal(err)
	}
	conn, err := db.Conn(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := conn.ExecContext(tb.Context(), "BEGIN IMMEDIATE"); err != nil {
		tb.Fatalf("lock %s: %v", path, err)
	}
	var released bool
	release = func() {
		if released {
			return
		}
		released = true
		if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			tb.Errorf("unlock: %v", err)
		}
		_ = conn.Close()
		_ = db.Close()
	}
	tb.Cleanup(release)
	return release
}

// TestDrainGraceExpires checks the other end of the contract: a call that
// outlasts the grace period is cut, the log says so, and the process still
// exits 0 well before Cloud Run would kill it.
func TestDrainGraceExpires(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, "PORTICO_DATA_DIR="+dataDir, "PORTICO_SHUTDOWN_GRACE=300ms")
	conn := dialGRPC(t, s)
	ctx, cancel := context.WithTimeout(t.Context(), 2*stopTimeout)
	defer cancel()

	lockStore(t, filepath.Join(dataDir, "profiles.db")) // held until cleanup
	done := make(chan error, 1)
	slow := s.bearer(t, "slow")
	go func() {
		auth := metadata.AppendToOutgoingContext(ctx, "authorization", slow)
		done <- conn.Invoke(auth, procUpdateProfile,
			&profilev1.UpdateProfileRequest{DisplayName: "Slow", Email: "slow@example.com"}, &profilev1.UpdateProfileResponse{})
	}()
	time.Sleep(300 * time.Millisecond)
	signaled := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		t.Fatalf("still running %v after SIGTERM", stopTimeout)
	}
	if d := time.Since(signaled); d > 2*time.Second {
		t.Errorf("exited %v after SIGTERM with a 300ms grace period", d)
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status = %d, want 0", code)
	}
	if err := <-done; err == nil {
		t.Error("the call that outlasted the grace period succeeded; want it cut")
	}
	var warned bool
	for _, e := range s.entries(t) {
		warned = warned || e.str("message") == "grace period expired: closing the connections still busy"
	}
	if !warned {
		t.Error("no log line says the grace period expired")
	}
}
