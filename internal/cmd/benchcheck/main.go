// Command benchcheck checks the output of Portico's CORS benchmarks against
// the targets of issue 8 and prints the verdicts as a Markdown table (see
// package internal/benchcheck). It exits 1 if a target is missed, so
// scripts that only report should ignore its status.
//
// Usage:
//
//	go test -run '^$' -bench 'BenchmarkCORS|BenchmarkProcedures' -benchmem -count 6 ./gateway/ > bench.txt
//	go run ./internal/cmd/benchcheck bench.txt
package main

import (
	"fmt"
	"os"
	"slices"

	"github.com/portico-dev/portico/internal/benchcheck"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: benchcheck BENCH_OUTPUT")
		os.Exit(2)
	}
	met, err := run(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchcheck:", err)
		os.Exit(2)
	}
	if !met {
		os.Exit(1)
	}
}

func run(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	s, err := benchcheck.Parse(f)
	if err != nil {
		return false, err
	}
	if len(s) == 0 {
		return false, fmt.Errorf("%s: no benchmark results", path)
	}
	checks := slices.Concat(benchcheck.Issue8, benchcheck.Pairs(s, benchcheck.Issue8))
	return benchcheck.WriteMarkdown(os.Stdout, s, checks)
}
