package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/policy"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1portico"
	"github.com/portico-dev/portico/internal/oidctest"
)

const appOrigin = "https://app.example.com"

// echoService answers with the caller it sees: "<subject>|<issuer>|<credential>",
// or "<anonymous>" for none.
type echoService struct {
	profilev1connect.UnimplementedProfileServiceHandler
}

const anonymous = "<anonymous>"

func who(ctx context.Context) string {
	if c, ok := auth.CallerFrom(ctx); ok {
		return c.Subject + "|" + c.Issuer + "|" + c.Credential.String()
	}
	return anonymous
}

func (echoService) GetProfile(ctx context.Context, _ *connect.Request[profilev1.GetProfileRequest]) (*connect.Response[profilev1.GetProfileResponse], error) {
	return connect.NewResponse(&profilev1.GetProfileResponse{Profile: &profilev1.Profile{Id: who(ctx)}}), nil
}

func (echoService) GetPublicProfile(ctx context.Context, _ *connect.Request[profilev1.GetPublicProfileRequest]) (*connect.Response[profilev1.GetPublicProfileResponse], error) {
	return connect.NewResponse(&profilev1.GetPublicProfileResponse{Profile: &profilev1.PublicProfile{Id: who(ctx)}}), nil
}

// countingVerifier counts the tokens it is asked about.
type countingVerifier struct {
	auth.TokenVerifier
	calls atomic.Int64
}

func (v *countingVerifier) Verify(ctx context.Context, token string) (auth.Caller, error) {
	v.calls.Add(1)
	return v.TokenVerifier.Verify(ctx, token)
}

// sessions is a fake session store: cookie value to subject.
type sessions map[string]string

func (s sessions) ResolveSession(_ context.Context, value string) (auth.Caller, error) {
	if sub, ok := s[value]; ok {
		return auth.Caller{Subject: sub, Issuer: "session-issuer"}, nil
	}
	return auth.Caller{}, errors.New("no such session")
}

// fixture is echoService behind the gateway (the ProfileService CORS
// policy) and the interceptor, trusting an OIDC test issuer and a
// development signer.
type fixture struct {
	srv      *httptest.Server
	issuer   *oidctest.Issuer
	dev      *auth.DevSigner
	verifier *countingVerifier
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	iss := oidctest.NewIssuer(tb)
	v, err := auth.NewOIDCVerifier(tb.Context(), auth.OIDCConfig{Issuer: iss.URL, Audience: oidctest.Audience})
	if err != nil {
		tb.Fatal(err)
	}
	dev, err := auth.LoadDevSigner(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	counting := &countingVerifier{TokenVerifier: v}
	gw, err := gateway.New([]*policy.Service{profilev1portico.ProfileServicePolicy}, gateway.WithLogger(nil))
	if err != nil {
		tb.Fatal(err)
	}
	gw.Handle(profilev1connect.NewProfileServiceHandler(echoService{}, connect.WithInterceptors(auth.NewInterceptor(
		auth.AllowAnonymous(profilev1connect.ProfileServiceGetPublicProfileProcedure),
		auth.WithTokenVerifiers(counting, dev),
		auth.WithSessions(sessions{"good-session": "carol"}),
	))))
	srv := httptest.NewUnstartedServer(gw)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	return &fixture{srv: srv, issuer: iss, dev: dev, verifier: counting}
}

// post sends a Connect JSON call from a browser on appOrigin, and returns
// the response and its body.
func (f *fixture) post(tb testing.TB, procedure string, header ...string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodPost, f.srv.URL+procedure, strings.NewReader(`{}`))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Origin", appOrigin)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res, body
}

// TestTokens is the acceptance matrix: a valid token of each algorithm
// passes; each kind of bad token is refused with unauthenticated, through
// the gateway, with the CORS headers that let the browser read the error.
func TestTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	iss := f.issuer
	now := time.Now()
	claims := func(edit func(map[string]any)) map[string]any {
		c := iss.Claims("alice")
		edit(c)
		return c
	}
	devToken, err := f.dev.Token("bob", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Tokens are made up front: rotating the issuer's key is not safe to do
	// from parallel subtests.
	rs256 := iss.Token(t, "alice")
	expired := iss.Sign(t, claims(func(c map[string]any) {
		c["iat"], c["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	}))
	wrongIssuer := iss.Sign(t, claims(func(c map[string]any) { c["iss"] = "https://issuer.example.net" }))
	wrongAudience := iss.Sign(t, claims(func(c map[string]any) { c["aud"] = "someone-else" }))
	noSubject := iss.Sign(t, claims(func(c map[string]any) { delete(c, "sub") }))
	notYet := iss.Sign(t, claims(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }))
	none := iss.Unsigned(t, iss.Claims("alice"))
	hmacPublic := iss.HMACWithPublicKey(t, iss.Claims("alice"))
	unknownKid := iss.SignUnpublished(t, "not-published", iss.Claims("alice"))
	iss.Rotate(t, oidctest.NewECKey(t, "ec-1"))
	es256 := iss.Token(t, "alice")

	tests := []struct {
		name    string
		header  []string
		public  bool   // call GetPublicProfile, else GetProfile
		want    string // what the handler saw, on success
		wantMsg string // the whole error message, on failure
		// challenge is the WWW-Authenticate header of a failure.
		challenge string
	}{
		{name: "RS256", header: bearer(rs256), want: "alice|" + iss.URL + "|bearer"},
		{name: "ES256 after rotation", header: bearer(es256), want: "alice|" + iss.URL + "|bearer"},
		{name: "development token", header: bearer(devToken), want: "bob|portico-dev|bearer"},
		{name: "session cookie", header: []string{"Cookie", auth.SessionCookie + "=good-session"}, want: "carol|session-issuer|session"},
		{name: "bearer wins over cookie", header: append(bearer(rs256), "Cookie", auth.SessionCookie+"=good-session"), want: "alice|" + iss.URL + "|bearer"},
		{name: "anonymous procedure", public: true, want: anonymous},
		{name: "anonymous procedure ignores a stale cookie", public: true, header: []string{"Cookie", auth.SessionCookie + "=revoked"}, want: anonymous},

		{name: "expired", header: bearer(expired), wantMsg: "bearer token expired", challenge: `Bearer error="invalid_token"`},
		{name: "wrong issuer", header: bearer(wrongIssuer), wantMsg: "invalid bearer token", challenge: `Bearer error="invalid_token"`},
		{name: "wrong audience", header: bearer(wrongAudience), wantMsg: "invalid bearer token", challenge: `Bearer error="invalid_token"`},
		{name: "no subject", header: bearer(noSubject), wantMsg: "invalid bearer token", challenge: `Bearer error="invalid_token"`},
		{name: "not yet valid", header: bearer(notYet), wantMsg: "invalid bearer token", challenge: `Bearer error="invalid_token"`},
		{name: "alg none", header: bearer(none), wantMsg: "invalid bearer token", challenge: `Bearer error="invalid_token"`},
		{name: "HS256 keyed with the public key", header: bearer(hmacPublic), wantMsg: "invalid bearer token", challenge: `Bearer error="invalid_token"`},
		{name: "unknown kid", header: bearer(unknownKid), wantMsg: "invalid bearer token", challenge: `Bearer error="invalid_token"`},
		{name: "malformed: not a JWT", header: bearer("not-a-jwt"), wantMsg: "invalid bearer token", challenge: `Bearer error="invalid_token"`},
		{name: "malformed: bad base64", header: bearer("e30.!!!.e30"), wantMsg: "invalid bearer token", challenge: `Bearer error="invalid_token"`},
		{name: "malformed: truncated", header: bearer(rs256[:len(rs256)-10]), wantMsg: "invalid bearer token", challenge: `Bearer error="invalid_token"`},
		{name: "malformed header", header: []string{"Authorization", "Bearer"}, wantMsg: "malformed Authorization header: want a single Bearer <token>", challenge: `Bearer error="invalid_request"`},
		{name: "not bearer", header: []string{"Authorization", "Basic YWxpY2U6c2VjcmV0"}, wantMsg: "unsupported authorization scheme: want Bearer", challenge: `Bearer error="invalid_request"`},
		{name: "missing", wantMsg: "missing credentials: send an Authorization: Bearer token, or a session cookie", challenge: "Bearer"},
		{name: "revoked session", header: []string{"Cookie", auth.SessionCookie + "=revoked"}, wantMsg: "session expired or revoked: sign in again", challenge: "Bearer"},
		{name: "bad token on anonymous procedure", public: true, header: bearer(expired), wantMsg: "bearer token expired", challenge: `Bearer error="invalid_token"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			procedure := profilev1connect.ProfileServiceGetProfileProcedure
			if tc.public {
				procedure = profilev1connect.ProfileServiceGetPublicProfileProcedure
			}
			res, body := f.post(t, procedure, tc.header...)
			if tc.wantMsg == "" {
				if res.StatusCode != http.StatusOK {
					t.Fatalf("status %d: %s", res.StatusCode, body)
				}
				var msg struct{ Profile struct{ ID string } }
				if err := json.Unmarshal(body, &msg); err != nil || msg.Profile.ID != tc.want {
					t.Errorf("handler saw %q (%v); want %q", msg.Profile.ID, err, tc.want)
				}
				return
			}
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d; want 401", res.StatusCode)
			}
			var e struct{ Code, Message string }
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("error body %q: %v", body, err)
			}
			if e.Code != "unauthenticated" || e.Message != tc.wantMsg {
				t.Errorf("error = %s: %q; want unauthenticated: %q", e.Code, e.Message, tc.wantMsg)
			}
			if got := res.Header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate = %q; want %q", got, tc.challenge)
			}
			assertCORSReadable(t, res.Header, !tc.public)
		})
	}
}

// TestTokensOverEveryProtocol checks one valid and one refused token with
// the Connect, gRPC-Web and gRPC clients.
func TestTokensOverEveryProtocol(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	good := f.issuer.Token(t, "alice")
	bad := f.issuer.Unsigned(t, f.issuer.Claims("alice"))
	for _, p := range []struct {
		name string
		opts []connect.ClientOption
	}{
		{"connect", nil},
		{"connect-get", []connect.ClientOption{connect.WithHTTPGet()}},
		{"grpc-web", []connect.ClientOption{connect.WithGRPCWeb()}},
		{"grpc", []connect.ClientOption{connect.WithGRPC()}},
	} {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			client := profilev1connect.NewProfileServiceClient(f.srv.Client(), f.srv.URL, p.opts...)
			req := connect.NewRequest(&profilev1.GetProfileRequest{})
			req.Header().Set("Authorization", "Bearer "+good)
			req.Header().Set("Origin", appOrigin)
			res, err := client.GetProfile(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Msg.GetProfile().GetId(); !strings.HasPrefix(got, "alice|") {
				t.Errorf("handler saw %q", got)
			}
			req = connect.NewRequest(&profilev1.GetProfileRequest{})
			req.Header().Set("Authorization", "Bearer "+bad)
			req.Header().Set("Origin", appOrigin)
			_, err = client.GetProfile(t.Context(), req)
			var ce *connect.Error
			if !errors.As(err, &ce) || ce.Code() != connect.CodeUnauthenticated {
				t.Fatalf("error = %v; want unauthenticated", err)
			}
			if ce.Message() != "invalid bearer token" {
				t.Errorf("message = %q", ce.Message())
			}
			if p.name != "grpc" {
				// gRPC-Web and Connect errors are read by browsers.
				assertCORSReadable(t, ce.Meta(), true)
			}
		})
	}
}

// TestPreflightNeverReachesAuth checks that the gateway answers preflights
// before the handler: no credentials, no verifier call, and a 204.
func TestPreflightNeverReachesAuth(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodOptions,
		f.srv.URL+profilev1connect.ProfileServiceGetProfileProcedure, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", appOrigin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	// A preflight never carries credentials (Fetch §4.8 "CORS-preflight
	// fetch"); even one that does must not be authenticated.
	req.Header.Set("Authorization", "Bearer "+f.issuer.Unsigned(t, f.issuer.Claims("x")))
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Errorf("preflight status %d; want 204", res.StatusCode)
	}
	if got := f.verifier.calls.Load(); got != 0 {
		t.Errorf("the verifier was called %d times for a preflight", got)
	}
}

func TestNoVerifiers(t *testing.T) {
	t.Parallel()
	dev, err := auth.LoadDevSigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	token, err := dev.Token("alice", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(profilev1connect.NewProfileServiceHandler(echoService{}, connect.WithInterceptors(auth.NewInterceptor())))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := profilev1connect.NewProfileServiceClient(srv.Client(), srv.URL)
	req := connect.NewRequest(&profilev1.GetProfileRequest{})
	req.Header().Set("Authorization", "Bearer "+token)
	if _, err := client.GetProfile(t.Context(), req); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("a token with no verifier configured: %v; want unauthenticated", err)
	}
	if _, err := client.GetPublicProfile(t.Context(), connect.NewRequest(&profilev1.GetPublicProfileRequest{})); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("no procedure is anonymous by default: %v", err)
	}
}

func TestInterceptorClientPassthrough(t *testing.T) {
	t.Parallel()
	// A server without the interceptor, and a client with it: the client must
	// neither add nor require credentials.
	mux := http.NewServeMux()
	mux.Handle(profilev1connect.NewProfileServiceHandler(echoService{}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := profilev1connect.NewProfileServiceClient(srv.Client(), srv.URL,
		connect.WithInterceptors(auth.NewInterceptor()))
	res, err := client.GetProfile(t.Context(), connect.NewRequest(&profilev1.GetProfileRequest{}))
	if err != nil {
		t.Fatalf("GetProfile() error = %v", err)
	}
	if got := res.Msg.GetProfile().GetId(); got != anonymous {
		t.Errorf("handler saw caller %q; want %q", got, anonymous)
	}
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

// assertCORSReadable checks that h carries what a browser on appOrigin
// needs to hand an error to JavaScript.
func assertCORSReadable(tb testing.TB, h http.Header, credentialed bool) {
	tb.Helper()
	want := appOrigin
	if !credentialed {
		want = "*" // the public procedure
	}
	if got := h.Get("Access-Control-Allow-Origin"); got != want {
		tb.Errorf("Access-Control-Allow-Origin = %q; want %q", got, want)
	}
	if got := h.Get("Access-Control-Allow-Credentials"); credentialed && got != "true" {
		tb.Errorf("Access-Control-Allow-Credentials = %q; want true", got)
	}
	if got := h.Values("Vary"); len(got) == 0 || !strings.Contains(strings.Join(got, ","), "Origin") {
		tb.Errorf("Vary = %q; want Origin", got)
	}
	if got := h.Get("Access-Control-Expose-Headers"); !strings.Contains(got, "Grpc-Status") {
		tb.Errorf("Access-Control-Expose-Headers = %q; want the gRPC-Web status headers", got)
	}
}
