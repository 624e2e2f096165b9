package main

// These tests build the real portico binary once, in TestMain, and run it as
// a child process the way Cloud Run does: configured through the environment
// only, on PORT=0 so that the kernel picks a free port, which the test reads
// back from the "listening" log line. Each test starts its own process with
// its own data directory, so they run in parallel.
//
// When the tests run with -race, the binary is built with -race too, and any
// data race it reports fails the test that started it.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	"github.com/portico-dev/portico/internal/pgtest"
	"google.golang.org/protobuf/testing/protocmp"
)

const (
	// testVersion is stamped into the binary under test with -ldflags, as
	// the release build does.
	testVersion = "v0.0.0-e2e"
	// startTimeout bounds the wait for the "listening" line and for a
	// command that should exit by itself.
	startTimeout = 15 * time.Second
	// stopTimeout bounds the wait for exit after a signal. It is shorter
	// than the default grace period (8s), so a shutdown that waits on idle
	// connections fails.
	stopTimeout = 5 * time.Second
	// requestTimeout bounds every HTTP request.
	requestTimeout = 5 * time.Second
	// repoRoot is the repository root, relative to this package.
	repoRoot = "../.."
)

const (
	appOrigin     = "https://app.example.com"
	adminOrigin   = "https://admin.example.com"
	evilOrigin    = "https://evil.example.net"
	anyOrigin     = "https://anyone.example.org"
	previewOrigin = "https://feature-123.example.dev"
	localOrigin   = "http://127.0.0.1:5173"
	// previewOrigins is a deployment's PORTICO_ORIGINS_WEB.
	previewOrigins = localOrigin + ",https://*.example.dev"

	procGetProfile       = profilev1connect.ProfileServiceGetProfileProcedure
	procUpdateProfile    = profilev1connect.ProfileServiceUpdateProfileProcedure
	procGetPublicProfile = profilev1connect.ProfileServiceGetPublicProfileProcedure

	// rpcAllowHeaders is what every procedure's preflight allows: the
	// service's Authorization and X-Client-Version, and what the Connect,
	// gRPC-Web and gRPC protocols send.
	rpcAllowHeaders = "Authorization, Content-Type, X-Client-Version, " +
		"Connect-Protocol-Version, Connect-Timeout-Ms, X-Grpc-Web, X-User-Agent, Grpc-Timeout"
	// exposeHeaders is what the frontend may read: the seed's three, and the
	// gRPC-Web status headers.
	exposeHeaders = "ETag, Location, Retry-After, Grpc-Status, Grpc-Message, Grpc-Status-Details-Bin"
	varyPreflight = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"

	msgPreflightRefused = "cors: preflight refused"
)

var (
	// binary is the portico binary built by TestMain.
	binary string
	// grpcurl and buf are the peer clients, built by TestMain from the
	// versions pinned in tools/go.mod.
	grpcurl, buf string
	// raceBuild is whether binary, like this test binary, has the race
	// detector.
	raceBuild bool
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "portico-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "portico")
	args := []string{"build", "-o", binary, "-ldflags=-X main.version=" + testVersion}
	if raceBuild = raceEnabled(); raceBuild {
		args = append(args, "-race")
	}
	// go test puts its own toolchain first on PATH. The peer clients build
	// alongside, from the repository root so that -modfile finds the root
	// module; both builds are cached after the first run.
	grpcurl, buf = filepath.Join(dir, "grpcurl"), filepath.Join(dir, "buf")
	builds := []*exec.Cmd{
		exec.Command("go", append(args, ".")...),
		exec.Command("go", "build", "-modfile=tools/go.mod", "-o", dir+string(filepath.Separator),
			"github.com/fullstorydev/grpcurl/cmd/grpcurl", "github.com/bufbuild/buf/cmd/buf"),
	}
	builds[1].Dir = repoRoot
	errs := make([]error, len(builds))
	outs := make([][]byte, len(builds))
	var wg sync.WaitGroup
	for i, build := range builds {
		wg.Go(func() { outs[i], errs[i] = build.CombinedOutput() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n%s", strings.Join(builds[i].Args, " "), err, outs[i])
			return 1
		}
	}
	// pgtest stops the PostgreSQL cluster that the tests share.
	return pgtest.Run(m)
}

// raceEnabled reports whether this test binary was built with -race.
func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// TestPreflight runs browser preflights, over HTTP/1.1 and h2c, each case
// against its own process, and checks the whole set of CORS response headers
// and the refusal log lines.
func TestPreflight(t *testing.T) {
	t.Parallel()
	approved := func(origin, methods, extraHeaders string) http.Header {
		return http.Header{
			"Access-Control-Allow-Origin":      {origin},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Allow-Methods":     {methods},
			"Access-Control-Allow-Headers":     {rpcAllowHeaders + extraHeaders},
			"Access-Control-Max-Age":           {"3600"},
			"Vary":                             {varyPreflight},
		}
	}
	public := http.Header{
		"Access-Control-Allow-Origin":  {"*"},
		"Access-Control-Allow-Methods": {"GET, POST"},
		"Access-Control-Allow-Headers": {rpcAllowHeaders},
		"Access-Control-Max-Age":       {"3600"},
		"Vary":                         {varyPreflight},
	}
	refused := http.Header{}
	const seedHeaders = "authorization,content-type,if-match,x-client-version"
	tests := []struct {
		name      string
		env       []string
		procedure string
		origin    string
		method    string // Access-Control-Request-Method
		headers   string // Access-Control-Request-Headers; "" sends none
		// wantStatus and want are the status and the Access-Control-* and
		// Vary fields of the response, compared as a whole.
		wantStatus int
		want       http.Header
		// wantReason is the reason of the one line logged per refusal;
		// "" means nothing is logged.
		wantReason string
	}{
		{
			name:      "seed after: app origin",
			procedure: procUpdateProfile, origin: appOrigin, method: http.MethodPost, headers: seedHeaders,
			wantStatus: http.StatusNoContent, want: approved(appOrigin, "POST", ", If-Match"),
		},
		{
			name:      "seed after: other origin",
			procedure: procUpdateProfile, origin: evilOrigin, method: http.MethodPost, headers: seedHeaders,
			wantStatus: http.StatusForbidden, want: refused, wantReason: "origin not allowed",
		},
		{
			name:      "admin origin, no requested headers",
			procedure: procUpdateProfile, origin: adminOrigin, method: http.MethodPost,
			wantStatus: http.StatusNoContent, want: approved(adminOrigin, "POST", ", If-Match"),
		},
		{
			name:      "GET where side-effect free",
			procedure: procGetProfile, origin: appOrigin, method: http.MethodGet, headers: "authorization,x-client-version",
			wantStatus: http.StatusNoContent, want: approved(appOrigin, "GET, POST", ""),
		},
		{
			name:      "GET refused where not side-effect free",
			procedure: procUpdateProfile, origin: appOrigin, method: http.MethodGet,
			wantStatus: http.StatusForbidden, want: refused, wantReason: "method not allowed",
		},
		{
			name:      "If-Match only where declared",
			procedure: procGetProfile, origin: appOrigin, method: http.MethodPost, headers: "authorization,if-match",
			wantStatus: http.StatusForbidden, want: refused, wantReason: "request header not allowed",
		},
		{
			name:      "header outside the policy",
			procedure: procUpdateProfile, origin: appOrigin, method: http.MethodPost, headers: "authorization,x-debug",
			wantStatus: http.StatusForbidden, want: refused, wantReason: "request header not allowed",
		},
		{
			name:      "public: GET from any origin",
			procedure: procGetPublicProfile, origin: anyOrigin, method: http.MethodGet, headers: "connect-protocol-version",
			wantStatus: http.StatusNoContent, want: public,
		},
		{
			name:      "public: POST from an origin no policy names",
			procedure: procGetPublicProfile, origin: evilOrigin, method: http.MethodPost, headers: "content-type,connect-protocol-version",
			wantStatus: http.StatusNoContent, want: public,
		},
		{
			name:      "preview origin bound by PORTICO_ORIGINS_WEB",
			env:       []string{"PORTICO_ORIGINS_WEB=" + previewOrigins},
			procedure: procUpdateProfile, origin: previewOrigin, method: http.MethodPost, headers: seedHeaders,
			wantStatus: http.StatusNoContent, want: approved(previewOrigin, "POST", ", If-Match"),
		},
		{
			name:      "local origin bound by PORTICO_ORIGINS_WEB",
			env:       []string{"PORTICO_ORIGINS_WEB=" + previewOrigins},
			procedure: procUpdateProfile, origin: localOrigin, method: http.MethodPost, headers: seedHeaders,
			wantStatus: http.StatusNoContent, want: approved(localOrigin, "POST", ", If-Match"),
		},
		{
			name:      "wildcard stands for one label only",
			env:       []string{"PORTICO_ORIGINS_WEB=" + previewOrigins},
			procedure: procUpdateProfile, origin: "https://a.b.example.dev", method: http.MethodPost, headers: seedHeaders,
			wantStatus: http.StatusForbidden, want: refused, wantReason: "origin not allowed",
		},
		{
			name:      "preview origin without PORTICO_ORIGINS_WEB",
			procedure: procUpdateProfile, origin: previewOrigin, method: http.MethodPost, headers: seedHeaders,
			wantStatus: http.StatusForbidden, want: refused, wantReason: "origin not allowed",
		},
		{
			name:      "unknown procedure",
			procedure: "/portico.profile.v1.ProfileService/Nope", origin: appOrigin, method: http.MethodPost,
			wantStatus: http.StatusNotFound, want: http.Header{}, wantReason: "unknown procedure",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, tc.env...)
			transports := newTransports(t)
			for _, tr := range transports {
				req := newRequest(t, http.MethodOptions, s.url(tc.procedure), "",
					"Origin", tc.origin, "Access-Control-Request-Method", tc.method)
				if tc.headers != "" {
					req.Header.Set("Access-Control-Request-Headers", tc.headers)
				}
				res, body := tr.do(t, req)
				if res.StatusCode != tc.wantStatus {
					t.Errorf("%s: status = %d, want %d", tr.name, res.StatusCode, tc.wantStatus)
				}
				if len(body) != 0 {
					t.Errorf("%s: body = %q, want none", tr.name, body)
				}
				if diff := cmp.Diff(normalize(tc.want), corsFields(res.Header, "Vary")); diff != "" {
					t.Errorf("%s: CORS fields mismatch (-want +got):\n%s", tr.name, diff)
				}
			}
			// After exit, the log is complete: exactly one line per refusal.
			// Closing our idle connections first spares the second that an
			// idle HTTP/2 connection holds up shutdown (see TestSignals).
			for _, tr := range transports {
				tr.client.CloseIdleConnections()
			}
			s.stop(t, syscall.SIGTERM)
			var got []logEntry
			for _, e := range s.entries(t) {
				if e.str("message") == msgPreflightRefused {
					got = append(got, e)
				}
			}
			want := 0
			if tc.wantReason != "" {
				want = len(transports)
			}
			if len(got) != want {
				t.Fatalf("%d %q lines logged, want %d: %v", len(got), msgPreflightRefused, want, got)
			}
			for _, e := range got {
				wantLine := logEntry{
					"severity": "WARNING", "message": msgPreflightRefused,
					"procedure": tc.procedure, "origin": []any{tc.origin}, "reason": tc.wantReason,
				}
				if diff := cmp.Diff(wantLine, e, ignoreLogFields("time", "detail")); diff != "" {
					t.Errorf("refusal line mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestActualRequests is the seed's "after" exchange for the credentialed
// procedures, over HTTP/1.1 and h2c: every response, errors included,
// carries the CORS fields the frontend needs.
func TestActualRequests(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	appCORS := http.Header{
		"Access-Control-Allow-Origin":      {appOrigin},
		"Access-Control-Allow-Credentials": {"true"},
		"Access-Control-Expose-Headers":    {exposeHeaders},
	}
	for _, tr := range newTransports(t) {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			subject := "alice-" + tr.name
			browser := []string{
				"Origin", appOrigin,
				"Authorization", s.bearer(t, subject),
				"X-Client-Version", "web-42",
			}
			update := func(ifMatch string) (*http.Response, []byte) {
				t.Helper()
				header := append(slices.Clone(browser), "Content-Type", "application/json", "Connect-Protocol-Version", "1")
				if ifMatch != "" {
					header = append(header, "If-Match", ifMatch)
				}
				body := `{"displayName":"Alice","email":"alice@example.com","bio":"dark theme"}`
				return tr.do(t, newRequest(t, http.MethodPost, s.url(procUpdateProfile), body, header...))
			}

			// Create: no precondition is needed while there is no profile.
			res, body := update("")
			checkResponse(t, "create", res, body, http.StatusOK, appCORS)
			checkFields(t, "create", res.Header, map[string]string{
				"Etag": `"profile-v1"`, "Location": procGetProfile, "Content-Type": "application/json",
			})

			// Read it back with Connect GET, as a cacheable browser fetch.
			get := s.url(procGetProfile) + "?connect=v1&encoding=json&message=%7B%7D"
			res, body = tr.do(t, newRequest(t, http.MethodGet, get, "", browser...))
			checkResponse(t, "get", res, body, http.StatusOK, appCORS)
			checkFields(t, "get", res.Header, map[string]string{"Etag": `"profile-v1"`, "Content-Type": "application/json"})
			var got struct {
				Profile map[string]any `json:"profile"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("get: body %q: %v", body, err)
			}
			wantProfile := map[string]any{
				"id": subject, "displayName": "Alice", "email": "alice@example.com", "bio": "dark theme", "etag": `"profile-v1"`,
			}
			if diff := cmp.Diff(wantProfile, got.Profile, ignoreLogFields("updateTime")); diff != "" {
				t.Errorf("get: profile mismatch (-want +got):\n%s", diff)
			}

			// A stale If-Match fails, and the browser may still read why.
			res, body = update(`"profile-v9"`)
			checkResponse(t, "stale update", res, body, http.StatusBadRequest, appCORS)
			checkFields(t, "stale update", res.Header, map[string]string{"Etag": `"profile-v1"`, "Content-Type": "application/json"})
			checkConnectError(t, "stale update", body, "failed_precondition", "portico.profile.v1.EtagMismatch")

			// The current ETag replaces the profile.
			res, body = update(`"profile-v1"`)
			checkResponse(t, "update", res, body, http.StatusOK, appCORS)
			checkFields(t, "update", res.Header, map[string]string{"Etag": `"profile-v2"`})

			// No credentials: 401, still readable by the frontend.
			res, body = tr.do(t, newRequest(t, http.MethodGet, get, "", "Origin", appOrigin))
			checkResponse(t, "anonymous get", res, body, http.StatusUnauthorized, appCORS)
			checkConnectError(t, "anonymous get", body, "unauthenticated", "")

			// Another origin gets no CORS fields, so its browser withholds
			// the response, but caches still learn that it varies.
			res, body = tr.do(t, newRequest(t, http.MethodGet, get, "", "Origin", evilOrigin, "Authorization", s.bearer(t, subject)))
			checkResponse(t, "other origin", res, body, http.StatusOK, http.Header{})
		})
	}
}

// TestPublicProfile checks that the public procedure answers every origin
// with "*" and never with credentials.
func TestPublicProfile(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	clients := newTransports(t)
	// A server-side caller (no Origin) creates the profile.
	res, body := clients[0].do(t, newRequest(t, http.MethodPost, s.url(procUpdateProfile),
		`{"displayName":"Bob","email":"bob@example.com","bio":"public bio"}`,
		"Content-Type", "application/json", "Authorization", s.bearer(t, "bob")))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("create: status %d: %s", res.StatusCode, body)
	}
	wantCORS := http.Header{
		"Access-Control-Allow-Origin":   {"*"},
		"Access-Control-Expose-Headers": {exposeHeaders},
	}
	wantProfile := map[string]any{"id": "bob", "displayName": "Bob", "bio": "public bio"}
	message := url.QueryEscape(`{"id":"bob"}`)
	for _, tr := range clients {
		for _, origin := range []string{appOrigin, evilOrigin, anyOrigin} {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				t.Run(tr.name+"/"+method+"/"+strings.TrimPrefix(origin, "https://"), func(t *testing.T) {
					t.Parallel()
					req := newRequest(t, method, s.url(procGetPublicProfile)+"?connect=v1&encoding=json&message="+message, "", "Origin", origin)
					if method == http.MethodPost {
						req = newRequest(t, method, s.url(procGetPublicProfile), `{"id":"bob"}`,
							"Origin", origin, "Content-Type", "application/json")
					}
					res, body := tr.do(t, req)
					checkResponse(t, "public", res, body, http.StatusOK, wantCORS)
					var got struct {
						Profile map[string]any `json:"profile"`
					}
					if err := json.Unmarshal(body, &got); err != nil {
						t.Fatalf("body %q: %v", body, err)
					}
					if diff := cmp.Diff(wantProfile, got.Profile); diff != "" {
						t.Errorf("public profile mismatch (-want +got):\n%s", diff)
					}
				})
			}
		}
	}
}

// TestClients calls the server as server-side clients do, with no Origin,
// over the Connect, gRPC-Web and gRPC protocols on the same port; gRPC goes
// over h2c. No response carries a CORS field.
func TestClients(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	transports := newTransports(t)
	http1, h2c := transports[0].client, transports[1].client
	tests := []struct {
		name   string
		client *http.Client
		opts   []connect.ClientOption
	}{
		{name: "connect", client: http1},
		{name: "grpcweb", client: http1, opts: []connect.ClientOption{connect.WithGRPCWeb()}},
		{name: "grpc", client: h2c, opts: []connect.ClientOption{connect.WithGRPC()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client := profilev1connect.NewProfileServiceClient(tc.client, s.base, tc.opts...)
			subject := "carol-" + tc.name
			update := func(etag string) (*connect.Response[profilev1.UpdateProfileResponse], error) {
				req := connect.NewRequest(&profilev1.UpdateProfileRequest{
					DisplayName: "Carol", Email: "carol@example.com", Bio: "same port", Etag: etag,
				})
				req.Header().Set("Authorization", s.bearer(t, subject))
				return client.UpdateProfile(t.Context(), req)
			}

			res, err := update("")
			if err != nil {
				t.Fatalf("UpdateProfile() error = %v", err)
			}
			if got := res.Msg.GetProfile().GetEtag(); got != `"profile-v1"` {
				t.Errorf("UpdateProfile() etag = %q, want %q", got, `"profile-v1"`)
			}
			if got := res.Header().Get("Etag"); got != `"profile-v1"` {
				t.Errorf("UpdateProfile() ETag header = %q, want %q", got, `"profile-v1"`)
			}
			checkNoCORS(t, "UpdateProfile", res.Header(), res.Trailer())

			pub, err := client.GetPublicProfile(t.Context(), connect.NewRequest(&profilev1.GetPublicProfileRequest{Id: subject}))
			if err != nil {
				t.Fatalf("GetPublicProfile() error = %v", err)
			}
			want := &profilev1.PublicProfile{Id: subject, DisplayName: "Carol", Bio: "same port"}
			if diff := cmp.Diff(want, pub.Msg.GetProfile(), protocmp.Transform()); diff != "" {
				t.Errorf("GetPublicProfile() mismatch (-want +got):\n%s", diff)
			}
			checkNoCORS(t, "GetPublicProfile", pub.Header(), pub.Trailer())

			_, err = update(`"profile-v9"`)
			var connectErr *connect.Error
			if !errors.As(err, &connectErr) || connectErr.Code() != connect.CodeFailedPrecondition {
				t.Fatalf("stale UpdateProfile() error = %v, want failed_precondition", err)
			}
			var mismatch *profilev1.EtagMismatch
			for _, d := range connectErr.Details() {
				if v, err := d.Value(); err == nil {
					if m, ok := v.(*profilev1.EtagMismatch); ok {
						mismatch = m
					}
				}
			}
			wantMismatch := &profilev1.EtagMismatch{RequestedEtag: `"profile-v9"`, CurrentEtag: `"profile-v1"`}
			if diff := cmp.Diff(wantMismatch, mismatch, protocmp.Transform()); diff != "" {
				t.Errorf("stale UpdateProfile() detail mismatch (-want +got):\n%s", diff)
			}
			checkNoCORS(t, "stale UpdateProfile", connectErr.Meta())

			_, err = client.GetProfile(t.Context(), connect.NewRequest(&profilev1.GetProfileRequest{}))
			if code := connect.CodeOf(err); code != connect.CodeUnauthenticated {
				t.Errorf("anonymous GetProfile() code = %v (error %v), want unauthenticated", code, err)
			}
		})
	}
}

// TestConfigErrors checks that bad configuration stops the server before it
// listens, with status 1 and a message naming each bad variable.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		want []string // substrings of stderr
	}{
		{
			name: "wildcard on a public suffix",
			env:  []string{"PORTICO_ORIGINS_WEB=https://*.com"},
			want: []string{"PORTICO_ORIGINS_WEB", `"https://*.com"`, "public suffix"},
		},
		{
			name: "trailing slash",
			env:  []string{"PORTICO_ORIGINS_WEB=https://app.example.com/"},
			want: []string{"PORTICO_ORIGINS_WEB", "trailing slash"},
		},
		{
			name: "origin set no policy names",
			env:  []string{"PORTICO_ORIGINS_MOBILE=https://m.example.com"},
			want: []string{"PORTICO_ORIGINS_MOBILE", `"mobile"`, "no policy names"},
		},
		{
			name: "lower-case origin set variable",
			env:  []string{"PORTICO_ORIGINS_web=https://m.example.com"},
			want: []string{"PORTICO_ORIGINS_web", "upper case", "PORTICO_ORIGINS_WEB"},
		},
		{
			name: "empty origin set name",
			env:  []string{"PORTICO_ORIGINS_=https://m.example.com"},
			want: []string{"PORTICO_ORIGINS_:"},
		},
		{name: "port not a number", env: []string{"PORT=abc"}, want: []string{`PORT="abc"`}},
		{name: "port out of range", env: []string{"PORT=65536"}, want: []string{`PORT="65536"`}},
		{
			name: "grace beyond Cloud Run's",
			env:  []string{"PORTICO_SHUTDOWN_GRACE=1h"},
			want: []string{`PORTICO_SHUTDOWN_GRACE="1h"`},
		},
		{name: "log level", env: []string{"PORTICO_LOG_LEVEL=loud"}, want: []string{`PORTICO_LOG_LEVEL="loud"`}},
		{name: "message limit", env: []string{"PORTICO_MAX_MESSAGE_BYTES=0"}, want: []string{`PORTICO_MAX_MESSAGE_BYTES="0"`}},
		{name: "timeout ceiling", env: []string{"PORTICO_MAX_TIMEOUT=-1s"}, want: []string{`PORTICO_MAX_TIMEOUT="-1s"`}},
		{name: "header timeout", env: []string{"PORTICO_READ_HEADER_TIMEOUT=soon"}, want: []string{`PORTICO_READ_HEADER_TIMEOUT="soon"`}},
		{name: "streams", env: []string{"PORTICO_MAX_CONCURRENT_STREAMS=0"}, want: []string{`PORTICO_MAX_CONCURRENT_STREAMS="0"`}},
		{name: "empty data dir", env: []string{"PORTICO_DATA_DIR="}, want: []string{"PORTICO_DATA_DIR"}},
		{
			name: "data dir not a directory",
			env:  []string{"PORTICO_DATA_DIR=" + filepath.Join(notADir, "sub")},
			want: []string{fmt.Sprintf("PORTICO_DATA_DIR=%q", filepath.Join(notADir, "sub")), "not a directory"},
		},
		{
			name: "every error at once",
			env: []string{
				"PORT=abc", "PORTICO_SHUTDOWN_GRACE=1h",
				"PORTICO_ORIGINS_WEB=https://*.com", "PORTICO_ORIGINS_MOBILE=https://m.example.com",
			},
			want: []string{"PORT=", "PORTICO_SHUTDOWN_GRACE=", "PORTICO_ORIGINS_WEB", "PORTICO_ORIGINS_MOBILE"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := runBinary(t, tc.env)
			if code != 1 {
				t.Errorf("exit status = %d, want 1", code)
			}
			for _, want := range tc.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not name %q:\n%s", want, stderr)
				}
			}
			if strings.Contains(stdout, `"listening"`) {
				t.Errorf("started listening despite the error:\n%s", stdout)
			}
		})
	}
}

// TestCommands checks the command line: the version and help commands, and
// status 2 for usage errors.
func TestCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // substring; "" wants nothing on stdout
		wantStderr string // substring; "" wants nothing on stderr
	}{
		{name: "version", args: []string{"version"}, wantStdout: "portico " + testVersion + "\n"},
		{name: "help", args: []string{"help"}, wantStdout: "Usage: portico"},
		{name: "-h", args: []string{"-h"}, wantStdout: "Usage: portico"},
		{name: "unknown command", args: []string{"bogus"}, wantCode: 2, wantStderr: `unknown command "bogus"`},
		{name: "serve with arguments", args: []string{"serve", "--port=8080"}, wantCode: 2, wantStderr: "through the environment"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := runBinary(t, nil, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit status = %d, want %d", code, tc.wantCode)
			}
			for _, out := range []struct{ name, got, want string }{
				{"stdout", stdout, tc.wantStdout},
				{"stderr", stderr, tc.wantStderr},
			} {
				if out.want == "" && out.got != "" || !strings.Contains(out.got, out.want) {
					t.Errorf("%s = %q, want it to contain %q", out.name, out.got, out.want)
				}
			}
		})
	}
}

// TestSignals checks the Cloud Run shutdown contract: on SIGTERM (or ^C) the
// server drains and exits 0 well within the 10 s Cloud Run allows, even with
// idle keep-alive connections open, as its front end keeps them. An idle
// HTTP/2 connection delays exit by about a second: net/http sends it GOAWAY
// and closes it only after http2goAwayTimeout (1s) unless the client hangs
// up first.
func TestSignals(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			s := startServer(t)
			for _, tr := range newTransports(t) {
				res, body := tr.do(t, newRequest(t, http.MethodPost, s.url(procGetPublicProfile), `{"id":"nobody"}`,
					"Content-Type", "application/json"))
				if res.StatusCode != http.StatusNotFound {
					t.Fatalf("%s: status %d, want 404: %s", tr.name, res.StatusCode, body)
				}
			}
			start := time.Now()
			s.stop(t, sig)
			t.Logf("exited %v after %v", sig, time.Since(start).Round(time.Millisecond))
			var messages []string
			for _, e := range s.entries(t) {
				messages = append(messages, e.str("message"))
			}
			if n := len(messages); n < 2 || messages[n-2] != "shutting down" || messages[n-1] != "stopped" {
				t.Errorf("log messages = %q, want them to end with %q, %q", messages, "shutting down", "stopped")
			}
		})
	}
}

// A server is a running portico process.
type server struct {
	cmd    *exec.Cmd
	stdout *lines
	stderr *lines
	exited chan struct{} // closed once the process has exited and its output is read
	// base is the server's URL, "http://127.0.0.1:<port>".
	base string
}

// startServer starts portico with a minimal environment plus env ("KEY=value"
// entries, which override the defaults), and waits until it listens. It kills
// the process at cleanup, and fails tb if the process reported a data race
// or wrote a stdout line that is not a structured log entry.
func startServer(tb testing.TB, env ...string) *server {
	tb.Helper()
	cmd := exec.Command(binary)
	cmd.Env = childEnv(tb, env...)
	return startProcess(tb, cmd)
}

// startProcess starts cmd, a portico server with its environment set, as
// [startServer] does.
func startProcess(tb testing.TB, cmd *exec.Cmd) *server {
	tb.Helper()
	s := launch(tb, cmd)
	s.awaitListening(tb)
	return s
}

// launch starts cmd and registers the cleanup of [startServer], without
// waiting for the process to listen.
func launch(tb testing.TB, cmd *exec.Cmd) *server {
	tb.Helper()
	s := &server{cmd: cmd, stdout: newLines(), stderr: newLines(), exited: make(chan struct{})}
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", s.cmd.Path, err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	// Registered after childEnv's TempDir, so it runs first.
	tb.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		stderr := s.stderr.String()
		if strings.Contains(stderr, "WARNING: DATA RACE") {
			tb.Errorf("the server reported a data race:\n%s", stderr)
		}
		for _, line := range s.stdout.all() {
			var e logEntry
			if err := json.Unmarshal([]byte(line), &e); err != nil || e.str("severity") == "" || e.str("message") == "" {
				tb.Errorf("stdout line is not a structured log entry: %q", line)
			}
		}
		if tb.Failed() {
			tb.Logf("server stdout:\n%s\nserver stderr:\n%s", s.stdout, stderr)
		}
	})
	return s
}

// awaitListening waits for the "listening" line of a launched server, and
// sets its base URL.
func (s *server) awaitListening(tb testing.TB) {
	tb.Helper()
	e := s.waitLog(tb, func(e logEntry) bool { return e.str("message") == "listening" })
	_, port, err := net.SplitHostPort(e.str("addr"))
	if err != nil {
		tb.Fatalf("listening line: addr: %v", err)
	}
	s.base = "http://" + net.JoinHostPort("127.0.0.1", port)
}

// url returns the URL of path on s.
func (s *server) url(path string) string { return s.base + path }

// waitLog waits up to startTimeout for a stdout log entry that match accepts,
// and returns it. It fails tb if the process exits or time runs out first.
func (s *server) waitLog(tb testing.TB, match func(logEntry) bool) logEntry {
	tb.Helper()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	seen, exited := 0, false
	for {
		lines, changed := s.stdout.since(seen)
		seen += len(lines)
		for _, line := range lines {
			var e logEntry
			if json.Unmarshal([]byte(line), &e) == nil && match(e) {
				return e
			}
		}
		if exited {
			tb.Fatalf("portico exited with status %d before the awaited log line; stderr:\n%s",
				s.cmd.ProcessState.ExitCode(), s.stderr)
		}
		select {
		case <-changed:
		case <-s.exited:
			exited = true // read what is left, then fail
		case <-timer.C:
			tb.Fatalf("no awaited log line within %v; stdout:\n%s", startTimeout, s.stdout)
		}
	}
}

// stop sends sig and waits up to stopTimeout for the process to exit with
// status 0.
func (s *server) stop(tb testing.TB, sig os.Signal) {
	tb.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		tb.Fatalf("signal %v: %v", sig, err)
	}
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		tb.Fatalf("still running %v after %v", stopTimeout, sig)
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		tb.Errorf("exit status after %v = %d, want 0; stderr:\n%s", sig, code, s.stderr)
	}
}

// entries returns the stdout log entries written so far.
func (s *server) entries(tb testing.TB) []logEntry {
	tb.Helper()
	var entries []logEntry
	for _, line := range s.stdout.all() {
		var e logEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			tb.Fatalf("log line %q: %v", line, err)
		}
		entries = append(entries, e)
	}
	return entries
}

// runBinary runs portico with args and the minimal environment plus env, and
// returns its output and exit status. It fails tb if portico does not exit
// within startTimeout.
func runBinary(tb testing.TB, env []string, args ...string) (stdout, stderr string, code int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = childEnv(tb, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		tb.Fatalf("portico %q did not exit within %v; stdout:\n%s", args, startTimeout, out.String())
	}
	if exitErr := new(exec.ExitError); err != nil && !errors.As(err, &exitErr) {
		tb.Fatalf("run portico %q: %v", args, err)
	}
	if strings.Contains(errOut.String(), "WARNING: DATA RACE") {
		tb.Errorf("portico %q reported a data race:\n%s", args, errOut.String())
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// childEnv returns the environment of a child: PATH, HOME, PORT=0, a fresh
// PORTICO_DATA_DIR and, under -race, GORACE; then env ("KEY=value"), whose
// keys replace those.
func childEnv(tb testing.TB, env ...string) []string {
	tb.Helper()
	vars := map[string]string{
		"PATH":             os.Getenv("PATH"),
		"HOME":             os.Getenv("HOME"),
		"PORT":             "0",
		"PORTICO_DATA_DIR": filepath.Join(tb.TempDir(), "data"),
	}
	if raceBuild {
		// The race runtime sleeps 1s before exiting, by default, to catch
		// late reports; a tenth of that keeps the tests fast.
		vars["GORACE"] = "atexit_sleep_ms=100"
	}
	for _, kv := range env {
		key, value, _ := strings.Cut(kv, "=")
		vars[key] = value
	}
	out := make([]string, 0, len(vars))
	for key, value := range vars {
		out = append(out, key+"="+value)
	}
	slices.Sort(out)
	return out
}

// A transport is one way a request reaches the server through Cloud Run's
// front end: HTTP/1.1, or cleartext HTTP/2 with prior knowledge
// (--use-http2).
type transport struct {
	name   string
	client *http.Client
	proto  int // the HTTP major version responses must come in
}

// newTransports returns an HTTP/1.1 and an h2c transport, each with its own
// connection pool, closed at cleanup.
func newTransports(tb testing.TB) []transport {
	tb.Helper()
	var h1, h2c http.Protocols
	h1.SetHTTP1(true)
	h2c.SetUnencryptedHTTP2(true)
	out := []transport{{name: "http1", proto: 1}, {name: "h2c", proto: 2}}
	for i, p := range []*http.Protocols{&h1, &h2c} {
		rt := &http.Transport{Protocols: p}
		tb.Cleanup(rt.CloseIdleConnections)
		out[i].client = &http.Client{Transport: rt, Timeout: requestTimeout}
	}
	return out
}

// do sends req and returns the response with its body read and closed. It
// fails tb if the response came in another HTTP version than tr's.
func (tr transport) do(tb testing.TB, req *http.Request) (*http.Response, []byte) {
	tb.Helper()
	res, err := tr.client.Do(req)
	if err != nil {
		tb.Fatalf("%s: %s %s: %v", tr.name, req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(res.Body); err != nil {
		tb.Fatalf("%s: %s %s: read body: %v", tr.name, req.Method, req.URL.Path, err)
	}
	if res.ProtoMajor != tr.proto {
		tb.Fatalf("%s: response in %s, want HTTP/%d", tr.name, res.Proto, tr.proto)
	}
	return res, body.Bytes()
}

// newRequest returns a request with the given body ("" for none) and header
// fields, given as name, value pairs.
func newRequest(tb testing.TB, method, target, body string, header ...string) *http.Request {
	tb.Helper()
	var r io.Reader = http.NoBody
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(tb.Context(), method, target, r)
	if err != nil {
		tb.Fatal(err)
	}
	if len(header)%2 != 0 {
		tb.Fatalf("newRequest: odd header list %q", header)
	}
	for i := 0; i < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	return req
}

// checkResponse checks an actual request's status and its whole set of
// Access-Control-* fields, and that Vary names Origin if the response
// depends on it (any Access-Control-Allow-Origin but "*", or none).
func checkResponse(tb testing.TB, step string, res *http.Response, body []byte, wantStatus int, wantCORS http.Header) {
	tb.Helper()
	if res.StatusCode != wantStatus {
		tb.Errorf("%s: status = %d, want %d; body: %s", step, res.StatusCode, wantStatus, body)
	}
	if diff := cmp.Diff(normalize(wantCORS), corsFields(res.Header)); diff != "" {
		tb.Errorf("%s: CORS fields mismatch (-want +got):\n%s", step, diff)
	}
	if wantCORS.Get("Access-Control-Allow-Origin") != "*" && !slices.Contains(listItems(res.Header["Vary"], true), "Origin") {
		tb.Errorf("%s: Vary = %q, want it to name Origin", step, res.Header["Vary"])
	}
}

// checkFields checks single-valued response fields.
func checkFields(tb testing.TB, step string, h http.Header, want map[string]string) {
	tb.Helper()
	for key, value := range want {
		if got := h.Values(key); len(got) != 1 || got[0] != value {
			tb.Errorf("%s: %s = %q, want %q", step, key, got, value)
		}
	}
}

// checkConnectError checks a Connect unary error body: its code, and that it
// has a detail of type detail, unless detail is "".
func checkConnectError(tb testing.TB, step string, body []byte, code, detail string) {
	tb.Helper()
	type errorDetail struct {
		Type string `json:"type"`
	}
	var got struct {
		Code    string        `json:"code"`
		Message string        `json:"message"`
		Details []errorDetail `json:"details"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		tb.Fatalf("%s: error body %q: %v", step, body, err)
	}
	if got.Code != code {
		tb.Errorf("%s: code = %q, want %q (message %q)", step, got.Code, code, got.Message)
	}
	if detail != "" && !slices.Contains(got.Details, errorDetail{Type: detail}) {
		tb.Errorf("%s: details = %+v, want one of type %s", step, got.Details, detail)
	}
}

// checkNoCORS checks that none of headers (response headers, trailers or
// error metadata) has an Access-Control-* field.
func checkNoCORS(tb testing.TB, call string, headers ...http.Header) {
	tb.Helper()
	for _, h := range headers {
		if got := corsFields(h); len(got) > 0 {
			tb.Errorf("%s: CORS fields %v in a response to a request without Origin", call, got)
		}
	}
}

// listFields are the CORS fields whose values are comma-separated lists;
// the bool says whether the items are field names, which compare
// case-insensitively.
var listFields = map[string]bool{
	"Access-Control-Allow-Methods":  false,
	"Access-Control-Allow-Headers":  true,
	"Access-Control-Expose-Headers": true,
	"Vary":                          true,
}

// corsFields returns the Access-Control-* fields of h, and the fields named in
// also, normalized as [normalize] does.
func corsFields(h http.Header, also ...string) http.Header {
	out := http.Header{}
	for key, values := range h {
		if strings.HasPrefix(key, "Access-Control-") || slices.Contains(also, key) {
			out[key] = values
		}
	}
	return normalize(out)
}

// normalize returns h with list fields split into sorted items, so that
// headers compare whole regardless of item order and spacing.
func normalize(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for key, values := range h {
		if names, ok := listFields[key]; ok {
			out[key] = listItems(values, names)
		} else {
			out[key] = values
		}
	}
	return out
}

// listItems splits comma-separated field values into sorted items, in
// canonical form if they are field names.
func listItems(values []string, names bool) []string {
	var items []string
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item == "" {
				continue
			}
			if names {
				item = http.CanonicalHeaderKey(item)
			}
			items = append(items, item)
		}
	}
	slices.Sort(items)
	return items
}

// A logEntry is one JSON line of the server's log.
type logEntry map[string]any

// str returns the string value of key, or "".
func (e logEntry) str(key string) string {
	s, _ := e[key].(string)
	return s
}

// ignoreLogFields ignores the given keys of maps compared with cmp.
func ignoreLogFields(keys ...string) cmp.Option {
	return cmp.FilterPath(func(p cmp.Path) bool {
		mi, ok := p.Last().(cmp.MapIndex)
		return ok && slices.Contains(keys, mi.Key().String())
	}, cmp.Ignore())
}

// lines collects a child's output line by line. It is safe for concurrent
// use: exec copies into it from its own goroutine.
type lines struct {
	mu      sync.Mutex
	done    []string
	partial []byte
	changed chan struct{} // closed and replaced whenever done grows
}

func newLines() *lines { return &lines{changed: make(chan struct{})} }

// Write implements io.Writer.
func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	grew := false
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.done = append(l.done, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		grew = true
	}
	if grew {
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return len(p), nil
}

// since returns the complete lines after the first n, and a channel closed
// when more arrive.
func (l *lines) since(n int) ([]string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.done[n:]), l.changed
}

// all returns the complete lines so far.
func (l *lines) all() []string {
	got, _ := l.since(0)
	return got
}

// String returns everything written, complete lines or not.
func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.done, "\n") + "\n" + string(l.partial)
}
