package gateway

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/gateway/internal/headerlist"
	"github.com/portico-dev/portico/gateway/internal/origin"
	"github.com/portico-dev/portico/gateway/policy"
)

// reportable reports whether report-only mode may answer a refused
// preflight as allowed. checkPreflight stops at the first failed check, so
// every check runs again here: only the policy's own choices may be lifted
// (which origins, methods, headers and private network access it allows),
// and only for values that can be echoed safely. Requests that no policy
// can allow (no Origin, "null", several origins, an Origin that is not a
// serialized origin, several request methods or one that is not a token,
// an over-long or malformed header list, an unknown or non-browser-callable
// procedure) are refused whatever the mode. This is the refusal path: it
// may allocate.
func (rt *route) reportable(origins, methods []string, req http.Header) bool {
	if !rt.callable || !echoableOrigin(origins) {
		return false
	}
	if len(methods) != 1 || !isToken(methods[0]) {
		return false
	}
	if values, ok := req[headerRequestHeaders]; ok {
		switch outcome, _ := rt.allowHeaders.Accepts(values); outcome {
		case headerlist.TooLong, headerlist.TooManyEmpty:
			return false
		case headerlist.NotAllowed:
			// Accepts stopped at the first name not allowed: the rest of
			// the list has not been bounded yet.
			if !echoableList(values) {
				return false
			}
		}
	}
	return true
}

// echoableOrigin reports whether origins is one serialized origin, as a
// browser sends it, which report-only mode may echo although no pattern
// allows it.
func echoableOrigin(origins []string) bool {
	if !wellFormed(origins) {
		return false
	}
	p, err := origin.Parse(origins[0])
	return err == nil && !p.IsWildcard()
}

// echoableList reports whether header list lines hold only names (HTTP
// tokens) between commas and spaces, so that echoing them adds nothing but
// names. It bounds the empty items as [headerlist.Set.Accepts] does, too.
func echoableList(values []string) bool {
	empty := 0
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			switch item = strings.Trim(item, " \t"); {
			case item == "":
				empty++
			case !policy.IsToken(item):
				return false
			}
		}
	}
	return empty <= headerlist.MaxEmpty
}

// maxEchoedMethod bounds the request method report-only mode echoes.
const maxEchoedMethod = 32

func isToken(s string) bool { return len(s) <= maxEchoedMethod && policy.IsToken(s) }

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
