package gateway

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/policy"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1portico"
)

const (
	svcPath      = "/portico.profile.v1.ProfileService/"
	getProfile   = svcPath + "GetProfile"
	update       = svcPath + "UpdateProfile"
	publicRead   = svcPath + "GetPublicProfile"
	appOrigin    = "https://app.example.com"
	evilOrigin   = "https://evil.example.net"
	seedACRH     = "authorization,content-type,if-match,x-client-version"
	updateACAH   = "Authorization, Connect-Protocol-Version, Connect-Timeout-Ms, Content-Type, Grpc-Timeout, If-Match, X-Client-Version, X-Grpc-Web, X-User-Agent"
	getACAH      = "Authorization, Connect-Protocol-Version, Connect-Timeout-Ms, Content-Type, Grpc-Timeout, X-Client-Version, X-Grpc-Web, X-User-Agent"
	exposed      = "ETag, Grpc-Message, Grpc-Status, Grpc-Status-Details-Bin, Location, Retry-After"
	varyPreflite = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
)

// newTestGateway mounts the reference policy over a trivial handler that
// answers 200 with one header of its own, and records log lines.
func newTestGateway(tb testing.TB, opts ...Option) (*Gateway, *bytes.Buffer) {
	tb.Helper()
	logs := new(bytes.Buffer)
	opts = append([]Option{
		WithLogger(slog.New(slog.NewJSONHandler(logs, nil))),
		WithOriginSet("web", "PORTICO_ORIGINS_WEB", "https://*.example.dev", "http://localhost:5173"),
	}, opts...)
	g, err := New([]*policy.Service{profilev1portico.ProfileServicePolicy}, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	g.Handle(svcPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Inner", "1")
		w.WriteHeader(http.StatusOK)
	}))
	return g, logs
}

func TestGateway(t *testing.T) {
	t.Parallel()
	type request struct {
		method string
		path   string
		header http.Header
	}
	preflight := func(path string, kv ...string) request {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return request{method: http.MethodOptions, path: path, header: h}
	}
	actual := func(method, path string, kv ...string) request {
		r := preflight(path, kv...)
		r.method = method
		return r
	}
	approvedUpdate := http.Header{
		"Access-Control-Allow-Origin":      {appOrigin},
		"Access-Control-Allow-Credentials": {"true"},
		"Access-Control-Allow-Methods":     {"POST"},
		"Access-Control-Allow-Headers":     {updateACAH},
		"Access-Control-Max-Age":           {"3600"},
		"Vary":                             {varyPreflite},
	}
	refused := http.Header{}
	actualOK := func(origin string) http.Header {
		return http.Header{
			"Access-Control-Allow-Origin":      {origin},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Expose-Headers":    {exposed},
			"Vary":                             {"Origin"},
			"X-Inner":                          {"1"},
		}
	}
	tests := []struct {
		name       string
		req        request
		wantStatus int
		wantHeader http.Header
		wantLog    string // reason logged, "" for none
	}{
		{
			name:       "seed preflight approved",
			req:        preflight(update, "Origin", appOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", seedACRH),
			wantStatus: http.StatusNoContent,
			wantHeader: approvedUpdate,
		},
		{
			name:       "preflight from admin origin",
			req:        preflight(update, "Origin", "https://admin.example.com", "Access-Control-Request-Method", "POST"),
			wantStatus: http.StatusNoContent,
			wantHeader: with(approvedUpdate, "Access-Control-Allow-Origin", "https://admin.example.com"),
		},
		{
			name:       "preflight from bound wildcard origin",
			req:        preflight(update, "Origin", "https://feature-123.example.dev", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", seedACRH),
			wantStatus: http.StatusNoContent,
			wantHeader: with(approvedUpdate, "Access-Control-Allow-Origin", "https://feature-123.example.dev"),
		},
		{
			name:       "preflight from bound exact origin",
			req:        preflight(update, "Origin", "http://localhost:5173", "Access-Control-Request-Method", "POST"),
			wantStatus: http.StatusNoContent,
			wantHeader: with(approvedUpdate, "Access-Control-Allow-Origin", "http://localhost:5173"),
		},
		{
			name:       "preflight header list tolerated: case, order, spaces, duplicates, empty items, several lines",
			req:        preflight(update, "Origin", appOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", " X-Client-Version , ,Authorization,authorization", "Access-Control-Request-Headers", "content-type,,If-Match"),
			wantStatus: http.StatusNoContent,
			wantHeader: approvedUpdate,
		},
		{
			name:       "preflight GET on side-effect-free method",
			req:        preflight(getProfile, "Origin", appOrigin, "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization,x-client-version"),
			wantStatus: http.StatusNoContent,
			wantHeader: http.Header{
				"Access-Control-Allow-Origin":      {appOrigin},
				"Access-Control-Allow-Credentials": {"true"},
				"Access-Control-Allow-Methods":     {"GET, POST"},
				"Access-Control-Allow-Headers":     {getACAH},
				"Access-Control-Max-Age":           {"3600"},
				"Vary":                             {varyPreflite},
			},
		},
		{
			name:       "public preflight answers star without credentials",
			req:        preflight(publicRead, "Origin", evilOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type"),
			wantStatus: http.StatusNoContent,
			wantHeader: http.Header{
				"Access-Control-Allow-Origin":  {"*"},
				"Access-Control-Allow-Methods": {"GET, POST"},
				"Access-Control-Allow-Headers": {getACAH},
				"Access-Control-Max-Age":       {"3600"},
				"Vary":                         {varyPreflite},
			},
		},
		{name: "refused: origin", req: preflight(update, "Origin", evilOrigin, "Access-Control-Request-Method", "POST"), wantStatus: 403, wantHeader: refused, wantLog: "origin not allowed"},
		{name: "refused: two-label wildcard", req: preflight(update, "Origin", "https://a.b.example.dev", "Access-Control-Request-Method", "POST"), wantStatus: 403, wantHeader: refused, wantLog: "origin not allowed"},
		{name: "refused: wildcard apex", req: preflight(update, "Origin", "https://example.dev", "Access-Control-Request-Method", "POST"), wantStatus: 403, wantHeader: refused, wantLog: "origin not allowed"},
		{name: "refused: suffix attack", req: preflight(update, "Origin", "https://x.example.dev.evil.test", "Access-Control-Request-Method", "POST"), wantStatus: 403, wantHeader: refused, wantLog: "origin not allowed"},
		{name: "refused: upper case origin", req: preflight(update, "Origin", "https://APP.example.com", "Access-Control-Request-Method", "POST"), wantStatus: 403, wantHeader: refused, wantLog: "origin not allowed"},
		{name: "refused: trailing slash", req: preflight(update, "Origin", appOrigin+"/", "Access-Control-Request-Method", "POST"), wantStatus: 403, wantHeader: refused, wantLog: "origin not allowed"},
		{name: "refused: default port spelled out", req: preflight(update, "Origin", appOrigin+":443", "Access-Control-Request-Method", "POST"), wantStatus: 403, wantHeader: refused, wantLog: "origin not allowed"},
		{name: "refused: null origin", req: preflight(update, "Origin", "null", "Access-Control-Request-Method", "POST"), wantStatus: 403, wantHeader: refused, wantLog: `Origin \"null\" is never allowed`},
		{name: "refused: empty origin", req: preflight(update, "Origin", "", "Access-Control-Request-Method", "POST"), wantStatus: 403, wantHeader: refused, wantLog: "empty Origin"},
		{name: "refused: two origins", req: preflight(update, "Origin", appOrigin, "Origin", appOrigin, "Access-Control-Request-Method", "POST"), wantStatus: 403, wantHeader: refused, wantLog: "more than one Origin header"},
		{name: "refused: list in origin", req: preflight(update, "Origin", appOrigin+", "+appOrigin, "Access-Control-Request-Method", "POST"), wantStatus: 403, wantHeader: refused, wantLog: "Origin holds a list"},
		{name: "refused: GET on method with side effects", req: preflight(update, "Origin", appOrigin, "Access-Control-Request-Method", "GET"), wantStatus: 403, wantHeader: refused, wantLog: "method not allowed"},
		{name: "refused: PATCH", req: preflight(update, "Origin", appOrigin, "Access-Control-Request-Method", "PATCH"), wantStatus: 403, wantHeader: refused, wantLog: "method not allowed"},
		{name: "refused: lower-case post", req: preflight(update, "Origin", appOrigin, "Access-Control-Request-Method", "post"), wantStatus: 403, wantHeader: refused, wantLog: "method not allowed"},
		{name: "refused: two request methods", req: preflight(update, "Origin", appOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Method", "POST"), wantStatus: 403, wantHeader: refused, wantLog: "more than one Access-Control-Request-Method"},
		{name: "refused: header not allowed", req: preflight(update, "Origin", appOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,x-debug"), wantStatus: 403, wantHeader: refused, wantLog: "request header not allowed"},
		{name: "refused: If-Match only on update", req: preflight(getProfile, "Origin", appOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "if-match"), wantStatus: 403, wantHeader: refused, wantLog: "request header not allowed"},
		{name: "refused: header list too long", req: preflight(update, "Origin", appOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", strings.Repeat("x-a,", 2000)), wantStatus: 403, wantHeader: refused, wantLog: "Access-Control-Request-Headers too long"},
		{name: "refused: too many empty items", req: preflight(update, "Origin", appOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", strings.Repeat(",", 40)), wantStatus: 403, wantHeader: refused, wantLog: "Access-Control-Request-Headers has too many empty items"},
		{name: "refused: private network", req: preflight(update, "Origin", appOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Private-Network", "true"), wantStatus: 403, wantHeader: refused, wantLog: "private network access not allowed"},
		{name: "public refused: null origin", req: preflight(publicRead, "Origin", "null", "Access-Control-Request-Method", "GET"), wantStatus: 403, wantHeader: refused, wantLog: `Origin \"null\" is never allowed`},
		{name: "public refused: empty origin", req: preflight(publicRead, "Origin", "", "Access-Control-Request-Method", "GET"), wantStatus: 403, wantHeader: refused, wantLog: "empty Origin"},
		{name: "public refused: list in origin", req: preflight(publicRead, "Origin", "https://a.example, https://b.example", "Access-Control-Request-Method", "GET"), wantStatus: 403, wantHeader: refused, wantLog: "Origin holds a list"},
		{name: "public refused: two origins", req: preflight(publicRead, "Origin", evilOrigin, "Origin", appOrigin, "Access-Control-Request-Method", "GET"), wantStatus: 403, wantHeader: refused, wantLog: "more than one Origin header"},
		{name: "bare service path: 404", req: preflight(svcPath, "Origin", appOrigin, "Access-Control-Request-Method", "POST"), wantStatus: 404, wantHeader: http.Header{}, wantLog: "unknown procedure"},
		{name: "unknown method in known service: 404", req: preflight(svcPath+"Nope", "Origin", appOrigin, "Access-Control-Request-Method", "POST"), wantStatus: 404, wantHeader: http.Header{}, wantLog: "unknown procedure"},
		{name: "unknown service: 404", req: preflight("/other.v1.Svc/M", "Origin", appOrigin, "Access-Control-Request-Method", "POST"), wantStatus: 404, wantHeader: http.Header{}, wantLog: "unknown procedure"},
		{name: "double slash path: 404, no redirect", req: preflight("/"+update, "Origin", appOrigin, "Access-Control-Request-Method", "POST"), wantStatus: 404, wantHeader: http.Header{}, wantLog: "unknown procedure"},
		{
			name:       "OPTIONS without Access-Control-Request-Method is not a preflight",
			req:        preflight(update, "Origin", appOrigin),
			wantStatus: 200,
			wantHeader: actualOK(appOrigin),
		},
		{
			name:       "actual POST from allowed origin",
			req:        actual(http.MethodPost, update, "Origin", appOrigin),
			wantStatus: 200,
			wantHeader: actualOK(appOrigin),
		},
		{
			name:       "actual POST from bound wildcard origin",
			req:        actual(http.MethodPost, update, "Origin", "https://pr-7.example.dev"),
			wantStatus: 200,
			wantHeader: actualOK("https://pr-7.example.dev"),
		},
		{
			name:       "actual GET on unknown method of a known service still carries CORS",
			req:        actual(http.MethodGet, svcPath+"Nope", "Origin", appOrigin),
			wantStatus: 200,
			wantHeader: actualOK(appOrigin),
		},
		{
			name:       "actual POST from refused origin: only Vary",
			req:        actual(http.MethodPost, update, "Origin", evilOrigin),
			wantStatus: 200,
			wantHeader: http.Header{"Vary": {"Origin"}, "X-Inner": {"1"}},
			wantLog:    "origin not allowed",
		},
		{
			name:       "actual POST with two origins: only Vary",
			req:        actual(http.MethodPost, update, "Origin", appOrigin, "Origin", appOrigin),
			wantStatus: 200,
			wantHeader: http.Header{"Vary": {"Origin"}, "X-Inner": {"1"}},
			wantLog:    "more than one Origin header",
		},
		{
			name:       "no Origin, POST (a gRPC call): no CORS header at all",
			req:        actual(http.MethodPost, update, "Content-Type", "application/grpc"),
			wantStatus: 200,
			wantHeader: http.Header{"X-Inner": {"1"}},
		},
		{
			name:       "no Origin, Connect GET of a credentialed procedure: only Vary, for caches",
			req:        actual(http.MethodGet, getProfile),
			wantStatus: 200,
			wantHeader: http.Header{"Vary": {"Origin"}, "X-Inner": {"1"}},
		},
		{
			name:       "no Origin, Connect GET of a public procedure: only Vary, since an Origin would get *",
			req:        actual(http.MethodGet, publicRead),
			wantStatus: 200,
			wantHeader: http.Header{"Vary": {"Origin"}, "X-Inner": {"1"}},
		},
		{
			name:       "no Origin, POST to a public procedure: nothing",
			req:        actual(http.MethodPost, publicRead),
			wantStatus: 200,
			wantHeader: http.Header{"X-Inner": {"1"}},
		},
		{
			name:       "public actual request: star, no credentials",
			req:        actual(http.MethodGet, publicRead, "Origin", evilOrigin),
			wantStatus: 200,
			wantHeader: http.Header{"Access-Control-Allow-Origin": {"*"}, "Access-Control-Expose-Headers": {exposed}, "Vary": {"Origin"}, "X-Inner": {"1"}},
		},
		{
			name:       "public actual request with null origin: no star",
			req:        actual(http.MethodGet, publicRead, "Origin", "null"),
			wantStatus: 200,
			wantHeader: http.Header{"Vary": {"Origin"}, "X-Inner": {"1"}},
			wantLog:    `Origin \"null\" is never allowed`,
		},
		{
			name:       "public actual request with two origins: no star",
			req:        actual(http.MethodGet, publicRead, "Origin", appOrigin, "Origin", evilOrigin),
			wantStatus: 200,
			wantHeader: http.Header{"Vary": {"Origin"}, "X-Inner": {"1"}},
			wantLog:    "more than one Origin header",
		},
		{
			name:       "unknown service without Origin: 404 from the mux",
			req:        actual(http.MethodPost, "/other.v1.Svc/M"),
			wantStatus: 404,
			wantHeader: http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "X-Content-Type-Options": {"nosniff"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g, logs := newTestGateway(t)
			req := httptest.NewRequest(tc.req.method, tc.req.path, nil)
			req.Header = tc.req.header
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, req)
			if rec.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tc.wantStatus)
			}
			assertHeaders(t, rec.Header(), tc.wantHeader)
			assertLogged(t, logs, tc.wantLog)
		})
	}
}

func TestGatewayWithoutBindingsUsesProtoDefaults(t *testing.T) {
	t.Parallel()
	g, err := New([]*policy.Service{profilev1portico.ProfileServicePolicy}, WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	g.Handle(svcPath, http.NotFoundHandler())
	for origin, want := range map[string]int{appOrigin: 204, "https://admin.example.com": 204, "https://feature-123.example.dev": 403} {
		req := httptest.NewRequest(http.MethodOptions, update, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%s: status %d, want %d", origin, rec.Code, want)
		}
	}
}

func TestGatewayUnmountedPolicy(t *testing.T) {
	t.Parallel()
	// A policy without a handler must not approve preflights for a
	// procedure nothing serves.
	g, err := New([]*policy.Service{profilev1portico.ProfileServicePolicy}, WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodOptions, update, nil)
	req.Header.Set("Origin", appOrigin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("got %d %v, want 404 with nothing approved", rec.Code, rec.Header())
	}
}

func TestGatewayKeepsHandlerVary(t *testing.T) {
	t.Parallel()
	g, err := New([]*policy.Service{profilev1portico.ProfileServicePolicy}, WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	g.Handle(svcPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
	}))
	for range 2 { // the second request proves the shared value was not modified
		req := httptest.NewRequest(http.MethodGet, getProfile, nil)
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if got := rec.Header()["Vary"]; !slices.Equal(got, []string{"Origin", "Accept-Encoding"}) {
			t.Fatalf("Vary = %q", got)
		}
	}
}

func TestNewRejectsBadBindings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, set, origin, want string
	}{
		{"unknown set", "mobile", "https://m.example.com", `PORTICO_ORIGINS_X: origin set "mobile": no policy names this origin set (known: web)`},
		{"public suffix wildcard", "web", "https://*.run.app", `PORTICO_ORIGINS_X: invalid origin pattern "https://*.run.app": "run.app" is a public suffix`},
		{"star", "web", "*", `PORTICO_ORIGINS_X: invalid origin pattern "*"`},
		{"malformed", "web", "https://app.example.com/", "trailing slash"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New([]*policy.Service{profilev1portico.ProfileServicePolicy},
				WithOriginSet(tc.set, "PORTICO_ORIGINS_X", "https://ok.example.com", tc.origin))
			var be *BindingError
			if !errors.As(err, &be) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want a BindingError containing %q", err, tc.want)
			}
		})
	}
	// Every problem is reported at once.
	_, err := New([]*policy.Service{profilev1portico.ProfileServicePolicy},
		WithOriginSet("web", "A", "https://*.com"), WithOriginSet("nope", "B", "https://x.example.com"))
	if err == nil || !strings.Contains(err.Error(), "A: ") || !strings.Contains(err.Error(), "B: ") {
		t.Errorf("New = %v, want both errors", err)
	}
}

func TestNewRejectsInconsistentTables(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		svc  policy.Service
		want string
	}{
		{"method of another service", policy.Service{Name: "a.A", Default: policy.Method{Procedure: "/a.A/"}, Methods: []policy.Method{{Procedure: "/b.B/M", BrowserCallable: true, Public: true}}}, `procedure "/b.B/M" is not a method of the service`},
		{"empty procedure", policy.Service{Name: "a.A", Default: policy.Method{Procedure: "/a.A/"}, Methods: []policy.Method{{}}}, `procedure "" is not a method`},
		{"nested procedure", policy.Service{Name: "a.A", Default: policy.Method{Procedure: "/a.A/"}, Methods: []policy.Method{{Procedure: "/a.A/M/x"}}}, "is not a method"},
		{"default elsewhere", policy.Service{Name: "a.A", Default: policy.Method{Procedure: "/a.A/X"}}, `default policy is for "/a.A/X"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New([]*policy.Service{&tc.svc})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestHandleOverlapPanics(t *testing.T) {
	t.Parallel()
	for _, pattern := range []string{"POST " + svcPath, update, "example.com" + svcPath} {
		func() {
			g, _ := newTestGateway(t)
			defer func() {
				if recover() == nil {
					t.Errorf("Handle(%q) must panic: it would bypass the service's policy", pattern)
				}
			}()
			g.Handle(pattern, http.NotFoundHandler())
		}()
	}
}

// TestSharedValuesSurviveHandlers checks that handlers adding to, replacing
// or deleting the headers the gateway set leave the next response intact.
func TestSharedValuesSurviveHandlers(t *testing.T) {
	t.Parallel()
	g, err := New([]*policy.Service{profilev1portico.ProfileServicePolicy}, WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	g.Handle(svcPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Accept-Encoding")
		h.Add("Access-Control-Expose-Headers", "X-Extra")
		h.Set("Access-Control-Allow-Credentials", "false")
		h.Del("Access-Control-Allow-Origin")
	}))
	for range 3 {
		req := httptest.NewRequest(http.MethodPost, update, nil)
		req.Header.Set("Origin", appOrigin)
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		want := http.Header{
			"Vary":                             {"Origin", "Accept-Encoding"},
			"Access-Control-Expose-Headers":    {exposed, "X-Extra"},
			"Access-Control-Allow-Credentials": {"false"},
		}
		assertHeaders(t, rec.Header(), want)
	}
}

func TestRefusalLogsAreBounded(t *testing.T) {
	t.Parallel()
	g, logs := newTestGateway(t)
	req := httptest.NewRequest(http.MethodOptions, update, nil)
	for range 50 {
		req.Header.Add("Origin", "https://"+strings.Repeat("a", 10_000)+".example")
	}
	req.Header.Set("Access-Control-Request-Method", "POST")
	g.ServeHTTP(httptest.NewRecorder(), req)
	if n := logs.Len(); n > 4096 {
		t.Errorf("one refusal logged %d bytes", n)
	}
	if !strings.Contains(logs.String(), `"origin_count":50`) {
		t.Errorf("log does not count the origins: %s", logs.String())
	}
}

func TestHandleTwicePanics(t *testing.T) {
	t.Parallel()
	g, _ := newTestGateway(t)
	defer func() {
		if recover() == nil {
			t.Error("mounting a service twice must panic")
		}
	}()
	g.Handle(svcPath, http.NotFoundHandler())
}

// with returns a copy of h with key set to value.
func with(h http.Header, key, value string) http.Header {
	c := h.Clone()
	c.Set(key, value)
	return c
}

// assertHeaders compares whole header maps. Access-Control-* list headers are
// compared as sets of comma-separated items, since their order carries no
// meaning; everything else must match exactly.
func assertHeaders(tb testing.TB, got, want http.Header) {
	tb.Helper()
	for key := range mergeKeys(got, want) {
		g, w := got[key], want[key]
		if isListHeader(key) {
			g, w = items(g), items(w)
		}
		if !slices.Equal(g, w) {
			tb.Errorf("header %s = %q, want %q", key, got[key], want[key])
		}
	}
}

func mergeKeys(a, b http.Header) map[string]bool {
	keys := make(map[string]bool)
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

func isListHeader(key string) bool {
	switch key {
	case "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Expose-Headers", "Vary":
		return true
	}
	return false
}

func items(values []string) []string {
	var out []string
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, strings.ToLower(item))
			}
		}
	}
	slices.Sort(out)
	return out
}

func assertLogged(tb testing.TB, logs *bytes.Buffer, reason string) {
	tb.Helper()
	out := logs.String()
	if reason == "" {
		if out != "" {
			tb.Errorf("unexpected log output: %s", out)
		}
		return
	}
	if n := strings.Count(out, "\n"); n != 1 {
		tb.Errorf("want exactly one log line, got %d: %s", n, out)
	}
	if !strings.Contains(out, `"reason":"`+reason) {
		tb.Errorf("log %s does not give reason %q", out, reason)
	}
}

// TestRememberedHeaderListsDecideAlike checks that remembering accepted
// Access-Control-Request-Headers lines never changes a decision.
func TestRememberedHeaderListsDecideAlike(t *testing.T) {
	t.Parallel()
	g, _ := newTestGateway(t)
	send := func(acrh string) int {
		req := httptest.NewRequest(http.MethodOptions, update, nil)
		req.Header.Set("Origin", appOrigin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", acrh)
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		return rec.Code
	}
	for range 3 {
		if code := send(seedACRH); code != http.StatusNoContent {
			t.Fatalf("seed preflight: %d", code)
		}
		if code := send(seedACRH + ",x-evil"); code != http.StatusForbidden {
			t.Fatalf("preflight with x-evil: %d, want 403", code)
		}
		if code := send("X-EVIL"); code != http.StatusForbidden {
			t.Fatalf("preflight with X-EVIL: %d, want 403", code)
		}
	}
}
