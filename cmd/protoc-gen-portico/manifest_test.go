package main

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/portico-dev/portico/gateway/policy"
)

const (
	// widgetManifest is the manifest next to widgetOutput.
	widgetManifest       = "acme/widget/v1/widgetv1portico/widget.portico.json"
	widgetManifestGolden = "testdata/golden/widget.portico.json.golden"
)

func TestManifestGolden(t *testing.T) {
	t.Parallel()
	got := generatedFile(t, runPlugin(t, widgetRequest(t)), widgetManifest)
	if *update {
		if err := os.WriteFile(widgetManifestGolden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(widgetManifestGolden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("generated %s differs from %s (run go test -update to accept):\n%s", widgetManifest, widgetManifestGolden, lineDiff(string(want), got))
	}
}

// TestManifestFormat checks the promises of the manifest's doc: the schema
// key, a deterministic encoding, a final newline, and no null lists.
func TestManifestFormat(t *testing.T) {
	t.Parallel()
	first := generatedFile(t, runPlugin(t, widgetRequest(t)), widgetManifest)
	for range 3 {
		if again := generatedFile(t, runPlugin(t, widgetRequest(t)), widgetManifest); again != first {
			t.Fatalf("two runs differ:\n%s", lineDiff(first, again))
		}
	}
	if !strings.HasSuffix(first, "}\n") || strings.HasSuffix(first, "\n\n") {
		t.Error("the manifest does not end with exactly one newline")
	}
	if !strings.HasPrefix(first, "{\n  \"schema\": \""+manifestSchema+"\",\n") {
		t.Errorf("the manifest does not start with its schema:\n%.80s", first)
	}
	for line := range strings.SplitSeq(first, "\n") {
		if strings.Contains(line, "null") && !strings.Contains(line, `"max_age_seconds": null`) {
			t.Errorf("null outside max_age_seconds: %s", line)
		}
	}
	var generic map[string]any
	if err := json.Unmarshal([]byte(first), &generic); err != nil {
		t.Fatalf("the manifest is not JSON: %v", err)
	}
}

// TestManifestMatchesTables decodes the manifest and checks each method
// against the policy.Method the Go file is generated from, field by field;
// and that every field of policy.Method is in the manifest, so that a field
// added to the policy cannot be left out of it unnoticed.
func TestManifestMatchesTables(t *testing.T) {
	t.Parallel()
	req := widgetRequest(t)
	services := compileServices(t, req, widgetProto)
	raw := generatedFile(t, runPlugin(t, req), widgetManifest)
	var mf manifest
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&mf); err != nil {
		t.Fatal(err)
	}
	if mf.Schema != manifestSchema || mf.Source != widgetProto {
		t.Errorf("schema %q, source %q", mf.Schema, mf.Source)
	}
	if len(mf.Services) != len(services) {
		t.Fatalf("%d services in the manifest, %d compiled", len(mf.Services), len(services))
	}
	for i, svc := range services {
		ms := mf.Services[i]
		if ms.Name != svc.Name {
			t.Errorf("service %d: %q, want %q", i, ms.Name, svc.Name)
		}
		assertManifestMethod(t, ms.Default, svc.Default)
		if len(ms.Methods) != len(svc.Methods) {
			t.Errorf("%s: %d methods in the manifest, %d compiled", svc.Name, len(ms.Methods), len(svc.Methods))
			continue
		}
		for j, m := range svc.Methods {
			assertManifestMethod(t, ms.Methods[j], m)
		}
	}

	// The fields of policy.Method that assertManifestMethod compares.
	covered := []string{
		"Procedure", "Source", "BrowserCallable", "NotCallableReason", "Public", "AllowCredentials",
		"Origins", "OriginSet", "AllowMethods", "AllowHeaders", "ExposeHeaders", "MaxAge", "AllowPrivateNetwork",
		"ReportOnly", "Declared",
	}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[policy.Method]()) {
		if f.IsExported() && !slices.Contains(covered, f.Name) {
			t.Errorf("policy.Method.%s is not in the manifest: add it to manifestMethod and to this test", f.Name)
		}
	}
}

func assertManifestMethod(tb testing.TB, got manifestMethod, want policy.Method) {
	tb.Helper()
	check := func(field string, got, want any) {
		tb.Helper()
		if !reflect.DeepEqual(got, want) {
			tb.Errorf("%s: %s = %#v, want %#v", want, field, got, want)
		}
	}
	maxAge := ""
	if got.MaxAgeSeconds != nil {
		maxAge = strconv.Itoa(*got.MaxAgeSeconds)
	}
	orEmpty := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	check("procedure", got.Procedure, want.Procedure)
	check("source", got.Source, want.Source)
	check("browser_callable", got.BrowserCallable, want.BrowserCallable)
	check("not_callable_reason", got.NotCallableReason, want.NotCallableReason)
	check("public", got.Public, want.Public)
	check("allow_credentials", got.AllowCredentials, want.AllowCredentials)
	check("origins", got.Origins, orEmpty(want.Origins))
	check("origin_set", got.OriginSet, want.OriginSet)
	check("allow_methods", strings.Join(got.AllowMethods, ", "), want.AllowMethods)
	check("report_only", got.ReportOnly, want.ReportOnly)
	declared := []policy.Declaration{}
	for _, d := range got.Declared {
		declared = append(declared, policy.Declaration{Field: d.Field, Scope: d.Scope, Source: d.Source})
	}
	wantDeclared := want.Declared
	if wantDeclared == nil {
		wantDeclared = []policy.Declaration{}
	}
	check("declared", declared, wantDeclared)
	check("allow_request_headers", strings.Join(got.AllowRequestHeaders, ", "), want.AllowHeaders)
	check("expose_headers", strings.Join(got.ExposeHeaders, ", "), want.ExposeHeaders)
	check("max_age_seconds", maxAge, want.MaxAge)
	check("allow_private_network", got.AllowPrivateNetwork, want.AllowPrivateNetwork)
	check("connect_get_without_preflight", got.ConnectGETWithoutPreflight, connectGETWithoutPreflight(want))
}

// TestConnectGETWithoutPreflight checks the rule of
// connectGETWithoutPreflight on every shape of policy, through the plugin.
func TestConnectGETWithoutPreflight(t *testing.T) {
	t.Parallel()
	const (
		get  = "option idempotency_level = NO_SIDE_EFFECTS;"
		post = ""
	)
	tests := []struct {
		name    string
		service string // the service option's fields
		method  string // the method's options
		stream  bool   // server-streaming
		want    bool
	}{
		{"public GET", `public: true`, get, false, true},
		{"public GET that allows Authorization", `public: true allow_headers: ["Authorization"]`, get, false, true},
		{"credentialed GET: cookies need no preflight", `origins: ["https://a.example.com"] allow_credentials: true allow_headers: ["Authorization", "X-Client-Version"]`, get, false, true},
		{"origins, no credentials, no Authorization", `origins: ["https://a.example.com"] allow_headers: ["X-Client-Version"]`, get, false, true},
		{"origin set only", `origin_set: "web"`, get, false, true},
		{"origins, no credentials: Authorization is needed", `origins: ["https://a.example.com"] allow_headers: ["authorization"]`, get, false, false},
		{"side effects: POST only", `public: true`, post, false, false},
		{"gRPC-Web only: no GET", `public: true protocols: [PROTOCOL_GRPC_WEB]`, get, false, false},
		{"server stream: POST only", `public: true`, get, true, false},
		{"not browser-callable", `allow_headers: ["X-Client-Version"]`, get, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := "Res"
			if tc.stream {
				res = "stream Res"
			}
			src := `syntax = "proto3";
package rule.v1;
import "portico/cors/v1/cors.proto";
option go_package = "example.com/rule/v1;rulev1";
message Req {}
message Res {}
service RuleService {
  option (portico.cors.v1.service) = {` + tc.service + `};
  rpc Get(Req) returns (` + res + `) {
    ` + tc.method + `
  }
}
`
			req := compileRequest(t, protocompile.SourceInfoStandard, map[string]string{"rule/v1/rule.proto": src}, nil, "rule/v1/rule.proto")
			var mf manifest
			if err := json.Unmarshal([]byte(generatedFile(t, runPlugin(t, req), "rule/v1/rulev1portico/rule.portico.json")), &mf); err != nil {
				t.Fatal(err)
			}
			m := mf.Services[0].Methods[0]
			if m.ConnectGETWithoutPreflight != tc.want {
				t.Errorf("connect_get_without_preflight = %v, want %v for %+v", m.ConnectGETWithoutPreflight, tc.want, m)
			}
			// The service default is never served with GET.
			if mf.Services[0].Default.ConnectGETWithoutPreflight {
				t.Error("the service default is GET-callable")
			}
		})
	}
}

// TestManifestNextToGoFile checks that each file with services gets one
// manifest, in the directory of its Go file, and a file without none.
func TestManifestNextToGoFile(t *testing.T) {
	t.Parallel()
	resp := runPlugin(t, widgetRequest(t))
	var names []string
	for _, f := range resp.GetFile() {
		names = append(names, f.GetName())
	}
	want := []string{widgetOutput, widgetManifest}
	if !slices.Equal(names, want) {
		t.Errorf("generated %q, want %q", names, want)
	}
	if strings.TrimSuffix(widgetOutput, ".go") != strings.TrimSuffix(widgetManifest, ".json") {
		t.Errorf("%s is not next to %s", widgetManifest, widgetOutput)
	}
}
