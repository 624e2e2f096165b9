// Package loadgen runs A/B load comparisons of HTTP servers over loopback,
// for Portico's BENCHMARKS.md: a handler against its floor (the gateway
// against the bare connect handler, the gateway's preflight against a fixed
// 204), side by side in one run.
//
// A comparison alternates short rounds of closed-loop load on A and on B, in
// the order ABBA ABBA..., so that the drift of a shared, noisy machine (other
// tenants, frequency scaling, the heap growing) hits both sides alike, and
// reports each side's requests per second with its p50 and p99 latency, the
// ratio B/A of every round and their median. Every run is bounded in time
// and in requests: each round ends at [Config.Round] or after
// [Config.RoundRequests] requests, whichever comes first.
//
// Start with [Compare]. [Serve] serves a handler on a loopback listener the
// way cmd/portico does, [NewTransport] reaches it over HTTP/1.1 or h2c, and
// [CompareWrk] runs the same comparison with wrk as a second opinion.
package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// A Request is the request sent to a target, again and again.
type Request struct {
	// Method is the HTTP method; "" means GET.
	Method string
	// Path is the path and query, such as
	// "/portico.profile.v1.ProfileService/GetPublicProfile".
	Path string
	// Header is sent with every request; it is copied, never modified.
	Header http.Header
	// Body is sent with every request; nil means none.
	Body []byte
	// WantStatus is the status every response must have; 0 means 200. Any
	// other status counts as an error.
	WantStatus int
}

// A Target is one side of a comparison: a server and the client that
// reaches it.
type Target struct {
	// Name labels the target in reports, such as "bare" or "gateway".
	Name string
	// URL is the server's base URL, such as "http://127.0.0.1:43567".
	URL string
	// Transport sends the requests. Give each target its own, so that the
	// sides share no connections.
	Transport http.RoundTripper
}

// A Comparison pits B, the code under test, against A, its floor, with the
// same request.
type Comparison struct {
	// Name labels the comparison in reports.
	Name    string
	A, B    Target
	Request Request
}

// Config bounds a comparison. The zero Config means the defaults.
type Config struct {
	// Rounds is how many rounds each side gets; default 10.
	Rounds int
	// Round is the length of one side's round; default 2s.
	Round time.Duration
	// RoundRequests caps the requests of one side's round; default 200,000.
	RoundRequests int
	// Warmup is an unrecorded round given to each side first, to open
	// connections and grow the heap; default 500ms, negative means none.
	Warmup time.Duration
	// Concurrency is how many requests are in flight at once (the number of
	// client goroutines, each waiting for its response before sending the
	// next); default 32.
	Concurrency int
	// Timeout bounds one request; default 5s.
	Timeout time.Duration
}

// The defaults of [Config].
const (
	DefaultRounds        = 10
	DefaultRound         = 2 * time.Second
	DefaultRoundRequests = 200_000
	DefaultWarmup        = 500 * time.Millisecond
	DefaultConcurrency   = 32
	DefaultTimeout       = 5 * time.Second
)

func (c Config) withDefaults() Config {
	if c.Rounds <= 0 {
		c.Rounds = DefaultRounds
	}
	if c.Round <= 0 {
		c.Round = DefaultRound
	}
	if c.RoundRequests <= 0 {
		c.RoundRequests = DefaultRoundRequests
	}
	if c.Warmup == 0 {
		c.Warmup = DefaultWarmup
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// MaxDuration returns the longest a comparison with c can take, warm-up and
// a straggling request per round included.
func (c Config) MaxDuration() time.Duration {
	c = c.withDefaults()
	rounds := 2 * time.Duration(c.Rounds) * (c.Round + c.Timeout)
	if c.Warmup > 0 {
		rounds += 2 * (c.Warmup + c.Timeout)
	}
	return rounds
}

// A Sample is what one side's round measured.
type Sample struct {
	// Requests counts the responses received with the wanted status.
	Requests int64
	// Errors counts the failed requests and unwanted statuses.
	Errors int64
	// Elapsed is from the first request sent to the last response read.
	Elapsed time.Duration
	// P50 and P99 are latency percentiles, from sending the request to
	// reading the end of the response body.
	P50, P99 time.Duration
	// CPU is the CPU time this process used during the round (0 where it
	// cannot be measured): the servers' and, for [Compare], the client's
	// too; for [CompareWrk] the servers' alone, as wrk is another process.
	CPU time.Duration
}

// CPUPerRequest returns the round's CPU time per request.
func (s Sample) CPUPerRequest() time.Duration {
	if s.Requests == 0 {
		return 0
	}
	return s.CPU / time.Duration(s.Requests)
}

// RPS returns the requests per second of the round.
func (s Sample) RPS() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Elapsed.Seconds()
}

// A Round pairs the samples of A and B taken back to back.
type Round struct{ A, B Sample }

// Ratio returns B's requests per second over A's.
func (r Round) Ratio() float64 {
	if r.A.RPS() == 0 {
		return 0
	}
	return r.B.RPS() / r.A.RPS()
}

// CPURatio returns A's CPU time per request over B's: the throughput ratio
// B/A that a CPU-bound server would reach, as measured by the work done
// rather than by the CPU time the machine happened to grant. It is 0 if
// either side has no CPU time.
func (r Round) CPURatio() float64 {
	a, b := r.A.CPUPerRequest(), r.B.CPUPerRequest()
	if a == 0 || b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// A Result holds a comparison's rounds.
type Result struct {
	Comparison string
	// Tool is the load generator: "loadgen" or "wrk".
	Tool string
	// A and B name the sides.
	A, B   string
	Config Config
	Rounds []Round
	// FirstError is the first error seen, if any.
	FirstError string
}

// Compare runs c under cfg and returns its rounds. Before any load it sends
// one request to each side and fails if either does not answer with the
// wanted status. It fails if any request fails during the rounds too, with
// the result so far: a comparison with errors measures the errors. It stops
// early when ctx is done.
func Compare(ctx context.Context, c Comparison, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	res := &Result{Comparison: c.Name, Tool: "loadgen", A: c.A.Name, B: c.B.Name, Config: cfg}
	for _, t := range []Target{c.A, c.B} {
		if err := probe(ctx, t, c.Request, cfg.Timeout); err != nil {
			return res, fmt.Errorf("%s: %s: %w", c.Name, t.Name, err)
		}
	}
	workers := make([]worker, cfg.Concurrency)
	if cfg.Warmup > 0 {
		for _, t := range []Target{c.A, c.B} {
			if _, err := load(ctx, t, c.Request, cfg, cfg.Warmup, workers); err != nil {
				return res, fmt.Errorf("%s: %s: warm-up: %w", c.Name, t.Name, err)
			}
		}
	}
	for i := range cfg.Rounds {
		// ABBA: B goes first every other round, so that neither side
		// always runs on the heap or the CPU caches the other left.
		first, second := c.A, c.B
		if i%2 == 1 {
			first, second = second, first
		}
		s1, err1 := load(ctx, first, c.Request, cfg, cfg.Round, workers)
		s2, err2 := load(ctx, second, c.Request, cfg, cfg.Round, workers)
		r := Round{A: s1, B: s2}
		if i%2 == 1 {
			r = Round{A: s2, B: s1}
		}
		res.Rounds = append(res.Rounds, r)
		if err := errors.Join(err1, err2); err != nil {
			res.FirstError = err.Error()
			return res, fmt.Errorf("%s: round %d: %w", c.Name, i+1, err)
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
	}
	return res, nil
}

// Fetch sends req to t once and returns the response with its body read,
// so that a caller can check that both sides of a comparison answer alike
// before loading them. It fails if the status is not the wanted one.
func (t Target) Fetch(ctx context.Context, req Request) (*http.Response, []byte, error) {
	var body bytes.Buffer
	resp, err := roundTrip(ctx, t, req, &body)
	return resp, body.Bytes(), err
}

// probe sends req once and checks the status.
func probe(ctx context.Context, t Target, req Request, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return send(ctx, t, req, io.Discard)
}

// send sends req to t and reads the response into body.
func send(ctx context.Context, t Target, req Request, body io.Writer) error {
	_, err := roundTrip(ctx, t, req, body)
	return err
}

// roundTrip sends req to t, reads the response body into body, closes it and
// checks the status.
func roundTrip(ctx context.Context, t Target, req Request, body io.Writer) (*http.Response, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	var rd io.Reader
	if req.Body != nil {
		rd = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, method, t.URL+req.Path, rd)
	if err != nil {
		return nil, err
	}
	hr.Header = req.Header.Clone()
	if hr.Header == nil {
		hr.Header = make(http.Header)
	}
	resp, err := t.Transport.RoundTrip(hr)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(body, resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return resp, err
	}
	want := req.WantStatus
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		return resp, fmt.Errorf("status %d, want %d", resp.StatusCode, want)
	}
	return resp, nil
}

// A worker is one client goroutine's state, reused across rounds.
type worker struct {
	hist     Histogram
	requests int64
	errors   int64
	err      error
}

// load runs one round on t: cfg.Concurrency goroutines send req until d has
// passed or cfg.RoundRequests have been sent.
func load(ctx context.Context, t Target, req Request, cfg Config, d time.Duration, workers []worker) (Sample, error) {
	// Every request of the round shares one deadline: a straggler is cut off
	// cfg.Timeout after the round's end, without a timer per request.
	ctx, cancel := context.WithTimeout(ctx, d+cfg.Timeout)
	defer cancel()
	var budget atomic.Int64
	budget.Store(int64(cfg.RoundRequests))
	var wg sync.WaitGroup
	cpu0 := processCPU()
	start := time.Now()
	end := start.Add(d)
	for i := range workers {
		w := &workers[i]
		*w = worker{hist: w.hist}
		clear(w.hist.counts[:])
		w.hist.total = 0
		wg.Go(func() {
			for budget.Add(-1) >= 0 && ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					break
				}
				err := send(ctx, t, req, io.Discard)
				w.hist.Record(time.Since(t0))
				if err != nil {
					w.errors++
					if w.err == nil {
						w.err = err
					}
					continue
				}
				w.requests++
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all Histogram
	s := Sample{Elapsed: elapsed, CPU: processCPU() - cpu0}
	var errs []error
	for i := range workers {
		w := &workers[i]
		all.Merge(&w.hist)
		s.Requests += w.requests
		s.Errors += w.errors
		if w.err != nil && len(errs) == 0 {
			errs = append(errs, fmt.Errorf("%s: %d errors, first: %w", t.Name, s.Errors, w.err))
		}
	}
	s.P50, s.P99 = all.Quantile(0.50), all.Quantile(0.99)
	if s.Errors > 0 {
		return s, errors.Join(errs...)
	}
	return s, nil
}

// Summary aggregates a result's rounds.
type Summary struct {
	// A and B summarize each side: the median over rounds of requests per
	// second, p50 and p99, and the coefficient of variation (standard
	// deviation over mean) of the rounds' requests per second.
	A, B SideSummary
	// Ratio is the median over rounds of B/A, each round's B against the
	// A measured next to it; Min and Max are the extremes.
	Ratio, Min, Max float64
	// Pooled is B/A over every request of the run: total requests over
	// total time, side against side.
	Pooled float64
	// CPURatio is the median over rounds of [Round.CPURatio]; CPUMin and
	// CPUMax are the extremes.
	CPURatio, CPUMin, CPUMax float64
}

// A SideSummary summarizes one side of a result.
type SideSummary struct {
	RPS      float64
	P50, P99 time.Duration
	CV       float64
	Requests int64
	// CPU is the CPU time per request over every round: total CPU time
	// over total requests (see [Sample.CPU]).
	CPU time.Duration
}

// Summarize returns the summary of r's rounds; it is zero if r has none.
func (r *Result) Summarize() Summary {
	var s Summary
	if len(r.Rounds) == 0 {
		return s
	}
	ratios := make([]float64, len(r.Rounds))
	for i, rd := range r.Rounds {
		ratios[i] = rd.Ratio()
	}
	s.Ratio = median(ratios)
	s.Min, s.Max = slices.Min(ratios), slices.Max(ratios)
	for i, rd := range r.Rounds {
		ratios[i] = rd.CPURatio()
	}
	s.CPURatio = median(ratios)
	s.CPUMin, s.CPUMax = slices.Min(ratios), slices.Max(ratios)
	s.A = summarizeSide(r.Rounds, func(rd Round) Sample { return rd.A })
	s.B = summarizeSide(r.Rounds, func(rd Round) Sample { return rd.B })
	if a := pooledRPS(r.Rounds, func(rd Round) Sample { return rd.A }); a > 0 {
		s.Pooled = pooledRPS(r.Rounds, func(rd Round) Sample { return rd.B }) / a
	}
	return s
}

func summarizeSide(rounds []Round, side func(Round) Sample) SideSummary {
	rps := make([]float64, len(rounds))
	p50 := make([]float64, len(rounds))
	p99 := make([]float64, len(rounds))
	var ss SideSummary
	var cpu time.Duration
	for i, rd := range rounds {
		s := side(rd)
		rps[i], p50[i], p99[i] = s.RPS(), float64(s.P50), float64(s.P99)
		ss.Requests += s.Requests
		cpu += s.CPU
	}
	if ss.Requests > 0 {
		ss.CPU = cpu / time.Duration(ss.Requests)
	}
	ss.RPS = median(rps)
	ss.P50, ss.P99 = time.Duration(median(p50)), time.Duration(median(p99))
	ss.CV = cv(rps)
	return ss
}

func pooledRPS(rounds []Round, side func(Round) Sample) float64 {
	var n int64
	var d time.Duration
	for _, rd := range rounds {
		s := side(rd)
		n += s.Requests
		d += s.Elapsed
	}
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
