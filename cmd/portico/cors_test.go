package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/oidctest"
)

// stagingConfig is a deployment configuration file: staging adds its own
// origin and the preview wildcard to "web", dev a port list.
const stagingConfig = `environments:
  dev:
    origin_sets:
      web: ["http://localhost:[5173,8080]"]
  staging:
    origin_sets:
      web:
        - https://staging.example.com
        - https://*.example.dev
  prod: {}
`

func writeConfig(tb testing.TB, content string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "portico.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// preflightStatus sends a browser-shaped preflight for UpdateProfile.
func preflightStatus(tb testing.TB, s *server, origin string) (int, http.Header) {
	tb.Helper()
	tr := newTransports(tb)[0]
	res, _ := tr.do(tb, newRequest(tb, http.MethodOptions, s.url(procUpdateProfile), "",
		"Origin", origin, "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,connect-protocol-version,content-type,if-match"))
	return res.StatusCode, res.Header
}

// TestEnvironmentOriginSets is the acceptance case: with
// PORTICO_ENV=staging and a binding that adds https://staging.example.com
// and https://*.example.dev to "web", a preview origin may call
// UpdateProfile, but neither the apex nor a two-label name under it may;
// without the binding, only the .proto's origins are allowed. The decisions
// are counted on the metrics listener.
func TestEnvironmentOriginSets(t *testing.T) {
	t.Parallel()
	iss := oidctest.NewIssuer(t)
	staging := []string{"PORTICO_ENV=staging", "PORTICO_AUTH_ISSUER=" + iss.URL, "PORTICO_AUTH_AUDIENCE=" + oidctest.Audience}
	config := writeConfig(t, stagingConfig)
	s := startServer(t, append(staging, "PORTICO_CONFIG="+config, "PORTICO_METRICS_PORT=0")...)
	for origin, want := range map[string]int{
		"https://feature-123.example.dev": http.StatusNoContent,
		"https://staging.example.com":     http.StatusNoContent,
		appOrigin:                         http.StatusNoContent,
		"https://example.dev":             http.StatusForbidden,
		"https://a.b.example.dev":         http.StatusForbidden,
		"http://localhost:5173":           http.StatusForbidden, // dev's binding, not staging's
	} {
		code, h := preflightStatus(t, s, origin)
		if code != want {
			t.Errorf("staging with the binding: preflight from %s: %d, want %d", origin, code, want)
		}
		if want == http.StatusNoContent && h.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("preflight from %s: Allow-Origin %q", origin, h.Get("Access-Control-Allow-Origin"))
		}
	}
	summary := s.waitLog(t, func(e logEntry) bool {
		return e.str("message") == "cors policy" && e.str("service") == "portico.profile.v1.ProfileService"
	})
	if summary.str("env") != "staging" || !strings.Contains(summary.str("origins"), "https://*.example.dev") ||
		summary.str("public") != "GetPublicProfile" {
		t.Errorf("start-up summary %v", summary)
	}
	bound := s.waitLog(t, func(e logEntry) bool { return e.str("message") == "origin set bound" })
	if !strings.HasPrefix(bound.str("source"), config+":8:11") {
		t.Errorf("origin set bound from %q, want the file line", bound.str("source"))
	}

	metrics := scrape(t, s)
	for _, want := range []string{
		`portico_cors_decisions_total{decision="allowed",procedure="/portico.profile.v1.ProfileService/UpdateProfile",reason="allowed",request="preflight"} 3`,
		`portico_cors_decisions_total{decision="refused",procedure="/portico.profile.v1.ProfileService/UpdateProfile",reason="origin_not_allowed",request="preflight"} 3`,
		"go_goroutines ",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, grep(metrics, "portico_"))
		}
	}

	// No binding: only the .proto's origins.
	plain := startServer(t, staging...)
	for origin, want := range map[string]int{appOrigin: http.StatusNoContent, "https://feature-123.example.dev": http.StatusForbidden} {
		if code, _ := preflightStatus(t, plain, origin); code != want {
			t.Errorf("staging without a binding: preflight from %s: %d, want %d", origin, code, want)
		}
	}
	// dev's section of the same file binds a port list.
	dev := startServer(t, "PORTICO_ENV=dev", "PORTICO_CONFIG="+config)
	for origin, want := range map[string]int{"http://localhost:8080": http.StatusNoContent, "http://localhost:5173": http.StatusNoContent, "http://localhost:3000": http.StatusForbidden} {
		if code, _ := preflightStatus(t, dev, origin); code != want {
			t.Errorf("dev: preflight from %s: %d, want %d", origin, code, want)
		}
	}
}

// scrape reads the metrics listener of s.
func scrape(tb testing.TB, s *server) string {
	tb.Helper()
	e := s.waitLog(tb, func(e logEntry) bool { return e.str("message") == "metrics listening" })
	_, port, err := net.SplitHostPort(e.str("addr"))
	if err != nil {
		tb.Fatal(err)
	}
	client := &http.Client{Timeout: requestTimeout}
	res, err := client.Get("http://127.0.0.1:" + port + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		tb.Fatalf("metrics: %d %v", res.StatusCode, err)
	}
	return string(body)
}

func grep(text, substr string) string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestReportOnlyDeployment turns report-only mode on for one procedure with
// PORTICO_CORS_REPORT_ONLY: a refused preflight is answered as allowed, and
// logged as "would refuse" with the reason.
func TestReportOnlyDeployment(t *testing.T) {
	t.Parallel()
	s := startServer(t, "PORTICO_CORS_REPORT_ONLY=/portico.profile.v1.ProfileService/UpdateProfile", "PORTICO_METRICS_PORT=0")
	code, h := preflightStatus(t, s, evilOrigin)
	if code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != evilOrigin || h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("report-only preflight from %s: %d %v, want it answered as allowed", evilOrigin, code, h)
	}
	line := s.waitLog(t, func(e logEntry) bool { return e.str("message") == "cors: would refuse preflight (report-only)" })
	if line.str("reason") != "origin not allowed" || line.str("severity") != "WARNING" || line.str("procedure") != procUpdateProfile {
		t.Errorf("would-refuse line %v", line)
	}
	warn := s.waitLog(t, func(e logEntry) bool {
		return e.str("message") == "cors: report-only mode: refusals are logged, not enforced"
	})
	if warn.str("procedure") != procUpdateProfile || warn.str("source") != "PORTICO_CORS_REPORT_ONLY" {
		t.Errorf("start-up warning %v", warn)
	}
	// Other procedures still enforce.
	tr := newTransports(t)[0]
	res, _ := tr.do(t, newRequest(t, http.MethodOptions, s.url(procGetProfile), "", "Origin", evilOrigin, "Access-Control-Request-Method", "POST"))
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("GetProfile preflight from %s: %d, want 403", evilOrigin, res.StatusCode)
	}
	if m := scrape(t, s); !strings.Contains(m, `decision="would_refuse",procedure="/portico.profile.v1.ProfileService/UpdateProfile",reason="origin_not_allowed",request="preflight"} 1`) {
		t.Errorf("metrics lack the would_refuse count:\n%s", grep(m, "portico_"))
	}
}

// TestCORSConfigErrors checks that each invalid or dangerous deployment
// configuration stops the server before it listens, naming the variable or
// the file line to fix.
func TestCORSConfigErrors(t *testing.T) {
	t.Parallel()
	file := func(body string) string { return "PORTICO_CONFIG=" + writeConfig(t, body) }
	tests := []struct {
		name string
		env  []string
		want []string // substrings of stderr; "$F" is the config file's path
	}{
		{
			name: "public-suffix wildcard in the file",
			env:  []string{"PORTICO_ENV=dev", file("environments:\n  dev:\n    origin_sets:\n      web:\n        - https://*.run.app\n")},
			want: []string{"$F:5:11", `"https://*.run.app"`, "public suffix"},
		},
		{
			name: "star for a credentialed set",
			env:  []string{"PORTICO_ENV=dev", file("environments:\n  dev:\n    origin_sets:\n      web: [\"*\"]\n")},
			want: []string{"$F:4:13", `"*" is not an origin`},
		},
		{
			name: "malformed origin in the file",
			env:  []string{"PORTICO_ENV=dev", file("environments:\n  dev:\n    origin_sets:\n      web: [\"https://App.example.com/\"]\n")},
			want: []string{"$F:4:13", "trailing slash"},
		},
		{
			name: "bad port list in a variable",
			env:  []string{"PORTICO_ORIGINS_WEB=http://localhost:[5173,5173]"},
			want: []string{"PORTICO_ORIGINS_WEB", "port 5173 listed twice"},
		},
		{
			name: "unknown key",
			env:  []string{"PORTICO_ENV=dev", file("environments:\n  dev:\n    origin_set:\n      web: []\n")},
			want: []string{"$F:3:5", `unknown key "origin_set"`, "origin_sets, report_only"},
		},
		{
			name: "environment missing from the file",
			env:  []string{"PORTICO_ENV=dev", file("environments:\n  staging: {}\n  prod: {}\n")},
			want: []string{"$F", `no environment "dev"`, "prod, staging"},
		},
		{
			name: "mistake in another environment",
			env:  []string{"PORTICO_ENV=dev", file("environments:\n  dev: {}\n  prod:\n    origin_sets:\n      web: https://app.example.com\n")},
			want: []string{"$F:5:12", "want a list of origins"},
		},
		{
			name: "duplicate key",
			env:  []string{"PORTICO_ENV=dev", file("environments:\n  dev: {}\n  dev: {}\n")},
			want: []string{"$F:3:3", `"dev" given twice`},
		},
		{
			name: "YAML syntax",
			env:  []string{"PORTICO_ENV=dev", file("environments:\n  dev: [\n")},
			want: []string{"$F", "yaml:"},
		},
		{
			name: "report_only not a boolean",
			env:  []string{"PORTICO_ENV=dev", file("environments:\n  dev:\n    report_only:\n      portico.profile.v1.ProfileService: \"yes\"\n")},
			want: []string{"$F:4:42", "want true or false"},
		},
		{
			name: "report_only target unknown",
			env:  []string{"PORTICO_ENV=dev", file("environments:\n  dev:\n    report_only:\n      portico.profile.v1.Nope: true\n")},
			want: []string{"$F:4:7", `report-only target "portico.profile.v1.Nope" names no service`},
		},
		{
			name: "report-only variable syntax",
			env:  []string{"PORTICO_CORS_REPORT_ONLY=portico.profile.v1.ProfileService=maybe"},
			want: []string{"PORTICO_CORS_REPORT_ONLY", "target=true or target=false"},
		},
		{
			name: "report-only variable target",
			env:  []string{"PORTICO_CORS_REPORT_ONLY=/portico.profile.v1.ProfileService"},
			want: []string{"PORTICO_CORS_REPORT_ONLY", "/pkg.Service/Method"},
		},
		{name: "missing file", env: []string{"PORTICO_CONFIG=/nonexistent/portico.yaml"}, want: []string{`PORTICO_CONFIG="/nonexistent/portico.yaml"`, "no such file"}},
		{name: "empty config variable", env: []string{"PORTICO_CONFIG="}, want: []string{"PORTICO_CONFIG is empty"}},
		{name: "invalid environment name", env: []string{"PORTICO_ENV=Prod"}, want: []string{`PORTICO_ENV="Prod"`, "want an environment name"}},
		{name: "metrics port", env: []string{"PORTICO_METRICS_PORT=x"}, want: []string{`PORTICO_METRICS_PORT="x"`}},
		{name: "signed metrics port", env: []string{"PORTICO_METRICS_PORT=+9090"}, want: []string{`PORTICO_METRICS_PORT="+9090"`}},
		{name: "metrics on the serving port", env: []string{"PORT=18181", "PORTICO_METRICS_PORT=18181"}, want: []string{"PORTICO_METRICS_PORT=18181 is PORT too"}},
		{name: "empty binding of an unknown set", env: []string{"PORTICO_ORIGINS_TYPO="}, want: []string{"PORTICO_ORIGINS_TYPO", `"typo"`, "no policy names"}},
		{name: "wildcard over user content", env: []string{"PORTICO_ORIGINS_WEB=https://*.googleusercontent.com"}, want: []string{"PORTICO_ORIGINS_WEB", "public suffix"}},
		{
			name: "a broken environment that is not deployed",
			env:  []string{"PORTICO_ENV=dev", file("environments:\n  dev: {}\n  prod:\n    origin_sets:\n      web: [https://*.com]\n    report_only:\n      portico.nope.v1.Nothing: true\n")},
			want: []string{"$F:5:13", "public suffix", "$F:7:7", `"portico.nope.v1.Nothing" names no service`},
		},
		{
			name: "two YAML documents",
			env:  []string{"PORTICO_ENV=dev", file("environments:\n  dev: {}\n---\nenvironments:\n  dev:\n    origin_sets:\n      web: [https://*.com]\n")},
			want: []string{"$F:3: a second YAML document"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := ""
			for _, kv := range tc.env {
				if v, ok := strings.CutPrefix(kv, "PORTICO_CONFIG="); ok {
					path = v
				}
			}
			stdout, stderr, code := runBinary(t, tc.env)
			if code != 1 {
				t.Errorf("exit status = %d, want 1", code)
			}
			for _, want := range tc.want {
				want = strings.ReplaceAll(want, "$F", path)
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not name %q:\n%s", want, stderr)
				}
			}
			if strings.Contains(stdout, `"listening"`) {
				t.Errorf("started listening despite the error:\n%s", stdout)
			}
		})
	}
}

// TestCORSCommands runs `portico cors list` and `portico cors explain`
// against the staging configuration, and checks each deny reason names the
// rule and where it is declared.
func TestCORSCommands(t *testing.T) {
	t.Parallel()
	config := writeConfig(t, strings.Replace(stagingConfig, "  prod: {}\n",
		"    report_only:\n      /portico.profile.v1.ProfileService/DeleteProfile: true\n  prod: {}\n", 1))
	env := []string{"PORTICO_CONFIG=" + config}
	out, stderr, code := runBinary(t, env, "cors", "list", "--env", "staging")
	if code != 0 {
		t.Fatalf("cors list: exit %d: %s", code, stderr)
	}
	for _, row := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^environment staging$`),
		regexp.MustCompile(`(?m)^/portico\.profile\.v1\.ProfileService/UpdateProfile +yes +https://app\.example\.com https://admin\.example\.com https://staging\.example\.com https://\*\.example\.dev set:web +yes +POST +Authorization, .*If-Match.* +ETag, .* +3600 +no$`),
		regexp.MustCompile(`(?m)^/portico\.profile\.v1\.ProfileService/GetPublicProfile +yes +\* \(public\) +no +GET, POST `),
		regexp.MustCompile(`(?m)^/portico\.profile\.v1\.ProfileService/DeleteProfile .* yes \(` + regexp.QuoteMeta(config) + `:11:7\)$`),
	} {
		if !row.MatchString(out) {
			t.Errorf("cors list lacks %s:\n%s", row, out)
		}
	}

	explain := func(args ...string) (string, int) {
		t.Helper()
		out, stderr, code := runBinary(t, env, append([]string{"cors", "explain", "--env", "staging"}, args...)...)
		if stderr != "" {
			t.Errorf("explain %q: stderr %s", args, stderr)
		}
		return out, code
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{
			name: "allowed preview origin",
			args: []string{"--procedure", procUpdateProfile, "--origin", "https://feature-123.example.dev", "--request-headers", "content-type,connect-protocol-version,authorization,if-match", "--credentials"},
			want: []string{"ALLOW  POST " + procUpdateProfile, `matches https://*.example.dev in origin set "web"`, "bound by " + config + ":9:11",
				"< 204", "< Access-Control-Allow-Origin: https://feature-123.example.dev", "< Access-Control-Expose-Headers: ETag"},
		},
		{
			name: "unmatched origin", code: 1,
			args: []string{"--procedure", procUpdateProfile, "--origin", "https://a.b.example.dev"},
			want: []string{"DENY", "reason: origin not allowed", `origin "https://a.b.example.dev" matches none`,
				"https://app.example.com: origins, portico/profile/v1/profile.proto:21 (service option)",
				`https://*.example.dev: origin set "web", bound by ` + config + ":9:11", "< 403"},
		},
		{
			name: "missing header", code: 1,
			args: []string{"--procedure", procGetProfile, "--origin", appOrigin, "--request-headers", "content-type,if-match"},
			want: []string{"reason: request header not allowed", `request header "if-match" is not allowed`, "allow_headers, portico/profile/v1/profile.proto:27 (service option)"},
		},
		{
			name: "method", code: 1,
			args: []string{"--procedure", procUpdateProfile, "--origin", appOrigin, "--method", "GET", "--request-headers", "authorization"},
			want: []string{"reason: method not allowed", "NO_SIDE_EFFECTS", "portico/profile/v1/profile.proto:49 (method declaration)"},
		},
		{
			name: "credentials on a public method", code: 1,
			args: []string{"--procedure", procGetPublicProfile, "--origin", evilOrigin, "--credentials"},
			want: []string{"reason: Access-Control-Allow-Origin: * with credentials", "public, portico/profile/v1/profile.proto:74 (method option)"},
		},
		{
			name: "simple Connect GET",
			args: []string{"--procedure", procGetPublicProfile, "--origin", evilOrigin, "--method", "GET"},
			want: []string{"ALLOW", "no preflight", "< Access-Control-Allow-Origin: *"},
		},
		{
			name: "unknown procedure", code: 1,
			args: []string{"--procedure", "/portico.profile.v1.ProfileService/Nope", "--origin", appOrigin},
			want: []string{"reason: unknown procedure", "< 404"},
		},
		{
			name: "report-only",
			args: []string{"--procedure", "/portico.profile.v1.ProfileService/DeleteProfile", "--origin", evilOrigin},
			want: []string{"ALLOW (report-only: the policy would refuse)", "would refuse: origin not allowed", "report-only mode: " + config + ":11:7"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, code := explain(tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
	for _, args := range [][]string{
		{"cors"}, {"cors", "nope"}, {"cors", "explain", "--origin", appOrigin},
		{"cors", "explain", "--procedure", "pkg.S/M", "--origin", appOrigin},
		{"cors", "explain", "--procedure", "/a b", "--origin", appOrigin},
		{"cors", "explain", "--procedure", "/a%zz/M", "--origin", appOrigin},
		{"cors", "explain", "--procedure", procGetProfile + "?x=1", "--origin", appOrigin},
		{"cors", "explain", "--procedure", procGetProfile, "--origin", "https://a\nb"},
		{"cors", "explain", "--procedure", procGetProfile, "--origin", appOrigin, "--method", "<bad>"},
		{"cors", "explain", "--procedure", procGetProfile, "--origin", appOrigin, "--request-headers", "x\ny"},
		{"cors", "explain", "--env", "Prod", "--procedure", procGetProfile, "--origin", appOrigin},
		{"cors", "list", "extra"},
	} {
		if _, _, code := runBinary(t, env, args...); code != 2 {
			t.Errorf("portico %q: exit %d, want 2", args, code)
		}
	}
}
