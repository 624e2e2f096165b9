package gateway

import (
	"fmt"
	"net/http"
	"strings"
)

// reportable reports whether report-only mode may answer a refusal as
// allowed. Only the policy's own choices qualify: which origins, methods,
// headers and private network access it allows. Requests that no policy can
// allow (no Origin, "null", several origins, several request methods, an
// over-long header list, an unknown or non-browser-callable procedure) are
// refused whatever the mode, and so is a requested method that is not a
// token, which would not be echoed.
func reportable(why reason, methods []string) bool {
	switch why {
	case originNotAllowed, headerNotAllowed, privateNetworkNotAllowed:
		return true
	case methodNotAllowed:
		return len(methods) == 1 && isToken(methods[0])
	}
	return false
}

// maxEchoedMethod bounds the request method report-only mode echoes.
const maxEchoedMethod = 32

func isToken(s string) bool {
	if s == "" || len(s) > maxEchoedMethod {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// decorateReportOnly grants an actual request that the policy refused by
// origin, as if the origin were allowed: [route.decorate] has added Vary.
func (rt *route) decorateReportOnly(h http.Header, origins []string) {
	h[headerAllowOrigin] = origins
	if rt.credentials {
		h[headerAllowCredentials] = valueTrue
	}
	if rt.exposeValue != nil {
		h[headerExposeHeaders] = rt.exposeValue
	}
}

// writeReportOnlyPreflight answers a preflight the policy refused as if it
// were allowed: it echoes the origin, and adds the requested method and
// headers to the policy's own. The request headers have been bounded by
// [route.checkPreflight], and net/http only hands over valid field values,
// so echoing them is safe. This path allocates; it is the refusal path.
func (rt *route) writeReportOnlyPreflight(h http.Header, origins []string, method string, req http.Header) {
	h[headerAllowOrigin] = origins
	if rt.credentials {
		h[headerAllowCredentials] = valueTrue
	}
	allowMethods := rt.policy.AllowMethods
	if !containsFold(allowMethods, method) {
		allowMethods += ", " + method
	}
	h[headerAllowMethods] = []string{allowMethods}
	allowHeaders := rt.policy.AllowHeaders
	for _, v := range req[headerRequestHeaders] {
		if v = strings.Trim(v, " ,\t"); v != "" {
			if allowHeaders != "" {
				allowHeaders += ", "
			}
			allowHeaders += v
		}
	}
	if allowHeaders != "" {
		h[headerAllowHeaders] = []string{allowHeaders}
	}
	if rt.maxAgeValue != nil {
		h[headerMaxAge] = rt.maxAgeValue
	}
	if pna, ok := req[headerRequestPrivateNetwork]; ok && len(pna) > 0 && pna[0] == "true" {
		h[headerAllowPrivateNetwork] = valueTrue
	}
}

// containsFold reports whether the ", "-joined list holds name, ignoring
// case.
func containsFold(list, name string) bool {
	for item := range strings.SplitSeq(list, ",") {
		if strings.EqualFold(strings.TrimSpace(item), name) {
			return true
		}
	}
	return false
}

// WithReportOnly overrides the report_only option of the policies for one
// deployment. target is a service ("pkg.Service") or a procedure
// ("/pkg.Service/Method"); a procedure's override wins over its service's,
// which wins over the .proto. source names where the override comes from,
// such as an environment variable or a file line, for errors and
// explanations. [New] fails if target names no service or procedure with a
// policy.
func WithReportOnly(target string, on bool, source string) Option {
	return optionFunc(func(c *config) {
		c.reportOnly = append(c.reportOnly, reportOnlyOverride{target: target, on: on, source: source})
	})
}

type reportOnlyOverride struct {
	target string
	on     bool
	source string
}

// applyReportOnly sets each route's mode: the .proto's, then the service
// overrides, then the procedure overrides.
func (g *Gateway) applyReportOnly(overrides []reportOnlyOverride) []error {
	var errs []error
	for _, rt := range g.allRoutes() {
		rt.reportOnly = rt.callable && rt.policy.ReportOnly
		if rt.reportOnly {
			rt.reportOnlySource = rt.policy.DeclaredAt("report_only")
		}
	}
	for _, procedures := range []bool{false, true} {
		for _, o := range overrides {
			isProcedure := strings.HasPrefix(o.target, "/")
			if isProcedure != procedures {
				continue
			}
			var routes []*route
			if isProcedure {
				if rt, ok := g.procedures[o.target]; ok {
					routes = []*route{rt}
				}
			} else if svc, ok := g.services["/"+o.target+"/"]; ok && svc.fallback != nil {
				routes = append(routes, svc.fallback)
				for _, rt := range g.procedures {
					if rt.service == svc {
						routes = append(routes, rt)
					}
				}
			}
			if len(routes) == 0 {
				errs = append(errs, fmt.Errorf("%s: report-only target %q names no service (pkg.Service) or procedure (/pkg.Service/Method) with a CORS policy", o.source, o.target))
				continue
			}
			for _, rt := range routes {
				rt.reportOnly = rt.callable && o.on
				rt.reportOnlySource = o.source
			}
		}
	}
	return errs
}

// allRoutes lists every route: procedures and service fallbacks.
func (g *Gateway) allRoutes() []*route {
	out := make([]*route, 0, len(g.procedures)+len(g.services))
	for _, svc := range g.services {
		if svc.fallback != nil {
			out = append(out, svc.fallback)
		}
	}
	for _, rt := range g.procedures {
		out = append(out, rt)
	}
	return out
}
