package main

import (
	"context"
	"strings"
	"testing"
)

// TestRun runs every comparison with a budget
// of a few requests: it checks the wiring (both sides answer alike, over the
// protocol asked for), not the figures.
func TestRun(t *testing.T) {
	t.Parallel()
	var stdout, stderr strings.Builder
	args := []string{"-rounds", "2", "-round", "10s", "-requests", "20", "-warmup", "-1s", "-c", "4", "-wrk", "off"}
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	for _, name := range []string{
		"unary-json-no-origin/h1", "unary-json-origin/h1", "preflight/h1",
		"unary-json-no-origin/h2c", "unary-json-origin/h2c", "preflight/h2c",
		"control-fixed-204/h1",
	} {
		if !strings.Contains(stdout.String(), "| "+name+" | loadgen | ") {
			t.Errorf("no row for %s in\n%s", name, stdout.String())
		}
	}
	if strings.Contains(stdout.String(), "control-fixed-204/h2c") {
		t.Error("control over h2c, want HTTP/1.1 only")
	}
	if !strings.Contains(stdout.String(), "Access-Control-Max-Age: 3600") {
		t.Errorf("no preflight header in\n%s", stdout.String())
	}
}

func TestRunProto(t *testing.T) {
	t.Parallel()
	var stdout, stderr strings.Builder
	args := []string{"-rounds", "1", "-round", "10s", "-requests", "10", "-warmup", "-1s", "-c", "2", "-wrk", "off", "-codec", "proto", "-run", "unary.*origin/h2c"}
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "| unary-proto-origin/h2c | loadgen | ") || strings.Contains(stdout.String(), "/h1 |") {
		t.Errorf("-run: got\n%s", stdout.String())
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-codec", "xml"}, {"-run", "("}, {"-rounds", "0"}, {"extra"}} {
		var stderr strings.Builder
		if _, err := parseFlags(args, &stderr); err == nil {
			t.Errorf("parseFlags(%q): no error", args)
		}
	}
}
