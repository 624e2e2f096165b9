package gateway

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	connectcors "connectrpc.com/cors"
	"github.com/portico-dev/portico/gateway/policy"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1portico"
	"github.com/rs/cors"
)

// The benchmarks run each case through Portico's gateway and through
// rs/cors configured for the same policy, side by side in one invocation, so
// that `benchstat -col /impl` reports the ratio:
//
//	go test -run '^$' -bench BenchmarkCORS -benchmem ./gateway/

// discardWriter is a ResponseWriter that keeps headers in a reused map, so
// that benchmarks measure the CORS layer rather than the recorder. The map
// starts as net/http's does, make(Header) with no size hint: a map of up to
// eight headers stays in one small group, which a hint of more than eight
// would replace with a table that neither net/http nor a CORS answer needs.
type discardWriter struct {
	header http.Header
	code   int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// trivial is the inner handler of the trivial cases: it writes nothing.
var trivial = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

// newPortico mounts the reference policy, with the wildcard bound as a
// deployment would, over inner.
func newPortico(tb testing.TB, services []*policy.Service, inner http.Handler) http.Handler {
	tb.Helper()
	g, err := New(services, WithLogger(nil), WithOriginSet("web", "bench", "https://*.example.dev"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range services {
		g.Handle("/"+s.Name+"/", inner)
	}
	return g
}

// newRSCors configures rs/cors for the same policy: the same origins and
// wildcard, credentials, connectrpc.com/cors lists plus the declared headers,
// the same exposed headers and max age.
func newRSCors(inner http.Handler) http.Handler {
	return cors.New(cors.Options{
		AllowedOrigins:   []string{"https://app.example.com", "https://admin.example.com", "https://*.example.dev"},
		AllowCredentials: true,
		AllowedMethods:   connectcors.AllowedMethods(),
		AllowedHeaders:   append(connectcors.AllowedHeaders(), "Authorization", "X-Client-Version", "If-Match"),
		ExposedHeaders:   append(connectcors.ExposedHeaders(), "ETag", "Location", "Retry-After"),
		MaxAge:           3600,
	}).Handler(inner)
}

// syntheticServices returns the reference service plus filler services, so
// that n procedures are registered in all.
func syntheticServices(n int) []*policy.Service {
	ref := profilev1portico.ProfileServicePolicy
	services := []*policy.Service{ref}
	n -= len(ref.Methods)
	for i := 0; n > 0; i++ {
		svc := &policy.Service{Name: fmt.Sprintf("bench.v1.Filler%dService", i), Default: ref.Default}
		svc.Default.Procedure = "/" + svc.Name + "/"
		for j := 0; j < 100 && n > 0; j, n = j+1, n-1 {
			m := ref.Methods[1]
			m.Procedure = fmt.Sprintf("/%s/Method%d", svc.Name, j)
			svc.Methods = append(svc.Methods, m)
		}
		services = append(services, svc)
	}
	return services
}

type benchCase struct {
	name     string
	req      func() *http.Request
	wantCode int
}

func preflightRequest(origin, acrh string) func() *http.Request {
	return func() *http.Request {
		r := httptest.NewRequest(http.MethodOptions, update, nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "POST")
		if acrh != "" {
			r.Header.Set("Access-Control-Request-Headers", acrh)
		}
		return r
	}
}

// adversarialACRH is an 8 KiB, 500-item Access-Control-Request-Headers, the
// shape of rs/cors's 2024 denial of service.
var adversarialACRH = strings.TrimSuffix(strings.Repeat("x-aaaaaaaaaaaaa,", 512), ",")

var benchCases = []benchCase{
	{"preflight-approved", preflightRequest(appOrigin, seedACRH), http.StatusNoContent},
	{"preflight-approved-wildcard", preflightRequest("https://feature-123.example.dev", seedACRH), http.StatusNoContent},
	{"preflight-refused-origin", preflightRequest(evilOrigin, seedACRH), http.StatusForbidden},
	{"preflight-malicious-acrh", preflightRequest(appOrigin, adversarialACRH), http.StatusForbidden},
	{"actual-allowed-origin", func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, update, nil)
		r.Header.Set("Origin", appOrigin)
		r.Header.Set("Content-Type", "application/json")
		return r
	}, http.StatusOK},
	{"no-origin", func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, update, nil)
		r.Header.Set("Content-Type", "application/grpc")
		return r
	}, http.StatusOK},
}

func BenchmarkCORS(b *testing.B) {
	impls := []struct {
		name string
		new  func(testing.TB, http.Handler) http.Handler
	}{
		{"portico", func(tb testing.TB, inner http.Handler) http.Handler {
			return newPortico(tb, []*policy.Service{profilev1portico.ProfileServicePolicy}, inner)
		}},
		{"rscors", func(_ testing.TB, inner http.Handler) http.Handler { return newRSCors(inner) }},
		// The gateway routes to the service's handler itself; rs/cors
		// leaves that to a mux behind it, as a deployment of it has.
		// For information: the targets are against rs/cors alone.
		{"rscors-mux", func(_ testing.TB, inner http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/"+profilev1portico.ProfileServicePolicy.Name+"/", inner)
			return newRSCors(mux)
		}},
	}
	for _, bc := range benchCases {
		for _, impl := range impls {
			b.Run("case="+bc.name+"/impl="+impl.name, func(b *testing.B) {
				want := bc.wantCode
				if strings.HasPrefix(impl.name, "rscors") && want == http.StatusForbidden {
					want = http.StatusNoContent // rs/cors answers refusals with 204 and no CORS headers
				}
				run(b, impl.new(b, trivial), bc.req(), want)
			})
		}
	}
}

// BenchmarkProcedures runs the approved preflight with 10 and with 10,000
// registered procedures: the lookup must not grow with the table.
func BenchmarkProcedures(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("procedures=%d", n), func(b *testing.B) {
			run(b, newPortico(b, syntheticServices(n), trivial), preflightRequest(appOrigin, seedACRH)(), http.StatusNoContent)
		})
	}
}

func run(b *testing.B, h http.Handler, req *http.Request, wantCode int) {
	b.Helper()
	w := &discardWriter{header: make(http.Header)}
	h.ServeHTTP(w, req)
	if got := w.code; got != wantCode && !(wantCode == http.StatusOK && got == 0) {
		b.Fatalf("status %d, want %d", got, wantCode)
	}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.header)
		w.code = 0
		h.ServeHTTP(w, req)
	}
}
