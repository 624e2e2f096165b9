package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/gateway/policy"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1portico"
)

// TestObserver checks the decision reported for each kind of request, and
// that requests without Origin report none.
func TestObserver(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  func() *http.Request
		want *Decision // nil: no call
	}{
		{"preflight approved", preflightRequest(appOrigin, seedACRH), &Decision{Preflight: true, Allowed: true, Reason: "allowed"}},
		{"preflight refused", preflightRequest(evilOrigin, ""), &Decision{Preflight: true, Reason: "origin not allowed"}},
		{"preflight unknown procedure", func() *http.Request {
			r := preflightRequest(appOrigin, "")()
			r.URL.Path = svcPath + "Nope"
			return r
		}, &Decision{Preflight: true, Reason: "unknown procedure"}},
		{"actual allowed", benchCases[4].req, &Decision{Allowed: true, Reason: "allowed"}},
		{"actual refused", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, update, nil)
			r.Header.Set("Origin", evilOrigin)
			return r
		}, &Decision{Reason: "origin not allowed"}},
		{"no origin", benchCases[5].req, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []Decision
			g, err := New([]*policy.Service{profilev1portico.ProfileServicePolicy}, WithLogger(nil),
				WithObserver(func(_ *http.Request, d Decision) { got = append(got, d) }))
			if err != nil {
				t.Fatal(err)
			}
			g.Handle("/"+profilev1portico.ProfileServicePolicy.Name+"/", trivial)
			g.ServeHTTP(httptest.NewRecorder(), tc.req())
			switch {
			case tc.want == nil && len(got) != 0:
				t.Errorf("observer called with %+v, want no call", got)
			case tc.want != nil && (len(got) != 1 || got[0] != *tc.want):
				t.Errorf("observer called with %+v, want once with %+v", got, *tc.want)
			}
		})
	}
}

// BenchmarkObserver runs the actual-request and preflight cases with an
// observer set: reporting a decision must not allocate.
func BenchmarkObserver(b *testing.B) {
	var n int
	g, err := New([]*policy.Service{profilev1portico.ProfileServicePolicy}, WithLogger(nil),
		WithObserver(func(_ *http.Request, d Decision) {
			if d.Allowed {
				n++
			}
		}))
	if err != nil {
		b.Fatal(err)
	}
	g.Handle("/"+profilev1portico.ProfileServicePolicy.Name+"/", trivial)
	for _, bc := range []benchCase{benchCases[0], benchCases[2], benchCases[4]} {
		b.Run("case="+bc.name, func(b *testing.B) { run(b, g, bc.req(), bc.wantCode) })
	}
}
