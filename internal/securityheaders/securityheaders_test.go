package securityheaders

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHeaders(t *testing.T) {
	t.Parallel()
	base := http.Header{
		"X-Content-Type-Options":  {"nosniff"},
		"Referrer-Policy":         {"no-referrer"},
		"Content-Security-Policy": {"default-src 'none'; frame-ancestors 'none'"},
	}
	with := func(kv ...string) http.Header {
		h := base.Clone()
		for i := 0; i+1 < len(kv); i += 2 {
			h[kv[i]] = []string{kv[i+1]}
		}
		return h
	}
	tests := []struct {
		name string
		req  http.Header
		tls  bool
		opts []Option
		want http.Header
	}{
		{name: "anonymous over http", want: base},
		{name: "bearer", req: http.Header{"Authorization": {"Bearer x"}}, want: with("Cache-Control", "no-store")},
		{name: "cookie", req: http.Header{"Cookie": {"a=b"}}, want: with("Cache-Control", "no-store")},
		{name: "forwarded https", req: http.Header{"X-Forwarded-Proto": {"https"}}, want: with("Strict-Transport-Security", DefaultHSTS)},
		{name: "forwarded HTTPS, list", req: http.Header{"X-Forwarded-Proto": {"HTTPS , http"}}, want: with("Strict-Transport-Security", DefaultHSTS)},
		{name: "forwarded http", req: http.Header{"X-Forwarded-Proto": {"http"}}, want: base},
		{name: "forwarded http first", req: http.Header{"X-Forwarded-Proto": {"http,https"}}, want: base},
		{name: "direct TLS", tls: true, want: with("Strict-Transport-Security", DefaultHSTS)},
		{name: "custom HSTS", tls: true, opts: []Option{WithHSTS("max-age=300")}, want: with("Strict-Transport-Security", "max-age=300")},
		{name: "HSTS off", tls: true, opts: []Option{WithHSTS("")}, want: base},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var seen http.Header
			h := New(tc.opts...)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				seen = w.Header().Clone() // set before the handler runs
				w.WriteHeader(http.StatusTeapot)
			}))
			req := httptest.NewRequest(http.MethodPost, "/x", nil)
			req.Header = tc.req
			if req.Header == nil {
				req.Header = http.Header{}
			}
			if tc.tls {
				req.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if diff := cmp.Diff(tc.want, seen); diff != "" {
				t.Errorf("headers before the handler (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, rec.Result().Header); diff != "" {
				t.Errorf("response headers (-want +got):\n%s", diff)
			}
		})
	}
}

func BenchmarkHeaders(b *testing.B) {
	h := New()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, bc := range []struct {
		name string
		req  http.Header
	}{
		{"anonymous", http.Header{}},
		{"credentialed-https", http.Header{"Authorization": {"Bearer x"}, "X-Forwarded-Proto": {"https"}}},
		// Adversarial: a long X-Forwarded-Proto is scanned to its first comma only.
		{"long-forwarded-proto", http.Header{"X-Forwarded-Proto": {string(make([]byte, 64<<10))}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodPost, "/x", nil)
			req.Header = bc.req
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
