package gateway

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"

	"github.com/portico-dev/portico/gateway/internal/origin"
)

// A Query is a browser call for [Gateway.Explain] to simulate.
type Query struct {
	// Procedure is the path called, "/pkg.Service/Method".
	Procedure string `json:"procedure"`
	// Origin is the calling page's origin, "https://app.example.com".
	Origin string `json:"origin"`
	// Method is the HTTP method: "POST" (the default) or, for Connect GET,
	// "GET".
	Method string `json:"method"`
	// RequestHeaders are the names of the headers the page's request sets,
	// which a browser lists in Access-Control-Request-Headers. CORS-safelisted
	// names (Accept, Accept-Language, Content-Language) are left out, as
	// browsers do.
	RequestHeaders []string `json:"request_headers"`
	// Credentials reports a request with credentials (fetch's credentials:
	// "include"): cookies, or HTTP authentication.
	Credentials bool `json:"credentials"`
}

// An Exchange is one request of a simulation and the gateway's answer.
type Exchange struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// Header is the request's CORS-relevant header.
	Header http.Header `json:"header"`
	// Status is the gateway's status for a preflight; 0 for an actual
	// request, whose status is the handler's.
	Status int `json:"status,omitempty"`
	// ResponseHeader holds the headers the gateway wrote.
	ResponseHeader http.Header `json:"response_header"`
}

// An Explanation is the outcome of a simulated browser call, decided by the
// same code that serves requests.
type Explanation struct {
	// Allowed reports whether the browser lets the page read the response.
	Allowed bool `json:"allowed"`
	// ReportOnly reports that the policy refuses the call but report-only
	// mode answers as if it were allowed (Allowed is then true).
	ReportOnly bool `json:"report_only"`
	// Reason is "allowed" or why the call fails, in the words of the
	// gateway's log lines or, for a check only the browser makes, in the
	// browser's terms.
	Reason string `json:"reason"`
	// Rule states the part of the policy that decides, with the values
	// involved.
	Rule string `json:"rule,omitempty"`
	// From says where that rule is declared: .proto positions (service or
	// method option), origin set bindings, report-only overrides.
	From string `json:"from,omitempty"`
	// Preflight is the preflight exchange, nil if the browser sends none.
	Preflight *Exchange `json:"preflight"`
	// Actual is the actual request and the CORS headers the gateway adds to
	// its response, nil if the preflight failed.
	Actual *Exchange `json:"actual"`
}

// safelistedNames are request headers that never need a preflight
// (https://fetch.spec.whatwg.org/#cors-safelisted-request-header), for the
// values pages send. Content-Type is left out: Connect and gRPC-Web send
// values that are not safelisted.
var safelistedNames = []string{"accept", "accept-language", "content-language"}

// Explain simulates a browser calling q.Procedure from q.Origin: the
// preflight the browser would send (if any), the gateway's answer, the
// browser's CORS check of it, then the actual request and the check of its
// response headers. It runs the gateway's own preflight and decoration code,
// without calling any handler, logging, observing or counting.
func (g *Gateway) Explain(q Query) Explanation {
	quiet := *g
	quiet.logger = slog.New(slog.DiscardHandler)
	quiet.observer = nil
	quiet.explaining = true
	return quiet.explain(q)
}

func (g *Gateway) explain(q Query) Explanation {
	method := strings.ToUpper(q.Method)
	if method == "" {
		method = http.MethodPost
	}
	var names []string
	for _, n := range q.RequestHeaders {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" && !slices.Contains(safelistedNames, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	rt, _ := g.policyOf(q.Procedure)
	if rt != nil && rt.fallback {
		rt = nil // a service path, or an unknown method under it
	}
	origins := []string{q.Origin}
	var ex Explanation

	simple := (method == http.MethodGet || method == http.MethodHead || method == http.MethodPost) && len(names) == 0
	if !simple {
		req := httptest.NewRequest(http.MethodOptions, "http://portico.invalid"+q.Procedure, nil)
		req.Header.Set(headerOrigin, q.Origin)
		req.Header.Set(headerRequestMethod, method)
		if len(names) > 0 {
			req.Header.Set(headerRequestHeaders, strings.Join(names, ","))
		}
		rec := httptest.NewRecorder()
		why, detail := g.preflight(rec, req, rt, origins, req.Header[headerRequestMethod])
		ex.Preflight = &Exchange{Method: http.MethodOptions, Path: q.Procedure, Header: req.Header, Status: rec.Code, ResponseHeader: rec.Header()}
		if why != allowed {
			ex.explainRefusal(rt, why, detail, q, method, rec.Code == http.StatusNoContent)
			if !ex.ReportOnly {
				return ex
			}
		}
		if fail, rule := browserChecksPreflight(rec, q, method, names); fail != "" {
			ex.browserRefusal(rt, fail, rule)
			return ex
		}
	}

	req := httptest.NewRequest(method, "http://portico.invalid"+q.Procedure, nil)
	req.Header.Set(headerOrigin, q.Origin)
	for _, n := range names {
		req.Header.Set(n, "...")
	}
	if q.Credentials {
		req.Header.Set("Cookie", "...")
	}
	h := http.Header{}
	ex.Actual = &Exchange{Method: method, Path: q.Procedure, Header: req.Header, ResponseHeader: h}
	if rt == nil {
		ex.explainRefusal(nil, unknownProcedure, "", q, method, false)
		return ex
	}
	if simple && rt.callable && !containsFold(rt.policy.AllowMethods, method) {
		// No preflight asks, but the handler will not serve the method:
		// connect-go answers 405.
		g.actual(h, req, rt, origins)
		ex.explainRefusal(rt, methodNotAllowed, method, q, method, false)
		return ex
	}
	if why := g.actual(h, req, rt, origins); why != allowed && ex.Reason == "" {
		ex.explainRefusal(rt, why, "", q, method, h.Get(headerAllowOrigin) != "")
		if !ex.ReportOnly {
			return ex
		}
	}
	if fail, rule := browserChecksResponse(h, q); fail != "" {
		ex.browserRefusal(rt, fail, rule)
		return ex
	}
	if !ex.ReportOnly {
		ex.Allowed, ex.Reason = true, allowed.String()
		ex.Rule, ex.From = allowedRule(rt, q)
	}
	return ex
}

// browserRefusal records a check that the gateway's answer fails in the
// browser.
func (ex *Explanation) browserRefusal(rt *route, fail, rule string) {
	ex.Allowed, ex.ReportOnly, ex.Reason, ex.Rule = false, false, fail, rule
	ex.From = credentialsFrom(rt)
}

// browserChecksPreflight makes the checks a browser makes of a preflight
// answer (https://fetch.spec.whatwg.org/#cors-preflight-fetch); it returns
// "" if they pass.
func browserChecksPreflight(rec *httptest.ResponseRecorder, q Query, method string, names []string) (string, string) {
	if rec.Code < 200 || rec.Code > 299 {
		return fmt.Sprintf("preflight answered %d", rec.Code), "the browser needs a 2xx answer to its preflight"
	}
	if fail, rule := browserChecksResponse(rec.Header(), q); fail != "" {
		return fail, rule
	}
	allowMethods := rec.Header().Get(headerAllowMethods)
	if method != http.MethodGet && method != http.MethodHead && method != http.MethodPost && !containsFold(allowMethods, method) {
		return "method not allowed", fmt.Sprintf("%s is not in Access-Control-Allow-Methods: %s", method, allowMethods)
	}
	allowHeaders := rec.Header().Get(headerAllowHeaders)
	for _, n := range names {
		if !containsFold(allowHeaders, n) {
			return "request header not allowed", fmt.Sprintf("%q is not in Access-Control-Allow-Headers: %s", n, allowHeaders)
		}
	}
	return "", ""
}

// browserChecksResponse makes the CORS check of a response
// (https://fetch.spec.whatwg.org/#cors-check).
func browserChecksResponse(h http.Header, q Query) (string, string) {
	switch got := h.Get(headerAllowOrigin); {
	case got == "":
		return "no Access-Control-Allow-Origin", "the gateway did not grant the origin access"
	case got == "*" && q.Credentials:
		return "Access-Control-Allow-Origin: * with credentials",
			"the method is public, so the gateway answers Access-Control-Allow-Origin: *, which browsers refuse for a request with credentials; call it without credentials, or give it origins and allow_credentials"
	case got != "*" && got != q.Origin:
		return "Access-Control-Allow-Origin mismatch", fmt.Sprintf("Access-Control-Allow-Origin is %q, not the caller's %q", got, q.Origin)
	}
	if q.Credentials && h.Get(headerAllowCredentials) != "true" {
		return "no Access-Control-Allow-Credentials: true",
			"allow_credentials is not true for this method, so browsers refuse the response of a request with credentials; set allow_credentials: true, or call it without credentials"
	}
	return "", ""
}

// explainRefusal fills in the reason, rule and source of a refusal by the
// gateway.
// answeredAnyway reports that report-only mode answered the refusal as
// allowed, as the gateway's response shows.
func (ex *Explanation) explainRefusal(rt *route, why reason, detail string, q Query, method string, answeredAnyway bool) {
	ex.Reason = why.String()
	if answeredAnyway {
		ex.Allowed, ex.ReportOnly = true, true
		ex.Reason = "would refuse: " + ex.Reason
	}
	switch why {
	case unknownProcedure:
		ex.Rule = fmt.Sprintf("no service policy given to the gateway declares %s", q.Procedure)
		ex.From = "the services mounted (see portico cors list)"
		return
	case notBrowserCallable:
		ex.Rule = rt.policy.NotCallableReason
		ex.From = rt.policy.Source + " (method declaration)"
	case originMissing, originMultiple, originNull, originList:
		ex.Rule = fmt.Sprintf("Origin %q can never be allowed", q.Origin)
		ex.From = "the gateway's fixed rules"
	case originNotAllowed:
		var listed []string
		var from []string
		for _, o := range rt.originSources {
			listed = append(listed, o.pattern)
			if o.set != "" {
				from = append(from, fmt.Sprintf("%s: origin set %q, bound by %s", o.pattern, o.set, o.source))
			} else {
				from = append(from, fmt.Sprintf("%s: origins, %s", o.pattern, o.source))
			}
		}
		ex.Rule = fmt.Sprintf("origin %q matches none of the allowed origins [%s]", q.Origin, strings.Join(listed, ", ")) + nearMiss(q.Origin, listed)
		if set := rt.policy.OriginSet; set != "" && !slices.ContainsFunc(rt.originSources, func(o originSource) bool { return o.set == set }) {
			from = append(from, fmt.Sprintf("origin set %q (origin_set, %s) has no binding in this deployment", set, rt.policy.DeclaredAt("origin_set")))
		}
		ex.From = strings.Join(from, "; ")
	case methodNotAllowed, methodMultiple:
		ex.Rule = fmt.Sprintf("method %s is not allowed: Access-Control-Allow-Methods is %s; Connect GET needs a unary method with idempotency_level = NO_SIDE_EFFECTS and the Connect protocol", method, rt.policy.AllowMethods)
		ex.From = rt.policy.Source + " (method declaration)"
		if at := rt.policy.DeclaredAt("protocols"); at != "" {
			ex.From += "; protocols, " + at
		}
	case headerNotAllowed:
		ex.Rule = fmt.Sprintf("request header %q is not allowed: allowed are %s", detail, rt.policy.AllowHeaders)
		ex.From = "allow_headers, " + orDefault(rt.policy.DeclaredAt("allow_headers"), "not declared: only the protocol headers; add it to the service's or the method's option")
	case headersTooLong, headersTooManyEmpty:
		ex.Rule = "Access-Control-Request-Headers is refused before it is read"
		ex.From = "the gateway's fixed bounds"
	case privateNetworkNotAllowed:
		ex.Rule = "the preflight asks for Private Network Access and allow_private_network is not true"
		ex.From = "allow_private_network, " + orDefault(rt.policy.DeclaredAt("allow_private_network"), "not declared (default false)")
	}
	if ex.ReportOnly {
		ex.From += "; report-only mode: " + rt.reportOnlySource
	}
}

// credentialsFrom says where the credentials-related fields are declared.
func credentialsFrom(rt *route) string {
	if rt == nil {
		return ""
	}
	var from []string
	if at := rt.policy.DeclaredAt("public"); at != "" {
		from = append(from, "public, "+at)
	}
	from = append(from, "allow_credentials, "+orDefault(rt.policy.DeclaredAt("allow_credentials"), "not declared (default false)"))
	return strings.Join(from, "; ")
}

// allowedRule says which part of the policy grants q.
func allowedRule(rt *route, q Query) (rule, from string) {
	if rt.public {
		return "the method is public: any origin may call it, without credentials", "public, " + rt.policy.DeclaredAt("public")
	}
	for _, o := range rt.originSources {
		ps, _ := origin.ParseList(o.pattern)
		if origin.NewMatcher(ps...).Match([]string{q.Origin}) {
			if o.set != "" {
				return fmt.Sprintf("origin %q matches %s in origin set %q", q.Origin, o.pattern, o.set), "bound by " + o.source
			}
			return fmt.Sprintf("origin %q matches %s in origins", q.Origin, o.pattern), o.source
		}
	}
	return "", ""
}

// nearMiss explains why an origin that looks covered by a wildcard is not.
func nearMiss(o string, patterns []string) string {
	for _, p := range patterns {
		star := strings.Index(p, "*.")
		if star < 0 || strings.Contains(p, ":[") {
			continue
		}
		prefix, suffix := p[:star], p[star+1:]
		switch {
		case o == prefix+suffix[1:]:
			return fmt.Sprintf(": %s does not match its apex %s", p, o)
		case strings.HasPrefix(o, prefix) && strings.HasSuffix(o, suffix) && strings.Contains(o[len(prefix):len(o)-len(suffix)], "."):
			return fmt.Sprintf(": the \"*\" of %s stands for exactly one DNS label, and %q has more", p, o[len(prefix):len(o)-len(suffix)])
		}
	}
	return ""
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
