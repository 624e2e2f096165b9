package main

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// BenchmarkColdStart measures what a Cloud Run cold start costs the
// process: from exec to the first served request (a gRPC health check over
// h2c, on a fresh data directory), and reports it as ms/start. Run it
// without -race for the figures that matter (TestDockerfile reports the
// release binary's size):
//
//	go test -run '^$' -bench ColdStart -benchtime 20x ./cmd/portico
func BenchmarkColdStart(b *testing.B) {
	var total time.Duration
	for b.Loop() {
		cmd := exec.Command(binary)
		cmd.Env = childEnv(b)
		start := time.Now()
		s := startProcess(b, cmd)
		c := dialH2C(b, s)
		c.check(1)
		total += time.Since(start)
		_ = c.conn.Close()
		b.StopTimer()
		s.stop(b, os.Interrupt)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1e3/float64(b.N), "ms/start")
}
