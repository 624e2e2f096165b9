package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/portico-dev/portico/gen/portico/status/v1/statusv1connect"
)

// TestStatusService checks, through the binary, the service added with
// proto options alone: the public GetStatus answers any origin with "*",
// never credentials; the credentialed GetSettings echoes an allowed origin
// with credentials, refuses other origins' preflights, and requires a
// caller.
func TestStatusService(t *testing.T) {
	t.Parallel()
	s := startServer(t, "PORTICO_ORIGINS_WEB="+previewOrigins)
	const (
		getStatus    = statusv1connect.StatusServiceGetStatusProcedure
		getSettings  = statusv1connect.StatusServiceGetSettingsProcedure
		allowHeaders = "Authorization, Connect-Protocol-Version, Connect-Timeout-Ms, Content-Type, Grpc-Timeout, X-Grpc-Web, X-User-Agent"
		message      = "?connect=v1&encoding=json&message=%7B%7D"
	)
	preflights := []struct {
		name, procedure, origin string
		wantStatus              int
		want                    http.Header
	}{
		{"public", getStatus, evilOrigin, http.StatusNoContent, http.Header{
			"Access-Control-Allow-Origin":  {"*"},
			"Access-Control-Allow-Methods": {"GET, POST"},
			"Access-Control-Allow-Headers": {allowHeaders},
			"Access-Control-Max-Age":       {"600"},
		}},
		{"credentialed, declared origin", getSettings, adminOrigin, http.StatusNoContent, http.Header{
			"Access-Control-Allow-Origin":      {adminOrigin},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Allow-Methods":     {"GET, POST"},
			"Access-Control-Allow-Headers":     {allowHeaders},
			"Access-Control-Max-Age":           {"600"},
		}},
		{"credentialed, origin bound to web", getSettings, localOrigin, http.StatusNoContent, http.Header{
			"Access-Control-Allow-Origin":      {localOrigin},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Allow-Methods":     {"GET, POST"},
			"Access-Control-Allow-Headers":     {allowHeaders},
			"Access-Control-Max-Age":           {"600"},
		}},
		{"credentialed, other origin", getSettings, evilOrigin, http.StatusForbidden, http.Header{}},
	}
	for _, tr := range newTransports(t) {
		for _, tc := range preflights {
			req := newRequest(t, http.MethodOptions, s.url(tc.procedure), "",
				"Origin", tc.origin, "Access-Control-Request-Method", http.MethodGet,
				"Access-Control-Request-Headers", "authorization,connect-timeout-ms")
			res, _ := tr.do(t, req)
			if res.StatusCode != tc.wantStatus {
				t.Errorf("%s: preflight %s: status %d, want %d", tr.name, tc.name, res.StatusCode, tc.wantStatus)
			}
			if diff := cmp.Diff(normalize(tc.want), corsFields(res.Header)); diff != "" {
				t.Errorf("%s: preflight %s: CORS fields (-want +got):\n%s", tr.name, tc.name, diff)
			}
		}

		res, body := tr.do(t, newRequest(t, http.MethodGet, s.url(getStatus)+message, "", "Origin", anyOrigin))
		checkResponse(t, tr.name+": GetStatus", res, body, http.StatusOK, http.Header{
			"Access-Control-Allow-Origin":   {"*"},
			"Access-Control-Expose-Headers": {"Grpc-Status, Grpc-Message, Grpc-Status-Details-Bin"},
		})
		credentialed := http.Header{
			"Access-Control-Allow-Origin":      {appOrigin},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Expose-Headers":    {"Grpc-Status, Grpc-Message, Grpc-Status-Details-Bin"},
		}
		res, body = tr.do(t, newRequest(t, http.MethodGet, s.url(getSettings)+message, "", "Origin", appOrigin))
		checkResponse(t, tr.name+": anonymous GetSettings", res, body, http.StatusUnauthorized, credentialed)
		checkConnectError(t, tr.name+": anonymous GetSettings", body, "unauthenticated", "")

		res, body = tr.do(t, newRequest(t, http.MethodGet, s.url(getSettings)+message, "",
			"Origin", appOrigin, "Authorization", s.bearer(t, "erin")))
		checkResponse(t, tr.name+": GetSettings", res, body, http.StatusOK, credentialed)
		var got struct {
			Settings map[string]any `json:"settings"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("GetSettings: body %q: %v", body, err)
		}
		// The environment's defaults: 4 MiB and 30s (int64 is a JSON string).
		want := map[string]any{"subject": "erin", "credential": "CREDENTIAL_BEARER", "maxRequestBytes": "4194304", "maxTimeout": "30s"}
		if diff := cmp.Diff(want, got.Settings); diff != "" {
			t.Errorf("%s: GetSettings (-want +got):\n%s", tr.name, diff)
		}
	}
}
