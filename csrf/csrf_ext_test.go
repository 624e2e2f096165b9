package csrf_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"github.com/portico-dev/portico/csrf"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/policy"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1portico"
	"google.golang.org/protobuf/reflect/protoreflect"
)

const (
	appOrigin  = "https://app.example.com"
	evilOrigin = "https://evil.example.net"
	procUpdate = profilev1connect.ProfileServiceUpdateProfileProcedure
	procGet    = profilev1connect.ProfileServiceGetProfileProcedure
	procPublic = profilev1connect.ProfileServiceGetPublicProfileProcedure
)

// counter counts the calls that reach the handlers.
type counter struct {
	profilev1connect.UnimplementedProfileServiceHandler
	calls atomic.Int64
}

func (c *counter) UpdateProfile(context.Context, *connect.Request[profilev1.UpdateProfileRequest]) (*connect.Response[profilev1.UpdateProfileResponse], error) {
	c.calls.Add(1)
	return connect.NewResponse(&profilev1.UpdateProfileResponse{}), nil
}

func (c *counter) GetProfile(context.Context, *connect.Request[profilev1.GetProfileRequest]) (*connect.Response[profilev1.GetProfileResponse], error) {
	c.calls.Add(1)
	return connect.NewResponse(&profilev1.GetProfileResponse{}), nil
}

func (c *counter) GetPublicProfile(context.Context, *connect.Request[profilev1.GetPublicProfileRequest]) (*connect.Response[profilev1.GetPublicProfileResponse], error) {
	c.calls.Add(1)
	return connect.NewResponse(&profilev1.GetPublicProfileResponse{}), nil
}

var profileService = []protoreflect.ServiceDescriptor{profilev1.File_portico_profile_v1_profile_proto.Services().ByName("ProfileService")}

// newServer is the gateway in front of the guard in front of the handler,
// as internal/app mounts them.
func newServer(tb testing.TB) (*httptest.Server, *counter) {
	tb.Helper()
	gw, err := gateway.New([]*policy.Service{profilev1portico.ProfileServicePolicy}, gateway.WithLogger(nil))
	if err != nil {
		tb.Fatal(err)
	}
	guard := csrf.New(gw.OriginAllowed, profileService, csrf.WithLogger(nil))
	c := &counter{}
	gw.Handle(guard.Wrap(profilev1connect.NewProfileServiceHandler(c)))
	srv := httptest.NewUnstartedServer(gw)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	return srv, c
}

func TestGuard(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	host := strings.TrimPrefix(srv.URL, "https://")
	self := srv.URL
	tests := []struct {
		name      string
		method    string
		procedure string
		// contentType selects the protocol: application/json (Connect),
		// application/grpc-web+proto or application/grpc.
		contentType string
		origin      string
		site        string // Sec-Fetch-Site
		refused     bool
	}{
		{name: "disallowed cross-site POST", procedure: procUpdate, origin: evilOrigin, site: "cross-site", refused: true},
		{name: "disallowed POST from an old browser", procedure: procUpdate, origin: evilOrigin, refused: true},
		{name: "disallowed same-site sibling", procedure: procUpdate, origin: "https://blog.example.com", site: "same-site", refused: true},
		{name: "null origin", procedure: procUpdate, origin: "null", site: "cross-site", refused: true},
		{name: "cross-site without Origin", procedure: procUpdate, site: "cross-site", refused: true},
		{name: "disallowed gRPC-Web", procedure: procUpdate, contentType: "application/grpc-web+proto", origin: evilOrigin, site: "cross-site", refused: true},
		{name: "disallowed gRPC", procedure: procUpdate, contentType: "application/grpc", origin: evilOrigin, site: "cross-site", refused: true},
		{name: "disallowed, unknown method", procedure: "/portico.profile.v1.ProfileService/Nope", origin: evilOrigin, site: "cross-site", refused: true},
		{name: "disallowed, non-RPC content type", procedure: procUpdate, contentType: "text/plain", origin: evilOrigin, site: "cross-site", refused: true},

		{name: "allowed cross-site origin", procedure: procUpdate, origin: appOrigin, site: "cross-site"},
		{name: "allowed same-site origin", procedure: procUpdate, origin: appOrigin, site: "same-site"},
		{name: "same origin", procedure: procUpdate, origin: self, site: "same-origin"},
		{name: "same origin, old browser", procedure: procUpdate, origin: "https://" + host},
		{name: "user-initiated", procedure: procUpdate, site: "none"},
		{name: "server to server", procedure: procUpdate},
		{name: "server to server gRPC", procedure: procUpdate, contentType: "application/grpc"},
		{name: "Connect GET of a NO_SIDE_EFFECTS method", method: http.MethodGet, procedure: procGet, origin: evilOrigin, site: "cross-site"},
		{name: "POST to a NO_SIDE_EFFECTS method", procedure: procGet, origin: evilOrigin, site: "cross-site"},
		{name: "public method", procedure: procPublic, origin: evilOrigin, site: "cross-site"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			method, ct := tc.method, tc.contentType
			if method == "" {
				method = http.MethodPost
			}
			if ct == "" {
				ct = "application/json"
			}
			target := srv.URL + tc.procedure
			var body io.Reader
			switch {
			case method == http.MethodGet:
				target += "?" + url.Values{"connect": {"v1"}, "encoding": {"json"}, "message": {"{}"}}.Encode()
			case ct == "application/json":
				body = strings.NewReader(`{"displayName":"x","email":"x@example.com"}`)
			default:
				body = strings.NewReader("\x00\x00\x00\x00\x00")
			}
			req, err := http.NewRequestWithContext(t.Context(), method, target, body)
			if err != nil {
				t.Fatal(err)
			}
			if body != nil {
				req.Header.Set("Content-Type", ct)
			}
			if strings.HasPrefix(ct, "application/grpc") {
				req.Header.Set("Te", "trailers")
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.site != "" {
				req.Header.Set("Sec-Fetch-Site", tc.site)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			got, _ := io.ReadAll(res.Body)
			status := grpcStatus(res)
			if !tc.refused {
				if res.StatusCode == http.StatusForbidden || status == "7" {
					t.Fatalf("refused: %d %s", res.StatusCode, got)
				}
				return
			}
			switch ct {
			case "application/json":
				var e struct{ Code, Message string }
				if res.StatusCode != http.StatusForbidden || json.Unmarshal(got, &e) != nil || e.Code != "permission_denied" {
					t.Errorf("got %d %s; want 403 permission_denied", res.StatusCode, got)
				}
			case "text/plain":
				if res.StatusCode != http.StatusForbidden {
					t.Errorf("got %d %s; want 403", res.StatusCode, got)
				}
			default:
				if status != "7" {
					t.Errorf("grpc-status = %q (HTTP %d); want 7 (permission_denied)", status, res.StatusCode)
				}
			}
			if tc.origin != "" && !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Origin") {
				t.Errorf("refusal without the gateway's Vary: Origin: %v", res.Header)
			}
		})
	}
}

// TestGuardRunsBeforeTheHandler checks that a refused request never reaches
// the handler, and that an allowed one does.
func TestGuardRunsBeforeTheHandler(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	client := profilev1connect.NewProfileServiceClient(srv.Client(), srv.URL, connect.WithInterceptors(headers(
		"Origin", evilOrigin, "Sec-Fetch-Site", "cross-site")))
	_, err := client.UpdateProfile(t.Context(), connect.NewRequest(&profilev1.UpdateProfileRequest{}))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("UpdateProfile from %s: %v; want permission_denied", evilOrigin, err)
	}
	if n := c.calls.Load(); n != 0 {
		t.Fatalf("the handler ran %d times for a refused request", n)
	}
	client = profilev1connect.NewProfileServiceClient(srv.Client(), srv.URL, connect.WithInterceptors(headers(
		"Origin", appOrigin, "Sec-Fetch-Site", "cross-site")))
	if _, err := client.UpdateProfile(t.Context(), connect.NewRequest(&profilev1.UpdateProfileRequest{})); err != nil {
		t.Fatal(err)
	}
	if n := c.calls.Load(); n != 1 {
		t.Fatalf("the handler ran %d times; want 1", n)
	}
}

func TestGuardLogsRefusals(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	gw, err := gateway.New([]*policy.Service{profilev1portico.ProfileServicePolicy}, gateway.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	guard := csrf.New(gw.OriginAllowed, profileService, csrf.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	h := guard.Handler(http.NotFoundHandler())
	req := httptest.NewRequest(http.MethodPost, procUpdate, strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", evilOrigin+strings.Repeat("x", 1000))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	h.ServeHTTP(httptest.NewRecorder(), req)
	line := logs.String()
	if !strings.Contains(line, `"msg":"csrf: cross-origin request refused"`) || !strings.Contains(line, `"sec_fetch_site":"cross-site"`) {
		t.Errorf("log = %s", line)
	}
	if len(line) > 1000 {
		t.Errorf("log line of %d bytes: client values are not bounded", len(line))
	}
}

func grpcStatus(res *http.Response) string {
	if s := res.Header.Get("Grpc-Status"); s != "" {
		return s
	}
	return res.Trailer.Get("Grpc-Status")
}

func headers(kv ...string) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			for i := 0; i+1 < len(kv); i += 2 {
				req.Header().Set(kv[i], kv[i+1])
			}
			return next(ctx, req)
		}
	}
}
