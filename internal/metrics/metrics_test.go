package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/policy"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1portico"
	"github.com/portico-dev/portico/internal/metrics"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	gw, err := gateway.New([]*policy.Service{profilev1portico.ProfileServicePolicy}, gateway.WithLogger(nil), gateway.WithDecisionCounts())
	if err != nil {
		t.Fatal(err)
	}
	gw.Handle("/portico.profile.v1.ProfileService/", http.NotFoundHandler())
	for _, origin := range []string{"https://app.example.com", "https://evil.example.net", "https://evil.example.net"} {
		r := httptest.NewRequest(http.MethodOptions, "/portico.profile.v1.ProfileService/GetProfile", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "POST")
		gw.ServeHTTP(httptest.NewRecorder(), r)
	}
	gw.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/portico.profile.v1.ProfileService/GetProfile", nil))

	rec := httptest.NewRecorder()
	metrics.Handler(metrics.NewRegistry(gw)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		"# TYPE portico_cors_decisions_total counter",
		`portico_cors_decisions_total{decision="allowed",procedure="/portico.profile.v1.ProfileService/GetProfile",reason="allowed",request="preflight"} 1`,
		`portico_cors_decisions_total{decision="refused",procedure="/portico.profile.v1.ProfileService/GetProfile",reason="origin_not_allowed",request="preflight"} 2`,
		`portico_cors_decisions_total{decision="not_cors",procedure="/portico.profile.v1.ProfileService/GetProfile",reason="not_cors",request="none"} 1`,
		"go_goroutines ", "go_memstats_heap_alloc_bytes ", "process_resident_memory_bytes ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
