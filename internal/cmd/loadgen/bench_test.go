package main

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	connectcors "connectrpc.com/cors"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	"github.com/portico-dev/portico/internal/app"
	"github.com/rs/cors"
)

// BenchmarkFloor runs the loopback comparisons' handlers in-process, with
// no network and no client: what the gateway costs over its floor per
// request, with rs/cors (configured as gateway/bench_test.go does) over the
// same floor for scale, side by side in one invocation, so that
// `benchstat -col '/impl@(floor gateway rscors)'` reports the differences:
//
//	go test -run '^$' -bench BenchmarkFloor -benchmem -count 6 ./internal/cmd/loadgen/
//
// The floor of the preflight is the fixed 204: the least any CORS layer can
// do is write those headers. The trivial cases (gateway/bench_test.go's
// actual request and no-Origin pass-through, over an inner handler that does
// nothing) have the same kind of floor: a handler that writes the gateway's
// headers, copied once, and calls the inner one. That of the unary calls is
// the same connect handler (and service on SQLite) on an http.ServeMux,
// which rs/cors wraps.
func BenchmarkFloor(b *testing.B) {
	st, err := newStack(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.close)
	noOrigin, err := unaryRequest("json", "")
	if err != nil {
		b.Fatal(err)
	}
	withOrigin, err := unaryRequest("json", appOrigin)
	if err != nil {
		b.Fatal(err)
	}
	trivial := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	gw, err := gateway.New(app.Services, gateway.WithLogger(nil))
	if err != nil {
		b.Fatal(err)
	}
	gw.Handle("/"+profilev1connect.ProfileServiceName+"/", trivial)
	actual := request{Method: http.MethodPost, Path: profilev1connect.ProfileServiceUpdateProfileProcedure,
		Header: http.Header{"Origin": {appOrigin}, "Content-Type": {"application/json"}}}
	noOriginTrivial := request{Method: http.MethodPost, Path: profilev1connect.ProfileServiceUpdateProfileProcedure,
		Header: http.Header{"Content-Type": {"application/grpc"}}}
	cases := []struct {
		name                string
		req                 request
		floor, code, rscors http.Handler
	}{
		{"preflight", preflightRequest(), st.fixed, st.gateway, newRSCors(st.bare)},
		{"actual-allowed-origin-trivial", actual, replay(b, gw, actual, trivial), gw, newRSCors(trivial)},
		{"no-origin-trivial", noOriginTrivial, replay(b, gw, noOriginTrivial, trivial), gw, newRSCors(trivial)},
		{"unary-json-no-origin", noOrigin, st.bare, st.gateway, newRSCors(st.bare)},
		{"unary-json-origin", withOrigin, st.bare, st.gateway, newRSCors(st.bare)},
	}
	for _, c := range cases {
		for _, impl := range []struct {
			name string
			h    http.Handler
		}{{"floor", c.floor}, {"gateway", c.code}, {"rscors", c.rscors}} {
			b.Run("case="+c.name+"/impl="+impl.name, func(b *testing.B) {
				want := c.req.WantStatus
				if want == 0 {
					want = http.StatusOK
				}
				w := &responseWriter{header: make(http.Header)}
				// One request, its body rewound each time: the connect
				// handler reads it to the end.
				r := c.req.httptest()
				body := bytes.NewReader(c.req.Body)
				r.Body = io.NopCloser(body)
				b.ReportAllocs()
				for b.Loop() {
					body.Reset(c.req.Body)
					clear(w.header)
					w.code = 0
					impl.h.ServeHTTP(w, r)
					if w.code != want && (want != http.StatusOK || w.code != 0) {
						b.Fatalf("status %d, want %d", w.code, want)
					}
				}
			})
		}
	}
}

// replay returns a handler that writes the headers h answers req with,
// copied once, then calls inner: the floor of a CORS layer in front of inner.
func replay(tb testing.TB, h http.Handler, req request, inner http.Handler) http.Handler {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req.httptest())
	if rec.Code != http.StatusOK {
		tb.Fatalf("%s %s: status %d", req.Method, req.Path, rec.Code)
	}
	header := rec.Header().Clone()
	keys := slices.Sorted(maps.Keys(header))
	values := make([][]string, len(keys))
	for i, k := range keys {
		values[i] = header[k]
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wh := w.Header()
		for i, k := range keys {
			wh[k] = values[i]
		}
		inner.ServeHTTP(w, r)
	})
}

// newRSCors configures rs/cors for the reference policy, as
// gateway/bench_test.go does.
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

// responseWriter keeps headers in a reused map, started as net/http starts
// one, and discards the body, as gateway/bench_test.go's discardWriter does.
type responseWriter struct {
	header http.Header
	code   int
}

func (w *responseWriter) Header() http.Header         { return w.header }
func (w *responseWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *responseWriter) WriteHeader(code int)        { w.code = code }
