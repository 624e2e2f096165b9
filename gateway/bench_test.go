package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// discardWriter is a ResponseWriter that keeps headers in a reused map, so
// benchmarks measure the gateway rather than httptest.ResponseRecorder.
type discardWriter struct {
	header http.Header
	code   int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

func (w *discardWriter) reset() {
	clear(w.header)
	w.code = 0
}

func benchmarkRequest(b *testing.B, req *http.Request, wantCode int) {
	b.Helper()
	g, _ := newTestGateway(b, WithLogger(nil))
	w := &discardWriter{header: make(http.Header, 8)}
	g.ServeHTTP(w, req)
	if w.code != wantCode && !(wantCode == http.StatusOK && w.code == 0) {
		b.Fatalf("status %d, want %d", w.code, wantCode)
	}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		g.ServeHTTP(w, req)
	}
}

func BenchmarkPreflightApproved(b *testing.B) {
	req := httptest.NewRequest(http.MethodOptions, update, nil)
	req.Header.Set("Origin", appOrigin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", seedACRH)
	benchmarkRequest(b, req, http.StatusNoContent)
}

func BenchmarkPreflightApprovedWildcard(b *testing.B) {
	req := httptest.NewRequest(http.MethodOptions, update, nil)
	req.Header.Set("Origin", "https://feature-123.example.dev")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", seedACRH)
	benchmarkRequest(b, req, http.StatusNoContent)
}

func BenchmarkPreflightRefusedOrigin(b *testing.B) {
	req := httptest.NewRequest(http.MethodOptions, update, nil)
	req.Header.Set("Origin", evilOrigin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	benchmarkRequest(b, req, http.StatusForbidden)
}

// BenchmarkPreflightAdversarialACRH sends an 8 KiB, 500-item
// Access-Control-Request-Headers (rs/cors's 2024 denial of service).
func BenchmarkPreflightAdversarialACRH(b *testing.B) {
	req := httptest.NewRequest(http.MethodOptions, update, nil)
	req.Header.Set("Origin", appOrigin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", strings.TrimSuffix(strings.Repeat("x-aaaaaaaaaaaaa,", 500), ","))
	benchmarkRequest(b, req, http.StatusForbidden)
}

func BenchmarkActualAllowedOrigin(b *testing.B) {
	req := httptest.NewRequest(http.MethodPost, update, nil)
	req.Header.Set("Origin", appOrigin)
	benchmarkRequest(b, req, http.StatusOK)
}

func BenchmarkNoOrigin(b *testing.B) {
	req := httptest.NewRequest(http.MethodPost, update, nil)
	req.Header.Set("Content-Type", "application/grpc")
	benchmarkRequest(b, req, http.StatusOK)
}
