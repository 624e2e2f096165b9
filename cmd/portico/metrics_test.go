package main

// The soak and fault tests read the server's own account of its goroutines
// and heap from its Prometheus endpoint (PORTICO_METRICS_PORT), as an
// operator's monitoring would, rather than guessing from outside.

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metricsEnv makes the server listen for metrics on a free port.
const metricsEnv = "PORTICO_METRICS_PORT=0"

// A runtimeSample is one scrape of the two metrics the tests watch.
type runtimeSample struct {
	goroutines float64 // go_goroutines
	heap       float64 // go_memstats_heap_alloc_bytes
}

func (r runtimeSample) String() string {
	return fmt.Sprintf("%.0f goroutines, heap %.1f MiB", r.goroutines, r.heap/(1<<20))
}

// metricsURL returns the URL of s's metrics endpoint, from the line it logs
// when it listens there.
func (s *server) metricsURL(tb testing.TB) string {
	tb.Helper()
	e := s.waitLog(tb, func(e logEntry) bool { return e.str("message") == "metrics listening" })
	_, port, err := net.SplitHostPort(e.str("addr"))
	if err != nil {
		tb.Fatalf("metrics line: addr: %v", err)
	}
	return "http://" + net.JoinHostPort("127.0.0.1", port) + "/metrics"
}

// sampleRuntime reads the metrics endpoint at u once, and fails tb if it
// cannot.
func sampleRuntime(tb testing.TB, u string) runtimeSample {
	tb.Helper()
	s, err := readMetrics(u)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// readMetrics reads the metrics endpoint at u once.
func readMetrics(u string) (runtimeSample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, http.NoBody)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return runtimeSample{}, fmt.Errorf("scrape %s: %w", u, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return runtimeSample{}, fmt.Errorf("scrape %s: status %d", u, res.StatusCode)
	}
	values := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		// Unlabelled samples only: "name value [timestamp]".
		if fields := strings.Fields(line); len(fields) >= 2 && !strings.Contains(fields[0], "{") {
			if v, err := strconv.ParseFloat(fields[1], 64); err == nil {
				values[fields[0]] = v
			}
		}
	}
	if err := sc.Err(); err != nil {
		return runtimeSample{}, fmt.Errorf("scrape %s: %w", u, err)
	}
	g, okG := values["go_goroutines"]
	h, okH := values["go_memstats_heap_alloc_bytes"]
	if !okG || !okH {
		return runtimeSample{}, fmt.Errorf("scrape %s: no go_goroutines or go_memstats_heap_alloc_bytes", u)
	}
	return runtimeSample{goroutines: g, heap: h}, nil
}

// settledGoroutines waits until the server's goroutine count is at most
// limit (after the clients have hung up), polling for at most timeout, and
// returns the last sample; ok is false if the count stayed above limit.
func settledGoroutines(tb testing.TB, u string, limit float64, timeout time.Duration) (last runtimeSample, ok bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		last = sampleRuntime(tb, u)
		if last.goroutines <= limit {
			return last, true
		}
		if time.Now().After(deadline) {
			return last, false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// idleBaseline waits for the goroutine count of an idle server to stop
// falling (the same for a second, at most timeout), and returns that sample.
func idleBaseline(tb testing.TB, u string, timeout time.Duration) runtimeSample {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	prev := sampleRuntime(tb, u)
	for stable := 0; stable < 5 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		cur := sampleRuntime(tb, u)
		if cur.goroutines == prev.goroutines {
			stable++
		} else {
			stable = 0
		}
		prev = cur
	}
	return prev
}

// heapWatch samples the heap every interval until ctx is done, and returns
// the largest value of the samples taken after from.
func heapWatch(ctx context.Context, u string, interval time.Duration, from time.Time) <-chan float64 {
	out := make(chan float64, 1)
	go func() {
		peak := 0.0
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				out <- peak
				return
			case <-t.C:
			}
			if time.Now().Before(from) {
				continue
			}
			if s, err := readMetrics(u); err == nil && s.heap > peak {
				peak = s.heap
			}
		}
	}()
	return out
}
