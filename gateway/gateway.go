// Package gateway is Portico's HTTP edge: an [http.Handler] that mounts
// connect-go handlers together with the CORS policies protoc-gen-portico
// compiled from their .proto options, and answers for them to browsers.
//
// The gateway sits in front of routing. It answers CORS preflights itself,
// from the procedure's precomputed policy, so that neither connect-go (which
// answers OPTIONS with 405) nor [http.ServeMux] (which redirects paths such as
// "//x") ever sees one. On actual requests it adds Access-Control-Allow-Origin,
// Allow-Credentials, Expose-Headers and Vary before the handler runs, so
// every response carries them, errors included. Requests without an Origin
// header, such as server-side gRPC calls, get no CORS work beyond a Vary
// header on procedures whose responses depend on Origin.
//
// Start with [New], then mount handlers with [Gateway.Handle]:
//
//	gw, err := gateway.New([]*policy.Service{profilev1portico.ProfileServicePolicy},
//		gateway.WithOriginSet("web", "PORTICO_ORIGINS_WEB", "https://staging.example.com"))
//	if err != nil { ... }
//	gw.Handle(profilev1connect.NewProfileServiceHandler(svc))
//	http.ListenAndServe(":8080", gw)
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/portico-dev/portico/gateway/internal/origin"
	"github.com/portico-dev/portico/gateway/internal/pathindex"
	"github.com/portico-dev/portico/gateway/policy"
	"github.com/portico-dev/portico/internal/logsafe"
)

// A Gateway routes requests to mounted handlers and applies their CORS
// policies. Mount every handler with [Gateway.Handle] before serving; after
// that a Gateway is safe for concurrent use.
type Gateway struct {
	logger     *slog.Logger
	observer   Observer
	procedures map[string]*route   // "/pkg.Svc/Method"
	services   map[string]*service // "/pkg.Svc/"
	// procedureIndex holds procedures' entries for the hot path, built by
	// New; procedures never change after it.
	procedureIndex *pathindex.Index[*route]
	other          *http.ServeMux // handlers mounted elsewhere
	// unrouted counts preflights to paths under no service with a policy;
	// nil unless counting.
	unrouted *counters
	// explaining marks the copy [Gateway.Explain] runs on, which counts
	// nothing.
	explaining bool
}

// New compiles the given service policies, together with the origin set
// bindings of [WithOriginSet], into a Gateway with no handlers yet. It reports
// every problem at once, joined with [errors.Join]: a [*BindingError] for each
// invalid binding (an invalid origin, or a set that no policy names), and an
// error for a procedure declared twice.
func New(services []*policy.Service, opts ...Option) (*Gateway, error) {
	cfg := config{logger: slog.Default()}
	for _, o := range opts {
		o.apply(&cfg)
	}
	bound, errs := bindOriginSets(services, cfg.bindings)
	g := &Gateway{
		logger:     cfg.logger,
		observer:   cfg.observer,
		procedures: make(map[string]*route),
		services:   make(map[string]*service),
		other:      http.NewServeMux(),
	}
	for _, sp := range services {
		if sp == nil {
			continue
		}
		path := "/" + sp.Name + "/"
		if _, dup := g.services[path]; dup {
			errs = append(errs, fmt.Errorf("service %s: policy given twice", sp.Name))
			continue
		}
		svc := &service{name: sp.Name}
		g.services[path] = svc
		if sp.Default.Procedure != path {
			errs = append(errs, fmt.Errorf("service %s: default policy is for %q, want %q", sp.Name, sp.Default.Procedure, path))
		}
		var err error
		if svc.fallback, err = newRoute(&sp.Default, svc, bound); err != nil {
			errs = append(errs, err)
		}
		svc.fallback.fallback = true
		for i := range sp.Methods {
			m := &sp.Methods[i]
			if name, ok := strings.CutPrefix(m.Procedure, path); !ok || name == "" || strings.Contains(name, "/") {
				errs = append(errs, fmt.Errorf("service %s: procedure %q is not a method of the service", sp.Name, m.Procedure))
				continue
			}
			if _, dup := g.procedures[m.Procedure]; dup {
				errs = append(errs, fmt.Errorf("procedure %s: policy given twice", m.Procedure))
				continue
			}
			rt, err := newRoute(m, svc, bound)
			if err != nil {
				errs = append(errs, err)
			}
			g.procedures[m.Procedure] = rt
		}
	}
	errs = append(errs, g.applyReportOnly(cfg.reportOnly)...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	g.procedureIndex = pathindex.New(g.procedures)
	if cfg.counting {
		g.unrouted = new(counters)
		for _, rt := range g.allRoutes() {
			rt.counts = new(counters)
		}
	}
	return g, nil
}

// bindOriginSets parses every binding with the policy's own origin rules.
func bindOriginSets(services []*policy.Service, bindings []binding) (map[string][]boundPattern, []error) {
	named := make(map[string]bool)
	for _, sp := range services {
		if sp == nil {
			continue
		}
		for _, m := range append([]policy.Method{sp.Default}, sp.Methods...) {
			if m.OriginSet != "" {
				named[m.OriginSet] = true
			}
		}
	}
	var errs []error
	bound := make(map[string][]boundPattern)
	for _, b := range bindings {
		if !named[b.set] {
			known := make([]string, 0, len(named))
			for n := range named {
				known = append(known, n)
			}
			slices.Sort(known)
			errs = append(errs, &BindingError{Set: b.set, Source: b.source,
				Err: fmt.Errorf("no policy names this origin set (known: %s)", strings.Join(known, ", "))})
			continue
		}
		for _, raw := range b.origins {
			ps, err := origin.ParseList(raw)
			if err != nil {
				errs = append(errs, &BindingError{Set: b.set, Source: b.source, Origin: raw, Err: err})
				continue
			}
			bound[b.set] = append(bound[b.set], boundPattern{raw: raw, source: b.source, patterns: ps})
		}
	}
	return bound, errs
}

// Handle mounts a handler at pattern, as returned by a generated
// NewXServiceHandler ("/pkg.Service/"), grpchealth.NewHandler or
// grpcreflect.NewHandlerV1. A service pattern whose policy was given to [New]
// is served with that policy; any other pattern is served without CORS
// (server-side callers only) and, if it is not a service path, through an
// [http.ServeMux]. Handle panics if the pattern is mounted twice, or if it
// overlaps a policy's service path without being exactly it (which would
// bypass the policy): both are programming errors.
func (g *Gateway) Handle(pattern string, handler http.Handler) {
	if isServicePath(pattern) {
		svc, ok := g.services[pattern]
		if !ok {
			svc = &service{name: strings.Trim(pattern, "/")}
			g.services[pattern] = svc
		}
		if svc.handler != nil {
			panic("gateway: " + pattern + " mounted twice")
		}
		svc.handler = handler
		return
	}
	for path := range g.services {
		if strings.Contains(pattern, path) {
			// "POST /pkg.Svc/" or "/pkg.Svc/Method" would bypass the
			// service's CORS policy.
			panic("gateway: " + pattern + " overlaps service path " + path + ": mount the service at " + path)
		}
	}
	g.other.Handle(pattern, handler)
}

// isServicePath reports whether pattern is "/name/" with no other slash.
func isServicePath(pattern string) bool {
	return len(pattern) > 2 && pattern[0] == '/' && pattern[len(pattern)-1] == '/' &&
		strings.IndexByte(pattern[1:len(pattern)-1], '/') < 0
}

// ServeHTTP implements [http.Handler].
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The route is nil for services mounted without a policy; both are nil
	// for paths outside every mounted service.
	rt, svc := g.policyOf(r.URL.Path)
	if svc != nil && svc.handler == nil {
		rt, svc = nil, nil
	}
	origins, hasOrigin := r.Header[headerOrigin]
	if hasOrigin && r.Method == http.MethodOptions {
		if methods, ok := r.Header[headerRequestMethod]; ok {
			g.preflight(w, r, rt, origins, methods)
			return
		}
	}
	if svc == nil {
		g.other.ServeHTTP(w, r)
		return
	}
	switch {
	case rt == nil:
	case hasOrigin:
		g.actual(w.Header(), r, rt, origins)
	default:
		g.withoutOrigin(w, r, rt)
	}
	svc.handler.ServeHTTP(w, r)
}

// policyOf finds the route of a path whether or not its service is mounted
// yet: the procedure's, else its service's fallback.
func (g *Gateway) policyOf(path string) (*route, *service) {
	if rt, ok := g.procedureIndex.Get(path); ok {
		return rt, rt.service
	}
	return g.fallbackOf(path)
}

// fallbackOf finds the service of a path that names no known procedure, and
// its fallback route: the rarer case, kept out of policyOf.
func (g *Gateway) fallbackOf(path string) (*route, *service) {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return nil, nil
	}
	svc, ok := g.services[path[:i+1]]
	if !ok {
		return nil, nil
	}
	return svc.fallback, svc
}

// withoutOrigin handles the CORS side of a request without an Origin header:
// a server-side caller, or a same-origin GET.
func (g *Gateway) withoutOrigin(w http.ResponseWriter, r *http.Request, rt *route) {
	// A response to a request without Origin differs from the one an
	// Origin would get, so a cache that stores it must key on Origin
	// (https://fetch.spec.whatwg.org/#cors-protocol-and-http-caches).
	// Only GET and HEAD responses are stored: Connect GET. A POST (every
	// gRPC call, every Connect POST) gets no CORS header at all.
	if rt.callable && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		addVary(w.Header(), valueVaryOrigin)
	}
	g.count(rt.counts, kindNone, notCORS, false)
}

// actual adds the CORS headers of an actual (non-preflight) request with an
// Origin header to h, before the handler runs, and returns the decision.
func (g *Gateway) actual(h http.Header, r *http.Request, rt *route, origins []string) reason {
	why := allowed
	if rt.decorate(h, origins) {
		why = originRefusal(origins)
		if rt.reportOnly && why == originNotAllowed && echoableOrigin(origins) {
			rt.decorateReportOnly(h, origins)
			g.refused(r.Context(), "cors: would refuse actual request (report-only)", rt.policy.Procedure, origins, why, "")
			g.count(rt.counts, kindActual, why, true)
			g.decided(r, false, why, true)
			return why
		}
		g.refused(r.Context(), "cors: actual request origin not allowed", rt.policy.Procedure, origins, why, "")
	} else if !rt.callable {
		why = notBrowserCallable
	}
	g.count(rt.counts, kindActual, why, false)
	g.decided(r, false, why, false)
	return why
}

// preflight answers a CORS preflight: 204 with the precomputed headers when
// origin, method and every requested header are allowed; 403 with no
// Access-Control-Allow-* header otherwise; 404 for an unknown procedure. It
// returns the decision and, on refusal, the offending value.
func (g *Gateway) preflight(w http.ResponseWriter, r *http.Request, rt *route, origins, methods []string) (reason, string) {
	h := w.Header()
	if rt == nil || rt.fallback {
		g.refused(r.Context(), "cors: preflight refused", r.URL.Path, origins, unknownProcedure, "")
		if rt != nil {
			g.count(rt.counts, kindPreflight, unknownProcedure, false)
		} else {
			g.count(g.unrouted, kindPreflight, unknownProcedure, false)
		}
		g.decided(r, true, unknownProcedure, false)
		w.WriteHeader(http.StatusNotFound)
		return unknownProcedure, ""
	}
	why, detail := rt.checkPreflight(origins, methods, r.Header)
	switch {
	case why == allowed:
		// OPTIONS responses are never cached (RFC 9110, section 9.3.7), but
		// a Vary says what the answer depends on, for proxies that
		// mishandle that, and as the case study's exchange has it. A refusal
		// carries nothing.
		h[headerVary] = valueVaryPreflight
		rt.writePreflight(h, origins, r.Header)
	case rt.reportOnly && rt.reportable(origins, methods, r.Header):
		h[headerVary] = valueVaryPreflight
		rt.writeReportOnlyPreflight(h, origins, methods[0], r.Header)
		g.refused(r.Context(), "cors: would refuse preflight (report-only)", rt.policy.Procedure, origins, why, detail)
		g.count(rt.counts, kindPreflight, why, true)
		g.decided(r, true, why, true)
		w.WriteHeader(http.StatusNoContent)
		return why, detail
	default:
		g.refused(r.Context(), "cors: preflight refused", rt.policy.Procedure, origins, why, detail)
		g.count(rt.counts, kindPreflight, why, false)
		g.decided(r, true, why, false)
		w.WriteHeader(http.StatusForbidden)
		return why, detail
	}
	g.count(rt.counts, kindPreflight, allowed, false)
	g.decided(r, true, allowed, false)
	w.WriteHeader(http.StatusNoContent)
	if g.logger.Enabled(r.Context(), slog.LevelDebug) {
		g.logger.LogAttrs(r.Context(), slog.LevelDebug, "cors: preflight approved",
			slog.String("procedure", rt.policy.Procedure), slog.Any("origin", origins))
	}
	return allowed, ""
}

// refused logs one line for a refused CORS request. The level check comes
// first, so that a disabled logger costs no allocation.
func (g *Gateway) refused(ctx context.Context, msg, procedure string, origins []string, why reason, detail string) {
	if !g.logger.Enabled(ctx, slog.LevelWarn) {
		return
	}
	// Every value here may come from the client: bound them, so that one
	// request cannot write a megabyte of log.
	attrs := []slog.Attr{
		slog.String("procedure", logsafe.String(procedure)),
		slog.Any("origin", logsafe.Strings(origins)),
		slog.String("reason", why.String()),
	}
	if len(origins) > logsafe.MaxValues {
		attrs = append(attrs, slog.Int("origin_count", len(origins)))
	}
	if detail != "" {
		attrs = append(attrs, slog.String("detail", logsafe.String(detail)))
	}
	g.logger.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
}
