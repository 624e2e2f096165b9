package main

// The fault tests put the load of load_test.go on the built binary, on
// PostgreSQL, and break something underneath it: the process gets SIGTERM,
// the database stops and starts again, clients hang up in the middle of
// calls and streams, or send their headers too slowly. Each checks that no
// acknowledged write is lost or half-written, that clients only see the
// errors the fault explains, and that the server's goroutines return to
// their idle number (read from its metrics endpoint). Like the soak, they
// are skipped by `go test -short` and run by `make soak`.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	"github.com/portico-dev/portico/internal/pgtest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

const (
	// faultClients is the load's size during the faults.
	faultClients = 32
	// recoveryGrace is how long after the database is back calls may still
	// fail while the pool reconnects.
	recoveryGrace = 3 * time.Second
)

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("fault tests run under load for seconds: run them with make soak")
	}
}

// runFor runs l for d in the background; wait waits for it to end.
func runFor(l *load, d time.Duration) (wait func()) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.run(ctx)
	}()
	return func() {
		<-done
		cancel()
	}
}

// TestFaultSIGTERM sends SIGTERM in the middle of the load. The server
// drains: calls in flight complete, later ones are refused, the process
// exits 0 within the grace period; and every write a client saw
// acknowledged is in the database, whole.
func TestFaultSIGTERM(t *testing.T) {
	skipShort(t)
	cluster := pgtest.Shared(t)
	databaseURL := cluster.NewDatabase(t)
	s := startPostgresServers(t, 1, databaseURL, cluster.Password())[0]
	l := newLoad(t, s, faultClients)
	var signaled time.Time
	var mu sync.Mutex
	l.expected = func(_, end time.Time, o outcome) bool {
		mu.Lock()
		defer mu.Unlock()
		// Once the drain starts, a call may be refused (or, on a connection
		// the server closes, fail), and streams end with unavailable.
		return !signaled.IsZero() && end.After(signaled) && (o == unavailable || o == disconnected)
	}
	wait := runFor(l, 6*time.Second)
	time.Sleep(3 * time.Second)
	mu.Lock()
	signaled = time.Now()
	l.since.Store(signaled.UnixNano())
	mu.Unlock()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		t.Fatalf("still running %v after SIGTERM under load", stopTimeout)
	}
	exitedAfter := time.Since(signaled)
	wait()
	report := l.summary(6 * time.Second)
	t.Logf("SIGTERM under %d clients: exited %v after the signal; %d calls in flight at the signal completed\n%v",
		faultClients, exitedAfter.Round(time.Millisecond), l.okSince.Load(), report)
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	l.check(t)
	pending, done := checkStored(t, databaseURL, l)
	t.Logf("%d users had a write whose answer they never got; %d of those writes were done (whole)", pending, done)
}

// TestFaultDatabaseRestart stops the PostgreSQL server under the load and
// starts it again. Meanwhile calls that need the store fail with
// unavailable, which the browser can read, never with internal; the rest
// (preflights) go on; once it is back, every call succeeds again, from the
// same process; and the stored profiles are every client's acknowledged
// writes, whole.
func TestFaultDatabaseRestart(t *testing.T) {
	skipShort(t)
	cluster := pgtest.New(t)
	databaseURL := cluster.NewDatabase(t)
	s := startPostgresServers(t, 1, databaseURL, cluster.Password(), metricsEnv)[0]
	metrics := s.metricsURL(t)
	l := newLoad(t, s, faultClients)
	runFor(l, time.Second)()
	l.summary(time.Second)
	l.check(t)
	l.closeIdle()
	base := idleBaseline(t, metrics, settleTimeout)
	var down, up time.Time
	var mu sync.Mutex
	l.expected = func(start, end time.Time, o outcome) bool {
		mu.Lock()
		defer mu.Unlock()
		return o == unavailable && !down.IsZero() && end.After(down) && (up.IsZero() || start.Before(up.Add(recoveryGrace)))
	}
	const outage = 3 * time.Second
	wait := runFor(l, 2*time.Second+outage+recoveryGrace+3*time.Second)
	time.Sleep(2 * time.Second)
	mu.Lock()
	down = time.Now()
	mu.Unlock()
	cluster.Stop(t)
	time.Sleep(outage)
	cluster.Start(t)
	mu.Lock()
	up = time.Now()
	l.since.Store(up.Add(recoveryGrace).UnixNano())
	mu.Unlock()
	wait()
	report := l.summary(time.Since(down) + 2*time.Second)
	t.Logf("database down for %v (and restarted) under %d clients:\n%v", outage, faultClients, report)
	l.check(t)
	unavail := 0
	for _, counts := range report.byOp {
		unavail += counts[unavailable]
	}
	if unavail == 0 {
		t.Error("no call failed while the database was down: the fault did not happen")
	}
	if n := l.okSince.Load(); n < faultClients {
		t.Errorf("%d calls succeeded from %v after the database was back; want every client's", n, recoveryGrace)
	}
	for _, e := range s.entries(t) {
		if e.str("message") == "profile service: internal error" {
			t.Errorf("internal error logged: %v", e)
		}
	}
	checkStored(t, databaseURL, l)
	l.closeIdle()
	after, ok := settledGoroutines(t, metrics, base.goroutines+goroutineSlack, settleTimeout)
	t.Logf("idle before %v, after %v", base, after)
	if !ok {
		t.Errorf("goroutines did not return to baseline within %v: %v, baseline %v", settleTimeout, after, base)
	}
}

// A connTracker dials connections and can cut them all at once, as a
// client that loses its network would.
type connTracker struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (ct *connTracker) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{Timeout: requestTimeout}).DialContext(ctx, network, addr)
	if err == nil {
		ct.mu.Lock()
		ct.conns = append(ct.conns, c)
		ct.mu.Unlock()
	}
	return c, err
}

// cut closes every connection dialed so far, without a word to the server.
func (ct *connTracker) cut() int {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	for _, c := range ct.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, not FIN: the client is gone
		}
		_ = c.Close()
	}
	n := len(ct.conns)
	ct.conns = nil
	return n
}

// TestFaultDisconnects checks that the server lets go of clients that hang
// up in the middle of things: WatchProfile streams over every protocol,
// and unary calls stuck on a hung database, whose connections are cut; and
// clients that send their request headers too slowly, which the server
// cuts itself (PORTICO_READ_HEADER_TIMEOUT). Each time its goroutines
// return to their idle number, and it goes on serving. Writes stuck when
// their client went are done whole or not at all.
func TestFaultDisconnects(t *testing.T) {
	skipShort(t)
	cluster := pgtest.Shared(t)
	databaseURL := cluster.NewDatabase(t)
	proxy := pgtest.NewProxy(t, cluster.Addr())
	s := startPostgresServers(t, 1, proxy.URL(t, databaseURL), cluster.Password(), metricsEnv,
		"PORTICO_READ_HEADER_TIMEOUT=1s")[0]
	metrics := s.metricsURL(t)

	// Warm up, so that the pool and the runtime have their idle size.
	l := newLoad(t, s, 8)
	runFor(l, time.Second)()
	l.check(t)
	l.closeIdle()
	base := idleBaseline(t, metrics, settleTimeout)
	t.Logf("idle baseline: %v", base)
	settled := func(step string) {
		t.Helper()
		got, ok := settledGoroutines(t, metrics, base.goroutines+goroutineSlack, settleTimeout)
		t.Logf("%s: back to %v", step, got)
		if !ok {
			t.Errorf("%s: goroutines did not return to baseline within %v: %v, baseline %v", step, settleTimeout, got, base)
		}
		checkServing(t, s)
	}

	t.Run("watch streams", func(t *testing.T) {
		ct := &connTracker{}
		opened := openWatches(t, s, ct, 8)
		during := sampleRuntime(t, metrics)
		n := ct.cut()
		t.Logf("%d streams open on %d connections (%v); cut them", opened, n, during)
		if during.goroutines < base.goroutines+float64(opened) {
			t.Errorf("%v with %d streams open: the streams were not running", during, opened)
		}
		settled("watch streams cut")
	})

	t.Run("calls on a hung database", func(t *testing.T) {
		ct := &connTracker{}
		proxy.Freeze()
		thawed := false
		defer func() {
			if !thawed {
				proxy.Thaw()
			}
		}()
		results := hangUpdates(t, s, ct, 8)
		time.Sleep(500 * time.Millisecond)
		during := sampleRuntime(t, metrics)
		n := ct.cut()
		t.Logf("%d calls stuck on the frozen database (%v); cut %d connections", len(results), during, n)
		for i, r := range results {
			if err := <-r; err == nil {
				t.Errorf("call %d succeeded on a frozen database", i)
			}
		}
		time.Sleep(500 * time.Millisecond)
		proxy.Thaw()
		thawed = true
		settled("hung calls cut")
		checkHungWrites(t, databaseURL, 3*8)
	})

	t.Run("slow headers", func(t *testing.T) {
		conns := slowClients(t, s, 48)
		time.Sleep(300 * time.Millisecond)
		during := sampleRuntime(t, metrics)
		t.Logf("%d clients sending their headers slowly (%v)", len(conns), during)
		// The clients stay connected: the server must cut them.
		settled("slow clients cut by the server")
		cut := 0
		for _, c := range conns {
			_ = c.SetReadDeadline(time.Now().Add(requestTimeout))
			// The server answers 400 and closes, or just closes.
			got, err := io.ReadAll(c)
			if err == nil || errors.Is(err, syscall.ECONNRESET) {
				cut++
			}
			if len(got) > 0 && !strings.HasPrefix(string(got), "HTTP/1.1 400 Bad Request\r\n") {
				t.Errorf("slow client got %q", got)
			}
			_ = c.Close()
		}
		if cut != len(conns) {
			t.Errorf("the server cut %d of %d slow clients", cut, len(conns))
		}
	})
}

// openWatches opens n WatchProfile streams over each of Connect (HTTP/1.1
// and h2c), gRPC-Web and gRPC, for users of their own, dialed through ct,
// and waits for each first message.
func openWatches(t *testing.T, s *server, ct *connTracker, n int) int {
	t.Helper()
	var h1p, h2p http.Protocols
	h1p.SetHTTP1(true)
	h2p.SetUnencryptedHTTP2(true)
	h1 := &http.Client{Transport: &http.Transport{Protocols: &h1p, DialContext: ct.dial}}
	h2 := &http.Client{Transport: &http.Transport{Protocols: &h2p, DialContext: ct.dial}}
	clients := map[string]profilev1connect.ProfileServiceClient{
		"connect-http1": profilev1connect.NewProfileServiceClient(h1, s.base),
		"connect-h2c":   profilev1connect.NewProfileServiceClient(h2, s.base),
		"grpc-web":      profilev1connect.NewProfileServiceClient(h1, s.base, connect.WithGRPCWeb()),
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel) // the streams live until their connections are cut
	opened := 0
	for name, client := range clients {
		for i := range n {
			req := connect.NewRequest(&profilev1.WatchProfileRequest{})
			req.Header().Set("Origin", appOrigin)
			req.Header().Set("Authorization", s.bearer(t, fmt.Sprintf("watch-%s-%d", name, i)))
			stream, err := client.WatchProfile(ctx, req)
			if err != nil {
				t.Fatalf("%s: WatchProfile: %v", name, err)
			}
			if !stream.Receive() {
				t.Fatalf("%s: WatchProfile: no first message: %v", name, stream.Err())
			}
			opened++
		}
	}
	conn := dialGRPCWith(t, s, ct.dial)
	desc := &grpc.StreamDesc{StreamName: "WatchProfile", ServerStreams: true}
	for i := range n {
		auth := metadata.AppendToOutgoingContext(ctx, "authorization", s.bearer(t, fmt.Sprintf("watch-grpc-%d", i)))
		stream, err := conn.NewStream(auth, desc, profilev1connect.ProfileServiceWatchProfileProcedure)
		if err == nil {
			err = stream.SendMsg(&profilev1.WatchProfileRequest{})
		}
		if err == nil {
			err = stream.CloseSend()
		}
		if err == nil {
			err = stream.RecvMsg(&profilev1.WatchProfileResponse{})
		}
		if err != nil {
			t.Fatalf("grpc: WatchProfile: %v", err)
		}
		opened++
	}
	return opened
}

// hangUpdates starts n UpdateProfile calls over each of Connect (HTTP/1.1
// and h2c) and gRPC, dialed through ct, for users hang-0, hang-1, ..., each
// writing hungFields, and returns their results.
func hangUpdates(t *testing.T, s *server, ct *connTracker, n int) []chan error {
	t.Helper()
	var h1p, h2p http.Protocols
	h1p.SetHTTP1(true)
	h2p.SetUnencryptedHTTP2(true)
	h1 := &http.Client{Transport: &http.Transport{Protocols: &h1p, DialContext: ct.dial}}
	h2 := &http.Client{Transport: &http.Transport{Protocols: &h2p, DialContext: ct.dial}}
	conn := dialGRPCWith(t, s, ct.dial)
	callers := []func(ctx context.Context, bearer string, req *profilev1.UpdateProfileRequest) error{
		func(ctx context.Context, bearer string, msg *profilev1.UpdateProfileRequest) error {
			req := connect.NewRequest(msg)
			req.Header().Set("Origin", appOrigin)
			req.Header().Set("Authorization", bearer)
			_, err := profilev1connect.NewProfileServiceClient(h1, s.base).UpdateProfile(ctx, req)
			return err
		},
		func(ctx context.Context, bearer string, msg *profilev1.UpdateProfileRequest) error {
			req := connect.NewRequest(msg)
			req.Header().Set("Authorization", bearer)
			_, err := profilev1connect.NewProfileServiceClient(h2, s.base).UpdateProfile(ctx, req)
			return err
		},
		func(ctx context.Context, bearer string, msg *profilev1.UpdateProfileRequest) error {
			return conn.Invoke(metadata.AppendToOutgoingContext(ctx, "authorization", bearer), procUpdateProfile, msg, &profilev1.UpdateProfileResponse{})
		},
	}
	var results []chan error
	for i := range len(callers) * n {
		done := make(chan error, 1)
		results = append(results, done)
		bearer := s.bearer(t, fmt.Sprintf("hang-%d", i))
		name, email, bio := hungFields(i)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			done <- callers[i%len(callers)](ctx, bearer, &profilev1.UpdateProfileRequest{DisplayName: name, Email: email, Bio: bio})
		}()
	}
	return results
}

func hungFields(i int) (name, email, bio string) {
	return fmt.Sprintf("hung %d", i), fmt.Sprintf("hung-%d@example.com", i), fmt.Sprintf("bio of hung %d", i)
}

// checkHungWrites checks that each of the n writes of hangUpdates, whose
// clients hung up while the database was frozen, is stored whole or not at
// all.
func checkHungWrites(t *testing.T, databaseURL string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	stored := 0
	for i := range n {
		var name, email, bio string
		var version int
		err := conn.QueryRow(ctx, `SELECT display_name, email, bio, version FROM profiles WHERE id = $1`, fmt.Sprintf("hang-%d", i)).
			Scan(&name, &email, &bio, &version)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		stored++
		wantName, wantEmail, wantBio := hungFields(i)
		if name != wantName || email != wantEmail || bio != wantBio || version != 1 {
			t.Errorf("hang-%d: stored %q %q %q version %d; want the write whole", i, name, email, bio, version)
		}
	}
	t.Logf("%d of %d writes whose clients hung up were stored (whole)", stored, n)
}

// slowClients opens n connections that send a request header a byte at a
// time, far slower than the server's header timeout allows: three quarters
// over HTTP/1.1, the rest as an HTTP/2 client preface. They keep sending
// until the server hangs up or the test ends.
func slowClients(t *testing.T, s *server, n int) []net.Conn {
	t.Helper()
	addr := strings.TrimPrefix(s.base, "http://")
	var conns []net.Conn
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for i := range n {
		c, err := net.DialTimeout("tcp", addr, requestTimeout)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		conns = append(conns, c)
		msg := "POST " + procGetPublicProfile + " HTTP/1.1\r\nHost: portico\r\nContent-Type: application/json\r\nX-Slow: " + strings.Repeat("x", 200)
		if i%4 == 3 {
			msg = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
		}
		go func() {
			for j := 0; j < len(msg); j++ {
				if _, err := c.Write([]byte{msg[j]}); err != nil {
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
		}()
	}
	return conns
}
