package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/gateway/internal/headerlist"
	"github.com/portico-dev/portico/gateway/internal/memo"
	"github.com/portico-dev/portico/gateway/internal/origin"
	"github.com/portico-dev/portico/gateway/policy"
)

// Canonical header keys, spelled as http.CanonicalHeaderKey would, so that
// the hot path indexes header maps directly.
const (
	headerOrigin                = "Origin"
	headerVary                  = "Vary"
	headerRequestMethod         = "Access-Control-Request-Method"
	headerRequestHeaders        = "Access-Control-Request-Headers"
	headerRequestPrivateNetwork = "Access-Control-Request-Private-Network"
	headerAllowOrigin           = "Access-Control-Allow-Origin"
	headerAllowCredentials      = "Access-Control-Allow-Credentials"
	headerAllowMethods          = "Access-Control-Allow-Methods"
	headerAllowHeaders          = "Access-Control-Allow-Headers"
	headerAllowPrivateNetwork   = "Access-Control-Allow-Private-Network"
	headerExposeHeaders         = "Access-Control-Expose-Headers"
	headerMaxAge                = "Access-Control-Max-Age"
)

// Shared header values. Each slice has its capacity equal to its length, so
// that a handler appending to a header we set (Header.Add, or append) copies
// instead of writing into memory shared by all requests. Handlers may add,
// replace or delete these headers, but must not write into the slices in
// place; precomputed values are what keep the hot path allocation-free, as
// in rs/cors.
var (
	valueTrue          = []string{"true"}
	valueStar          = []string{"*"}
	valueVaryOrigin    = []string{"Origin"}
	valueVaryPreflight = []string{"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"}
)

// A route is the run-time form of a [policy.Method]: the matcher and header
// values the hot path needs, built once by [New].
type route struct {
	policy  *policy.Method
	service *service
	// fallback marks the route of a service's unknown methods: actual
	// requests get its headers, preflights a 404.
	fallback bool

	callable     bool
	public       bool
	credentials  bool
	allowGET     bool
	privateNet   bool
	origins      *origin.Matcher
	allowHeaders headerlist.Set
	// acceptedLists remembers the Access-Control-Request-Headers lines
	// browsers send again and again.
	acceptedLists memo.Memo
	// reportOnly answers the refusals that [reportable] allows as if they
	// were allowed; reportOnlySource says who decided the mode.
	reportOnly       bool
	reportOnlySource string
	// counts is nil unless the gateway counts decisions.
	counts *counters
	// originSources lists each allowed origin pattern as written, with
	// where it comes from, for explanations.
	originSources []originSource

	allowMethodsValue []string
	allowHeadersValue []string
	exposeValue       []string
	maxAgeValue       []string
}

// A service is a mounted protobuf service: its handler and the route for
// paths under it that name no known method.
type service struct {
	name     string
	handler  http.Handler
	fallback *route
}

// An originSource is one allowed origin pattern, as written, and where it
// was written: the .proto option, or the binding of an origin set.
type originSource struct {
	pattern string
	source  string
	set     string // the origin set bound, "" for the .proto's origins
}

// A boundPattern is one member of an origin set, bound by a deployment.
type boundPattern struct {
	raw      string
	source   string
	patterns []origin.Pattern
}

func newRoute(m *policy.Method, svc *service, bound map[string][]boundPattern) (*route, error) {
	rt := &route{policy: m, service: svc, callable: m.BrowserCallable}
	if !rt.callable {
		return rt, nil
	}
	rt.public = m.Public
	rt.credentials = m.AllowCredentials
	rt.privateNet = m.AllowPrivateNetwork
	var patterns []origin.Pattern
	var errs []error
	declared := m.DeclaredAt("origins")
	for _, raw := range m.Origins {
		ps, err := origin.ParseList(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.Procedure, err))
			continue
		}
		patterns = append(patterns, ps...)
		rt.originSources = append(rt.originSources, originSource{pattern: raw, source: declared})
	}
	if m.OriginSet != "" {
		for _, b := range bound[m.OriginSet] {
			patterns = append(patterns, b.patterns...)
			rt.originSources = append(rt.originSources, originSource{pattern: b.raw, source: b.source, set: m.OriginSet})
		}
	}
	rt.origins = origin.NewMatcher(patterns...)

	for _, name := range splitList(m.AllowMethods) {
		switch name {
		case http.MethodGet:
			rt.allowGET = true
		case http.MethodPost:
		default:
			errs = append(errs, fmt.Errorf("%s: method %q cannot carry an RPC", m.Procedure, name))
		}
	}
	rt.allowHeaders = headerlist.NewSet(splitList(m.AllowHeaders)...)
	rt.allowMethodsValue = single(m.AllowMethods)
	rt.allowHeadersValue = single(m.AllowHeaders)
	rt.exposeValue = single(m.ExposeHeaders)
	rt.maxAgeValue = single(m.MaxAge)
	return rt, errors.Join(errs...)
}

// single returns a one-element header value, or nil for "".
func single(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

// splitList splits a ", "-joined list as the policy compiler writes it. Only
// used at construction, on trusted input.
func splitList(v string) []string {
	if v == "" {
		return nil
	}
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// decorate adds the CORS headers of an actual (non-preflight) request with an
// Origin header, before the handler runs, so that every response carries
// them: errors included. It reports whether the origin was refused.
func (rt *route) decorate(h http.Header, origins []string) (refused bool) {
	if !rt.callable {
		return false
	}
	// Every response to an Origin depends on it, even a public one's, which
	// answers "*" only when Origin is present, so caches must key on it.
	addVary(h, valueVaryOrigin)
	if len(origins) == 0 {
		return false
	}
	if rt.public {
		if !wellFormed(origins) {
			return true
		}
		h[headerAllowOrigin] = valueStar
	} else if rt.origins.Match(origins) {
		// Echo the request's own slice: it holds exactly the one allowed origin.
		h[headerAllowOrigin] = origins
		if rt.credentials {
			h[headerAllowCredentials] = valueTrue
		}
	} else {
		return true
	}
	if rt.exposeValue != nil {
		h[headerExposeHeaders] = rt.exposeValue
	}
	return false
}

// checkPreflight decides a preflight, given the values of its Origin and
// Access-Control-Request-Method headers. On refusal it returns the reason
// and, where one is to blame, the offending value.
func (rt *route) checkPreflight(origins, methods []string, req http.Header) (reason, string) {
	if !rt.callable {
		return notBrowserCallable, rt.policy.NotCallableReason
	}
	if rt.public {
		if !wellFormed(origins) {
			return originRefusal(origins), ""
		}
	} else if !rt.origins.Match(origins) {
		return originRefusal(origins), ""
	}
	if len(methods) != 1 {
		return methodMultiple, ""
	}
	switch methods[0] {
	case http.MethodPost:
	case http.MethodGet:
		if !rt.allowGET {
			return methodNotAllowed, methods[0]
		}
	default:
		return methodNotAllowed, methods[0]
	}
	if values, ok := req[headerRequestHeaders]; ok && !(len(values) == 1 && rt.acceptedLists.Contains(values[0])) {
		switch outcome, bad := rt.allowHeaders.Accepts(values); outcome {
		case headerlist.Accepted:
			if len(values) == 1 {
				rt.acceptedLists.Add(values[0])
			}
		case headerlist.NotAllowed:
			return headerNotAllowed, bad
		case headerlist.TooLong:
			return headersTooLong, ""
		default:
			return headersTooManyEmpty, ""
		}
	}
	if pna, ok := req[headerRequestPrivateNetwork]; ok && len(pna) > 0 && pna[0] == "true" && !rt.privateNet {
		return privateNetworkNotAllowed, ""
	}
	return allowed, ""
}

// writePreflight writes the headers of an approved preflight.
func (rt *route) writePreflight(h http.Header, origins []string, req http.Header) {
	if rt.public {
		h[headerAllowOrigin] = valueStar
	} else {
		h[headerAllowOrigin] = origins
		if rt.credentials {
			h[headerAllowCredentials] = valueTrue
		}
	}
	h[headerAllowMethods] = rt.allowMethodsValue
	if rt.allowHeadersValue != nil {
		h[headerAllowHeaders] = rt.allowHeadersValue
	}
	if rt.maxAgeValue != nil {
		h[headerMaxAge] = rt.maxAgeValue
	}
	if rt.privateNet {
		if pna, ok := req[headerRequestPrivateNetwork]; ok && len(pna) > 0 && pna[0] == "true" {
			h[headerAllowPrivateNetwork] = valueTrue
		}
	}
}

// wellFormed reports whether origins is one plausible origin: what a public
// procedure accepts. Like every other policy, it never approves "null", an
// empty Origin, two Origin headers or a list in one.
func wellFormed(origins []string) bool {
	return len(origins) == 1 && originRefusal(origins) == originNotAllowed
}

// originRefusal names precisely why origins were not matched. Only called on
// the refusal path.
func originRefusal(origins []string) reason {
	switch {
	case len(origins) > 1:
		return originMultiple
	case len(origins) == 0 || origins[0] == "":
		return originMissing
	case origins[0] == "null":
		return originNull
	case strings.ContainsAny(origins[0], ", "):
		return originList
	}
	return originNotAllowed
}

// addVary adds v to the response's Vary header. The gateway runs before the
// handler, so the header map is usually still empty: len is free, a lookup
// is not.
func addVary(h http.Header, v []string) {
	if len(h) > 0 {
		if old := h[headerVary]; len(old) > 0 {
			h[headerVary] = append(old, v...)
			return
		}
	}
	h[headerVary] = v
}
