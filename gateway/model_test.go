package gateway_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/policy"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1portico"
	"github.com/portico-dev/portico/gen/portico/session/v1/sessionv1portico"
)

// This file holds what the fuzz and differential tests share: the policies
// they mount, and a model of those policies written independently of the
// gateway's own code, from the policy tables alone. The model answers which
// policy a path falls under and which origins and header names that policy
// allows; the tests hold the gateway's responses against it.

// boundOrigins is the deployment's PORTICO_ORIGINS_WEB in these tests: a
// one-label wildcard, one with a port, and an exact origin.
var boundOrigins = []string{"https://*.example.dev", "https://*.preview.example.com:8443", "http://localhost:5173"}

const (
	edgeService = "portico.fuzz.v1.EdgeService"
	// unmanagedService is mounted without a policy, as grpchealth is.
	unmanagedService = "/grpc.health.v1.Health/"
	// innerHeader marks responses that reached a mounted handler.
	innerHeader = "X-Inner"
)

// testPolicies returns the reference server's policies and an edge service
// compiled with policy.Compile for what they lack: a credential-less
// origin list, more exact origins than the matcher scans (so that it hashes),
// private network access, a public method and a method browsers cannot call.
func testPolicies(tb testing.TB) []*policy.Service {
	tb.Helper()
	yes, no := new(bool), new(bool)
	*yes = true
	maxAge := int32(600)
	many := []string{"https://app.example.com"}
	for i := range 12 {
		many = append(many, fmt.Sprintf("https://tenant-%d.example.org", i))
	}
	svc := policy.Spec{Origins: []string{"https://app.example.com", "http://127.0.0.1:5173"}, AllowCredentials: no, MaxAgeSeconds: &maxAge}
	compile := func(name string, info policy.MethodInfo, method policy.Spec) policy.Method {
		info.Procedure = "/" + edgeService + "/" + name
		m, err := policy.Compile(info, policy.Resolve(svc, method))
		if err != nil {
			tb.Fatalf("compile %s: %v", name, err)
		}
		return m
	}
	edge := &policy.Service{
		Name:    edgeService,
		Default: compile("", policy.MethodInfo{}, policy.Spec{}),
		Methods: []policy.Method{
			compile("Private", policy.MethodInfo{}, policy.Spec{Origins: many, OriginSet: "web", AllowCredentials: yes,
				AllowPrivateNetwork: yes, AllowHeaders: []string{"X-Tenant"}}),
			compile("Read", policy.MethodInfo{NoSideEffects: true}, policy.Spec{Public: yes}),
			compile("Upload", policy.MethodInfo{StreamType: policy.ClientStream}, policy.Spec{}),
			compile("Stream", policy.MethodInfo{StreamType: policy.ServerStream}, policy.Spec{Protocols: []policy.Protocol{policy.ProtocolConnect}}),
		},
	}
	edge.Default.Procedure = "/" + edgeService + "/"
	services := []*policy.Service{profilev1portico.ProfileServicePolicy, sessionv1portico.SessionServicePolicy, edge}
	// Report-only policies answer what they refuse as allowed: the model
	// and the invariants are those of enforced policies.
	for _, s := range services {
		for _, m := range append([]policy.Method{s.Default}, s.Methods...) {
			if m.ReportOnly {
				tb.Fatalf("%s is in report-only mode: the fuzz and differential tests need enforced policies", m.Procedure)
			}
		}
	}
	return services
}

// newGatewayUnderTest builds the gateway under test over handlers that mark
// their responses with innerHeader: every policy's service, a service
// without a policy, and a plain mux path.
func newGatewayUnderTest(tb testing.TB, services []*policy.Service, opts ...gateway.Option) *gateway.Gateway {
	tb.Helper()
	opts = append([]gateway.Option{gateway.WithLogger(nil), gateway.WithOriginSet("web", "PORTICO_ORIGINS_WEB", boundOrigins...)}, opts...)
	gw, err := gateway.New(services, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range services {
		gw.Handle("/"+s.Name+"/", inner)
	}
	gw.Handle(unmanagedService, inner)
	gw.Handle("/healthz", inner)
	return gw
}

var innerValue = []string{"1"}

// inner marks the response, without allocating.
var inner = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Header()[innerHeader] = innerValue })

// A model is the policy tables, indexed as the gateway must route them.
type model struct {
	procedures map[string]*policy.Method
	services   map[string]*policy.Method // "/pkg.Svc/" to its Default
	bound      map[string][]string       // origin set to its bound origins
}

func newModel(services []*policy.Service) *model {
	m := &model{procedures: map[string]*policy.Method{}, services: map[string]*policy.Method{},
		bound: map[string][]string{"web": boundOrigins}}
	for _, s := range services {
		m.services["/"+s.Name+"/"] = &s.Default
		for i := range s.Methods {
			m.procedures[s.Methods[i].Procedure] = &s.Methods[i]
		}
	}
	return m
}

// route returns the policy that governs path: the procedure's own, else
// its service's default if path is "/pkg.Svc/Anything" (fallback true), else
// nil.
func (m *model) route(path string) (p *policy.Method, fallback bool) {
	if p := m.procedures[path]; p != nil {
		return p, false
	}
	svc, method, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if !ok || svc == "" || strings.Contains(method, "/") || !strings.HasPrefix(path, "/") {
		return nil, false
	}
	return m.services["/"+svc+"/"], true
}

// mounted reports whether path reaches a mounted handler, policy or not.
func (m *model) mounted(path string) bool {
	if p, _ := m.route(path); p != nil {
		return true
	}
	svc, method, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return ok && strings.HasPrefix(path, "/") && "/"+svc+"/" == unmanagedService && !strings.Contains(method, "/")
}

// originAllowed reports whether p names origin: one of its exact origins,
// or one DNS label in place of the "*" of one of its wildcards. It says
// nothing of public policies, which name no origin.
func (m *model) originAllowed(p *policy.Method, origin string) bool {
	patterns := slices.Concat(p.Origins, m.bound[p.OriginSet])
	for _, pat := range patterns {
		if pat == origin {
			return true
		}
		scheme, host, ok := strings.Cut(pat, "://*.")
		if !ok {
			continue
		}
		oScheme, oHost, ok := strings.Cut(origin, "://")
		if !ok || oScheme != scheme {
			continue
		}
		label, rest, ok := strings.Cut(oHost, ".")
		if ok && rest == host && isLabel(label) {
			return true
		}
	}
	return false
}

// wellFormed is what a public policy requires of the Origin values: one, not
// empty, not "null", not a list.
func wellFormed(origins []string) bool {
	return len(origins) == 1 && origins[0] != "" && origins[0] != "null" && !strings.ContainsAny(origins[0], ", ")
}

func isLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-_") == ""
}

// listItems splits comma-separated header values into trimmed, non-empty
// items.
func listItems(values []string) []string {
	var out []string
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.Trim(item, " \t"); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// containsFold reports whether list holds name, ignoring ASCII case.
func containsFold(list []string, name string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, name) && isASCII(name) })
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// A request is one fuzzed or generated request, before it becomes an
// *http.Request: header values split on "\n", each header sent only if its
// has-flag is set.
type request struct {
	Method, Path string
	Origin       []string // nil: no Origin header
	ACRM         []string // Access-Control-Request-Method
	ACRH         []string // Access-Control-Request-Headers
	PNA          []string // Access-Control-Request-Private-Network
}

func (q request) httpRequest() *http.Request {
	h := http.Header{}
	for key, values := range map[string][]string{
		"Origin": q.Origin, "Access-Control-Request-Method": q.ACRM,
		"Access-Control-Request-Headers": q.ACRH, "Access-Control-Request-Private-Network": q.PNA,
	} {
		if values != nil {
			h[key] = values
		}
	}
	return &http.Request{Method: q.Method, URL: &url.URL{Path: q.Path}, Header: h, Host: "portico.test", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
}

// preflight reports whether the gateway must treat q as a CORS preflight:
// OPTIONS with Origin and Access-Control-Request-Method headers.
func (q request) preflight() bool {
	return q.Method == http.MethodOptions && q.Origin != nil && q.ACRM != nil
}

func (q request) String() string {
	return fmt.Sprintf("%s %q Origin=%q ACRM=%q ACRH=%.200q PNA=%q", q.Method, q.Path, q.Origin, q.ACRM, q.ACRH, q.PNA)
}

// recorder is a ResponseWriter that keeps only the header and status.
type recorder struct {
	header http.Header
	code   int
	wrote  int
}

func newRecorder() *recorder { return &recorder{header: make(http.Header, 16)} }

func (w *recorder) Header() http.Header { return w.header }
func (w *recorder) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.wrote += len(b)
	return len(b), nil
}
func (w *recorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *recorder) reset() {
	clear(w.header)
	w.code, w.wrote = 0, 0
}

func (w *recorder) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// A countingWriter counts the bytes written to it and keeps none, so that
// refusal log lines are formatted and measured without being kept.
type countingWriter struct{ n int }

func (c *countingWriter) Write(b []byte) (int, error) { c.n += len(b); return len(b), nil }

// countingLogger logs refusals (at Warn) as JSON lines into w.
func countingLogger(w *countingWriter) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
