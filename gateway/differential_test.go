package gateway_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/policy"
	"github.com/rs/cors"
)

// The differential test runs the same requests through Portico's gateway and
// through rs/cors v1.11.1, configured per procedure for the same policy (as
// bench_test.go configures it for the reference policy), and compares the
// verdicts: whether the response grants the origin access
// (Access-Control-Allow-Origin) and, where both grant it, with which
// Access-Control-Allow-Origin and Allow-Credentials. Every disagreement must
// be one of the intentional differences listed in docs/cors-differences.md;
// the test names which, and fails on any it cannot explain.

// differentialCases is how many random requests TestDifferentialRandom
// sends; PORTICO_DIFFERENTIAL_CASES overrides it, and
// PORTICO_DIFFERENTIAL_SEED picks other requests than the default seed's.
const differentialCases = 200_000

// A verdict is what a browser reads from a response's CORS headers.
type verdict struct {
	allowed     bool
	origin      string // Access-Control-Allow-Origin, all values joined
	credentials bool
}

func (v verdict) String() string {
	if !v.allowed {
		return "denied"
	}
	return fmt.Sprintf("allowed (origin %q, credentials %v)", v.origin, v.credentials)
}

func verdictOf(h http.Header) verdict {
	acao, ok := h["Access-Control-Allow-Origin"]
	return verdict{allowed: ok, origin: strings.Join(acao, "\n"), credentials: h.Get("Access-Control-Allow-Credentials") == "true"}
}

// A difference is one intentional difference from rs/cors: its name, a
// heading of docs/cors-differences.md, and whether it explains a
// disagreement. explains sees the request, the policy of its path, and
// both verdicts, and may run rs/cors again on a changed request (rs) to
// confirm that the difference is the only cause.
type difference struct {
	name     string
	explains func(d *differ, q request, p *policy.Method, fallback bool, portico, rs verdict) bool
}

// differences are tried in order; the first that explains a disagreement
// names it.
var differences = []difference{
	{"unknown procedure preflight", func(_ *differ, q request, _ *policy.Method, fallback bool, portico, rs verdict) bool {
		// Portico answers 404 to preflights for a method the service does
		// not have; rs/cors, mounted over the service, approves them with
		// the service's policy.
		return q.preflight() && fallback && !portico.allowed && rs.allowed
	}},
	{"preflight recognition", func(_ *differ, q request, _ *policy.Method, _ bool, portico, rs verdict) bool {
		// An OPTIONS request with an Origin and an empty first
		// Access-Control-Request-Method is a refused preflight to Portico,
		// and an approved actual OPTIONS request to rs/cors, which looks at
		// the first value only and always allows OPTIONS.
		return q.preflight() && q.ACRM[0] == "" && !portico.allowed && rs.allowed
	}},
	{"several Origin headers", func(_ *differ, q request, _ *policy.Method, _ bool, portico, rs verdict) bool {
		return len(q.Origin) > 1 && !portico.allowed && rs.allowed
	}},
	{"null origin", func(_ *differ, q request, p *policy.Method, _ bool, portico, rs verdict) bool {
		return p.Public && len(q.Origin) == 1 && q.Origin[0] == "null" && !portico.allowed && rs.allowed
	}},
	{"list in one Origin", func(_ *differ, q request, p *policy.Method, _ bool, portico, rs verdict) bool {
		return p.Public && len(q.Origin) == 1 && strings.ContainsAny(q.Origin[0], ", ") && !portico.allowed && rs.allowed
	}},
	{"exact origins", func(d *differ, q request, p *policy.Method, _ bool, portico, rs verdict) bool {
		// rs/cors lower-cases the Origin before comparing; Portico compares
		// it as browsers serialize it. Lower-cased, Portico must agree.
		if len(q.Origin) != 1 || strings.ToLower(q.Origin[0]) == q.Origin[0] || portico.allowed || !rs.allowed {
			return false
		}
		lower := q
		lower.Origin = []string{strings.ToLower(q.Origin[0])}
		return d.rsVerdict(lower).allowed && d.porticoVerdict(lower).allowed == d.rsVerdict(lower).allowed
	}},
	{"one-label wildcards", func(d *differ, q request, p *policy.Method, _ bool, portico, rs verdict) bool {
		// rs/cors's "*" stands for any string, dots, colons and the empty
		// string included; Portico's for one DNS label.
		return len(q.Origin) == 1 && !p.Public && !portico.allowed && rs.allowed &&
			!d.model.originAllowed(p, q.Origin[0]) && rsWildcardOnly(d.model, p, strings.ToLower(q.Origin[0]))
	}},
	{"OPTIONS as requested method", func(_ *differ, q request, _ *policy.Method, _ bool, portico, rs verdict) bool {
		return q.preflight() && q.ACRM[0] == http.MethodOptions && !portico.allowed && rs.allowed
	}},
	{"several Access-Control-Request-Method headers", func(_ *differ, q request, _ *policy.Method, _ bool, portico, rs verdict) bool {
		return q.preflight() && len(q.ACRM) > 1 && !portico.allowed && rs.allowed
	}},
	{"private network access", func(_ *differ, q request, p *policy.Method, _ bool, portico, rs verdict) bool {
		// Asked for private network access that the policy does not allow,
		// Portico refuses the preflight; rs/cors approves it without
		// Access-Control-Allow-Private-Network, which the browser refuses.
		return q.preflight() && len(q.PNA) > 0 && q.PNA[0] == "true" && !p.AllowPrivateNetwork && !portico.allowed && rs.allowed
	}},
	{"tolerant header lists", func(d *differ, q request, _ *policy.Method, _ bool, portico, rs verdict) bool {
		// rs/cors wants the names lower case, sorted and unique, with at
		// most one space around each; Portico takes any case, order,
		// repetition and spacing. Written as a browser writes it, the same
		// list must get rs/cors's approval, with the same headers.
		if !q.preflight() || q.ACRH == nil || !portico.allowed || rs.allowed {
			return false
		}
		canon := q
		canon.ACRH = []string{strings.Join(browserHeaderList(q.ACRH), ",")}
		return d.rsVerdict(canon) == portico
	}},
	{"actual requests of any method", func(d *differ, q request, p *policy.Method, _ bool, portico, rs verdict) bool {
		// rs/cors withholds the CORS headers of an actual request whose
		// method is not in AllowedMethods; Portico adds them to every
		// response of the procedure, so that the browser can read the
		// protocol's error (405, or Connect's unimplemented).
		if d.rsPreflight(q) || !portico.allowed || rs.allowed || slices.Contains(listItems([]string{p.AllowMethods}), q.Method) {
			return false
		}
		post := q
		post.Method = http.MethodPost
		return d.rsVerdict(post) == portico
	}},
}

// rsWildcardOnly reports whether rs/cors allows the lower-cased origin o for
// p through a wildcard, and through no exact origin.
func rsWildcardOnly(m *model, p *policy.Method, o string) bool {
	for _, pat := range slices.Concat(p.Origins, m.bound[p.OriginSet]) {
		pat = strings.ToLower(pat)
		if pat == o {
			return false
		}
	}
	for _, pat := range slices.Concat(p.Origins, m.bound[p.OriginSet]) {
		if prefix, suffix, ok := strings.Cut(pat, "*"); ok &&
			len(o) >= len(prefix)+len(suffix) && strings.HasPrefix(o, prefix) && strings.HasSuffix(o, suffix) {
			return true
		}
	}
	return false
}

// browserHeaderList is the list of names a browser would send for values:
// lower case, sorted, unique (https://fetch.spec.whatwg.org/#cors-unsafe-request-header-names).
func browserHeaderList(values []string) []string {
	var names []string
	for _, n := range listItems(values) {
		names = append(names, strings.ToLower(n))
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// A differ sends requests to both implementations.
type differ struct {
	model   *model
	portico http.Handler
	rscors  map[*policy.Method]http.Handler
	w       *recorder
}

func newDiffer(tb testing.TB) *differ {
	tb.Helper()
	services := testPolicies(tb)
	d := &differ{model: newModel(services), portico: newGatewayUnderTest(tb, services), rscors: map[*policy.Method]http.Handler{}, w: newRecorder()}
	for _, p := range d.model.procedures {
		d.rscors[p] = newRSCorsFor(tb, d.model, p)
	}
	for _, p := range d.model.services {
		d.rscors[p] = newRSCorsFor(tb, d.model, p)
	}
	return d
}

// newRSCorsFor configures rs/cors for one compiled policy: "*" for a public
// one, else its origins and bound origin set; its methods, headers, exposed
// headers, max age, credentials and private network access. A method
// browsers cannot call gets no CORS layer at all.
func newRSCorsFor(tb testing.TB, m *model, p *policy.Method) http.Handler {
	tb.Helper()
	if !p.BrowserCallable {
		return inner
	}
	opts := cors.Options{
		AllowedOrigins:      slices.Concat(p.Origins, m.bound[p.OriginSet]),
		AllowedMethods:      listItems([]string{p.AllowMethods}),
		AllowedHeaders:      listItems([]string{p.AllowHeaders}),
		ExposedHeaders:      listItems([]string{p.ExposeHeaders}),
		AllowCredentials:    p.AllowCredentials,
		AllowPrivateNetwork: p.AllowPrivateNetwork,
	}
	if p.Public {
		opts.AllowedOrigins = []string{"*"}
	}
	if p.MaxAge != "" {
		n, err := strconv.Atoi(p.MaxAge)
		if err != nil {
			tb.Fatal(err)
		}
		opts.MaxAge = n
	}
	return cors.New(opts).Handler(inner)
}

func (d *differ) porticoVerdict(q request) verdict {
	d.w.reset()
	d.portico.ServeHTTP(d.w, q.httpRequest())
	return verdictOf(d.w.header)
}

// rsVerdict routes q as Portico does, to the rs/cors handler of its
// procedure's policy (its service's default for an unknown method), or to
// no CORS layer outside every policy.
func (d *differ) rsVerdict(q request) verdict {
	d.w.reset()
	h := http.Handler(inner)
	if p, _ := d.model.route(q.Path); p != nil {
		h = d.rscors[p]
	}
	h.ServeHTTP(d.w, q.httpRequest())
	return verdictOf(d.w.header)
}

// rsPreflight reports whether rs/cors takes q for a preflight.
func (d *differ) rsPreflight(q request) bool {
	return q.Method == http.MethodOptions && len(q.ACRM) > 0 && q.ACRM[0] != ""
}

// compare sends q to both, and returns "" if they agree, the name of the
// difference that explains their disagreement, or an error.
func (d *differ) compare(q request) (string, error) {
	portico, rs := d.porticoVerdict(q), d.rsVerdict(q)
	if portico == rs {
		return "", nil
	}
	p, fallback := d.model.route(q.Path)
	if p != nil {
		for _, diff := range differences {
			if diff.explains(d, q, p, fallback, portico, rs) {
				return diff.name, nil
			}
		}
	}
	return "", fmt.Errorf("unexplained disagreement on %v:\n  portico: %v\n  rs/cors: %v", q, portico, rs)
}

// TestDifferentialAdversarial sends hand-picked requests, each aimed at one
// rule, and checks which difference, if any, each one shows: so every
// documented difference is seen and explained, and nothing else differs.
func TestDifferentialAdversarial(t *testing.T) {
	t.Parallel()
	d := newDiffer(t)
	const (
		update = "/portico.profile.v1.ProfileService/UpdateProfile"
		get    = "/portico.profile.v1.ProfileService/GetProfile"
		public = "/portico.profile.v1.ProfileService/GetPublicProfile"
		app    = "https://app.example.com"
		seed   = "authorization,content-type,if-match,x-client-version"
	)
	one := func(v string) []string { return []string{v} }
	post := one(http.MethodPost)
	pf := func(path, origin, acrh string) request {
		q := request{Method: http.MethodOptions, Path: path, Origin: one(origin), ACRM: post}
		if acrh != "" {
			q.ACRH = one(acrh)
		}
		return q
	}
	tests := []struct {
		name string
		req  request
		want string // the difference; "" for agreement
	}{
		{"seed preflight", pf(update, app, seed), ""},
		{"bound wildcard", pf(update, "https://pr-7.example.dev", seed), ""},
		{"wildcard with port", pf("/"+edgeService+"/Private", "https://a.preview.example.com:8443", "x-tenant"), ""},
		{"hashed exact origin", pf("/"+edgeService+"/Private", "https://tenant-11.example.org", ""), ""},
		{"other origin", pf(update, "https://evil.example.net", seed), ""},
		{"trailing slash", pf(update, app+"/", ""), ""},
		{"default port", pf(update, app+":443", ""), ""},
		{"credential-less list", request{Method: http.MethodPost, Path: "/" + edgeService + "/Stream", Origin: one("http://127.0.0.1:5173")}, ""},
		{"public preflight", request{Method: http.MethodOptions, Path: public, Origin: one("https://anyone.example.org"), ACRM: one("GET")}, ""},
		{"GET where side-effect free", request{Method: http.MethodOptions, Path: get, Origin: one(app), ACRM: one("GET")}, ""},
		{"GET refused", request{Method: http.MethodOptions, Path: update, Origin: one(app), ACRM: one("GET")}, ""},
		{"lower-case method", request{Method: http.MethodOptions, Path: update, Origin: one(app), ACRM: one("post")}, ""},
		{"header not allowed", pf(update, app, "authorization,x-debug"), ""},
		{"not browser-callable", pf("/"+edgeService+"/Upload", app, ""), ""},
		{"no origin", request{Method: http.MethodPost, Path: update}, ""},
		{"empty origin", pf(update, "", ""), ""},
		{"null on credentialed", pf(update, "null", ""), ""},
		{"private network allowed", request{Method: http.MethodOptions, Path: "/" + edgeService + "/Private", Origin: one(app), ACRM: post, PNA: one("true")}, ""},
		{"header list too long", pf(update, app, strings.Repeat("authorization,", 400)), ""},
		{"too many empty items", pf(update, app, strings.Repeat(",", 40)+"authorization"), ""},

		{"unknown method", pf("/portico.profile.v1.ProfileService/Nope", app, ""), "unknown procedure preflight"},
		{"empty requested method", request{Method: http.MethodOptions, Path: update, Origin: one(app), ACRM: []string{"", "POST"}}, "preflight recognition"},
		{"two Origin headers", request{Method: http.MethodOptions, Path: update, Origin: []string{app, "https://evil.example.net"}, ACRM: post}, "several Origin headers"},
		{"two Origin headers, actual", request{Method: http.MethodPost, Path: update, Origin: []string{app, app}}, "several Origin headers"},
		{"null on public", request{Method: http.MethodGet, Path: public, Origin: one("null")}, "null origin"},
		{"list on public", request{Method: http.MethodGet, Path: public, Origin: one(app + ", https://evil.example.net")}, "list in one Origin"},
		{"upper case", pf(update, "https://APP.example.com", seed), "exact origins"},
		{"upper case scheme, actual", request{Method: http.MethodPost, Path: update, Origin: one("HTTPS://app.example.com")}, "exact origins"},
		{"two labels", pf(update, "https://a.b.example.dev", seed), "one-label wildcards"},
		{"empty label", pf(update, "https://.example.dev", ""), "one-label wildcards"},
		{"port in the label", request{Method: http.MethodPost, Path: update, Origin: one("https://x:1@y.example.dev")}, "one-label wildcards"},
		{"list through a wildcard", request{Method: http.MethodPost, Path: update, Origin: one("https://evil.test, https://x.example.dev")}, "one-label wildcards"},
		{"OPTIONS requested", request{Method: http.MethodOptions, Path: update, Origin: one(app), ACRM: one("OPTIONS")}, "OPTIONS as requested method"},
		{"two requested methods", request{Method: http.MethodOptions, Path: update, Origin: one(app), ACRM: []string{"POST", "PUT"}}, "several Access-Control-Request-Method headers"},
		{"private network refused", request{Method: http.MethodOptions, Path: update, Origin: one(app), ACRM: post, PNA: one("true")}, "private network access"},
		{"mixed case header list", pf(update, app, "Authorization,Content-Type"), "tolerant header lists"},
		{"unsorted header list", pf(update, app, "x-client-version,authorization"), "tolerant header lists"},
		{"repeated header", pf(update, app, "authorization,authorization"), "tolerant header lists"},
		{"spaces", pf(update, app, "authorization,  content-type"), "tolerant header lists"},
		{"header lines out of order", request{Method: http.MethodOptions, Path: update, Origin: one(app), ACRM: post, ACRH: []string{"if-match", "authorization"}}, "tolerant header lists"},
		{"sixteen empty items", pf(update, app, strings.Repeat(",", 16)), "tolerant header lists"},
		{"GET on a POST-only procedure", request{Method: http.MethodGet, Path: update, Origin: one(app)}, "actual requests of any method"},
		{"PUT", request{Method: http.MethodPut, Path: get, Origin: one(app)}, "actual requests of any method"},
	}
	for _, s := range gatewaySeeds() {
		tests = append(tests, struct {
			name string
			req  request
			want string
		}{name: "gateway seed " + s.String(), req: s, want: "*"})
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		got, err := d.compare(tc.req)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		seen[got] = true
		if tc.want != "*" && got != tc.want {
			t.Errorf("%s: %v: difference %q, want %q", tc.name, tc.req, got, tc.want)
		}
	}
	for _, diff := range differences {
		if !seen[diff.name] {
			t.Errorf("no adversarial case shows the difference %q", diff.name)
		}
	}
}

// TestDifferentialRandom sends random requests built from the pieces that
// matter to CORS, and fails on any disagreement that no documented
// difference explains.
func TestDifferentialRandom(t *testing.T) {
	t.Parallel()
	n, seed := differentialCases, uint64(1)
	if v := os.Getenv("PORTICO_DIFFERENTIAL_CASES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatalf("PORTICO_DIFFERENTIAL_CASES=%q: %v", v, err)
		}
	}
	if v := os.Getenv("PORTICO_DIFFERENTIAL_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("PORTICO_DIFFERENTIAL_SEED=%q: %v", v, err)
		}
	}
	d := newDiffer(t)
	g := newGenerator(d.model, seed)
	counts := map[string]int{}
	failures, bothAllowed := 0, 0
	for range n {
		q := g.request()
		name, err := d.compare(q)
		if err != nil {
			if failures++; failures <= 10 {
				t.Error(err)
			}
			continue
		}
		counts[name]++
		if name == "" && d.porticoVerdict(q).allowed {
			bothAllowed++
		}
	}
	if failures > 10 {
		t.Errorf("... and %d more unexplained disagreements", failures-10)
	}
	t.Logf("%d random requests (seed %d): %d agreed (%d allowed by both); differences: %v", n, seed, counts[""], bothAllowed, counts)
	if agreed := counts[""]; bothAllowed < n/20 || agreed-bothAllowed < n/20 {
		t.Errorf("%d of %d requests allowed by both, %d refused by both: the generator must mix allowed and refused requests",
			bothAllowed, n, agreed-bothAllowed)
	}
}

// TestDifferencesDocumented checks that docs/cors-differences.md has a
// section for every difference the test names, and no other.
func TestDifferencesDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/cors-differences.md")
	if err != nil {
		t.Fatal(err)
	}
	var headings []string
	for line := range strings.Lines(string(doc)) {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			headings = append(headings, strings.TrimSpace(h))
		}
	}
	var names []string
	for _, diff := range differences {
		names = append(names, diff.name)
	}
	if !slices.Equal(headings, names) {
		t.Errorf("docs/cors-differences.md sections:\n  %q\nwant, in the order the test tries them:\n  %q", headings, names)
	}
}

// A generator builds random requests from the policies' own origins,
// methods and header names, and from the near misses around them.
type generator struct {
	r       *rand.Rand
	m       *model
	paths   []string
	origins []string
	names   []string
}

func newGenerator(m *model, seed uint64) *generator {
	g := &generator{r: rand.New(rand.NewPCG(seed, 0x706f727469636f)), m: m}
	for path := range m.procedures {
		g.paths = append(g.paths, path)
	}
	for path := range m.services {
		g.paths = append(g.paths, path, path+"Nope")
	}
	g.paths = append(g.paths, unmanagedService+"Check", "/other.v1.Svc/M", "/healthz")
	slices.Sort(g.paths)
	names := map[string]bool{}
	for _, p := range slices.Concat(sortedPolicies(m.procedures), sortedPolicies(m.services)) {
		for _, o := range slices.Concat(p.Origins, m.bound[p.OriginSet]) {
			g.origins = append(g.origins, o)
		}
		for _, h := range listItems([]string{p.AllowHeaders}) {
			names[h] = true
		}
	}
	slices.Sort(g.origins)
	g.origins = slices.Compact(g.origins)
	for n := range names {
		g.names = append(g.names, n)
	}
	slices.Sort(g.names)
	g.names = append(g.names, "X-Debug", "Cookie", "If-Match", "X-Tenant", "authoriz")
	return g
}

func sortedPolicies(m map[string]*policy.Method) []*policy.Method {
	var out []*policy.Method
	for _, p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *policy.Method) int { return strings.Compare(a.Procedure, b.Procedure) })
	return out
}

func pick[T any](r *rand.Rand, from ...T) T { return from[r.IntN(len(from))] }

func (g *generator) request() request {
	q := request{
		Method: pick(g.r, "OPTIONS", "OPTIONS", "OPTIONS", "OPTIONS", "POST", "POST", "POST", "GET", "PUT", "DELETE", "HEAD", "post", ""),
		Path:   pick(g.r, g.paths...),
	}
	// Mostly the path's own origins and header names, so that many
	// requests are allowed; the rest from every policy.
	var own *policy.Method
	if p, _ := g.m.route(q.Path); p != nil && g.r.IntN(5) > 0 {
		own = p
	}
	switch n := g.r.IntN(10); {
	case n < 2:
	case n < 9:
		q.Origin = []string{g.origin(own)}
	default:
		q.Origin = []string{g.origin(own), g.origin(own)}
	}
	if g.r.IntN(10) > 0 {
		q.ACRM = pick(g.r, []string{"POST"}, []string{"POST"}, []string{"POST"}, []string{"POST"}, []string{"GET"}, []string{"GET"}, []string{"post"}, []string{"OPTIONS"},
			[]string{"PUT"}, []string{""}, []string{"POST", "POST"}, []string{"GET", "POST"})
	}
	if g.r.IntN(10) > 2 {
		for range 1 + g.r.IntN(2) {
			q.ACRH = append(q.ACRH, g.headerList(own))
		}
	}
	if g.r.IntN(5) == 0 {
		q.PNA = []string{pick(g.r, "true", "false", "TRUE")}
	}
	return q
}

// origin returns an origin p allows (any policy's if p is nil or public),
// or one of its near misses.
func (g *generator) origin(p *policy.Method) string {
	o := pick(g.r, g.origins...)
	if p != nil && !p.Public && p.BrowserCallable {
		o = pick(g.r, slices.Concat(p.Origins, g.m.bound[p.OriginSet])...)
	}
	if strings.Contains(o, "*") {
		o = strings.Replace(o, "*", pick(g.r, "pr-7", "x", "a.b", "", "-a", "a_b", "A", strings.Repeat("a", 64), "x:1@y", "evil.test, https://x"), 1)
	}
	switch g.r.IntN(16) {
	case 0:
		return strings.ToUpper(o[:9]) + o[9:]
	case 1:
		return o + "/"
	case 2:
		return o + ", " + o
	case 3:
		return pick(g.r, "null", "", "https://evil.example.net", "https://app.example.com.evil.test", "https://anyone.example.org")
	case 4:
		return strings.Replace(o, "https://", "http://", 1)
	case 5:
		return o + ":443"
	}
	return o
}

// headerList returns one Access-Control-Request-Headers line: a few names
// (mostly of those p allows, if p is not nil), in any case, order and
// spacing, with repeats and empty items.
func (g *generator) headerList(p *policy.Method) string {
	var items []string
	for range g.r.IntN(5) {
		n := pick(g.r, g.names...)
		if p != nil && p.AllowHeaders != "" && g.r.IntN(10) > 0 {
			n = pick(g.r, listItems([]string{p.AllowHeaders})...)
		}
		switch g.r.IntN(4) {
		case 0:
			n = strings.ToUpper(n)
		case 1:
			n = strings.ToLower(n)
		}
		items = append(items, n)
	}
	if g.r.IntN(2) == 0 {
		for i := range items {
			items[i] = strings.ToLower(items[i])
		}
		slices.Sort(items)
		items = slices.Compact(items)
	}
	if g.r.IntN(4) == 0 {
		items = append(items, "", pick(g.r, " ", "  ", "\t"))
	}
	if g.r.IntN(4) == 0 && len(items) > 0 {
		items = append(items, items[0])
	}
	return strings.Join(items, pick(g.r, ",", ", ", " ,  "))
}
