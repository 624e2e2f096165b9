package main

import (
	"bytes"
	"context"
	bin "encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	"golang.org/x/net/http2"
	"google.golang.org/protobuf/proto"
)

// TestReadHeaderTimeout is a slowloris client: it sends part of a request
// header and stalls. The server closes the connection after
// PORTICO_READ_HEADER_TIMEOUT, without a response, and keeps serving.
func TestReadHeaderTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	s := startServer(t, "PORTICO_READ_HEADER_TIMEOUT="+timeout.String())
	// The server's clock starts when it accepts the connection, which can be
	// before Dial returns: start ours before dialing.
	start := time.Now()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(s.base, "http://"), requestTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST "+procGetPublicProfile+" HTTP/1.1\r\nHost: portico\r\nContent-Type: appl"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(requestTimeout))
	n, err := conn.Read(make([]byte, 512))
	elapsed := time.Since(start)
	if n != 0 || !(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		t.Errorf("read after stalling = %d bytes, %v; want the connection closed", n, err)
	}
	if elapsed < timeout || elapsed > timeout+2*time.Second {
		t.Errorf("connection closed after %v, want about %v", elapsed, timeout)
	}
	checkServing(t, s)
}

// TestMaxHeaderBytes sends 70 KiB of header fields, over the 64 KiB limit.
// HTTP/1.1 gets 431 and a closed connection; HTTP/2 gets 431 on its stream,
// and the connection goes on serving.
//
// Over HTTP/2 the header block goes in one HEADERS frame (the server
// advertises a large SETTINGS_MAX_FRAME_SIZE), in fields smaller than the
// limit: net/http closes the whole connection instead for a CONTINUATION
// frame past the limit, or for one field longer than it.
func TestMaxHeaderBytes(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	var big []string
	for i := range 7 {
		big = append(big, fmt.Sprintf("x-big-%d", i), strings.Repeat("x", 10<<10))
	}
	http1 := newTransports(t)[0]
	res, _ := http1.do(t, newRequest(t, http.MethodPost, s.url(healthCheck), "", big...))
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("HTTP/1.1: status %d, want 431", res.StatusCode)
	}
	if !res.Close {
		t.Error("HTTP/1.1: the connection stays open after 431, want it closed")
	}

	c := dialH2C(t, s)
	// net/http adds 32 bytes for each of 10 typical fields (RFC 9113
	// section 6.5.2 counts 32 bytes of overhead per field).
	if got, want := c.settings[http2.SettingMaxHeaderListSize], uint32(64<<10+10*32); got != want {
		t.Errorf("SETTINGS_MAX_HEADER_LIST_SIZE = %d, want %d", got, want)
	}
	if got := c.settings[http2.SettingMaxFrameSize]; got < 80<<10 {
		t.Fatalf("SETTINGS_MAX_FRAME_SIZE = %d, too small to send the header block in one frame", got)
	}
	c.headers(1, healthCheck, true, append(slices.Clone(grpcFields), big...)...)
	if got := c.response(1)[":status"]; got != "431" {
		t.Errorf("HTTP/2: status %s, want 431", got)
	}
	c.check(3)
	checkServing(t, s)
}

// TestMaxConcurrentStreams opens more streams than
// PORTICO_MAX_CONCURRENT_STREAMS allows on one h2c connection: the extra
// one is reset, and once a stream closes the connection serves a new one.
func TestMaxConcurrentStreams(t *testing.T) {
	t.Parallel()
	s := startServer(t, "PORTICO_MAX_CONCURRENT_STREAMS=2")
	c := dialH2C(t, s)
	if got := c.settings[http2.SettingMaxConcurrentStreams]; got != 2 {
		t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS = %d, want 2", got)
	}
	// Two calls whose request bodies never end hold both slots.
	c.headers(1, healthCheck, false, grpcFields...)
	c.headers(3, healthCheck, false, grpcFields...)
	c.headers(5, healthCheck, true, grpcFields...)
	rst := c.next(func(f http2.Frame) bool {
		_, ok := f.(*http2.RSTStreamFrame)
		return ok
	}).(*http2.RSTStreamFrame)
	if rst.StreamID != 5 || (rst.ErrCode != http2.ErrCodeRefusedStream && rst.ErrCode != http2.ErrCodeProtocol) {
		t.Errorf("reset stream %d with %v, want stream 5 refused", rst.StreamID, rst.ErrCode)
	}
	if err := c.fr.WriteRSTStream(1, http2.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}
	c.check(7)
	if err := c.fr.WriteData(3, true, emptyMessage); err != nil {
		t.Fatal(err)
	}
	if got := c.response(3)[":status"]; got != "200" {
		t.Errorf("stream 3: status %s, want 200", got)
	}
}

// TestReadMaxBytes sends a request message over PORTICO_MAX_MESSAGE_BYTES
// in each protocol: it fails with resource_exhausted, which the access line
// records, and the same client's next call succeeds.
func TestReadMaxBytes(t *testing.T) {
	t.Parallel()
	s := startServer(t, "PORTICO_MAX_MESSAGE_BYTES=1024")
	transports := newTransports(t)
	tests := []struct {
		name   string
		client *http.Client
		opts   []connect.ClientOption
	}{
		{name: "connect", client: transports[0].client},
		{name: "grpcweb", client: transports[0].client, opts: []connect.ClientOption{connect.WithGRPCWeb()}},
		{name: "grpc", client: transports[1].client, opts: []connect.ClientOption{connect.WithGRPC()}},
	}
	for _, tc := range tests {
		client := profilev1connect.NewProfileServiceClient(tc.client, s.base, tc.opts...)
		update := func(bio string) error {
			req := connect.NewRequest(&profilev1.UpdateProfileRequest{
				DisplayName: "Ivan", Email: "ivan@example.com", Bio: bio,
			})
			req.Header().Set("Authorization", s.bearer(t, "ivan-"+tc.name))
			_, err := client.UpdateProfile(t.Context(), req)
			return err
		}
		if err := update(strings.Repeat("b", 2000)); connect.CodeOf(err) != connect.CodeResourceExhausted {
			t.Errorf("%s: oversized UpdateProfile() error = %v, want resource_exhausted", tc.name, err)
		}
		if err := update("short"); err != nil {
			t.Errorf("%s: UpdateProfile() after the oversized one: error = %v", tc.name, err)
		}
	}
	for _, tr := range transports {
		tr.client.CloseIdleConnections()
	}
	s.stop(t, syscall.SIGTERM)
	var codes []string
	for _, e := range s.entries(t) {
		if e.str("message") == "request" {
			codes = append(codes, e.str("code"))
		}
	}
	want := strings.Repeat("resource_exhausted ok ", len(tests))
	if got := strings.Join(codes, " ") + " "; got != want {
		t.Errorf("access line codes = %q, want %q", got, want)
	}
}

// TestDeadlines makes UpdateProfile slow, by holding SQLite's write lock on
// the server's database, and checks that the server ends it at the
// client's deadline, sent as Connect-Timeout-Ms or grpc-timeout by a client
// that does not enforce it itself, or at PORTICO_MAX_TIMEOUT when the
// client's is longer or absent.
func TestDeadlines(t *testing.T) {
	t.Parallel()
	const ceiling = 400 * time.Millisecond
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, "PORTICO_DATA_DIR="+dataDir, "PORTICO_MAX_TIMEOUT="+ceiling.String())
	judy := s.bearer(t, "judy")
	transports := newTransports(t)
	http1, h2c := transports[0], transports[1]
	release := lockStore(t, filepath.Join(dataDir, "profiles.db"))
	const body = `{"displayName":"Judy","email":"judy@example.com"}`
	msg, err := proto.Marshal(&profilev1.UpdateProfileRequest{DisplayName: "Judy", Email: "judy@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	envelope := bin.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
	envelope = append(envelope, msg...)

	tests := []struct {
		name    string
		tr      transport
		req     *http.Request
		limit   time.Duration // the deadline the server should apply
		grpc    bool
		timeout string
	}{
		{
			name: "Connect-Timeout-Ms", tr: http1, limit: 150 * time.Millisecond,
			req: newRequest(t, http.MethodPost, s.url(procUpdateProfile), body,
				"Content-Type", "application/json", "Authorization", judy, "Connect-Timeout-Ms", "150"),
		},
		{
			name: "grpc-timeout", tr: h2c, limit: 150 * time.Millisecond, grpc: true,
			req: newRequest(t, http.MethodPost, s.url(procUpdateProfile), string(envelope),
				"Content-Type", "application/grpc", "Te", "trailers", "Authorization", judy, "Grpc-Timeout", "150m"),
		},
		{
			name: "client deadline beyond the ceiling", tr: http1, limit: ceiling,
			req: newRequest(t, http.MethodPost, s.url(procUpdateProfile), body,
				"Content-Type", "application/json", "Authorization", judy, "Connect-Timeout-Ms", "3600000"),
		},
		{
			name: "no client deadline", tr: h2c, limit: ceiling, grpc: true,
			req: newRequest(t, http.MethodPost, s.url(procUpdateProfile), string(envelope),
				"Content-Type", "application/grpc", "Te", "trailers", "Authorization", judy),
		},
	}
	for _, tc := range tests {
		start := time.Now()
		res, got := tc.tr.do(t, tc.req)
		elapsed := time.Since(start)
		if tc.grpc {
			if code := res.Trailer.Get("Grpc-Status"); code != "4" {
				t.Errorf("%s: grpc-status %q (%s), want 4 (deadline_exceeded)", tc.name, code, res.Trailer.Get("Grpc-Message"))
			}
		} else {
			if res.StatusCode != http.StatusGatewayTimeout || !bytes.Contains(got, []byte(`"code":"deadline_exceeded"`)) {
				t.Errorf("%s: status %d, body %s; want 504 deadline_exceeded", tc.name, res.StatusCode, got)
			}
		}
		if elapsed < tc.limit || elapsed > tc.limit+2*time.Second {
			t.Errorf("%s: answered after %v, want soon after %v", tc.name, elapsed, tc.limit)
		}
	}
	// Once the lock is released, the same connections serve the call.
	release()
	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	defer cancel()
	client := profilev1connect.NewProfileServiceClient(h2c.client, s.base, connect.WithGRPC())
	req := connect.NewRequest(&profilev1.UpdateProfileRequest{DisplayName: "Judy", Email: "judy@example.com"})
	req.Header().Set("Authorization", judy)
	if _, err := client.UpdateProfile(ctx, req); err != nil {
		t.Errorf("UpdateProfile() after the release: error = %v", err)
	}
}

// checkServing checks that s still answers a health check, on a new
// connection.
func checkServing(tb testing.TB, s *server) {
	tb.Helper()
	c := dialH2C(tb, s)
	c.check(1)
}
