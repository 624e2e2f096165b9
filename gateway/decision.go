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
	// words as the refusal log lines ("origin not allowed", ...).
	Reason string
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
func (g *Gateway) decided(r *http.Request, preflight bool, why reason) {
	if g.observer != nil {
		g.observer(r, Decision{Preflight: preflight, Allowed: why == allowed, Reason: why.String()})
	}
}

// actualReason is why an actual request with an Origin header was or was not
// granted access, once [route.decorate] has run.
func (rt *route) actualReason(refused bool, origins []string) reason {
	switch {
	case !rt.callable:
		return notBrowserCallable
	case refused:
		return originRefusal(origins)
	}
	return allowed
}
