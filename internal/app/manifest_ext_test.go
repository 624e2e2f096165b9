package app_test

// These tests read the manifests protoc-gen-portico writes next to each
// generated policy table (gen/**/*.portico.json), check that they say what
// the Go tables the server is built from say, and turn them into
// browser-shaped CORS fixtures that run against the real server. The
// responses are compared with testdata/preflights.golden (go test -update
// rewrites it) and, independently, with what the manifest promises, so that
// an -update cannot accept a gateway that breaks its manifest.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/portico-dev/portico/gateway/policy"
	"github.com/portico-dev/portico/internal/app"
)

var update = flag.Bool("update", false, "rewrite testdata/preflights.golden from the current server")

const (
	// genRoot is the generated code's root, relative to this package.
	genRoot         = "../../gen"
	manifestSchema  = "portico.cors.manifest.v1"
	preflightGolden = "testdata/preflights.golden"
	// unknownHeader is a request header no policy allows.
	unknownHeader = "x-portico-unknown"
)

// The manifest's schema, as a client reads it. Decoding refuses unknown
// keys, so a key added to the manifest must be added here too.
type (
	manifestFile struct {
		Schema   string            `json:"schema"`
		Source   string            `json:"source"`
		Services []manifestService `json:"services"`
	}
	manifestService struct {
		Name    string           `json:"name"`
		Default manifestMethod   `json:"default"`
		Methods []manifestMethod `json:"methods"`
	}
	manifestMethod struct {
		Procedure                  string   `json:"procedure"`
		Source                     string   `json:"source"`
		BrowserCallable            bool     `json:"browser_callable"`
		NotCallableReason          string   `json:"not_callable_reason"`
		Public                     bool     `json:"public"`
		AllowCredentials           bool     `json:"allow_credentials"`
		Origins                    []string `json:"origins"`
		OriginSet                  string   `json:"origin_set"`
		AllowMethods               []string `json:"allow_methods"`
		AllowRequestHeaders        []string `json:"allow_request_headers"`
		ExposeHeaders              []string `json:"expose_headers"`
		MaxAgeSeconds              *int     `json:"max_age_seconds"`
		AllowPrivateNetwork        bool     `json:"allow_private_network"`
		ConnectGETWithoutPreflight bool     `json:"connect_get_without_preflight"`
		ReportOnly                 bool     `json:"report_only"`
		Declared                   []struct {
			Field, Scope, Source string
		} `json:"declared"`
	}
)

// readManifests decodes every manifest under gen/, in path order, failing
// tb if a generated policy table has none next to it.
func readManifests(tb testing.TB) []manifestFile {
	tb.Helper()
	var paths []string
	err := filepath.WalkDir(genRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if goFile, ok := strings.CutSuffix(path, ".portico.go"); ok {
			if _, err := os.Stat(goFile + ".portico.json"); err != nil {
				tb.Errorf("%s has no manifest next to it: %v", path, err)
			}
		}
		if strings.HasSuffix(path, ".portico.json") {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(paths) == 0 {
		tb.Fatalf("no manifests under %s: run make generate", genRoot)
	}
	slices.Sort(paths)
	out := make([]manifestFile, 0, len(paths))
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		var mf manifestFile
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&mf); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		if mf.Schema != manifestSchema {
			tb.Fatalf("%s: schema %q, want %q", path, mf.Schema, manifestSchema)
		}
		out = append(out, mf)
	}
	return out
}

// TestManifestsMatchTables checks each manifest against the generated Go
// table the server mounts (app.Services), field by field, and that every
// mounted policy has a manifest and every manifest a mounted policy.
func TestManifestsMatchTables(t *testing.T) {
	t.Parallel()
	tables := make(map[string]*policy.Service)
	for _, s := range app.Services {
		tables[s.Name] = s
	}
	seen := make(map[string]bool)
	for _, mf := range readManifests(t) {
		for _, ms := range mf.Services {
			table, ok := tables[ms.Name]
			if !ok {
				t.Errorf("%s: service %s is not mounted by the server (app.Services)", mf.Source, ms.Name)
				continue
			}
			seen[ms.Name] = true
			compareMethod(t, ms.Default, table.Default)
			if len(ms.Methods) != len(table.Methods) {
				t.Errorf("%s: %d methods in the manifest, %d in the table", ms.Name, len(ms.Methods), len(table.Methods))
				continue
			}
			for i := range ms.Methods {
				compareMethod(t, ms.Methods[i], table.Methods[i])
			}
		}
	}
	for name := range tables {
		if !seen[name] {
			t.Errorf("mounted service %s has no manifest", name)
		}
	}
}

func compareMethod(tb testing.TB, got manifestMethod, want policy.Method) {
	tb.Helper()
	maxAge := ""
	if got.MaxAgeSeconds != nil {
		maxAge = strconv.Itoa(*got.MaxAgeSeconds)
	}
	type flat struct {
		Procedure, Source, Reason, OriginSet, Methods, Headers, Expose, MaxAge string
		Callable, Public, Credentials, PrivateNetwork, ReportOnly              bool
		Origins, Declared                                                      string
	}
	gotFlat := flat{
		got.Procedure, got.Source, got.NotCallableReason, got.OriginSet,
		strings.Join(got.AllowMethods, ", "), strings.Join(got.AllowRequestHeaders, ", "), strings.Join(got.ExposeHeaders, ", "), maxAge,
		got.BrowserCallable, got.Public, got.AllowCredentials, got.AllowPrivateNetwork, got.ReportOnly,
		strings.Join(got.Origins, " "), fmt.Sprint(got.Declared),
	}
	wantFlat := flat{
		want.Procedure, want.Source, want.NotCallableReason, want.OriginSet,
		want.AllowMethods, want.AllowHeaders, want.ExposeHeaders, want.MaxAge,
		want.BrowserCallable, want.Public, want.AllowCredentials, want.AllowPrivateNetwork, want.ReportOnly,
		strings.Join(want.Origins, " "), declaredString(want.Declared),
	}
	if diff := cmp.Diff(wantFlat, gotFlat); diff != "" {
		tb.Errorf("%s: manifest and Go table disagree (-table +manifest):\n%s", want.Procedure, diff)
	}
	// The flag is derived; what it can never contradict is the table's
	// methods.
	if got.ConnectGETWithoutPreflight && !slices.Contains(got.AllowMethods, http.MethodGet) {
		tb.Errorf("%s: connect_get_without_preflight without GET", want.Procedure)
	}
}

// A fixture is one browser request and what the manifest says the answer
// must be.
type fixture struct {
	name   string
	method string
	target string
	header [][2]string // in the order a browser sends them
	// wantStatus is the required status; 0 leaves it to the golden file.
	wantStatus int
	// wantCORS is the exact set of Access-Control-* fields required.
	wantCORS http.Header
}

// TestPreflightFixtures runs the manifests' fixtures against the whole
// server, as app.New builds it.
func TestPreflightFixtures(t *testing.T) {
	t.Parallel()
	manifests := readManifests(t)
	sets := map[string]bool{}
	for _, mf := range manifests {
		for _, ms := range mf.Services {
			for _, m := range ms.Methods {
				if m.OriginSet != "" {
					sets[m.OriginSet] = true
				}
			}
		}
	}
	cfg := app.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)}
	for _, name := range slices.Sorted(maps.Keys(sets)) {
		cfg.OriginSets = append(cfg.OriginSets, app.OriginSet{Name: name, Source: "test", Origins: []string{setOrigin(name)}})
	}
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })

	var golden bytes.Buffer
	golden.WriteString("# Browser-shaped CORS requests generated from gen/**/*.portico.json by\n" +
		"# internal/app/manifest_ext_test.go, and the server's answers (status,\n" +
		"# Access-Control-* and Vary). Regenerate with: go test ./internal/app -run TestPreflightFixtures -update\n")
	n := 0
	for _, mf := range manifests {
		for _, ms := range mf.Services {
			for _, m := range ms.Methods {
				for _, fx := range fixtures(m) {
					n++
					golden.WriteString(runFixture(t, a.Handler(), fx))
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no fixtures")
	}
	if *update {
		if err := os.WriteFile(preflightGolden, golden.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(preflightGolden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), golden.String()); diff != "" {
		t.Errorf("the server's answers differ from %s (-golden +now; go test -update accepts them):\n%s", preflightGolden, diff)
	}
}

// fixtures returns the requests of one method: an approved preflight per
// allowed method with every allowed header, one per allowed header, one
// with an unknown header, one from a disallowed origin, one from the origin
// bound to the method's origin set, a GET preflight where GET is not
// allowed, and the Connect GETs that connect_get_without_preflight promises
// need no preflight.
func fixtures(m manifestMethod) []fixture {
	if !m.BrowserCallable {
		return []fixture{preflight(m, "not browser-callable", "https://app.example.com", http.MethodPost, []string{"content-type"}, false)}
	}
	origin := anyOrigin
	if !m.Public {
		origin = concreteOrigin(m)
	}
	all := make([]string, len(m.AllowRequestHeaders))
	for i, h := range m.AllowRequestHeaders {
		all[i] = strings.ToLower(h)
	}
	var out []fixture
	for _, verb := range m.AllowMethods {
		out = append(out, preflight(m, "allowed origin, every allowed header", origin, verb, all, true))
	}
	for _, h := range all {
		out = append(out, preflight(m, "allowed origin, "+h, origin, http.MethodPost, []string{h}, true))
	}
	out = append(out,
		preflight(m, "allowed origin, one unknown header", origin, http.MethodPost, []string{"content-type", unknownHeader}, false),
		preflight(m, "disallowed origin", evilOrigin, http.MethodPost, []string{"content-type"}, m.Public),
	)
	if m.OriginSet != "" {
		out = append(out, preflight(m, "origin bound to origin set "+m.OriginSet, setOrigin(m.OriginSet), http.MethodPost, []string{"content-type"}, true))
	}
	if !slices.Contains(m.AllowMethods, http.MethodGet) {
		out = append(out, preflight(m, "GET where only POST is allowed", origin, http.MethodGet, all, false))
	}
	if m.ConnectGETWithoutPreflight {
		out = append(out, simpleGET(m, "Connect GET without preflight, allowed origin", origin, true))
		if !m.Public {
			out = append(out, simpleGET(m, "Connect GET without preflight, disallowed origin", evilOrigin, false))
		}
	}
	return out
}

// preflight builds a preflight as Chromium sends it: the
// Access-Control-Request-Headers value is the lower-cased names, sorted and
// joined with "," (https://fetch.spec.whatwg.org/#cors-preflight-fetch),
// and absent when there are none. If approved, the answer must carry the
// manifest's policy; otherwise a 403 with no Access-Control-* field.
func preflight(m manifestMethod, name, origin, verb string, headers []string, approved bool) fixture {
	headers = slices.Sorted(slices.Values(headers))
	fx := fixture{
		name:       fmt.Sprintf("%s: preflight %s, %s", m.Procedure, verb, name),
		method:     http.MethodOptions,
		target:     m.Procedure,
		header:     [][2]string{{"Origin", origin}, {"Access-Control-Request-Method", verb}},
		wantStatus: http.StatusForbidden,
		wantCORS:   http.Header{},
	}
	if len(headers) > 0 {
		fx.header = append(fx.header, [2]string{"Access-Control-Request-Headers", strings.Join(headers, ",")})
	}
	if approved {
		fx.wantStatus = http.StatusNoContent
		fx.wantCORS = allowOrigin(m, origin)
		fx.wantCORS["Access-Control-Allow-Methods"] = []string{strings.Join(m.AllowMethods, ", ")}
		if len(m.AllowRequestHeaders) > 0 {
			fx.wantCORS["Access-Control-Allow-Headers"] = []string{strings.Join(m.AllowRequestHeaders, ", ")}
		}
		if m.MaxAgeSeconds != nil {
			fx.wantCORS["Access-Control-Max-Age"] = []string{strconv.Itoa(*m.MaxAgeSeconds)}
		}
	}
	return fx
}

// simpleGET builds the Connect GET of an empty message with no header but
// Origin: a CORS simple request. If readable, the answer must let the page
// read it (and its exposed headers); otherwise it must carry no
// Access-Control-* field, so the browser hides it.
func simpleGET(m manifestMethod, name, origin string, readable bool) fixture {
	fx := fixture{
		name:     fmt.Sprintf("%s: %s", m.Procedure, name),
		method:   http.MethodGet,
		target:   m.Procedure + "?connect=v1&encoding=json&message=" + url.QueryEscape("{}"),
		header:   [][2]string{{"Origin", origin}},
		wantCORS: http.Header{},
	}
	if readable {
		fx.wantCORS = allowOrigin(m, origin)
		if len(m.ExposeHeaders) > 0 {
			fx.wantCORS["Access-Control-Expose-Headers"] = []string{strings.Join(m.ExposeHeaders, ", ")}
		}
	}
	return fx
}

func allowOrigin(m manifestMethod, origin string) http.Header {
	if m.Public {
		return http.Header{"Access-Control-Allow-Origin": {"*"}}
	}
	h := http.Header{"Access-Control-Allow-Origin": {origin}}
	if m.AllowCredentials {
		h["Access-Control-Allow-Credentials"] = []string{"true"}
	}
	return h
}

// concreteOrigin is an origin the method's declared origins allow: the
// first, with a wildcard label filled in; or the one bound to its origin set.
func concreteOrigin(m manifestMethod) string {
	if len(m.Origins) == 0 {
		return setOrigin(m.OriginSet)
	}
	return strings.Replace(m.Origins[0], "*", "fixture", 1)
}

// setOrigin is the origin the test binds to an origin set.
func setOrigin(set string) string {
	return "https://" + strings.ReplaceAll(set, "_", "-") + ".preview.example.dev"
}

// runFixture sends fx to h, checks the answer against the manifest's
// promise, and returns the exchange as golden text.
func runFixture(tb testing.TB, h http.Handler, fx fixture) string {
	tb.Helper()
	req := httptest.NewRequest(fx.method, fx.target, http.NoBody)
	for _, kv := range fx.header {
		req.Header.Add(kv[0], kv[1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	if fx.wantStatus != 0 && res.StatusCode != fx.wantStatus {
		tb.Errorf("%s: status %d, want %d", fx.name, res.StatusCode, fx.wantStatus)
	}
	if fx.method == http.MethodGet && res.StatusCode == http.StatusMethodNotAllowed {
		tb.Errorf("%s: the manifest says Connect GET works, the server answers 405", fx.name)
	}
	cors := http.Header{}
	var keys []string
	for k, v := range res.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			cors[k] = v
		}
		if strings.HasPrefix(k, "Access-Control-") || k == "Vary" {
			keys = append(keys, k)
		}
	}
	if diff := cmp.Diff(fx.wantCORS, cors); diff != "" {
		tb.Errorf("%s: the answer breaks the manifest (-manifest +server):\n%s", fx.name, diff)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\n### %s\n%s %s\n", fx.name, fx.method, fx.target)
	for _, kv := range fx.header {
		fmt.Fprintf(&b, "%s: %s\n", kv[0], kv[1])
	}
	fmt.Fprintf(&b, "=> %d %s\n", res.StatusCode, http.StatusText(res.StatusCode))
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range res.Header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	return b.String()
}

// declaredString prints declarations as fmt prints the manifest's.
func declaredString(ds []policy.Declaration) string {
	out := make([]struct{ Field, Scope, Source string }, 0, len(ds))
	for _, d := range ds {
		out = append(out, struct{ Field, Scope, Source string }{d.Field, d.Scope, d.Source})
	}
	return fmt.Sprint(out)
}
