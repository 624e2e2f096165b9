package gateway

import (
	"slices"
	"strings"
	"sync/atomic"
)

// A requestKind says what kind of request a decision was made on.
type requestKind uint8

const (
	kindNone      requestKind = iota // no Origin header: not a CORS request
	kindActual                       // an actual request with an Origin header
	kindPreflight                    // a CORS preflight

	numKinds
)

func (k requestKind) String() string {
	switch k {
	case kindActual:
		return "actual"
	case kindPreflight:
		return "preflight"
	}
	return "none"
}

// counters count the decisions on one route, by kind, reason and whether
// report-only mode answered a refusal as allowed. Plain atomic counters in
// a fixed array: counting costs one atomic add and never allocates.
type counters [numKinds][numReasons][2]atomic.Uint64

// add counts one decision; a nil *counters counts nothing, so that a
// Gateway built without [WithDecisionCounts] pays one nil check.
func (c *counters) add(k requestKind, why reason, reportOnly bool) {
	if c == nil {
		return
	}
	i := 0
	if reportOnly {
		i = 1
	}
	c[k][why][i].Add(1)
}

// count counts a decision in c, unless g is explaining.
func (g *Gateway) count(c *counters, k requestKind, why reason, reportOnly bool) {
	if !g.explaining {
		c.add(k, why, reportOnly)
	}
}

// WithDecisionCounts makes the gateway count its decisions per procedure,
// for [Gateway.DecisionCounts]: typically to export them as metrics.
// Counting costs an atomic add per request.
func WithDecisionCounts() Option {
	return optionFunc(func(c *config) { c.counting = true })
}

// A DecisionCount is the number of requests to one procedure that got one
// decision, as [Gateway.DecisionCounts] reports it.
type DecisionCount struct {
	// Procedure is the procedure's path, the service's path ("/pkg.Svc/")
	// for paths under it that name no method, or "" for preflights to paths
	// under no service with a policy.
	Procedure string
	// Request is "preflight", "actual" (an actual request with an Origin
	// header) or "none" (no Origin header: not a CORS request).
	Request string
	// Decision is "allowed", "refused", "would_refuse" (refused by a policy
	// in report-only mode, and answered as allowed) or "not_cors".
	Decision string
	// Reason is "allowed", "not_cors" or why the request was refused:
	// "origin_not_allowed", "method_not_allowed", "header_not_allowed", ...
	Reason string
	// Count is the number of such requests since the Gateway was built.
	Count uint64
}

// DecisionCounts returns every non-zero decision count, sorted by
// procedure, request kind and reason. It returns nil unless the Gateway was
// built with [WithDecisionCounts]. It is safe to call while serving.
func (g *Gateway) DecisionCounts() []DecisionCount {
	if g.unrouted == nil {
		return nil
	}
	var out []DecisionCount
	collect := func(procedure string, c *counters) {
		for k := range numKinds {
			for why := range numReasons {
				for ro := range 2 {
					n := c[k][why][ro].Load()
					if n == 0 {
						continue
					}
					d := DecisionCount{Procedure: procedure, Request: k.String(), Reason: why.code(), Count: n}
					switch {
					case why == notCORS:
						d.Decision = "not_cors"
					case ro == 1:
						d.Decision = "would_refuse"
					case why == allowed:
						d.Decision = "allowed"
					default:
						d.Decision = "refused"
					}
					out = append(out, d)
				}
			}
		}
	}
	collect("", g.unrouted)
	for path, svc := range g.services {
		if svc.fallback != nil {
			collect(path, svc.fallback.counts)
		}
	}
	for path, rt := range g.procedures {
		collect(path, rt.counts)
	}
	slices.SortFunc(out, func(a, b DecisionCount) int {
		if c := strings.Compare(a.Procedure, b.Procedure); c != 0 {
			return c
		}
		if c := strings.Compare(a.Request, b.Request); c != 0 {
			return c
		}
		if c := strings.Compare(a.Decision, b.Decision); c != 0 {
			return c
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	return out
}
