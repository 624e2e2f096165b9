package gateway

// OriginAllowed reports whether the CORS policy of procedure
// ("/pkg.Service/Method") grants origins, the values of a request's Origin
// header, access to its responses, exactly as the gateway decides on an
// actual request: a public procedure allows any one well-formed origin; any
// other allows the origins its policy and origin set bindings name; a path
// under a service with a policy that names no method of it gets the
// service's policy; in report-only mode, any one well-formed origin is
// allowed, as the CORS answers allow it. It reports false for a path outside every policy, a
// procedure that is not browser-callable, no origin, "null", several Origin
// headers, or a list in one.
//
// It is the query a cross-site request forgery guard needs to let the
// frontends a policy names through (package csrf), with the same origin
// matching as CORS itself. It does not allocate, and is safe for concurrent
// use once the Gateway is built.
func (g *Gateway) OriginAllowed(procedure string, origins []string) bool {
	rt, _ := g.policyOf(procedure)
	if rt == nil || !rt.callable {
		return false
	}
	if rt.public {
		return wellFormed(origins)
	}
	// Report-only mode answers an unlisted origin as allowed; a guard that
	// refused it would enforce the policy being trialled.
	return rt.origins.Match(origins) || rt.reportOnly && wellFormed(origins)
}
