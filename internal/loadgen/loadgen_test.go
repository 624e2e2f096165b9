package loadgen

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// newTarget serves h as the load generator's servers do and returns a
// target that reaches it over p.
func newTarget(tb testing.TB, name string, p Protocol, h http.Handler) Target {
	tb.Helper()
	srv, err := Serve(h, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tr := NewTransport(p, 4)
	tb.Cleanup(func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
	})
	return Target{Name: name, URL: srv.URL, Transport: tr}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	for _, p := range []Protocol{HTTP1, H2C} {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			proto := make(chan string, 1)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case proto <- r.Proto:
				default:
				}
				if r.Method != http.MethodPost || r.Header.Get("X-Test") != "1" {
					w.WriteHeader(http.StatusBadRequest)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			})
			c := Comparison{
				Name: "test",
				A:    newTarget(t, "a", p, h),
				B:    newTarget(t, "b", p, h),
				Request: Request{Method: http.MethodPost, Path: "/x", Header: http.Header{"X-Test": {"1"}},
					Body: []byte("{}"), WantStatus: http.StatusNoContent},
			}
			// Bounded by count, so that the test is quick however fast the
			// machine: 3 rounds of at most 50 requests a side.
			cfg := Config{Rounds: 3, Round: 10 * time.Second, RoundRequests: 50, Warmup: -1, Concurrency: 4}
			res, err := Compare(context.Background(), c, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := <-proto, map[Protocol]string{HTTP1: "HTTP/1.1", H2C: "HTTP/2.0"}[p]; got != want {
				t.Errorf("served over %s, want %s", got, want)
			}
			if len(res.Rounds) != 3 {
				t.Fatalf("%d rounds, want 3", len(res.Rounds))
			}
			for i, rd := range res.Rounds {
				for _, s := range []Sample{rd.A, rd.B} {
					if s.Requests != 50 || s.Errors != 0 || s.P50 <= 0 || s.P99 < s.P50 || s.Elapsed <= 0 || s.Elapsed >= 10*time.Second {
						t.Errorf("round %d: %+v, want 50 requests in under 10s", i, s)
					}
				}
			}
			s := res.Summarize()
			if s.Ratio <= 0 || s.CPURatio <= 0 || s.Min > s.Ratio || s.Max < s.Ratio || s.A.Requests != 150 || s.B.Requests != 150 {
				t.Errorf("summary %+v", s)
			}
			var b strings.Builder
			if err := WriteMarkdown(&b, []*Result{res}, 0.97); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "| test | loadgen | a ") {
				t.Errorf("report:\n%s", b.String())
			}
		})
	}
}

func TestCompareFails(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	teapot := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	c := Comparison{Name: "test", A: newTarget(t, "a", HTTP1, ok), B: newTarget(t, "b", HTTP1, teapot)}
	_, err := Compare(context.Background(), c, Config{Rounds: 1, RoundRequests: 1, Warmup: -1})
	if err == nil || !strings.Contains(err.Error(), "status 418, want 200") {
		t.Errorf("got %v, want the probe to fail with status 418", err)
	}
}

func TestVerdict(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ratio float64
		want  string
	}{{0.99, "met"}, {0.97, "met"}, {0.9506, "**missed** by 2.00%"}, {0.9699, "**missed** by 0.01%"}} {
		if got := verdict(tc.ratio, 0.97); got != tc.want {
			t.Errorf("verdict(%v, 0.97) = %q, want %q", tc.ratio, got, tc.want)
		}
	}
}

func TestRoundTime(t *testing.T) {
	if testing.Short() {
		t.Skip("a load run of a second; skipped in -short")
	}
	t.Parallel()
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	c := Comparison{Name: "time", A: newTarget(t, "a", H2C, h), B: newTarget(t, "b", H2C, h)}
	start := time.Now()
	res, err := Compare(context.Background(), c, Config{Rounds: 2, Round: 200 * time.Millisecond, Warmup: 100 * time.Millisecond, Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v, want about 1s", took)
	}
	for _, rd := range res.Rounds {
		for _, s := range []Sample{rd.A, rd.B} {
			if s.Elapsed < 200*time.Millisecond || s.Elapsed > time.Second || s.Requests == 0 {
				t.Errorf("sample %+v, want a round of about 200ms", s)
			}
		}
	}
}
