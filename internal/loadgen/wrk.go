package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// WrkConfig configures [CompareWrk].
type WrkConfig struct {
	// Binary is the wrk executable; "" means "wrk" on $PATH.
	Binary string
	// Threads is wrk's -t; default 2.
	Threads int
	// Config sets the rounds, their length, the warm-up and the number of
	// connections (Concurrency, wrk's -c). RoundRequests does not apply:
	// wrk bounds a run by time only.
	Config
}

// CompareWrk runs c with wrk instead of the Go client, as a second opinion
// from a client that does not share the server's Go runtime: the same ABBA
// rounds, one wrk process per round. wrk speaks HTTP/1.1 only, so the
// targets' transports are used for the probe alone. It fails if wrk reports
// socket errors or responses other than 2xx and 3xx.
func CompareWrk(ctx context.Context, c Comparison, cfg WrkConfig) (*Result, error) {
	cfg.Config = cfg.withDefaults()
	if cfg.Binary == "" {
		cfg.Binary = "wrk"
	}
	if cfg.Threads <= 0 {
		cfg.Threads = 2
	}
	res := &Result{Comparison: c.Name, Tool: "wrk", A: c.A.Name, B: c.B.Name, Config: cfg.Config}
	for _, t := range []Target{c.A, c.B} {
		if err := probe(ctx, t, c.Request, cfg.Timeout); err != nil {
			return res, fmt.Errorf("%s: %s: %w", c.Name, t.Name, err)
		}
	}
	dir, err := os.MkdirTemp("", "loadgen-wrk-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "request.lua")
	if err := os.WriteFile(script, wrkScript(c.Request), 0o600); err != nil {
		return res, err
	}
	run := func(t Target, d time.Duration) (Sample, error) {
		return runWrk(ctx, cfg, script, t.URL+c.Request.Path, d)
	}
	if cfg.Warmup > 0 {
		for _, t := range []Target{c.A, c.B} {
			if _, err := run(t, cfg.Warmup); err != nil {
				return res, fmt.Errorf("%s: %s: warm-up: %w", c.Name, t.Name, err)
			}
		}
	}
	for i := range cfg.Rounds {
		first, second := c.A, c.B
		if i%2 == 1 {
			first, second = second, first
		}
		s1, err1 := run(first, cfg.Round)
		s2, err2 := run(second, cfg.Round)
		r := Round{A: s1, B: s2}
		if i%2 == 1 {
			r = Round{A: s2, B: s1}
		}
		res.Rounds = append(res.Rounds, r)
		if err := errors.Join(err1, err2); err != nil {
			res.FirstError = err.Error()
			return res, fmt.Errorf("%s: wrk round %d: %w", c.Name, i+1, err)
		}
	}
	return res, nil
}

// runWrk runs wrk once for d and parses its report.
func runWrk(ctx context.Context, cfg WrkConfig, script, url string, d time.Duration) (Sample, error) {
	// wrk takes whole seconds.
	secs := max(int(d.Round(time.Second)/time.Second), 1)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+cfg.Timeout+5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cfg.Binary,
		"-t", strconv.Itoa(cfg.Threads), "-c", strconv.Itoa(cfg.Concurrency),
		"-d", strconv.Itoa(secs)+"s", "--timeout", strconv.Itoa(max(int(cfg.Timeout/time.Second), 1))+"s",
		"--latency", "-s", script, url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cpu0 := processCPU()
	out, err := cmd.Output()
	cpu := processCPU() - cpu0
	if err != nil {
		return Sample{}, fmt.Errorf("wrk: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	s, err := parseWrk(out)
	s.CPU = cpu
	return s, err
}

// parseWrk reads the requests, the duration, the 50% and 99% latencies and
// the errors from wrk's report (wrk 4, with --latency). Requests counts
// every response, errors included, as wrk does.
func parseWrk(out []byte) (Sample, error) {
	var s Sample
	var rps float64
	var sawCount, saw50, saw99 bool
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "50%":
			s.P50, saw50 = parseWrkDuration(f[1]), true
		case len(f) == 2 && f[0] == "99%":
			s.P99, saw99 = parseWrkDuration(f[1]), true
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return s, fmt.Errorf("wrk: %q: %w", sc.Text(), err)
			}
			s.Requests, s.Elapsed, sawCount = n, parseWrkDuration(strings.TrimSuffix(f[3], ",")), true
		case len(f) == 2 && f[0] == "Requests/sec:":
			rps, _ = strconv.ParseFloat(f[1], 64)
		case len(f) == 5 && f[0] == "Non-2xx":
			n, _ := strconv.ParseInt(f[4], 10, 64)
			s.Errors += n
		case len(f) >= 3 && f[0] == "Socket" && f[1] == "errors:":
			// "Socket errors: connect 0, read 0, write 0, timeout 0"
			for i := 3; i < len(f); i += 2 {
				n, _ := strconv.ParseInt(strings.TrimSuffix(f[i], ","), 10, 64)
				s.Errors += n
			}
		}
	}
	if !sawCount || !saw50 || !saw99 {
		return s, fmt.Errorf("wrk: unexpected report:\n%s", out)
	}
	if rps > 0 {
		// The summary line rounds the duration to 10ms; Requests/sec is
		// computed from the exact one.
		s.Elapsed = time.Duration(float64(s.Requests) / rps * float64(time.Second))
	}
	if s.Errors > 0 {
		return s, fmt.Errorf("wrk: %d errors", s.Errors)
	}
	return s, nil
}

// parseWrkDuration parses wrk's durations: "655.00us", "1.23ms", "2.00s",
// "1.50m"; it returns 0 for anything else.
func parseWrkDuration(v string) time.Duration {
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"m", time.Minute}, {"h", time.Hour}, {"s", time.Second}} {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			x, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0
			}
			return time.Duration(x * float64(u.unit))
		}
	}
	return 0
}

// wrkScript returns the Lua that makes wrk send req.
func wrkScript(req Request) []byte {
	var b bytes.Buffer
	method := req.Method
	if method == "" {
		method = "GET"
	}
	fmt.Fprintf(&b, "wrk.method = %s\n", luaString([]byte(method)))
	if req.Body != nil {
		fmt.Fprintf(&b, "wrk.body = %s\n", luaString(req.Body))
	}
	for name, values := range req.Header {
		fmt.Fprintf(&b, "wrk.headers[%s] = %s\n", luaString([]byte(name)), luaString([]byte(strings.Join(values, ", "))))
	}
	return b.Bytes()
}

// luaString quotes s as a Lua 5.1 string literal, escaping every byte
// outside printable ASCII as \ddd, so that binary bodies (proto) survive.
func luaString(s []byte) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "\\%03d", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
