package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/portico-dev/portico/auth"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	sessionv1 "github.com/portico-dev/portico/gen/portico/session/v1"
	"github.com/portico-dev/portico/gen/portico/session/v1/sessionv1connect"
	"github.com/portico-dev/portico/internal/app"
	"github.com/portico-dev/portico/internal/oidctest"
)

const (
	evilOrigin  = "https://evil.example.net"
	sessionBase = "/portico.session.v1.SessionService/"
)

// call sends one Connect JSON request through srv and returns the response
// and its body. header holds name/value pairs.
func call(tb testing.TB, client *http.Client, url, body string, header ...string) (*http.Response, string) {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res, string(b)
}

// TestSessionCookieFlow runs a browser session end to end over HTTP:
// CreateSession with a bearer token sets the cookie, the profile methods
// accept it alone, DeleteSession clears it, and the revoked cookie is
// refused afterwards even if a client keeps sending it.
func TestSessionCookieFlow(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	browser := []string{"Origin", appOrigin, "Sec-Fetch-Site", "same-site"}

	// Create: the bearer token is exchanged for the cookie.
	res, body := call(t, srv.Client(), srv.URL+sessionBase+"CreateSession", `{}`,
		append(browser, "Authorization", srv.token(t, "alice"))...)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"subject":"alice"`) {
		t.Fatalf("CreateSession: %d %s", res.StatusCode, body)
	}
	set := res.Header.Values("Set-Cookie")
	if len(set) != 1 {
		t.Fatalf("Set-Cookie = %q; want one cookie", set)
	}
	cookie, err := http.ParseSetCookie(set[0])
	if err != nil {
		t.Fatal(err)
	}
	if cookie.Name != auth.SessionCookie || !cookie.Secure || !cookie.HttpOnly || cookie.Path != "/" ||
		cookie.Domain != "" || cookie.SameSite != http.SameSiteLaxMode || cookie.MaxAge != int((12*time.Hour).Seconds()) {
		t.Errorf("Set-Cookie = %q; want __Host-portico_session, Secure, HttpOnly, Path=/, no Domain, SameSite=Lax, Max-Age=43200", set[0])
	}
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != appOrigin {
		t.Errorf("CreateSession: Access-Control-Allow-Origin = %q", got)
	}
	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("CreateSession: Cache-Control = %q; want no-store", got)
	}
	sent := auth.SessionCookie + "=" + cookie.Value

	// Use: the cookie alone authenticates, as in a credentialed fetch.
	res, body = call(t, srv.Client(), srv.URL+base+"UpdateProfile", `{"displayName":"Alice","email":"alice@example.com"}`,
		append(browser, "Cookie", sent)...)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"id":"alice"`) {
		t.Fatalf("UpdateProfile with the cookie: %d %s", res.StatusCode, body)
	}
	res, body = call(t, srv.Client(), srv.URL+base+"GetProfile", `{}`, append(browser, "Cookie", sent)...)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"displayName":"Alice"`) {
		t.Fatalf("GetProfile with the cookie: %d %s", res.StatusCode, body)
	}
	// A session cannot mint another.
	res, body = call(t, srv.Client(), srv.URL+sessionBase+"CreateSession", `{}`, append(browser, "Cookie", sent)...)
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("CreateSession with only a cookie: %d %s; want 401", res.StatusCode, body)
	}

	// Delete: the session is revoked and the cookie cleared.
	res, body = call(t, srv.Client(), srv.URL+sessionBase+"DeleteSession", `{}`, append(browser, "Cookie", sent)...)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("DeleteSession: %d %s", res.StatusCode, body)
	}
	cleared, err := http.ParseSetCookie(res.Header.Get("Set-Cookie"))
	if err != nil {
		t.Fatal(err)
	}
	if cleared.Name != auth.SessionCookie || cleared.Value != "" || cleared.MaxAge >= 0 || !cleared.Secure || cleared.Path != "/" {
		t.Errorf("DeleteSession: Set-Cookie = %q; want the cookie cleared with Max-Age=0", res.Header.Get("Set-Cookie"))
	}

	// Revoked: a client that keeps the cookie is refused, readably.
	res, body = call(t, srv.Client(), srv.URL+base+"GetProfile", `{}`, append(browser, "Cookie", sent)...)
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"code":"unauthenticated"`) ||
		!strings.Contains(body, "session expired or revoked") {
		t.Errorf("GetProfile with the revoked cookie: %d %s; want unauthenticated", res.StatusCode, body)
	}
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != appOrigin {
		t.Errorf("refusal: Access-Control-Allow-Origin = %q; want %q", got, appOrigin)
	}
	// The public read ignores the stale cookie rather than fail.
	res, body = call(t, srv.Client(), srv.URL+base+"GetPublicProfile", `{"id":"alice"}`, "Cookie", sent)
	if res.StatusCode != http.StatusOK {
		t.Errorf("GetPublicProfile with the revoked cookie: %d %s", res.StatusCode, body)
	}
}

// TestSessionCookieJar runs the flow with a cookie jar and the generated
// clients, as a Go client would: the jar keeps the cookie (the server is
// HTTPS, so the Secure cookie is sent back) and drops it when cleared.
func TestSessionCookieJar(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := *srv.Client()
	hc.Jar = jar
	sessions := sessionv1connect.NewSessionServiceClient(&hc, srv.URL)
	profiles := profilev1connect.NewProfileServiceClient(&hc, srv.URL)
	ctx := t.Context()

	req := connect.NewRequest(&sessionv1.CreateSessionRequest{})
	req.Header().Set("Authorization", srv.token(t, "dana"))
	if _, err := sessions.CreateSession(ctx, req); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.URL)
	if len(jar.Cookies(u)) != 1 {
		t.Fatalf("jar holds %v", jar.Cookies(u))
	}
	if _, err := profiles.UpdateProfile(ctx, connect.NewRequest(&profilev1.UpdateProfileRequest{DisplayName: "Dana", Email: "dana@example.com"})); err != nil {
		t.Fatalf("UpdateProfile with the jar's cookie: %v", err)
	}
	if _, err := sessions.DeleteSession(ctx, connect.NewRequest(&sessionv1.DeleteSessionRequest{})); err != nil {
		t.Fatal(err)
	}
	if got := jar.Cookies(u); len(got) != 0 {
		t.Errorf("jar still holds %v after DeleteSession", got)
	}
	_, err = profiles.GetProfile(ctx, connect.NewRequest(&profilev1.GetProfileRequest{}))
	assertCode(t, err, connect.CodeUnauthenticated)
}

// TestCSRFGuard checks that a cross-origin UpdateProfile from an origin the
// policy does not allow is refused before the handler, even with a valid
// session cookie, and leaves the store untouched; same-origin and
// server-to-server calls pass.
func TestCSRFGuard(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	res, _ := call(t, srv.Client(), srv.URL+sessionBase+"CreateSession", `{}`, "Authorization", srv.token(t, "erin"))
	cookie, err := http.ParseSetCookie(res.Header.Get("Set-Cookie"))
	if err != nil {
		t.Fatal(err)
	}
	sent := auth.SessionCookie + "=" + cookie.Value
	update := `{"displayName":"Forged","email":"forged@example.com"}`

	for _, tc := range []struct {
		name   string
		header []string
	}{
		{"cross-site", []string{"Origin", evilOrigin, "Sec-Fetch-Site", "cross-site"}},
		{"old browser", []string{"Origin", evilOrigin}},
		{"same-site sibling", []string{"Origin", "https://blog.example.com", "Sec-Fetch-Site", "same-site"}},
	} {
		res, body := call(t, srv.Client(), srv.URL+base+"UpdateProfile", update, append(tc.header, "Cookie", sent)...)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(body, `"code":"permission_denied"`) {
			t.Errorf("%s: %d %s; want 403 permission_denied", tc.name, res.StatusCode, body)
		}
	}
	// The store is untouched: erin has no profile.
	res, body := call(t, srv.Client(), srv.URL+base+"GetProfile", `{}`, "Cookie", sent)
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("after refused updates: GetProfile %d %s; want 404 (nothing written)", res.StatusCode, body)
	}

	// Same origin (the API's own host), an allowed frontend, and a
	// server-side caller pass.
	host := strings.TrimPrefix(srv.URL, "https://")
	for i, tc := range []struct {
		name   string
		header []string
	}{
		{"same origin", []string{"Origin", srv.URL, "Sec-Fetch-Site", "same-origin", "Cookie", sent}},
		{"same origin, old browser", []string{"Origin", "https://" + host, "Cookie", sent}},
		{"allowed frontend", []string{"Origin", appOrigin, "Sec-Fetch-Site", "same-site", "Cookie", sent}},
		{"server to server", []string{"Authorization", srv.token(t, "erin")}},
	} {
		if i > 0 {
			tc.header = append(tc.header, "If-Match", "*") // the first call created the profile
		}
		res, body := call(t, srv.Client(), srv.URL+base+"UpdateProfile", update, tc.header...)
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s: %d %s; want 200", tc.name, res.StatusCode, body)
		}
	}
	// Connect GET of a NO_SIDE_EFFECTS method is never guarded.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet,
		srv.URL+base+"GetPublicProfile?connect=v1&encoding=json&message=%7B%22id%22%3A%22erin%22%7D", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", evilOrigin)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	getRes, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	getRes.Body.Close()
	if getRes.StatusCode != http.StatusOK {
		t.Errorf("Connect GET from another site: %d; want 200", getRes.StatusCode)
	}
}

// TestLayerOrder checks the order CORS, CSRF guard, authentication,
// validation, handler: a preflight never reaches authentication; a forged
// request is refused before authentication looks at it; an anonymous call
// is refused before validation.
func TestLayerOrder(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodOptions, srv.URL+base+"UpdateProfile", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", appOrigin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != appOrigin {
		t.Errorf("preflight without credentials: %d %v; want 204 with CORS headers", res.StatusCode, res.Header)
	}
	_, body := call(t, srv.Client(), srv.URL+base+"UpdateProfile", `{"email":"x"}`,
		"Origin", evilOrigin, "Sec-Fetch-Site", "cross-site", "Authorization", "Bearer garbage")
	if !strings.Contains(body, `"code":"permission_denied"`) {
		t.Errorf("forged request with a bad token: %s; want permission_denied before authentication", body)
	}
	_, body = call(t, srv.Client(), srv.URL+base+"UpdateProfile", `{"email":"x"}`, "Origin", appOrigin)
	if !strings.Contains(body, `"code":"unauthenticated"`) {
		t.Errorf("anonymous invalid request: %s; want unauthenticated before validation", body)
	}
}

// TestSecurityHeaders pins the security headers of API responses: on
// successes, errors and preflights, HSTS only over HTTPS, no-store on
// credentialed requests; and their absence when disabled.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	always := map[string]string{
		"X-Content-Type-Options":    "nosniff",
		"Referrer-Policy":           "no-referrer",
		"Content-Security-Policy":   "default-src 'none'; frame-ancestors 'none'",
		"Strict-Transport-Security": "max-age=63072000; includeSubDomains", // the test server is HTTPS
	}
	check := func(step string, h http.Header, noStore bool) {
		t.Helper()
		for k, v := range always {
			if got := h.Get(k); got != v {
				t.Errorf("%s: %s = %q; want %q", step, k, got, v)
			}
		}
		want := ""
		if noStore {
			want = "no-store"
		}
		if got := h.Get("Cache-Control"); got != want {
			t.Errorf("%s: Cache-Control = %q; want %q", step, got, want)
		}
	}
	res, _ := call(t, srv.Client(), srv.URL+base+"UpdateProfile", `{"displayName":"F","email":"f@example.com"}`,
		"Origin", appOrigin, "Authorization", srv.token(t, "frank"))
	check("authenticated success", res.Header, true)
	res, _ = call(t, srv.Client(), srv.URL+base+"GetProfile", `{}`, "Origin", appOrigin, "Authorization", "Bearer garbage")
	check("auth failure", res.Header, true)
	res, _ = call(t, srv.Client(), srv.URL+base+"GetPublicProfile", `{"id":"frank"}`, "Origin", appOrigin)
	check("anonymous public read", res.Header, false)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodOptions, srv.URL+base+"GetProfile", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", appOrigin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	pre, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pre.Body.Close()
	check("preflight", pre.Header, false)

	off := newServer(t, func(c *app.Config) { c.DisableSecurityHeaders = true })
	res, _ = call(t, off.Client(), off.URL+base+"GetProfile", `{}`, "Authorization", off.token(t, "frank"))
	for _, k := range []string{"X-Content-Type-Options", "Referrer-Policy", "Content-Security-Policy", "Strict-Transport-Security", "Cache-Control"} {
		if got := res.Header.Get(k); got != "" {
			t.Errorf("disabled: %s = %q", k, got)
		}
	}
}

// TestIssuer runs the stack in production mode against an OpenID Connect
// issuer found by discovery: its tokens pass, development tokens do not.
func TestIssuer(t *testing.T) {
	t.Parallel()
	iss := oidctest.NewIssuer(t)
	dir := t.TempDir()
	// A development key in the data directory must change nothing in prod.
	dev, err := auth.LoadDevSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	devToken, err := dev.Token("mallory", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, func(c *app.Config) {
		c.DataDir = dir
		c.Auth = app.AuthConfig{Issuer: iss.URL, Audience: oidctest.Audience}
	})
	res, body := call(t, srv.Client(), srv.URL+base+"UpdateProfile", `{"displayName":"G","email":"g@example.com"}`,
		"Origin", appOrigin, "Authorization", "Bearer "+iss.Token(t, "grace"))
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"id":"grace"`) {
		t.Errorf("issuer token: %d %s", res.StatusCode, body)
	}
	res, body = call(t, srv.Client(), srv.URL+base+"GetProfile", `{}`, "Origin", appOrigin, "Authorization", "Bearer "+devToken)
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("Access-Control-Allow-Origin") != appOrigin {
		t.Errorf("development token in prod: %d %s; want a CORS-readable 401", res.StatusCode, body)
	}
}

func TestAuthConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  app.AuthConfig
		want string
	}{
		{"prod without issuer", app.AuthConfig{Env: app.EnvProd}, "an Issuer is required"},
		{"unknown env", app.AuthConfig{Env: "staging"}, `Env "staging"`},
		{"issuer without audience", app.AuthConfig{Issuer: "https://issuer.example.com"}, "Audience"},
		{"audience without issuer", app.AuthConfig{Audience: "x"}, "needs an Issuer"},
		{"short session", app.AuthConfig{SessionTTL: time.Second}, "SessionTTL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := app.New(context.Background(), app.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), Auth: tc.cfg})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("app.New() error = %v; want it to mention %q", err, tc.want)
			}
		})
	}
	if got := (app.AuthConfig{}).ResolvedEnv(); got != app.EnvDev {
		t.Errorf("zero AuthConfig: env %q; want dev", got)
	}
	if got := (app.AuthConfig{Issuer: "https://i.example.com"}).ResolvedEnv(); got != app.EnvProd {
		t.Errorf("AuthConfig with an issuer: env %q; want prod", got)
	}
}
