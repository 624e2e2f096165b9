package csrf_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/csrf"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/policy"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1portico"
)

// BenchmarkGuard measures the guard alone, in front of a handler that does
// nothing, for the requests it sees most and an adversarial one.
func BenchmarkGuard(b *testing.B) {
	gw, err := gateway.New([]*policy.Service{profilev1portico.ProfileServicePolicy}, gateway.WithLogger(nil))
	if err != nil {
		b.Fatal(err)
	}
	h := csrf.New(gw.OriginAllowed, profileService, csrf.WithLogger(nil)).Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, bc := range []struct {
		name   string
		header http.Header
	}{
		{"server-to-server", http.Header{"Content-Type": {"application/grpc"}}},
		{"allowed-cross-site", http.Header{"Origin": {appOrigin}, "Sec-Fetch-Site": {"cross-site"}}},
		{"same-origin", http.Header{"Origin": {"https://api.example.com"}, "Sec-Fetch-Site": {"same-origin"}}},
		{"adversarial-origin", http.Header{"Origin": {"https://" + strings.Repeat("a", 4096) + ".example.com"}, "Sec-Fetch-Site": {"cross-site"}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodPost, procUpdate, nil)
			req.Header = bc.header
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}
