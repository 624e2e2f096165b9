package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/portico-dev/portico/gateway/policy"
)

const (
	lintProto   = "lint/v1/lint.proto"
	lintService = "lint.v1.LintService"
	lintMethod  = "lint.v1.LintService.Call"
	// marker, a comment, goes right before the token an error must point
	// at when the compiler records positions inside option values.
	marker = "/*@*/"
)

// lintSource returns a .proto file with one service and one method, whose
// Portico options have the given message-literal bodies ("" for none).
func lintSource(servicePolicy, methodPolicy string) string {
	var b strings.Builder
	b.WriteString(`syntax = "proto3";

package lint.v1;

import "portico/cors/v1/cors.proto";

option go_package = "example.com/lint/v1;lintv1";

message Req {}
message Res {}

service LintService {
`)
	if servicePolicy != "" {
		fmt.Fprintf(&b, "  option (portico.cors.v1.service) = {\n    %s\n  };\n\n", servicePolicy)
	}
	b.WriteString("  rpc Call(Req) returns (Res) {\n    option idempotency_level = NO_SIDE_EFFECTS;\n")
	if methodPolicy != "" {
		fmt.Fprintf(&b, "    option (portico.cors.v1.method) = {\n      %s\n    };\n", methodPolicy)
	}
	b.WriteString("  }\n}\n")
	return b.String()
}

// sourceInfoModes are the compilers the plugin must give good positions
// with: protoc records a position per option statement, buf also one per
// field and list element inside an option's message literal.
var sourceInfoModes = []struct {
	name string
	mode protocompile.SourceInfoMode
}{
	{"protoc", protocompile.SourceInfoStandard},
	{"buf", protocompile.SourceInfoExtraOptionLocations},
}

// lintErrors runs the plugin on src as lint/v1/lint.proto and returns the
// lines of its error, failing the test if it generated files anyway.
func lintErrors(tb testing.TB, mode protocompile.SourceInfoMode, src string) []string {
	tb.Helper()
	req := compileRequest(tb, mode, map[string]string{lintProto: src}, nil, lintProto)
	resp := runPlugin(tb, req)
	if resp.Error == nil {
		return nil
	}
	if len(resp.GetFile()) != 0 {
		tb.Errorf("failed with %d generated files, want none", len(resp.GetFile()))
	}
	return strings.Split(resp.GetError(), "\n")
}

// wantPosition is where an error about the text after offset at in src must
// point: for buf, at the marker that ends at at; for protoc, which records
// no positions inside option values, at the option statement holding it. If
// there is no marker, both point at the option statement.
func wantPosition(tb testing.TB, src string, mode protocompile.SourceInfoMode, at int) string {
	tb.Helper()
	pos := at
	if mode&protocompile.SourceInfoExtraOptionLocations == 0 || !strings.HasSuffix(src[:at], marker) {
		pos = strings.LastIndex(src[:at], "option (portico.cors.v1.")
		if pos < 0 {
			tb.Fatalf("no option statement before offset %d", at)
		}
	}
	line := 1 + strings.Count(src[:pos], "\n")
	col := pos - strings.LastIndex(src[:pos], "\n")
	return fmt.Sprintf("%s:%d:%d", lintProto, line, col)
}

// TestLintErrors declares each invalid policy on a service and on a method,
// and checks the one error line the plugin reports: its position, the
// service or method, the field and the reason.
func TestLintErrors(t *testing.T) {
	t.Parallel()
	const ok = `"https://ok.example.com", `
	tests := []struct {
		name string
		// policy is a Policy message-literal body; an error's token is
		// preceded by marker, if buf records a position for it.
		policy string
		field  string
		reason string
	}{
		{"credentials_and_public", `public: true ` + marker + `allow_credentials: true`, "allow_credentials", "credentials cannot be allowed on a public policy"},
		// buf records positions of list elements, not of the list: an error
		// about the whole list points at the option.
		{"public_with_origins", `public: true origins: ["https://a.example.com"]`, "origins", "a public policy allows every origin; remove origins or public"},
		{"public_with_origin_set", `public: true ` + marker + `origin_set: "web"`, "origin_set", "a public policy allows every origin; remove origin_set or public"},

		{"origin_path", `origins: [` + ok + marker + `"https://a.example.com/x"]`, "origins[1]", "has a path, query or fragment"},
		{"origin_query", `origins: [` + ok + marker + `"https://a.example.com?x"]`, "origins[1]", "has a path, query or fragment"},
		{"origin_trailing_slash", `origins: [` + ok + marker + `"https://a.example.com/"]`, "origins[1]", "trailing slash"},
		{"origin_upper_scheme", `origins: [` + ok + marker + `"HTTPS://a.example.com"]`, "origins[1]", "upper case in scheme"},
		{"origin_upper_host", `origins: [` + ok + marker + `"https://A.example.com"]`, "origins[1]", "upper case in host"},
		{"origin_userinfo", `origins: [` + ok + marker + `"https://user@a.example.com"]`, "origins[1]", "has userinfo"},
		{"origin_userinfo_password", `origins: [` + ok + marker + `"https://user:pw@a.example.com"]`, "origins[1]", "has userinfo"},
		{"origin_no_scheme", `origins: [` + ok + marker + `"a.example.com"]`, "origins[1]", "no scheme"},
		{"origin_https_default_port", `origins: [` + ok + marker + `"https://a.example.com:443"]`, "origins[1]", "default port 443 spelled out"},
		{"origin_http_default_port", `origins: [` + ok + marker + `"http://a.example.com:80"]`, "origins[1]", "default port 80 spelled out"},
		{"origin_bare_star", `origins: [` + ok + marker + `"*"]`, "origins[1]", `"*" is not an origin; declare the method public instead`},
		{"origin_null", `origins: [` + ok + marker + `"null"]`, "origins[1]", `"null" is sent by sandboxed and opaque origins`},
		{"origin_empty", `origins: [` + ok + marker + `""]`, "origins[1]", "empty"},
		{"origin_partial_label_wildcard", `origins: [` + ok + marker + `"https://a*.example.com"]`, "origins[1]", `"*" may only stand for the whole first label`},
		{"origin_two_wildcards", `origins: [` + ok + marker + `"https://*.*.example.com"]`, "origins[1]", `"*" may only stand for the whole first label`},
		{"origin_inner_wildcard", `origins: [` + ok + marker + `"https://a.*.example.com"]`, "origins[1]", `"*" may only stand for the whole first label`},
		{"origin_wildcard_tld", `origins: [` + ok + marker + `"https://*.com"]`, "origins[1]", `"com" is a public suffix`},
		{"origin_wildcard_run_app", `origins: [` + ok + marker + `"https://*.run.app"]`, "origins[1]", `"run.app" is a public suffix`},
		{"origin_wildcard_co_uk", `origins: [` + ok + marker + `"https://*.co.uk"]`, "origins[1]", `"co.uk" is a public suffix`},
		{"origin_single", marker + `origins: "https://a.example.com/"`, "origins[0]", "trailing slash"},

		{"allow_header_space", `allow_headers: ["X-Ok", ` + marker + `"X Bad"]`, "allow_headers[1]", `"X Bad" is not a valid header name`},
		{"allow_header_colon", `allow_headers: ["X-Ok", ` + marker + `"X-Bad:"]`, "allow_headers[1]", `"X-Bad:" is not a valid header name`},
		{"allow_header_forbidden", `allow_headers: ["X-Ok", ` + marker + `"Cookie"]`, "allow_headers[1]", `"Cookie" is a forbidden request header`},
		{"expose_header_space", `expose_headers: ["X-Ok", ` + marker + `"X Bad"]`, "expose_headers[1]", `"X Bad" is not a valid header name`},
		{"expose_header_colon", `expose_headers: ["X-Ok", ` + marker + `"X-Bad:"]`, "expose_headers[1]", `"X-Bad:" is not a valid header name`},
		{"expose_set_cookie", `expose_headers: ["X-Ok", ` + marker + `"Set-Cookie"]`, "expose_headers[1]", `"Set-Cookie" can never be exposed`},

		{"max_age_negative", marker + `max_age_seconds: -1`, "max_age_seconds", "-1 is out of range: must be from 0 to 7200"},
		{"max_age_too_large", marker + `max_age_seconds: 7201`, "max_age_seconds", "7201 is out of range: must be from 0 to 7200"},

		{"protocol_unspecified", `protocols: [PROTOCOL_CONNECT, ` + marker + `PROTOCOL_UNSPECIFIED]`, "protocols[1]", "PROTOCOL_UNSPECIFIED is not a browser protocol"},

		{"origin_set_upper_case", marker + `origin_set: "Web"`, "origin_set", `invalid origin set name "Web"`},
		{"origin_set_leading_digit", marker + `origin_set: "1web"`, "origin_set", `invalid origin set name "1web"`},
		{"origin_set_dash", marker + `origin_set: "web-preview"`, "origin_set", `invalid origin set name "web-preview"`},
	}
	placements := []struct {
		name string
		// declarer is the name errors are reported under.
		declarer string
		source   func(policy string) string
	}{
		{"service", lintService, func(p string) string { return lintSource(p, "") }},
		{"method", lintMethod, func(p string) string {
			// The service is valid and callable, so that the method's own
			// policy is what fails.
			return lintSource(`origins: ["https://app.example.com"]`, p)
		}},
	}
	for _, tc := range tests {
		for _, place := range placements {
			for _, mode := range sourceInfoModes {
				t.Run(tc.name+"/"+place.name+"/"+mode.name, func(t *testing.T) {
					t.Parallel()
					src := place.source(tc.policy)
					at := strings.Index(src, tc.policy)
					if i := strings.Index(tc.policy, marker); i >= 0 {
						at += i + len(marker)
					}
					prefix := fmt.Sprintf("%s: %s: %s: ", wantPosition(t, src, mode.mode, at), place.declarer, tc.field)
					lines := lintErrors(t, mode.mode, src)
					if len(lines) != 1 {
						t.Fatalf("got %d error lines, want 1:\n%s", len(lines), strings.Join(lines, "\n"))
					}
					if got := lines[0]; !strings.HasPrefix(got, prefix) || !strings.Contains(got, tc.reason) {
						t.Errorf("error\n\t%s\nwant\n\t%s...%s...", got, prefix, tc.reason)
					}
				})
			}
		}
	}
}

// TestLintAccepts checks policies at the edges of the rules, which must
// compile, and what they compile to.
func TestLintAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		servicePolicy string
		methodPolicy  string
		check         func(tb testing.TB, m policy.Method)
	}{
		{
			name:          "max_age_zero",
			servicePolicy: `origins: ["https://a.example.com"] max_age_seconds: 0`,
			check:         wantField("MaxAge", func(m policy.Method) any { return m.MaxAge }, "0"),
		},
		{
			name:          "max_age_limit",
			servicePolicy: `origins: ["https://a.example.com"]`,
			methodPolicy:  `max_age_seconds: 7200`,
			check:         wantField("MaxAge", func(m policy.Method) any { return m.MaxAge }, "7200"),
		},
		{
			name:          "max_age_unset",
			servicePolicy: `origins: ["https://a.example.com"]`,
			check:         wantField("MaxAge", func(m policy.Method) any { return m.MaxAge }, ""),
		},
		{
			// Spec: a public method that leaves allow_credentials unset is
			// not credentialed even if its service is.
			name:          "service_credentials_method_public",
			servicePolicy: `origins: ["https://a.example.com"] allow_credentials: true`,
			methodPolicy:  `public: true`,
			check: func(tb testing.TB, m policy.Method) {
				tb.Helper()
				if !m.BrowserCallable || !m.Public || m.AllowCredentials || m.Credentialed() || len(m.Origins) != 0 {
					tb.Errorf("got %+v, want public, not credentialed, no origins", m)
				}
			},
		},
		{
			// allow_credentials has presence: false on the method overrides
			// the service's true.
			name:          "method_credentials_false",
			servicePolicy: `origins: ["https://a.example.com"] allow_credentials: true`,
			methodPolicy:  `allow_credentials: false`,
			check: func(tb testing.TB, m policy.Method) {
				tb.Helper()
				if !m.BrowserCallable || m.AllowCredentials {
					tb.Errorf("got %+v, want callable without credentials", m)
				}
			},
		},
		{
			// public has presence: false on the method overrides the
			// service's true.
			name:          "method_not_public",
			servicePolicy: `public: true`,
			methodPolicy:  `public: false origins: ["https://a.example.com"] allow_credentials: true`,
			check: func(tb testing.TB, m policy.Method) {
				tb.Helper()
				if !m.BrowserCallable || m.Public || !m.AllowCredentials || len(m.Origins) != 1 {
					tb.Errorf("got %+v, want credentialed for https://a.example.com", m)
				}
			},
		},
		{
			name:          "public_without_credentials",
			servicePolicy: `public: true allow_credentials: false`,
			check: func(tb testing.TB, m policy.Method) {
				tb.Helper()
				if !m.BrowserCallable || !m.Public || m.AllowCredentials {
					tb.Errorf("got %+v, want public", m)
				}
			},
		},
		{
			name:          "valid_origins",
			servicePolicy: `origins: ["https://*.acme.dev:8443", "http://localhost:5173", "http://127.0.0.1:8080", "https://[::1]:8443", "https://xn--bcher-kva.example"]`,
			check: func(tb testing.TB, m policy.Method) {
				tb.Helper()
				if !m.BrowserCallable || len(m.Origins) != 5 {
					tb.Errorf("got %+v, want callable by 5 origins", m)
				}
			},
		},
		{
			name:          "origin_set_only",
			servicePolicy: `origin_set: "web_preview2"`,
			check: func(tb testing.TB, m policy.Method) {
				tb.Helper()
				if !m.BrowserCallable || m.OriginSet != "web_preview2" || len(m.Origins) != 0 {
					tb.Errorf("got %+v, want callable by the origin set only", m)
				}
			},
		},
		{
			name:          "method_protocols_replace_service",
			servicePolicy: `origins: ["https://a.example.com"] protocols: [PROTOCOL_GRPC_WEB]`,
			methodPolicy:  `protocols: [PROTOCOL_CONNECT]`,
			check: func(tb testing.TB, m policy.Method) {
				tb.Helper()
				if m.AllowMethods != "GET, POST" || strings.Contains(m.AllowHeaders, "X-Grpc-Web") || m.ExposeHeaders != "" {
					tb.Errorf("got %+v, want Connect only, with GET", m)
				}
			},
		},
		{
			name:          "credentials_without_origins",
			servicePolicy: `allow_credentials: true`,
			check: func(tb testing.TB, m policy.Method) {
				tb.Helper()
				if m.BrowserCallable || m.AllowCredentials {
					tb.Errorf("got %+v, want not callable", m)
				}
			},
		},
	}
	for _, tc := range tests {
		for _, mode := range sourceInfoModes {
			t.Run(tc.name+"/"+mode.name, func(t *testing.T) {
				t.Parallel()
				src := lintSource(tc.servicePolicy, tc.methodPolicy)
				req := compileRequest(t, mode.mode, map[string]string{lintProto: src}, nil, lintProto)
				if resp := runPlugin(t, req); resp.Error != nil {
					t.Fatalf("plugin failed:\n%s", resp.GetError())
				}
				services := compileServices(t, req, lintProto)
				tc.check(t, services[0].Methods[0])
			})
		}
	}
}

func wantField(name string, get func(policy.Method) any, want any) func(testing.TB, policy.Method) {
	return func(tb testing.TB, m policy.Method) {
		tb.Helper()
		if got := get(m); got != want {
			tb.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
}

// TestLintInherited checks that a method of a public service may narrow it
// to named origins with credentials: the more specific declaration wins, so
// the method is no longer public and nothing is refused.
func TestLintInherited(t *testing.T) {
	t.Parallel()
	src := lintSource(`public: true`, `allow_credentials: true origins: ["https://a.example.com"] origin_set: "web"`)
	req := compileRequest(t, protocompile.SourceInfoStandard, map[string]string{lintProto: src}, nil, lintProto)
	if resp := runPlugin(t, req); resp.Error != nil {
		t.Fatalf("plugin error: %s", resp.GetError())
	}
	services := compileServices(t, req, lintProto)
	if len(services) != 1 || len(services[0].Methods) != 1 {
		t.Fatalf("got %+v, want one service with one method", services)
	}
	m := services[0].Methods[0]
	if m.Public || !m.AllowCredentials || m.OriginSet != "web" || len(m.Origins) != 1 || !m.BrowserCallable {
		t.Errorf("narrowed method = %+v, want credentialed, not public, origins and set kept", m)
	}
	if !services[0].Default.Public {
		t.Errorf("the service default must stay public: %+v", services[0].Default)
	}
}

// TestLintReportsAll checks that one run reports every invalid policy of a
// file, including those of methods whose service's policy is itself invalid.
func TestLintReportsAll(t *testing.T) {
	t.Parallel()
	const src = `syntax = "proto3";

package lint.v1;

import "portico/cors/v1/cors.proto";

option go_package = "example.com/lint/v1;lintv1";

message Req {}
message Res {}

service BrokenService {
  option (portico.cors.v1.service) = {
    origins: ["https://a.example.com/", "https://*.com"]
    max_age_seconds: 9000
  };
  rpc Good(Req) returns (Res);
  rpc Bad(Req) returns (Res) {
    option (portico.cors.v1.method) = {expose_headers: ["Set-Cookie"]};
  }
}

service OtherService {
  option (portico.cors.v1.service) = {origins: ["https://a.example.com"]};
  rpc Fine(Req) returns (Res);
  rpc Worse(Req) returns (Res) {
    option (portico.cors.v1.method).allow_headers = "Cookie";
    option (portico.cors.v1.method).protocols = PROTOCOL_UNSPECIFIED;
  }
}
`
	// Lines and columns are those of the protoc-style positions: each option
	// statement, and each field set with the option (name).field syntax.
	want := []struct{ prefix, reason string }{
		{"lint/v1/lint.proto:13:3: lint.v1.BrokenService: origins[0]: ", "trailing slash"},
		{"lint/v1/lint.proto:13:3: lint.v1.BrokenService: origins[1]: ", "public suffix"},
		{"lint/v1/lint.proto:13:3: lint.v1.BrokenService: max_age_seconds: ", "9000 is out of range"},
		{"lint/v1/lint.proto:19:5: lint.v1.BrokenService.Bad: expose_headers[0]: ", "can never be exposed"},
		{"lint/v1/lint.proto:27:5: lint.v1.OtherService.Worse: allow_headers[0]: ", "forbidden request header"},
		{"lint/v1/lint.proto:28:5: lint.v1.OtherService.Worse: protocols[0]: ", "not a browser protocol"},
	}
	assertLines(t, lintErrors(t, protocompile.SourceInfoStandard, src), want)
}

// assertLines checks that each error line has the wanted prefix and contains
// the wanted reason, in order.
func assertLines(tb testing.TB, lines []string, want []struct{ prefix, reason string }) {
	tb.Helper()
	if len(lines) != len(want) {
		tb.Errorf("got %d error lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i := range min(len(lines), len(want)) {
		if !strings.HasPrefix(lines[i], want[i].prefix) || !strings.Contains(lines[i], want[i].reason) {
			tb.Errorf("error line %d\n\t%s\nwant\n\t%s...%s...", i+1, lines[i], want[i].prefix, want[i].reason)
		}
	}
}
