// Package benchcheck reads the output of `go test -bench` and checks
// Portico's CORS benchmarks (gateway/bench_test.go) against the targets of
// issue 8: ratios, Portico against rs/cors or one size of the procedure table
// against another, and allocations. benchstat gives the tables and their
// confidence intervals; this gives the verdicts.
//
// The verdict is on the paired ratio: the median over runs of each run's own
// Subject/Baseline. scripts/bench runs the benchmark binary once per run, so
// a run's two samples are taken seconds apart, and load that other tenants
// put on the machine for part of the step lands on both or neither. The
// ratio of the two medians, which pairs a sample of one run with a sample of
// another, is shown beside it. (Under `go test -count N` the i-th samples of
// the two sides are not from one run; the pairing then buys nothing.)
//
// Start with [Parse], then [WriteMarkdown] with [Issue8].
package benchcheck

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A Set holds benchmark results: for each benchmark name, without its
// -GOMAXPROCS suffix, the values of each unit ("ns/op", "allocs/op"), one per
// run, in the order read.
type Set map[string]map[string][]float64

// procsSuffix is the "-2" that `go test` appends to names when GOMAXPROCS
// is not 1.
var procsSuffix = regexp.MustCompile(`-[0-9]+$`)

// Parse reads benchmark result lines ("BenchmarkX/a=b-2  1000  912 ns/op
// 0 B/op ...") from r and ignores every other line. It fails only if r
// does.
func Parse(r io.Reader) (Set, error) {
	s := make(Set)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue
		}
		name := procsSuffix.ReplaceAllString(f[0], "")
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			if s[name] == nil {
				s[name] = make(map[string][]float64)
			}
			s[name][f[i+1]] = append(s[name][f[i+1]], v)
		}
	}
	return s, sc.Err()
}

// Stat summarizes the values of one name and unit.
type Stat struct {
	Median, Min, Max float64
	N                int
}

// Spread returns (Max-Min)/Median, the run-to-run noise; 0 if Median is.
func (st Stat) Spread() float64 {
	if st.Median == 0 {
		return 0
	}
	return (st.Max - st.Min) / st.Median
}

// Stat returns the statistics of name's unit, and false if there are no
// values.
func (s Set) Stat(name, unit string) (Stat, bool) {
	return stat(slices.Clone(s[name][unit]))
}

// PairedRatio returns the statistics of the run-by-run ratios of sub's ns/op
// over base's: the i-th value of one over the i-th of the other. Values are
// paired by their order, so both must have the same number of them, and
// every baseline value must be positive; otherwise PairedRatio returns
// false.
func (s Set) PairedRatio(sub, base string) (Stat, bool) {
	a, b := s[sub]["ns/op"], s[base]["ns/op"]
	if len(a) != len(b) {
		return Stat{}, false
	}
	ratios := make([]float64, 0, len(a))
	for i := range a {
		if b[i] <= 0 {
			return Stat{}, false
		}
		ratios = append(ratios, a[i]/b[i])
	}
	return stat(ratios)
}

func stat(vs []float64) (Stat, bool) {
	if len(vs) == 0 {
		return Stat{}, false
	}
	slices.Sort(vs)
	n := len(vs)
	m := vs[n/2]
	if n%2 == 0 {
		m = (vs[n/2-1] + vs[n/2]) / 2
	}
	return Stat{Median: m, Min: vs[0], Max: vs[n-1], N: n}, true
}

// A Check compares the ns/op of Subject with Baseline's.
type Check struct {
	// Target names what is checked, as issue 8 words it.
	Target string
	// Subject and Baseline are benchmark names without the -GOMAXPROCS
	// suffix.
	Subject, Baseline string
	// MaxRatio is the largest Subject/Baseline allowed; 0 means none (the
	// row is for information).
	MaxRatio float64
	// ZeroAllocs requires Subject to allocate nothing, in every run.
	ZeroAllocs bool
}

// cors names a case of BenchmarkCORS.
func cors(c, impl string) string { return "BenchmarkCORS/case=" + c + "/impl=" + impl }

// Issue8 lists the micro-benchmark targets of issue 8. The approved
// preflight's target applies to both its cases, the exact origin and the
// wildcard; the refused preflight has no target and is listed for
// information, as are the main cases against rs/cors with an http.ServeMux
// behind it, which routes as the gateway does.
var Issue8 = []Check{
	{"Approved preflight: ≤ 0.4x rs/cors, 0 allocs", cors("preflight-approved", "portico"), cors("preflight-approved", "rscors"), 0.4, true},
	{"Approved preflight via wildcard: ≤ 0.4x rs/cors, 0 allocs", cors("preflight-approved-wildcard", "portico"), cors("preflight-approved-wildcard", "rscors"), 0.4, true},
	{"Actual request, trivial inner handler: ≤ 0.7x rs/cors, 0 allocs", cors("actual-allowed-origin", "portico"), cors("actual-allowed-origin", "rscors"), 0.7, true},
	{"No-Origin pass-through: ≤ 0.5x rs/cors, 0 allocs", cors("no-origin", "portico"), cors("no-origin", "rscors"), 0.5, true},
	{"Malicious preflight (8 KiB, 500-item ACRH): ≤ 0.2x rs/cors, 0 allocs", cors("preflight-malicious-acrh", "portico"), cors("preflight-malicious-acrh", "rscors"), 0.2, true},
	{"10,000 procedures: ≤ 1.2x 10 procedures", "BenchmarkProcedures/procedures=10000", "BenchmarkProcedures/procedures=10", 1.2, false},
	{"Refused preflight (origin): no target", cors("preflight-refused-origin", "portico"), cors("preflight-refused-origin", "rscors"), 0, false},
	{"Approved preflight against rs/cors with a mux behind it: no target", cors("preflight-approved", "portico"), cors("preflight-approved", "rscors-mux"), 0, false},
	{"Actual request against rs/cors with a mux behind it: no target", cors("actual-allowed-origin", "portico"), cors("actual-allowed-origin", "rscors-mux"), 0, false},
	{"No-Origin pass-through against rs/cors with a mux behind it: no target", cors("no-origin", "portico"), cors("no-origin", "rscors-mux"), 0, false},
	{"Malicious preflight against rs/cors with a mux behind it: no target", cors("preflight-malicious-acrh", "portico"), cors("preflight-malicious-acrh", "rscors-mux"), 0, false},
}

// Pairs returns a check without a target for every impl=portico benchmark
// in s that has an impl=rscors twin and is not already the subject of one
// of checks, so that cases added to the benchmarks show up too.
func Pairs(s Set, checks []Check) []Check {
	var out []Check
	for name := range s {
		if !strings.Contains(name, "/impl=portico") {
			continue
		}
		twin := strings.Replace(name, "/impl=portico", "/impl=rscors", 1)
		if _, ok := s[twin]; !ok || slices.ContainsFunc(checks, func(c Check) bool { return c.Subject == name }) {
			continue
		}
		out = append(out, Check{Target: strings.TrimPrefix(strings.Replace(name, "/impl=portico", "", 1), "Benchmark") + ": no target", Subject: name, Baseline: twin})
	}
	slices.SortFunc(out, func(a, b Check) int { return strings.Compare(a.Subject, b.Subject) })
	return out
}

// WriteMarkdown writes one table row per check: both medians and their
// spread over runs, the paired ratio with its range, the ratio of medians,
// Subject's allocations and the verdict, which is on the paired ratio. It
// reports whether every check with a target was met; a check whose
// benchmarks are missing is not.
func WriteMarkdown(w io.Writer, s Set, checks []Check) (bool, error) {
	var b strings.Builder
	b.WriteString("| target | subject ns/op (spread) | baseline ns/op (spread) | paired ratio (range) | ratio of medians | subject allocs/op | verdict |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|---|\n")
	allMet := true
	for _, c := range checks {
		sub, ok1 := s.Stat(c.Subject, "ns/op")
		base, ok2 := s.Stat(c.Baseline, "ns/op")
		if !ok1 || !ok2 {
			fmt.Fprintf(&b, "| %s | %s | %s | | | | **not run** |\n", c.Target, found(ok1, c.Subject), found(ok2, c.Baseline))
			allMet = allMet && c.MaxRatio == 0
			continue
		}
		paired, ok := s.PairedRatio(c.Subject, c.Baseline)
		if !ok {
			fmt.Fprintf(&b, "| %s | %.1f (n=%d) | %.1f (n=%d) | | | | **unpaired**: runs differ in number, or a baseline is 0 |\n",
				c.Target, sub.Median, sub.N, base.Median, base.N)
			allMet = allMet && c.MaxRatio == 0
			continue
		}
		ratio := paired.Median
		allocs, hasAllocs := s.Stat(c.Subject, "allocs/op")
		allocCell := "n/a (no -benchmem)"
		if hasAllocs {
			allocCell = strconv.FormatFloat(allocs.Median, 'f', -1, 64)
			if allocs.Max != allocs.Median {
				allocCell += " (max " + strconv.FormatFloat(allocs.Max, 'f', -1, 64) + ")"
			}
		}
		var problems []string
		if c.MaxRatio > 0 && ratio > c.MaxRatio {
			problems = append(problems, fmt.Sprintf("ratio %.1f%% over %.2f", 100*(ratio-c.MaxRatio)/c.MaxRatio, c.MaxRatio))
		}
		if c.ZeroAllocs && (!hasAllocs || allocs.Max != 0) {
			problems = append(problems, "allocates")
		}
		verdict := "met"
		switch {
		case c.MaxRatio == 0:
			verdict = "(information)"
		case len(problems) > 0:
			verdict = "**missed**: " + strings.Join(problems, ", ")
			allMet = false
		}
		fmt.Fprintf(&b, "| %s | %.1f (±%.0f%%) | %.1f (±%.0f%%) | **%.2fx** (%.2f–%.2f, n=%d) | %.2fx | %s | %s |\n",
			c.Target, sub.Median, 50*sub.Spread(), base.Median, 50*base.Spread(),
			ratio, paired.Min, paired.Max, paired.N, sub.Median/base.Median, allocCell, verdict)
	}
	b.WriteString("\nThe paired ratio is the median over runs of each run's own ratio (n runs), and decides the verdict; " +
		"spread is ±half the range (max−min) over the median.\n")
	_, err := io.WriteString(w, b.String())
	return allMet, err
}

func found(ok bool, name string) string {
	if ok {
		return "found"
	}
	return "no " + name
}
