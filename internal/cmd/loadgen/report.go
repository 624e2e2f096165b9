package main

import (
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strings"

	"github.com/portico-dev/portico/internal/loadgen"
)

// findWrk resolves the -wrk flag to a path, or "" for none.
func findWrk(flag string) string {
	switch flag {
	case "off", "":
		return ""
	case "auto":
		path, err := exec.LookPath("wrk")
		if err != nil {
			return ""
		}
		return path
	default:
		return flag
	}
}

// writeReport writes the results as Markdown, with what was run.
func writeReport(w io.Writer, o *options, st *stack, results []*loadgen.Result, wrk string) error {
	var b strings.Builder
	cfg := o.cfg
	fmt.Fprintf(&b, "Loopback A/B: A is the floor, B the code under test; B/A is B's req/s over A's.\n")
	fmt.Fprintf(&b, "loadgen: %d rounds of %v per side (ABBA order, at most %d requests per round), %v warm-up, %d requests in flight, GOMAXPROCS %d, client and servers in one process.\n",
		cfg.Rounds, cfg.Round, cfg.RoundRequests, cfg.Warmup, cfg.Concurrency, runtime.GOMAXPROCS(0))
	if wrk != "" {
		fmt.Fprintf(&b, "wrk (%s): %d rounds of %v per side, 2 threads, %d connections, HTTP/1.1 only.\n", wrk, o.wrkRounds, cfg.Round, cfg.Concurrency)
	} else {
		b.WriteString("wrk: not run (not on $PATH, or -wrk off).\n")
	}
	fmt.Fprintf(&b, "Unary: Connect POST %s, %s codec; the origin cases send Origin: %s. Preflight: OPTIONS %s from %s, ACRM POST, ACRH %s.\n\n",
		unaryPath, o.codec, appOrigin, preflightPath, appOrigin, seedACRH)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if err := loadgen.WriteMarkdown(w, results, o.target); err != nil {
		return err
	}
	b.Reset()
	b.WriteString("\nThe preflight answer both sides send (the fixed handler replays the gateway's):\n\n```\n")
	_ = st.preflightHeader.Write(&b)
	b.WriteString("```\n")
	for _, r := range results {
		if r.FirstError != "" {
			fmt.Fprintf(&b, "\n%s (%s) failed: %s\n", r.Comparison, r.Tool, r.FirstError)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
