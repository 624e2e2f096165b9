package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	validatepb "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"connectrpc.com/connect"
	"github.com/portico-dev/portico/auth"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	"github.com/portico-dev/portico/internal/app"
	"google.golang.org/protobuf/proto"
)

const (
	appOrigin = "https://app.example.com"
	base      = "/portico.profile.v1.ProfileService/"
)

// A server is the reference stack behind a test server, in development
// mode.
type server struct {
	*httptest.Server
	dev *auth.DevSigner
}

// token returns "Bearer <development token for subject>".
func (s *server) token(tb testing.TB, subject string) string {
	tb.Helper()
	token, err := s.dev.Token(subject, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return "Bearer " + token
}

// newServer starts the whole reference stack, on a real SQLite store in a
// temporary directory, behind an HTTP/2-capable test server.
func newServer(tb testing.TB, edit ...func(*app.Config)) *server {
	tb.Helper()
	cfg := app.Config{
		DataDir: tb.TempDir(),
		Logger:  slog.New(slog.DiscardHandler),
	}
	for _, e := range edit {
		e(&cfg)
	}
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.EnableHTTP2 = true
	srv.StartTLS()
	tb.Cleanup(func() {
		srv.Close()
		a.Close()
	})
	s := &server{Server: srv}
	if cfg.Auth.ResolvedEnv() == app.EnvDev {
		// The key app.New created.
		if s.dev, err = auth.LoadDevSigner(cfg.DataDir); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// clientProtocols are the ways a connect-go client can call the port:
// Connect (POST and GET), gRPC-Web and gRPC.
var clientProtocols = []struct {
	name string
	opts []connect.ClientOption
}{
	{"connect", nil},
	{"connect-get", []connect.ClientOption{connect.WithHTTPGet()}},
	{"grpc-web", []connect.ClientOption{connect.WithGRPCWeb()}},
	{"grpc", []connect.ClientOption{connect.WithGRPC()}},
}

// TestProtocols runs one flow with each protocol the port serves: Connect,
// gRPC-Web and gRPC.
func TestProtocols(t *testing.T) {
	t.Parallel()
	for _, p := range clientProtocols {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t)
			client := profilev1connect.NewProfileServiceClient(srv.Client(), srv.URL, p.opts...)
			ctx := context.Background()
			authed := func(req connect.AnyRequest) {
				req.Header().Set("Authorization", srv.token(t, "alice"))
			}

			_, err := client.GetProfile(ctx, request(&profilev1.GetProfileRequest{}, authed))
			assertCode(t, err, connect.CodeNotFound)

			created, err := client.UpdateProfile(ctx, request(&profilev1.UpdateProfileRequest{
				DisplayName: "Alice", Email: "alice@example.com",
			}, authed))
			if err != nil {
				t.Fatal(err)
			}
			if got := created.Header().Get("ETag"); got != `"profile-v1"` {
				t.Errorf("ETag = %q, want \"profile-v1\"", got)
			}

			got, err := client.GetProfile(ctx, request(&profilev1.GetProfileRequest{}, authed))
			if err != nil {
				t.Fatal(err)
			}
			if got.Msg.GetProfile().GetEmail() != "alice@example.com" || got.Header().Get("ETag") != `"profile-v1"` {
				t.Errorf("GetProfile = %v, ETag %q", got.Msg, got.Header().Get("ETag"))
			}

			// A stale If-Match changes nothing and says what is current.
			_, err = client.UpdateProfile(ctx, request(&profilev1.UpdateProfileRequest{
				DisplayName: "Mallory", Email: "m@example.com",
			}, authed, func(req connect.AnyRequest) { req.Header().Set("If-Match", `"profile-v7"`) }))
			assertCode(t, err, connect.CodeFailedPrecondition)
			var ce *connect.Error
			if errors.As(err, &ce) {
				mismatch := detail[*profilev1.EtagMismatch](t, ce)
				if mismatch.GetCurrentEtag() != `"profile-v1"` || mismatch.GetRequestedEtag() != `"profile-v7"` {
					t.Errorf("EtagMismatch = %v", mismatch)
				}
			}

			updated, err := client.UpdateProfile(ctx, request(&profilev1.UpdateProfileRequest{
				DisplayName: "Alice L.", Email: "alice@example.com",
			}, authed, func(req connect.AnyRequest) { req.Header().Set("If-Match", `"profile-v1"`) }))
			if err != nil {
				t.Fatal(err)
			}
			if updated.Header().Get("ETag") != `"profile-v2"` || updated.Header().Get("Location") == "" {
				t.Errorf("update headers = %v", updated.Header())
			}

			// Bad input: invalid_argument with the field violations.
			_, err = client.UpdateProfile(ctx, request(&profilev1.UpdateProfileRequest{Email: "nope"}, authed))
			assertCode(t, err, connect.CodeInvalidArgument)
			if errors.As(err, &ce) {
				violations := detail[*validatepb.Violations](t, ce)
				var fields []string
				for _, v := range violations.GetViolations() {
					fields = append(fields, v.GetField().GetElements()[0].GetFieldName())
				}
				slices.Sort(fields)
				if !slices.Equal(fields, []string{"display_name", "email"}) {
					t.Errorf("violations on %v, want display_name and email", fields)
				}
			}

			// No credentials: unauthenticated, before validation.
			_, err = client.UpdateProfile(ctx, connect.NewRequest(&profilev1.UpdateProfileRequest{}))
			assertCode(t, err, connect.CodeUnauthenticated)

			// The public read needs no credentials and never shows the email.
			pub, err := client.GetPublicProfile(ctx, connect.NewRequest(&profilev1.GetPublicProfileRequest{Id: "alice"}))
			if err != nil {
				t.Fatal(err)
			}
			if pub.Msg.GetProfile().GetDisplayName() != "Alice L." {
				t.Errorf("GetPublicProfile = %v", pub.Msg)
			}
			if pub.Header().Get("Access-Control-Allow-Origin") != "" {
				t.Error("a request without Origin must get no Access-Control-Allow-Origin")
			}

			_, err = client.DeleteProfile(ctx, request(&profilev1.DeleteProfileRequest{Etag: `"profile-v1"`}, authed))
			assertCode(t, err, connect.CodeFailedPrecondition)
			if _, err := client.DeleteProfile(ctx, request(&profilev1.DeleteProfileRequest{Etag: `"profile-v2"`}, authed)); err != nil {
				t.Fatal(err)
			}
			_, err = client.DeleteProfile(ctx, request(&profilev1.DeleteProfileRequest{}, authed))
			assertCode(t, err, connect.CodeNotFound)
		})
	}
}

// TestCORSOnErrors checks that every kind of failure a browser can meet is
// readable by an allowed origin: the CORS headers are on the error too.
func TestCORSOnErrors(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	json := map[string]string{"Content-Type": "application/json"}
	bob := srv.token(t, "bob")
	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		body       string
		wantStatus int
		wantCode   string // Connect error code in the body, if any
	}{
		{"unauthenticated", http.MethodPost, base + "UpdateProfile", json, `{}`, 401, "unauthenticated"},
		{"bad token", http.MethodPost, base + "GetProfile", merge(json, "Authorization", "Bearer nope"), `{}`, 401, "unauthenticated"},
		{"invalid_argument", http.MethodPost, base + "UpdateProfile", merge(json, "Authorization", bob), `{"email":"x"}`, 400, "invalid_argument"},
		{"not_found", http.MethodPost, base + "GetProfile", merge(json, "Authorization", bob), `{}`, 404, "not_found"},
		{"delete missing: not_found", http.MethodPost, base + "DeleteProfile", merge(json, "Authorization", bob), `{}`, 404, "not_found"},
		{"malformed If-Match", http.MethodPost, base + "UpdateProfile", merge(merge(json, "Authorization", bob), "If-Match", "W/x"), `{"displayName":"B","email":"b@example.com"}`, 400, "invalid_argument"},
		{"malformed JSON", http.MethodPost, base + "UpdateProfile", merge(json, "Authorization", bob), `{`, 400, "invalid_argument"},
		{"unknown procedure", http.MethodPost, base + "Nope", json, `{}`, 404, ""},
		{"GET on a method with side effects: 405", http.MethodGet, base + "UpdateProfile?connect=v1&encoding=json&message=%7B%7D", nil, "", 405, ""},
		{"unsupported content type: 415", http.MethodPost, base + "GetProfile", map[string]string{"Content-Type": "text/plain"}, "hi", 415, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Origin", appOrigin)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d: %s", res.StatusCode, tc.wantStatus, body)
			}
			if tc.wantCode != "" && !strings.Contains(string(body), `"code":"`+tc.wantCode+`"`) {
				t.Errorf("body %s, want code %s", body, tc.wantCode)
			}
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != appOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, appOrigin)
			}
			if got := res.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
				t.Errorf("Access-Control-Allow-Credentials = %q, want true", got)
			}
			if got := res.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(got, "ETag") {
				t.Errorf("Access-Control-Expose-Headers = %q, want ETag in it", got)
			}
			if !slices.Contains(res.Header.Values("Vary"), "Origin") {
				t.Errorf("Vary = %q, want Origin", res.Header.Values("Vary"))
			}
		})
	}
}

func request[T any](msg *T, edits ...func(connect.AnyRequest)) *connect.Request[T] {
	req := connect.NewRequest(msg)
	for _, e := range edits {
		e(req)
	}
	return req
}

func merge(h map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for hk, hv := range h {
		if _, ok := out[hk]; !ok {
			out[hk] = hv
		}
	}
	return out
}

func assertCode(tb testing.TB, err error, want connect.Code) {
	tb.Helper()
	if got := connect.CodeOf(err); got != want {
		tb.Errorf("code = %v (%v), want %v", got, err, want)
	}
}

// detail returns the first error detail of type T.
func detail[T proto.Message](tb testing.TB, ce *connect.Error) T {
	tb.Helper()
	for _, d := range ce.Details() {
		v, err := d.Value()
		if err != nil {
			tb.Fatal(err)
		}
		if m, ok := v.(T); ok {
			return m
		}
	}
	var zero T
	tb.Fatalf("no %T detail in %v", zero, ce)
	return zero
}
