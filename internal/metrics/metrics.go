// Package metrics exports the server's metrics in the Prometheus exposition
// format: the gateway's CORS decision counters, and the Go runtime's and the
// process's standard metrics (goroutines, heap, CPU, open files).
//
// Prometheus rather than OpenTelemetry: on Cloud Run, Google Cloud Managed
// Service for Prometheus runs as a sidecar that scrapes a container's
// /metrics over the instance's loopback and writes to Cloud Monitoring, so
// the server needs no exporter, credentials or push pipeline, only a handler;
// the same endpoint serves a local Prometheus or curl unchanged.
// client_golang is the reference implementation of the format.
package metrics

import (
	"net/http"

	"github.com/portico-dev/portico/gateway"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// decisionsDesc describes portico_cors_decisions_total.
var decisionsDesc = prometheus.NewDesc(
	"portico_cors_decisions_total",
	"CORS decisions of the gateway, per procedure: request is preflight, actual (with an Origin header) or none (no Origin: not a CORS request); decision is allowed, refused, would_refuse (refused by a report-only policy, answered as allowed) or not_cors; reason is allowed, not_cors or why it was refused (origin_not_allowed, method_not_allowed, header_not_allowed, ...).",
	[]string{"procedure", "request", "decision", "reason"}, nil,
)

// decisions collects the gateway's counters when scraped: the gateway
// counts with plain atomics, and only a scrape pays for labels.
type decisions struct{ gw *gateway.Gateway }

func (d decisions) Describe(ch chan<- *prometheus.Desc) { ch <- decisionsDesc }

func (d decisions) Collect(ch chan<- prometheus.Metric) {
	for _, c := range d.gw.DecisionCounts() {
		procedure := c.Procedure
		if procedure == "" {
			procedure = "unknown"
		}
		ch <- prometheus.MustNewConstMetric(decisionsDesc, prometheus.CounterValue, float64(c.Count),
			procedure, c.Request, c.Decision, c.Reason)
	}
}

// NewRegistry returns a registry of the gateway's decision counters (the
// gateway must count them: gateway.WithDecisionCounts) and the Go and
// process collectors.
func NewRegistry(gw *gateway.Gateway) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		decisions{gw},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Handler serves the registry's metrics at any path; mount it at /metrics.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
