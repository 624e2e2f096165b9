package main

// The peer tests call the binary as server-side gRPC tooling does, with real
// client processes and libraries: grpcurl and buf curl (built by TestMain at
// the versions pinned in tools/go.mod), and grpc-go. None sends an Origin,
// so no response may carry an Access-Control-* field.

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
)

// servicesListed is what reflection lists: the reference and status
// services and the two peers services themselves.
var servicesListed = []string{
	"grpc.health.v1.Health",
	"grpc.reflection.v1.ServerReflection",
	"grpc.reflection.v1alpha.ServerReflection",
	"portico.profile.v1.ProfileService",
	"portico.status.v1.StatusService",
}

// TestGRPCurl lists, describes and calls the server with grpcurl over h2c,
// using server reflection for the schema.
func TestGRPCurl(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	addr := strings.TrimPrefix(s.base, "http://")

	out, _ := runTool(t, grpcurl, "", "-plaintext", addr, "list")
	if diff := cmp.Diff(servicesListed, strings.Fields(out)); diff != "" {
		t.Errorf("grpcurl list mismatch (-want +got):\n%s", diff)
	}

	out, _ = runTool(t, grpcurl, "", "-plaintext", addr, "describe", "portico.profile.v1.ProfileService")
	for _, want := range []string{
		"service ProfileService {",
		"rpc UpdateProfile ( .portico.profile.v1.UpdateProfileRequest ) returns ( .portico.profile.v1.UpdateProfileResponse )",
		"rpc WatchProfile ( .portico.profile.v1.WatchProfileRequest ) returns ( stream .portico.profile.v1.WatchProfileResponse )",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("grpcurl describe: output lacks %q:\n%s", want, out)
		}
	}
	out, _ = runTool(t, grpcurl, "", "-plaintext", addr, "describe", "portico.profile.v1.UpdateProfileRequest")
	if !strings.Contains(out, "message UpdateProfileRequest {") || !strings.Contains(out, "display_name") {
		t.Errorf("grpcurl describe message: output:\n%s", out)
	}

	out, _ = runTool(t, grpcurl, "", "-plaintext", "-v",
		"-H", "authorization: "+s.bearer(t, "dave"),
		"-d", `{"displayName":"Dave","email":"dave@example.com"}`,
		addr, "portico.profile.v1.ProfileService/UpdateProfile")
	if !strings.Contains(out, `"etag": "\"profile-v1\""`) {
		t.Errorf("grpcurl UpdateProfile: output lacks the ETag:\n%s", out)
	}
	checkNoCORSText(t, "grpcurl UpdateProfile", out)

	out, _ = runTool(t, grpcurl, "", "-plaintext", addr, "grpc.health.v1.Health/Check")
	if !strings.Contains(out, `"status": "SERVING"`) {
		t.Errorf("grpcurl health check: output:\n%s", out)
	}
}

// TestBufCurl calls the server with buf curl in each protocol: gRPC over
// h2c with the schema from reflection v1; Connect over HTTP/1.1 with the
// schema compiled from proto/; gRPC-Web over h2c with reflection v1alpha.
func TestBufCurl(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	schema, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{name: "grpc", args: []string{"--protocol", "grpc", "--http2-prior-knowledge"}},
		{name: "connect", args: []string{"--protocol", "connect", "--schema", schema}},
		{name: "grpcweb", args: []string{"--protocol", "grpcweb", "--http2-prior-knowledge", "--reflect-protocol", "grpc-v1alpha"}},
	}
	cache := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			subject := "erin-" + tc.name
			args := append([]string{"curl", "-v"}, tc.args...)
			args = append(args,
				"-H", "Authorization: "+s.bearer(t, subject),
				"-d", `{"displayName":"Erin","email":"erin@example.com","bio":"buf"}`,
				s.url(procUpdateProfile))
			out, verbose := runTool(t, buf, "BUF_CACHE_DIR="+cache, args...)
			var got struct {
				Profile map[string]any `json:"profile"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("buf curl output %q: %v", out, err)
			}
			want := map[string]any{
				"id": subject, "displayName": "Erin", "email": "erin@example.com", "bio": "buf", "etag": `"profile-v1"`,
			}
			if diff := cmp.Diff(want, got.Profile, ignoreLogFields("updateTime")); diff != "" {
				t.Errorf("UpdateProfile mismatch (-want +got):\n%s", diff)
			}
			// -v prints the response headers (and trailers) on stderr.
			if !strings.Contains(strings.ToLower(verbose), `etag: "profile-v1"`) {
				t.Errorf("buf curl -v shows no response headers:\n%s", verbose)
			}
			checkNoCORSText(t, "buf curl", verbose)
		})
	}
}

// TestGRPCGo calls the server with grpc-go, as a Go backend would: unary
// calls with generated messages, and the standard health check.
func TestGRPCGo(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	conn := dialGRPC(t, s)
	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	defer cancel()

	health := healthpb.NewHealthClient(conn)
	for _, service := range []string{"", "portico.profile.v1.ProfileService"} {
		var header, trailer metadata.MD
		res, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: service}, grpc.Header(&header), grpc.Trailer(&trailer))
		if err != nil {
			t.Fatalf("Check(%q) error = %v", service, err)
		}
		if res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q) = %v, want SERVING", service, res.GetStatus())
		}
		checkNoCORSMetadata(t, "Check", header, trailer)
		if got := header.Get("vary"); len(got) != 0 {
			t.Errorf("Check(%q) vary = %q, want none: health has no CORS policy", service, got)
		}
	}
	_, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope.v1.Nope"})
	if code := status.Code(err); code != codes.NotFound {
		t.Errorf("Check(unknown service) code = %v, want NotFound", code)
	}

	auth := metadata.AppendToOutgoingContext(ctx, "authorization", s.bearer(t, "frank"))
	var header, trailer metadata.MD
	update := &profilev1.UpdateProfileResponse{}
	err = conn.Invoke(auth, procUpdateProfile,
		&profilev1.UpdateProfileRequest{DisplayName: "Frank", Email: "frank@example.com", Bio: "grpc-go"},
		update, grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil {
		t.Fatalf("UpdateProfile() error = %v", err)
	}
	if got := header.Get("etag"); len(got) != 1 || got[0] != `"profile-v1"` {
		t.Errorf("UpdateProfile() etag header = %q", got)
	}
	// A gRPC call is a POST, which no cache stores: it gets no CORS field
	// at all, not even Vary.
	if got := header.Get("vary"); len(got) != 0 {
		t.Errorf("UpdateProfile() vary = %q, want none", got)
	}
	checkNoCORSMetadata(t, "UpdateProfile", header, trailer)

	pub := &profilev1.GetPublicProfileResponse{}
	header, trailer = nil, nil
	if err := conn.Invoke(ctx, procGetPublicProfile, &profilev1.GetPublicProfileRequest{Id: "frank"}, pub,
		grpc.Header(&header), grpc.Trailer(&trailer)); err != nil {
		t.Fatalf("GetPublicProfile() error = %v", err)
	}
	want := &profilev1.PublicProfile{Id: "frank", DisplayName: "Frank", Bio: "grpc-go"}
	if diff := cmp.Diff(want, pub.GetProfile(), protocmp.Transform()); diff != "" {
		t.Errorf("GetPublicProfile() mismatch (-want +got):\n%s", diff)
	}
	checkNoCORSMetadata(t, "GetPublicProfile", header, trailer)

	err = conn.Invoke(ctx, procGetProfile, &profilev1.GetProfileRequest{}, &profilev1.GetProfileResponse{})
	if code := status.Code(err); code != codes.Unauthenticated {
		t.Errorf("anonymous GetProfile() code = %v (error %v), want Unauthenticated", code, err)
	}
}

// dialGRPC returns a grpc-go client connection to s over h2c, closed at
// cleanup. The passthrough resolver hands the address to the dialer as is.
func dialGRPC(tb testing.TB, s *server) *grpc.ClientConn {
	tb.Helper()
	return dialGRPCWith(tb, s, (&net.Dialer{Timeout: requestTimeout}).DialContext)
}

// dialGRPCWith is dialGRPC over the given dialer, such as one that tracks
// the connections to cut them.
func dialGRPCWith(tb testing.TB, s *server, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *grpc.ClientConn {
	tb.Helper()
	conn, err := grpc.NewClient("passthrough:///"+strings.TrimPrefix(s.base, "http://"),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) { return dial(ctx, "tcp", addr) }))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}

// runTool runs a peer client with the test's environment plus env ("" for
// none), from the repository root, and returns its stdout and stderr. It
// fails tb if the tool fails or runs longer than startTimeout.
func runTool(tb testing.TB, bin, env string, args ...string) (stdout, stderr string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = repoRoot
	cmd.Env = childEnv(tb)
	if env != "" {
		cmd.Env = append(cmd.Env, env)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s %q: %v after %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(bin), args, err,
			time.Since(start).Round(time.Millisecond), out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

// checkNoCORSText checks a tool's verbose output for Access-Control-* fields.
func checkNoCORSText(tb testing.TB, call, out string) {
	tb.Helper()
	if strings.Contains(strings.ToLower(out), "access-control-") {
		tb.Errorf("%s: CORS fields in a response to a request without Origin:\n%s", call, out)
	}
}

// checkNoCORSMetadata checks gRPC response metadata for Access-Control-*
// fields.
func checkNoCORSMetadata(tb testing.TB, call string, mds ...metadata.MD) {
	tb.Helper()
	for _, md := range mds {
		for key := range md {
			if strings.HasPrefix(key, "access-control-") {
				tb.Errorf("%s: CORS field %q in a response to a request without Origin", call, key)
			}
		}
	}
}
