package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"github.com/portico-dev/portico/auth"
	statusv1 "github.com/portico-dev/portico/gen/portico/status/v1"
	"github.com/portico-dev/portico/gen/portico/status/v1/statusv1connect"
	"github.com/portico-dev/portico/internal/app"
)

const (
	procGetStatus   = statusv1connect.StatusServiceGetStatusProcedure
	procGetSettings = statusv1connect.StatusServiceGetSettingsProcedure
	anyOrigin       = "https://anyone.example.org"
)

// TestStatusPreflights checks the preflights of the status service, whose
// policy is declared only in proto/portico/status/v1/status.proto: the
// public GetStatus answers any origin with "*" and no credentials; the
// credentialed GetSettings echoes an allowed origin with credentials and
// refuses others.
func TestStatusPreflights(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	const (
		allowHeaders = "Authorization, Connect-Protocol-Version, Connect-Timeout-Ms, Content-Type, Grpc-Timeout, X-Grpc-Web, X-User-Agent"
		vary         = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
	)
	public := http.Header{
		"Access-Control-Allow-Origin":  {"*"},
		"Access-Control-Allow-Methods": {"GET, POST"},
		"Access-Control-Allow-Headers": {allowHeaders},
		"Access-Control-Max-Age":       {"600"},
		"Vary":                         {vary},
	}
	credentialed := func(origin string) http.Header {
		return http.Header{
			"Access-Control-Allow-Origin":      {origin},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Allow-Methods":     {"GET, POST"},
			"Access-Control-Allow-Headers":     {allowHeaders},
			"Access-Control-Max-Age":           {"600"},
			"Vary":                             {vary},
		}
	}
	refused := http.Header{}
	tests := []struct {
		name, procedure, origin, method, headers string
		wantStatus                               int
		want                                     http.Header
	}{
		{"public GET, any origin", procGetStatus, anyOrigin, http.MethodGet, "connect-timeout-ms", 204, public},
		{"public POST, an origin no policy names", procGetStatus, evilOrigin, http.MethodPost, "connect-protocol-version,content-type", 204, public},
		{"public: unknown header", procGetStatus, anyOrigin, http.MethodPost, "content-type,x-unknown", 403, refused},
		{"public: null origin", procGetStatus, "null", http.MethodGet, "connect-timeout-ms", 403, refused},
		{"credentialed GET, app origin", procGetSettings, appOrigin, http.MethodGet, "authorization", 204, credentialed(appOrigin)},
		{"credentialed POST, admin origin", procGetSettings, "https://admin.example.com", http.MethodPost, "authorization,connect-protocol-version,content-type", 204, credentialed("https://admin.example.com")},
		{"credentialed: other origin", procGetSettings, evilOrigin, http.MethodGet, "authorization", 403, refused},
		{"credentialed: unknown header", procGetSettings, appOrigin, http.MethodGet, "authorization,x-unknown", 403, refused},
		{"credentialed: PUT", procGetSettings, appOrigin, http.MethodPut, "", 403, refused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodOptions, srv.URL+tc.procedure, http.NoBody)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Origin", tc.origin)
			req.Header.Set("Access-Control-Request-Method", tc.method)
			if tc.headers != "" {
				req.Header.Set("Access-Control-Request-Headers", tc.headers)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d", res.StatusCode, tc.wantStatus)
			}
			got := http.Header{}
			for k, v := range res.Header {
				if strings.HasPrefix(k, "Access-Control-") || k == "Vary" {
					got[k] = v
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("CORS fields (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStatusService calls both methods with every protocol: GetStatus
// without credentials, GetSettings with a bearer token, and without one.
func TestStatusService(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(c *app.Config) { c.ReadMaxBytes = 1 << 20; c.MaxTimeout = 5 * time.Second })
	for _, p := range clientProtocols {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			client := statusv1connect.NewStatusServiceClient(srv.Client(), srv.URL, p.opts...)
			st, err := client.GetStatus(t.Context(), connect.NewRequest(&statusv1.GetStatusRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			if st.Msg.GetVersion() == "" || time.Since(st.Msg.GetStartTime().AsTime()) > time.Minute {
				t.Errorf("GetStatus = %v", st.Msg)
			}

			_, err = client.GetSettings(t.Context(), connect.NewRequest(&statusv1.GetSettingsRequest{}))
			assertCode(t, err, connect.CodeUnauthenticated)

			req := connect.NewRequest(&statusv1.GetSettingsRequest{})
			req.Header().Set("Authorization", srv.token(t, "alice"))
			got, err := client.GetSettings(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			s := got.Msg.GetSettings()
			if s.GetSubject() != "alice" || s.GetCredential() != statusv1.Credential_CREDENTIAL_BEARER ||
				s.GetMaxRequestBytes() != 1<<20 || s.GetMaxTimeout().AsDuration() != 5*time.Second {
				t.Errorf("GetSettings = %v", s)
			}
		})
	}
}

// TestStatusSimpleGET makes the calls the manifests promise need no
// preflight (connect_get_without_preflight): Connect GETs with no header but
// Origin, and for GetSettings the session cookie, as a browser sends them.
// Each response must be readable by the calling page.
func TestStatusSimpleGET(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	browser := []string{"Origin", appOrigin, "Sec-Fetch-Site", "same-site"}
	res, body := call(t, srv.Client(), srv.URL+sessionBase+"CreateSession", `{}`,
		append(browser, "Authorization", srv.token(t, "carol"))...)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("CreateSession: %d %s", res.StatusCode, body)
	}
	cookie, err := http.ParseSetCookie(res.Header.Get("Set-Cookie"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(procedure string, header ...string) (*http.Response, map[string]any) {
		t.Helper()
		target := srv.URL + procedure + "?connect=v1&encoding=json&message=" + url.QueryEscape("{}")
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, target, http.NoBody)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Add(header[i], header[i+1])
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var msg map[string]any
		if err := json.Unmarshal(raw, &msg); err != nil {
			t.Fatalf("%s: body %q: %v", procedure, raw, err)
		}
		return res, msg
	}

	res, msg := get(procGetStatus, "Origin", anyOrigin, "Sec-Fetch-Site", "cross-site")
	if res.StatusCode != http.StatusOK || msg["version"] == nil {
		t.Errorf("GetStatus: %d %v", res.StatusCode, msg)
	}
	if res.Header.Get("Access-Control-Allow-Origin") != "*" || res.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("GetStatus: CORS fields %v, want * without credentials", res.Header)
	}

	res, msg = get(procGetSettings, append(browser, "Cookie", auth.SessionCookie+"="+cookie.Value)...)
	settings, _ := msg["settings"].(map[string]any)
	if res.StatusCode != http.StatusOK || settings["subject"] != "carol" || settings["credential"] != "CREDENTIAL_SESSION" {
		t.Errorf("GetSettings with the cookie: %d %v", res.StatusCode, msg)
	}
	if res.Header.Get("Access-Control-Allow-Origin") != appOrigin || res.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("GetSettings: CORS fields %v, want the app origin with credentials", res.Header)
	}

	// Without the cookie the refusal is readable too; from another origin
	// it is not.
	res, msg = get(procGetSettings, browser...)
	if res.StatusCode != http.StatusUnauthorized || msg["code"] != "unauthenticated" || res.Header.Get("Access-Control-Allow-Origin") != appOrigin {
		t.Errorf("GetSettings without credentials: %d %v %v", res.StatusCode, msg, res.Header)
	}
	res, _ = get(procGetSettings, "Origin", evilOrigin, "Sec-Fetch-Site", "cross-site", "Cookie", auth.SessionCookie+"="+cookie.Value)
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("GetSettings from %s: Access-Control-Allow-Origin = %q, want none", evilOrigin, got)
	}
}
