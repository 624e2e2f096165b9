// Command loadgen runs Portico's loopback load comparisons for
// BENCHMARKS.md, in-process on 127.0.0.1 listeners:
//
//   - unary: GetPublicProfile as a Connect unary POST, without Origin and
//     from an allowed Origin, through the gateway (with the real connect
//     handler, interceptors and service on SQLite) against the same handler
//     mounted bare on an [http.ServeMux];
//   - preflight: the gateway answering the seed preflight of UpdateProfile
//     against a handler that writes the same 204 from precomputed headers;
//
// each over HTTP/1.1 keep-alive and over h2c, alternating A and B in short
// rounds (see package internal/loadgen). An A/A control, the fixed 204
// against a copy of itself over HTTP/1.1, shows what the machine alone does
// to a ratio. With wrk on $PATH, the HTTP/1.1 comparisons run again under
// wrk.
// It prints Markdown to stdout and fails if any request fails.
//
// Usage:
//
//	go run ./internal/cmd/loadgen [-rounds 10] [-round 2s] [-c 32] [-run REGEXP] [-wrk auto|off|PATH]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"time"

	"github.com/portico-dev/portico/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	cfg       loadgen.Config
	codec     string
	only      *regexp.Regexp
	control   bool
	wrk       string
	wrkRounds int
	target    float64
	maxTime   time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.IntVar(&o.cfg.Rounds, "rounds", loadgen.DefaultRounds, "rounds per side and comparison")
	fs.DurationVar(&o.cfg.Round, "round", loadgen.DefaultRound, "length of one side's round")
	fs.IntVar(&o.cfg.RoundRequests, "requests", loadgen.DefaultRoundRequests, "at most this many requests per side and round")
	fs.DurationVar(&o.cfg.Warmup, "warmup", loadgen.DefaultWarmup, "unrecorded warm-up per side and comparison (negative: none)")
	fs.IntVar(&o.cfg.Concurrency, "c", loadgen.DefaultConcurrency, "requests in flight (client goroutines; HTTP/1.1 connections)")
	fs.StringVar(&o.codec, "codec", "json", "codec of the unary calls: json or proto")
	run := fs.String("run", "", "run only the comparisons whose name matches this regexp")
	fs.BoolVar(&o.control, "control", true, "also run an A/A control over HTTP/1.1: the fixed 204 against a copy of itself")
	fs.StringVar(&o.wrk, "wrk", "auto", `wrk for a second opinion on HTTP/1.1: "auto" (if on $PATH), "off", or its path`)
	fs.IntVar(&o.wrkRounds, "wrk-rounds", 4, "rounds per side of each wrk comparison")
	fs.Float64Var(&o.target, "target", 0.97, "B/A each comparison should reach (issue 8)")
	fs.DurationVar(&o.maxTime, "max-time", 0, "stop after this long (0: the rounds' worst case plus a minute)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.codec != "json" && o.codec != "proto" {
		return nil, fmt.Errorf("-codec %q: want json or proto", o.codec)
	}
	var err error
	if o.only, err = regexp.Compile(*run); err != nil {
		return nil, fmt.Errorf("-run: %w", err)
	}
	if o.cfg.Rounds <= 0 || o.cfg.Round <= 0 || o.cfg.RoundRequests <= 0 || o.cfg.Concurrency <= 0 {
		return nil, errors.New("-rounds, -round, -requests and -c must be positive")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	st, err := newStack(ctx)
	if err != nil {
		return err
	}
	defer st.close()

	comparisons, err := st.comparisons(ctx, o)
	if err != nil {
		return err
	}
	if len(comparisons) == 0 {
		return fmt.Errorf("-run %q matches no comparison", o.only)
	}
	wrk := findWrk(o.wrk)
	wrkCfg := loadgen.WrkConfig{Binary: wrk, Config: o.cfg}
	wrkCfg.Rounds = o.wrkRounds

	maxTime := o.maxTime
	if maxTime <= 0 {
		maxTime = time.Minute
		for _, c := range comparisons {
			maxTime += o.cfg.MaxDuration()
			if wrk != "" && c.protocol == loadgen.HTTP1 {
				maxTime += wrkCfg.MaxDuration()
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, maxTime)
	defer cancel()

	var results []*loadgen.Result
	var errs []error
	for _, c := range comparisons {
		fmt.Fprintf(stderr, "loadgen: %s: %d rounds of %v a side\n", c.Name, o.cfg.Rounds, o.cfg.Round)
		res, err := loadgen.Compare(ctx, c.Comparison, o.cfg)
		results = append(results, res)
		errs = append(errs, err)
		if wrk != "" && c.protocol == loadgen.HTTP1 {
			fmt.Fprintf(stderr, "loadgen: %s: wrk, %d rounds of %v a side\n", c.Name, wrkCfg.Rounds, o.cfg.Round)
			res, err := loadgen.CompareWrk(ctx, c.Comparison, wrkCfg)
			results = append(results, res)
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err := writeReport(stdout, o, st, results, wrk); err != nil {
		return err
	}
	return errors.Join(errs...)
}
