package gateway_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/internal/headerlist"
	"github.com/portico-dev/portico/gateway/policy"
)

// Bounds on the work of one request, whatever its size: the gateway
// precomputes its header values and parses header lists in place, so a
// request costs a fixed number of allocations (a refusal's log line
// included) and writes a bounded log line.
const (
	maxAllocsPerRequest = 16
	// maxAllocsPerMuxRequest bounds requests that no policy governs, which
	// the gateway hands to an http.ServeMux: its path cleaning and
	// redirects cost more, but no more for a larger input.
	maxAllocsPerMuxRequest = 64
	maxLogBytesPerLine     = 4096
)

// FuzzGateway sends arbitrary requests through the whole gateway, built
// with gateway.New over the reference server's policies and an edge service
// (testPolicies), and checks on every one:
//
//   - no Access-Control-Allow-Origin "*" together with Allow-Credentials,
//     and credentials only where the policy allows them;
//   - Access-Control-Allow-Origin only for a procedure with a policy, and
//     then exactly "*" for a public one (and one well-formed Origin), or
//     exactly the request's one Origin, which the policy names exactly or
//     by a one-label wildcard;
//   - Vary: Origin whenever the origin is reflected;
//   - no CORS header at all without an Origin header;
//   - a preflight is answered by the gateway itself (204, 403 or 404),
//     approved only for a listed method, listed header names and private
//     network access if allowed, and approved when a browser's ordinary
//     preflight from a listed origin asks for it;
//   - the observer is told of a decision that matches the headers;
//   - work bounded by the input: a fixed number of allocations and a
//     bounded log line per request;
//
// and, by running at all, no panic. Run it for longer with
//
//	go test -run '^$' -fuzz '^FuzzGateway$' -fuzztime 5m ./gateway/
//
// The arguments are the method and path, then each header's values joined
// with "\n"; a header is sent only if its bit of present is set (1 Origin,
// 2 Access-Control-Request-Method, 4 Access-Control-Request-Headers,
// 8 Access-Control-Request-Private-Network).
func FuzzGateway(f *testing.F) {
	for _, s := range gatewaySeeds() {
		f.Add(s.Method, s.Path, strings.Join(s.Origin, "\n"), strings.Join(s.ACRM, "\n"),
			strings.Join(s.ACRH, "\n"), strings.Join(s.PNA, "\n"), presentBits(s))
	}
	services := testPolicies(f)
	m := newModel(services)
	var (
		decisions []gateway.Decision
		logs      countingWriter
	)
	gw := newGatewayUnderTest(f, services, gateway.WithLogger(countingLogger(&logs)),
		gateway.WithObserver(func(_ *http.Request, d gateway.Decision) { decisions = append(decisions, d) }))
	f.Fuzz(func(t *testing.T, method, path, origin, acrm, acrh, pna string, present uint8) {
		values := func(joined string, bit uint8) []string {
			if present&bit == 0 {
				return nil
			}
			return strings.Split(joined, "\n")
		}
		q := request{Method: method, Path: path, Origin: values(origin, 1), ACRM: values(acrm, 2), ACRH: values(acrh, 4), PNA: values(pna, 8)}
		w := newRecorder()
		decisions, logs.n = decisions[:0], 0
		gw.ServeHTTP(w, q.httpRequest())
		checkResponse(t, m, q, w, decisions)
		if logs.n > maxLogBytesPerLine {
			t.Fatalf("%v: logged %d bytes, want at most %d", q, logs.n, maxLogBytesPerLine)
		}
		limit := maxAllocsPerRequest
		if p, _ := m.route(path); p == nil && !q.preflight() {
			limit = maxAllocsPerMuxRequest
		}
		r := q.httpRequest()
		if n := testing.AllocsPerRun(1, func() {
			w.reset()
			decisions = decisions[:0]
			gw.ServeHTTP(w, r)
		}); n > float64(limit) {
			t.Fatalf("%v: %v allocations, want at most %d whatever the input's size", q, n, limit)
		}
	})
}

// presentBits returns the has-header bits of FuzzGateway for q.
func presentBits(q request) uint8 {
	var bits uint8
	for i, v := range [][]string{q.Origin, q.ACRM, q.ACRH, q.PNA} {
		if v != nil {
			bits |= 1 << i
		}
	}
	return bits
}

// checkResponse holds one response against the invariants of FuzzGateway.
func checkResponse(t *testing.T, m *model, q request, w *recorder, decisions []gateway.Decision) {
	t.Helper()
	h := w.header
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%v\n  -> %d %v\n  "+format, append([]any{q, w.status(), h}, args...)...)
	}
	p, fallback := m.route(q.Path)
	acao, hasACAO := h["Access-Control-Allow-Origin"]
	_, hasACAC := h["Access-Control-Allow-Credentials"]
	varyOrigin := slices.ContainsFunc(listItems(h["Vary"]), func(s string) bool { return strings.EqualFold(s, "Origin") })

	if q.Origin == nil {
		for key := range h {
			if strings.HasPrefix(key, "Access-Control-") {
				fail("%s on a request without Origin", key)
			}
		}
	}
	if hasACAO {
		switch {
		case len(acao) != 1:
			fail("Access-Control-Allow-Origin has %d values", len(acao))
		case p == nil || !p.BrowserCallable:
			fail("Access-Control-Allow-Origin outside a browser-callable policy")
		case acao[0] == "*":
			if !p.Public || !wellFormed(q.Origin) {
				fail(`"*" for a policy that is not public, or for Origin %q`, q.Origin)
			}
			if hasACAC {
				fail(`"*" with Access-Control-Allow-Credentials`)
			}
		case p.Public:
			fail("public policy reflected an origin instead of *")
		case len(q.Origin) != 1 || acao[0] != q.Origin[0]:
			fail("Access-Control-Allow-Origin %q is not the request's one Origin", acao[0])
		case !m.originAllowed(p, acao[0]):
			fail("Access-Control-Allow-Origin %q is not an origin the policy allows", acao[0])
		case !varyOrigin:
			fail("origin reflected without Vary: Origin")
		}
	}
	if hasACAC && (!hasACAO || !p.AllowCredentials || h.Get("Access-Control-Allow-Credentials") != "true") {
		fail("Access-Control-Allow-Credentials without a reflected origin of a credentialed policy")
	}
	// Every response a cache may store and that depends on Origin says so:
	// those to an Origin of a browser-callable procedure, and those to a
	// GET or HEAD without one (a Connect GET, which a cache may store and
	// serve to a browser later). Preflights are never stored (RFC 9110,
	// section 9.3.7), nor are POST responses, so they need no Vary unless
	// they grant access.
	cacheable := q.Method == http.MethodGet || q.Method == http.MethodHead
	needsVary := p != nil && p.BrowserCallable && !q.preflight() && (q.Origin != nil || cacheable)
	if needsVary && !varyOrigin {
		fail("no Vary: Origin on a response of a browser-callable policy that depends on Origin")
	}
	_, reached := h[innerHeader]

	if q.preflight() {
		checkPreflight(m, q, w, p, fallback, reached, fail)
	} else if m.mounted(q.Path) && !reached {
		fail("an actual request did not reach its handler")
	}

	// The observer hears of requests with an Origin that reach a policy,
	// and of every preflight, exactly once, with the verdict the headers
	// carry.
	wantDecision := q.Origin != nil && (q.preflight() || p != nil && m.mounted(q.Path))
	switch {
	case wantDecision && len(decisions) != 1, !wantDecision && len(decisions) != 0:
		fail("observer called %d times", len(decisions))
	case wantDecision && decisions[0].Allowed != hasACAO:
		fail("observer told %+v, headers say allowed=%v", decisions[0], hasACAO)
	case wantDecision && decisions[0].Preflight != q.preflight():
		fail("observer told %+v for preflight=%v", decisions[0], q.preflight())
	}
}

// checkPreflight holds the answer to a preflight against the policy p
// that governs its path (nil for none; fallback for a service's unknown
// method).
func checkPreflight(m *model, q request, w *recorder, p *policy.Method, fallback, reached bool, fail func(string, ...any)) {
	h := w.header
	if reached {
		fail("a preflight reached the handler")
	}
	switch code := w.status(); {
	case p == nil || fallback:
		if code != http.StatusNotFound || len(h) != 0 {
			fail("a preflight outside every procedure's policy: want 404 and no header")
		}
		return
	case code == http.StatusForbidden:
		for key := range h {
			if strings.HasPrefix(key, "Access-Control-Allow-") || key == "Access-Control-Max-Age" {
				fail("a refused preflight carries %s", key)
			}
		}
	case code != http.StatusNoContent:
		fail("a preflight answered %d, want 204, 403 or 404", code)
	}
	pna := len(q.PNA) > 0 && q.PNA[0] == "true"
	allowHeaders := listItems([]string{p.AllowHeaders})
	if w.status() == http.StatusNoContent {
		switch {
		case h["Access-Control-Allow-Origin"] == nil:
			fail("an approved preflight without Access-Control-Allow-Origin")
		case len(q.ACRM) != 1 || !slices.Contains(listItems([]string{p.AllowMethods}), q.ACRM[0]):
			fail("approved Access-Control-Request-Method %q, the policy allows %q", q.ACRM, p.AllowMethods)
		case h.Get("Access-Control-Allow-Methods") != p.AllowMethods || h.Get("Access-Control-Allow-Headers") != p.AllowHeaders:
			fail("Access-Control-Allow-Methods or -Headers is not the policy's")
		case pna && !p.AllowPrivateNetwork:
			fail("approved private network access for a policy that does not allow it")
		case (h.Get("Access-Control-Allow-Private-Network") == "true") != (pna && p.AllowPrivateNetwork):
			fail("Access-Control-Allow-Private-Network answers a question not asked, or not the one asked")
		}
		for _, name := range listItems(q.ACRH) {
			if !containsFold(allowHeaders, name) {
				fail("approved request header %q, the policy allows %q", name, p.AllowHeaders)
			}
		}
		return
	}
	// What a browser sends from an allowed origin must be approved: one
	// lower-case, comma-separated list of allowed names, and POST.
	ordinary := p.BrowserCallable && len(q.Origin) == 1 && slices.Equal(q.ACRM, []string{http.MethodPost}) &&
		(!pna || p.AllowPrivateNetwork) && (p.Public && wellFormed(q.Origin) || !p.Public && m.originAllowed(p, q.Origin[0]))
	if ordinary && q.ACRH != nil {
		ordinary = len(q.ACRH) == 1 && len(q.ACRH[0]) <= headerlist.MaxBytes && q.ACRH[0] != ""
		for name := range strings.SplitSeq(q.ACRH[0], ",") {
			ordinary = ordinary && name == strings.ToLower(name) && containsFold(allowHeaders, name)
		}
	}
	if ordinary {
		fail("refused an ordinary browser preflight from an allowed origin")
	}
}

// gatewaySeeds are the requests of gateway_test.go's TestGateway table, in
// this file's terms, and a few aimed at the edge service.
func gatewaySeeds() []request {
	const (
		update   = "/portico.profile.v1.ProfileService/UpdateProfile"
		get      = "/portico.profile.v1.ProfileService/GetProfile"
		public   = "/portico.profile.v1.ProfileService/GetPublicProfile"
		app      = "https://app.example.com"
		evil     = "https://evil.example.net"
		seedACRH = "authorization,content-type,if-match,x-client-version"
	)
	one := func(v string) []string { return []string{v} }
	post := one("POST")
	pf := func(path string, origin []string, acrm []string, acrh []string) request {
		return request{Method: http.MethodOptions, Path: path, Origin: origin, ACRM: acrm, ACRH: acrh}
	}
	return []request{
		pf(update, one(app), post, one(seedACRH)),
		pf(update, one("https://admin.example.com"), post, nil),
		pf(update, one("https://feature-123.example.dev"), post, one(seedACRH)),
		pf(update, one("http://localhost:5173"), post, nil),
		pf(update, one(app), post, []string{" X-Client-Version , ,Authorization,authorization", "content-type,,If-Match"}),
		pf(get, one(app), one("GET"), one("authorization,x-client-version")),
		pf(public, one(evil), post, one("content-type")),
		pf(update, one(evil), post, nil),
		pf(update, one("https://a.b.example.dev"), post, nil),
		pf(update, one("https://example.dev"), post, nil),
		pf(update, one("https://x.example.dev.evil.test"), post, nil),
		pf(update, one("https://APP.example.com"), post, nil),
		pf(update, one(app+"/"), post, nil),
		pf(update, one(app+":443"), post, nil),
		pf(update, one("null"), post, nil),
		pf(update, one(""), post, nil),
		pf(update, []string{app, app}, post, nil),
		pf(update, one(app+", "+app), post, nil),
		pf(update, one(app), one("GET"), nil),
		pf(update, one(app), one("PATCH"), nil),
		pf(update, one(app), one("post"), nil),
		pf(update, one(app), []string{"POST", "POST"}, nil),
		pf(update, one(app), post, one("authorization,x-debug")),
		pf(get, one(app), post, one("if-match")),
		pf(update, one(app), post, one(strings.Repeat("x-a,", 2000))),
		pf(update, one(app), post, one(strings.Repeat(",", 40))),
		{Method: http.MethodOptions, Path: update, Origin: one(app), ACRM: post, PNA: one("true")},
		pf(public, one("null"), one("GET"), nil),
		pf(public, one(""), one("GET"), nil),
		pf(public, one("https://a.example, https://b.example"), one("GET"), nil),
		pf(public, []string{evil, app}, one("GET"), nil),
		pf("/portico.profile.v1.ProfileService/", one(app), post, nil),
		pf("/portico.profile.v1.ProfileService/Nope", one(app), post, nil),
		pf("/other.v1.Svc/M", one(app), post, nil),
		pf("//"+update, one(app), post, nil),
		{Method: http.MethodOptions, Path: update, Origin: one(app)},
		{Method: http.MethodPost, Path: update, Origin: one(app)},
		{Method: http.MethodPost, Path: update, Origin: one("https://pr-7.example.dev")},
		{Method: http.MethodGet, Path: "/portico.profile.v1.ProfileService/Nope", Origin: one(app)},
		{Method: http.MethodPost, Path: update, Origin: one(evil)},
		{Method: http.MethodPost, Path: update, Origin: []string{app, app}},
		{Method: http.MethodPost, Path: update},
		{Method: http.MethodPost, Path: public},
		{Method: http.MethodGet, Path: public, Origin: one(evil)},
		{Method: http.MethodGet, Path: public, Origin: one("null")},
		{Method: http.MethodGet, Path: public, Origin: []string{app, evil}},
		{Method: http.MethodPost, Path: "/other.v1.Svc/M"},
		// The edge service: hashed origins, private network, public, not
		// callable, a credential-less list, the unmanaged service.
		{Method: http.MethodOptions, Path: "/" + edgeService + "/Private", Origin: one("https://tenant-7.example.org"), ACRM: post, ACRH: one("x-tenant"), PNA: one("true")},
		{Method: http.MethodOptions, Path: "/" + edgeService + "/Private", Origin: one("https://a.preview.example.com:8443"), ACRM: post},
		{Method: http.MethodOptions, Path: "/" + edgeService + "/Read", Origin: one(evil), ACRM: one("GET"), PNA: one("true")},
		{Method: http.MethodOptions, Path: "/" + edgeService + "/Upload", Origin: one(app), ACRM: post},
		{Method: http.MethodPost, Path: "/" + edgeService + "/Upload", Origin: one(app)},
		{Method: http.MethodPost, Path: "/" + edgeService + "/Stream", Origin: one("http://127.0.0.1:5173")},
		{Method: http.MethodPost, Path: "/" + edgeService + "/Nope", Origin: one(app)},
		{Method: http.MethodOptions, Path: unmanagedService + "Check", Origin: one(app), ACRM: post},
		{Method: http.MethodPost, Path: unmanagedService + "Check", Origin: one(app)},
		{Method: http.MethodGet, Path: "/healthz", Origin: one(app)},
		{Method: http.MethodOptions, Path: "/healthz", Origin: one(app), ACRM: post},
		{Method: http.MethodOptions, Path: update, ACRM: post},
	}
}
