package benchcheck

import (
	"strings"
	"testing"
)

const output = `goos: linux
pkg: github.com/portico-dev/portico/gateway
BenchmarkCORS/case=preflight-approved/impl=portico-2         	 1000000	       300.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkCORS/case=preflight-approved/impl=rscors-2          	 1000000	      1000 ns/op	      16 B/op	       1 allocs/op
BenchmarkCORS/case=preflight-approved/impl=portico-2         	 1000000	       600.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkCORS/case=preflight-approved/impl=rscors-2          	 1000000	      1500 ns/op	      16 B/op	       1 allocs/op
BenchmarkCORS/case=preflight-approved/impl=portico-2         	 1000000	       310.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkCORS/case=preflight-approved/impl=rscors-2          	 1000000	       700 ns/op	      16 B/op	       1 allocs/op
BenchmarkCORS/case=no-origin/impl=portico-2                  	 1000000	       300.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkCORS/case=no-origin/impl=rscors-2                   	 1000000	       400.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkCORS/case=actual-allowed-origin/impl=portico-2      	 1000000	       100.0 ns/op	       8 B/op	       1 allocs/op
BenchmarkCORS/case=actual-allowed-origin/impl=rscors-2       	 1000000	       400.0 ns/op	      16 B/op	       1 allocs/op
BenchmarkCORS/case=new/impl=portico-2                        	 1000000	       100.0 ns/op
BenchmarkCORS/case=zero/impl=portico-2                       	 1000000	       100.0 ns/op
BenchmarkCORS/case=zero/impl=rscors-2                        	 1000000	         0 ns/op
BenchmarkCORS/case=lost/impl=portico-2                       	 1000000	       100.0 ns/op
BenchmarkCORS/case=lost/impl=portico-2                       	 1000000	       100.0 ns/op
BenchmarkCORS/case=lost/impl=rscors-2                        	 1000000	       300.0 ns/op
BenchmarkCORS/case=new/impl=rscors-2                         	 1000000	       200.0 ns/op
PASS
`

func TestWriteMarkdown(t *testing.T) {
	t.Parallel()
	s, err := Parse(strings.NewReader(output))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Stat("BenchmarkCORS/case=preflight-approved/impl=portico", "ns/op"); st != (Stat{Median: 310, Min: 300, Max: 600, N: 3}) {
		t.Errorf("Stat = %+v", st)
	}
	// Run by run: 300/1000, 600/1500, 310/700.
	if st, _ := s.PairedRatio("BenchmarkCORS/case=preflight-approved/impl=portico", "BenchmarkCORS/case=preflight-approved/impl=rscors"); st.Median != 0.4 || st.Min != 0.3 || st.N != 3 {
		t.Errorf("PairedRatio = %+v", st)
	}
	checks := append(Issue8[:4:4], Pairs(s, Issue8)...)
	checks = append(checks,
		Check{"zero baseline", "BenchmarkCORS/case=zero/impl=portico", "BenchmarkCORS/case=zero/impl=rscors", 0.5, false},
		Check{"a run lost", "BenchmarkCORS/case=lost/impl=portico", "BenchmarkCORS/case=lost/impl=rscors", 0.5, false})
	var b strings.Builder
	met, err := WriteMarkdown(&b, s, checks)
	if err != nil {
		t.Fatal(err)
	}
	if met {
		t.Error("all met, want misses")
	}
	for _, want := range []string{
		"| Approved preflight: ≤ 0.4x rs/cors, 0 allocs | 310.0 (±48%) | 1000.0 (±40%) | **0.40x** (0.30–0.44, n=3) | 0.31x | 0 | met |",
		"| Approved preflight via wildcard: ≤ 0.4x rs/cors, 0 allocs | no BenchmarkCORS/case=preflight-approved-wildcard/impl=portico |",
		"| **0.25x** (0.25–0.25, n=1) | 0.25x | 1 | **missed**: allocates |",
		"| **0.75x** (0.75–0.75, n=1) | 0.75x | 0 | **missed**: ratio 50.0% over 0.50 |",
		"| zero baseline | 100.0 (n=1) | 0.0 (n=1) | | | | **unpaired**",
		"| a run lost | 100.0 (n=2) | 300.0 (n=1) | | | | **unpaired**",
		"| CORS/case=new: no target | 100.0 (±0%) | 200.0 (±0%) | **0.50x** (0.50–0.50, n=1) | 0.50x | n/a (no -benchmem) | (information) |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
}
