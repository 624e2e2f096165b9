package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/policy"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1portico"
)

func serve(g *Gateway, method, path string, kv ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i < len(kv); i += 2 {
		r.Header.Add(kv[i], kv[i+1])
	}
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	return w
}

func TestReportOnlyPreflight(t *testing.T) {
	t.Parallel()
	g, logs := newTestGateway(t, WithReportOnly("portico.profile.v1.ProfileService", true, "PORTICO_CORS_REPORT_ONLY"))
	tests := []struct {
		name       string
		kv         []string
		wantStatus int
		want       http.Header // the Access-Control-Allow-* headers expected
		wantLog    string
	}{
		{
			name:       "unlisted origin answered as allowed",
			kv:         []string{"Origin", evilOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", seedACRH},
			wantStatus: http.StatusNoContent,
			want: http.Header{
				"Access-Control-Allow-Origin": {evilOrigin}, "Access-Control-Allow-Credentials": {"true"},
				"Access-Control-Allow-Methods": {"POST"}, "Access-Control-Allow-Headers": {updateACAH + ", " + seedACRH},
				"Access-Control-Max-Age": {"3600"},
			},
			wantLog: `"msg":"cors: would refuse preflight (report-only)","procedure":"/portico.profile.v1.ProfileService/UpdateProfile","origin":["https://evil.example.net"],"reason":"origin not allowed"`,
		},
		{
			name:       "unlisted header echoed",
			kv:         []string{"Origin", appOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,x-trace-id"},
			wantStatus: http.StatusNoContent,
			want: http.Header{
				"Access-Control-Allow-Origin": {appOrigin}, "Access-Control-Allow-Credentials": {"true"},
				"Access-Control-Allow-Methods": {"POST"}, "Access-Control-Allow-Headers": {updateACAH + ", content-type,x-trace-id"},
				"Access-Control-Max-Age": {"3600"},
			},
			wantLog: `"reason":"request header not allowed","detail":"x-trace-id"`,
		},
		{
			name:       "unlisted method echoed",
			kv:         []string{"Origin", appOrigin, "Access-Control-Request-Method", "PUT"},
			wantStatus: http.StatusNoContent,
			want: http.Header{
				"Access-Control-Allow-Origin": {appOrigin}, "Access-Control-Allow-Credentials": {"true"},
				"Access-Control-Allow-Methods": {"POST, PUT"}, "Access-Control-Allow-Headers": {updateACAH},
				"Access-Control-Max-Age": {"3600"},
			},
			wantLog: `"reason":"method not allowed","detail":"PUT"`,
		},
		{
			name:       "null origin still refused",
			kv:         []string{"Origin", "null", "Access-Control-Request-Method", "POST"},
			wantStatus: http.StatusForbidden,
			want:       http.Header{},
			wantLog:    `"msg":"cors: preflight refused","procedure":"/portico.profile.v1.ProfileService/UpdateProfile","origin":["null"]`,
		},
		{
			name:       "two origins still refused",
			kv:         []string{"Origin", appOrigin, "Origin", evilOrigin, "Access-Control-Request-Method", "POST"},
			wantStatus: http.StatusForbidden,
			want:       http.Header{},
			wantLog:    `"reason":"more than one Origin header"`,
		},
		{
			name:       "unlisted origin with an over-long header list still refused",
			kv:         []string{"Origin", evilOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", strings.Repeat("x-a,", 2000)},
			wantStatus: http.StatusForbidden,
			want:       http.Header{},
			wantLog:    `"reason":"origin not allowed"`,
		},
		{
			name:       "unlisted origin with too many empty items still refused",
			kv:         []string{"Origin", evilOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "a" + strings.Repeat(",", 40) + "b"},
			wantStatus: http.StatusForbidden,
			want:       http.Header{},
		},
		{
			name:       "unlisted origin with a method that is not a token still refused",
			kv:         []string{"Origin", evilOrigin, "Access-Control-Request-Method", `<script>alert(1)</script> "x"`},
			wantStatus: http.StatusForbidden,
			want:       http.Header{},
		},
		{
			name:       "unlisted origin with two request methods still refused",
			kv:         []string{"Origin", evilOrigin, "Access-Control-Request-Method", "PUT", "Access-Control-Request-Method", "DELETE"},
			wantStatus: http.StatusForbidden,
			want:       http.Header{},
		},
		{
			name:       "header list with bytes that are not names still refused",
			kv:         []string{"Origin", appOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,<x>"},
			wantStatus: http.StatusForbidden,
			want:       http.Header{},
		},
		{
			name:       "an Origin that is not a serialized origin still refused",
			kv:         []string{"Origin", "javascript:alert(1)//", "Access-Control-Request-Method", "POST"},
			wantStatus: http.StatusForbidden,
			want:       http.Header{},
		},
		{
			name:       "a wildcard pattern as Origin still refused",
			kv:         []string{"Origin", "https://*.example.net", "Access-Control-Request-Method", "POST"},
			wantStatus: http.StatusForbidden,
			want:       http.Header{},
		},
		{
			name:       "over-long header list still refused",
			kv:         []string{"Origin", appOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", strings.Repeat("x-a,", 2000)},
			wantStatus: http.StatusForbidden,
			want:       http.Header{},
			wantLog:    `"reason":"Access-Control-Request-Headers too long"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			w := serve(g, http.MethodOptions, update, tt.kv...)
			if w.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tt.wantStatus)
			}
			got := http.Header{}
			for k, v := range w.Header() {
				if strings.HasPrefix(k, "Access-Control-") {
					got[k] = v
				}
			}
			if !headersEqual(got, tt.want) {
				t.Errorf("headers\n got %v\nwant %v", got, tt.want)
			}
			if tt.wantLog != "" && !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("log %s\nwant it to contain %s", logs, tt.wantLog)
			}
		})
	}
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\n") != strings.Join(b[k], "\n") {
			return false
		}
	}
	return true
}

func TestReportOnlyActualRequest(t *testing.T) {
	t.Parallel()
	g, logs := newTestGateway(t, WithReportOnly("/portico.profile.v1.ProfileService/UpdateProfile", true, "portico.yaml:9"))
	w := serve(g, http.MethodPost, update, "Origin", evilOrigin)
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != evilOrigin {
		t.Errorf("Allow-Origin %q, want the echoed origin", got)
	}
	if got := w.Header().Get("Access-Control-Allow-Credentials"); got != "true" {
		t.Errorf("Allow-Credentials %q, want true", got)
	}
	if !strings.Contains(logs.String(), `"msg":"cors: would refuse actual request (report-only)"`) {
		t.Errorf("no would-refuse line in %s", logs)
	}
	// Only UpdateProfile is in report-only mode.
	if w := serve(g, http.MethodPost, getProfile, "Origin", evilOrigin); w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("GetProfile granted %q: report-only leaked to another procedure", w.Header().Get("Access-Control-Allow-Origin"))
	}
	if w := serve(g, http.MethodPost, update, "Origin", "javascript:alert(1)//"); w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("report-only granted a non-origin: %v", w.Header())
	}
	if !g.OriginAllowed(update, []string{evilOrigin}) || g.OriginAllowed(getProfile, []string{evilOrigin}) || g.OriginAllowed(update, []string{"null"}) {
		t.Error("OriginAllowed does not follow the report-only answers")
	}
}

func TestReportOnlyOverridePrecedence(t *testing.T) {
	t.Parallel()
	// The service turned on, one procedure turned back off: the procedure
	// wins, whatever the order of the options.
	g, _ := newTestGateway(t,
		WithReportOnly("/portico.profile.v1.ProfileService/GetProfile", false, "PORTICO_CORS_REPORT_ONLY"),
		WithReportOnly("portico.profile.v1.ProfileService", true, "PORTICO_CORS_REPORT_ONLY"))
	if w := serve(g, http.MethodOptions, update, "Origin", evilOrigin, "Access-Control-Request-Method", "POST"); w.Code != http.StatusNoContent {
		t.Errorf("UpdateProfile preflight %d, want 204 under the service's report-only mode", w.Code)
	}
	if w := serve(g, http.MethodOptions, getProfile, "Origin", evilOrigin, "Access-Control-Request-Method", "POST"); w.Code != http.StatusForbidden {
		t.Errorf("GetProfile preflight %d, want 403: its own override turns report-only off", w.Code)
	}
	// The proto option is the default an override replaces.
	sp := *profilev1portico.ProfileServicePolicy
	sp.Methods = append([]policy.Method(nil), sp.Methods...)
	for i := range sp.Methods {
		sp.Methods[i].ReportOnly = true
	}
	g2, err := New([]*policy.Service{&sp}, WithLogger(nil), WithReportOnly("/portico.profile.v1.ProfileService/UpdateProfile", false, "env"))
	if err != nil {
		t.Fatal(err)
	}
	g2.Handle(svcPath, http.NotFoundHandler())
	if w := serve(g2, http.MethodOptions, getProfile, "Origin", evilOrigin, "Access-Control-Request-Method", "POST"); w.Code != http.StatusNoContent {
		t.Errorf("GetProfile with report_only in the proto: %d, want 204", w.Code)
	}
	if w := serve(g2, http.MethodOptions, update, "Origin", evilOrigin, "Access-Control-Request-Method", "POST"); w.Code != http.StatusForbidden {
		t.Errorf("UpdateProfile overridden off: %d, want 403", w.Code)
	}
}

func TestReportOnlyUnknownTarget(t *testing.T) {
	t.Parallel()
	for _, target := range []string{"portico.profile.v1.Nope", "/portico.profile.v1.ProfileService/Nope", "ProfileService", ""} {
		_, err := New([]*policy.Service{profilev1portico.ProfileServicePolicy}, WithLogger(nil), WithReportOnly(target, true, "portico.yaml:4"))
		if err == nil || !strings.Contains(err.Error(), "portico.yaml:4: report-only target "+`"`+target+`"`) {
			t.Errorf("target %q: error %v, want one naming the source and target", target, err)
		}
	}
}
