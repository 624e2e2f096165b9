package gateway

import "net/http"

// A Decision is the gateway's CORS verdict on one request that carries an
// Origin header, as an observer set with [WithObserver] receives it. The
// zero Decision is an actual (non-preflight) request that was refused for an
// unstated reason.
type Decision struct {
	// Preflight is true for a CORS preflight, which the gateway answered
	// itself, and false for an actual request, which goes on to the handler.
	Preflight bool
	// Allowed reports whether the response grants the origin access.
	Allowed bool
	// Reason is "allowed", or why the request was refused, in the same
	// words as the refusal log lines ("origin not allowed", ...). In
	// report-only mode it is "would refuse: " and the reason.
	Reason string
	// ReportOnly reports that the policy refused the request but, being in
	// report-only mode, the gateway answered as if it were allowed.
	ReportOnly bool
}

// An Observer receives the [Decision] on each request that has an Origin
// header and reaches a procedure with a policy, before the handler runs. It
// is called on the request's goroutine, so it must be fast and safe for
// concurrent use.
type Observer func(*http.Request, Decision)

// WithObserver sets a function told of every CORS decision, typically to
// add it to the request's access log line. The default is none; a nil
// observer is none. The gateway calls it only for requests with an Origin
// header, and without allocating.
func WithObserver(observe Observer) Option {
	return optionFunc(func(c *config) { c.observer = observe })
}

// decided tells the observer, if any, of a decision.
func (g *Gateway) decided(r *http.Request, preflight bool, why reason, reportOnly bool) {
	if g.observer != nil {
		d := Decision{Preflight: preflight, Allowed: why == allowed || reportOnly, Reason: why.String(), ReportOnly: reportOnly}
		if reportOnly {
			d.Reason = "would refuse: " + d.Reason
		}
		g.observer(r, d)
	}
}
