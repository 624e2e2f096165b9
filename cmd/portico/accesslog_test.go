package main

import (
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
)

// TestAccessLog sends one request of each kind and parses the server's
// stdout: exactly one Cloud Logging access line per request, with the
// httpRequest fields, the trace, the Connect procedure and code, the CORS
// decision of browser requests, and never a credential.
func TestAccessLog(t *testing.T) {
	t.Parallel()
	const (
		project     = "proj-123"
		w3cTrace    = "4bf92f3577b34da6a3ce929d0e0e4736"
		cloudTrace  = "105445aa7843bc8bf206b12000100000"
		cookieValue = "session=cookie-secret-value"
		userAgent   = "portico-test/1"
	)
	s := startServer(t, "GOOGLE_CLOUD_PROJECT="+project)
	bearer := s.bearer(t, "heidi")
	transports := newTransports(t)
	http1, h2c := transports[0], transports[1]

	httpReq := func(method, url string, status int, proto string) map[string]any {
		return map[string]any{
			"requestMethod": method, "requestUrl": url, "status": float64(status),
			"remoteIp": "127.0.0.1", "userAgent": userAgent, "protocol": proto,
		}
	}
	var wantLines []logEntry

	// A browser preflight, approved: the gateway answers it, so there is no
	// Connect code.
	res, _ := http1.do(t, newRequest(t, http.MethodOptions, s.url(procUpdateProfile), "",
		"Origin", appOrigin, "Access-Control-Request-Method", "POST", "User-Agent", userAgent))
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("preflight: status %d", res.StatusCode)
	}
	wantLines = append(wantLines, logEntry{
		"severity": "INFO", "message": "request",
		"httpRequest": httpReq("OPTIONS", procUpdateProfile, 204, "HTTP/1.1"),
		"cors":        map[string]any{"preflight": true, "allowed": true, "reason": "allowed"},
	})

	// A refused preflight.
	http1.do(t, newRequest(t, http.MethodOptions, s.url(procUpdateProfile), "",
		"Origin", evilOrigin, "Access-Control-Request-Method", "POST", "User-Agent", userAgent))
	wantLines = append(wantLines, logEntry{
		"severity": "INFO", "message": "request",
		"httpRequest": httpReq("OPTIONS", procUpdateProfile, 403, "HTTP/1.1"),
		"cors":        map[string]any{"preflight": true, "allowed": false, "reason": "origin not allowed"},
	})

	// A browser's Connect call with credentials and a W3C trace context.
	res, body := http1.do(t, newRequest(t, http.MethodPost, s.url(procGetProfile), "{}",
		"Origin", appOrigin, "Content-Type", "application/json", "User-Agent", userAgent,
		"Authorization", bearer, "Cookie", cookieValue,
		"Traceparent", "00-"+w3cTrace+"-00f067aa0ba902b7-01"))
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("GetProfile: status %d: %s", res.StatusCode, body)
	}
	wantLines = append(wantLines, logEntry{
		"severity": "INFO", "message": "request",
		"httpRequest":                          httpReq("POST", procGetProfile, 404, "HTTP/1.1"),
		"logging.googleapis.com/trace":         "projects/" + project + "/traces/" + w3cTrace,
		"logging.googleapis.com/spanId":        "00f067aa0ba902b7",
		"logging.googleapis.com/trace_sampled": true,
		"procedure":                            procGetProfile, "code": "not_found",
		"cors": map[string]any{"preflight": false, "allowed": true, "reason": "allowed"},
	})

	// A server-side gRPC call over h2c, traced by Cloud Run's header.
	client := profilev1connect.NewProfileServiceClient(h2c.client, s.base, connect.WithGRPC())
	req := connect.NewRequest(&profilev1.UpdateProfileRequest{DisplayName: "Heidi", Email: "heidi@example.com"})
	req.Header().Set("Authorization", bearer)
	req.Header().Set("User-Agent", userAgent)
	req.Header().Set("X-Cloud-Trace-Context", cloudTrace+"/1;o=0")
	if _, err := client.UpdateProfile(t.Context(), req); err != nil {
		t.Fatalf("UpdateProfile() error = %v", err)
	}
	wantLines = append(wantLines, logEntry{
		"severity": "INFO", "message": "request",
		"httpRequest":                          httpReq("POST", procUpdateProfile, 200, "HTTP/2.0"),
		"logging.googleapis.com/trace":         "projects/" + project + "/traces/" + cloudTrace,
		"logging.googleapis.com/spanId":        "1",
		"logging.googleapis.com/trace_sampled": false,
		"procedure":                            procUpdateProfile, "code": "ok",
	})

	// A gRPC-Web call that fails, and a path outside every service.
	web := profilev1connect.NewProfileServiceClient(http1.client, s.base, connect.WithGRPCWeb())
	webReq := connect.NewRequest(&profilev1.GetProfileRequest{})
	webReq.Header().Set("User-Agent", userAgent)
	if _, err := web.GetProfile(t.Context(), webReq); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("anonymous GetProfile() error = %v", err)
	}
	wantLines = append(wantLines, logEntry{
		"severity": "INFO", "message": "request",
		"httpRequest": httpReq("POST", procGetProfile, 200, "HTTP/1.1"),
		"procedure":   procGetProfile, "code": "unauthenticated",
	})
	http1.do(t, newRequest(t, http.MethodGet, s.url("/nope?x=1"), "", "User-Agent", userAgent))
	wantLines = append(wantLines, logEntry{
		"severity": "INFO", "message": "request",
		"httpRequest": httpReq("GET", "/nope?x=1", 404, "HTTP/1.1"),
	})

	for _, tr := range transports {
		tr.client.CloseIdleConnections()
	}
	s.stop(t, syscall.SIGTERM)
	var got []logEntry
	latency := regexp.MustCompile(`^[0-9]+(\.[0-9]+)?s$`)
	for _, e := range s.entries(t) {
		if e.str("message") != "request" {
			continue
		}
		hr, _ := e["httpRequest"].(map[string]any)
		if l, _ := hr["latency"].(string); !latency.MatchString(l) {
			t.Errorf("latency = %q, want Cloud Logging's duration form like \"0.012s\"", hr["latency"])
		}
		if _, ok := hr["responseSize"].(string); !ok {
			t.Errorf("responseSize = %#v, want a decimal string (int64 in LogEntry JSON)", hr["responseSize"])
		}
		got = append(got, e)
	}
	ignore := cmp.FilterPath(func(p cmp.Path) bool {
		mi, ok := p.Last().(cmp.MapIndex)
		return ok && strings.Contains(" time latency responseSize requestSize ", " "+mi.Key().String()+" ")
	}, cmp.Ignore())
	if diff := cmp.Diff(wantLines, got, ignore); diff != "" {
		t.Errorf("access lines mismatch (-want +got):\n%s", diff)
	}
	out := s.stdout.String()
	for _, secret := range []string{"cookie-secret-value", strings.TrimPrefix(bearer, "Bearer ")} {
		if strings.Contains(out, secret) {
			t.Errorf("a credential (%q) was logged:\n%s", secret, out)
		}
	}
}
