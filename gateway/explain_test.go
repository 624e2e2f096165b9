package gateway

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/policy"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1portico"
)

func TestExplain(t *testing.T) {
	t.Parallel()
	internal := &policy.Service{
		Name:    "acme.v1.Internal",
		Default: policy.Method{Procedure: "/acme.v1.Internal/", NotCallableReason: "the policy names no origins, no origin set and is not public"},
		Methods: []policy.Method{{Procedure: "/acme.v1.Internal/Reindex", Source: "acme/v1/internal.proto:9", NotCallableReason: "the policy names no origins, no origin set and is not public"}},
	}
	g, err := New([]*policy.Service{profilev1portico.ProfileServicePolicy, internal}, WithLogger(nil),
		WithOriginSet("web", "PORTICO_ORIGINS_WEB", "https://*.example.dev"),
		WithOriginSet("web", "portico.yaml:7", "http://localhost:[5173,8080]"),
		WithReportOnly("/portico.profile.v1.ProfileService/DeleteProfile", true, "portico.yaml:12"))
	if err != nil {
		t.Fatal(err)
	}
	// No handler is mounted: Explain needs none.
	protocol := []string{"content-type", "connect-protocol-version"}
	tests := []struct {
		name      string
		q         Query
		allowed   bool
		reason    string
		rule      []string // substrings of Rule
		from      []string // substrings of From
		preflight int      // status; 0 for no preflight
	}{
		{
			name: "allowed by the proto's origins", q: Query{Procedure: update, Origin: appOrigin, RequestHeaders: append(protocol, "Authorization", "If-Match"), Credentials: true},
			allowed: true, reason: "allowed", preflight: 204,
			rule: []string{`matches https://app.example.com in origins`}, from: []string{"portico/profile/v1/profile.proto:21 (service option)"},
		},
		{
			name: "allowed by a binding with a port list", q: Query{Procedure: update, Origin: "http://localhost:8080", RequestHeaders: protocol},
			allowed: true, reason: "allowed", preflight: 204,
			rule: []string{`matches http://localhost:[5173,8080] in origin set "web"`}, from: []string{"bound by portico.yaml:7"},
		},
		{
			name: "origin not allowed", q: Query{Procedure: update, Origin: "https://a.b.example.dev", RequestHeaders: protocol},
			reason: "origin not allowed", preflight: 403,
			rule: []string{`origin "https://a.b.example.dev" matches none of the allowed origins [https://app.example.com, https://admin.example.com, https://*.example.dev, http://localhost:[5173,8080]]`,
				`the "*" of https://*.example.dev stands for exactly one DNS label, and "a.b" has more`},
			from: []string{"https://app.example.com: origins, portico/profile/v1/profile.proto:21 (service option)", `https://*.example.dev: origin set "web", bound by PORTICO_ORIGINS_WEB`},
		},
		{
			name: "apex of a wildcard", q: Query{Procedure: update, Origin: "https://example.dev", RequestHeaders: protocol},
			reason: "origin not allowed", preflight: 403, rule: []string{"https://*.example.dev does not match its apex https://example.dev"},
		},
		{
			name: "null origin", q: Query{Procedure: update, Origin: "null", RequestHeaders: protocol},
			reason: `Origin "null" is never allowed`, preflight: 403, rule: []string{`Origin "null" can never be allowed`},
		},
		{
			name: "header not allowed", q: Query{Procedure: getProfile, Origin: appOrigin, RequestHeaders: append(protocol, "If-Match")},
			reason: "request header not allowed", preflight: 403,
			rule: []string{`request header "if-match" is not allowed`}, from: []string{"allow_headers, portico/profile/v1/profile.proto:27 (service option)"},
		},
		{
			name: "method not allowed", q: Query{Procedure: update, Origin: appOrigin, Method: "GET", RequestHeaders: []string{"authorization"}},
			reason: "method not allowed", preflight: 403,
			rule: []string{"method GET is not allowed: Access-Control-Allow-Methods is POST", "NO_SIDE_EFFECTS"}, from: []string{"portico/profile/v1/profile.proto:49 (method declaration)"},
		},
		{
			name: "GET of a method served only with POST", q: Query{Procedure: update, Origin: appOrigin, Method: "GET", Credentials: true},
			reason: "method not allowed", rule: []string{"method GET is not allowed"},
		},
		{
			name: "Connect GET needs no preflight", q: Query{Procedure: getProfile, Origin: appOrigin, Method: "GET", Credentials: true},
			allowed: true, reason: "allowed",
		},
		{
			name: "credentials on a public method", q: Query{Procedure: publicRead, Origin: evilOrigin, RequestHeaders: protocol, Credentials: true},
			reason: "Access-Control-Allow-Origin: * with credentials", preflight: 204,
			rule: []string{"the method is public"}, from: []string{"public, portico/profile/v1/profile.proto:74 (method option)"},
		},
		{
			name: "public method without credentials", q: Query{Procedure: publicRead, Origin: evilOrigin, RequestHeaders: protocol},
			allowed: true, reason: "allowed", preflight: 204, rule: []string{"the method is public"},
		},
		{
			name: "not browser-callable", q: Query{Procedure: "/acme.v1.Internal/Reindex", Origin: appOrigin, RequestHeaders: protocol},
			reason: "procedure is not browser-callable", preflight: 403,
			rule: []string{"names no origins"}, from: []string{"acme/v1/internal.proto:9 (method declaration)"},
		},
		{
			name: "unknown procedure", q: Query{Procedure: svcPath + "Nope", Origin: appOrigin, RequestHeaders: protocol},
			reason: "unknown procedure", preflight: 404, rule: []string{"declares /portico.profile.v1.ProfileService/Nope"},
		},
		{
			name: "report-only answers a refusal as allowed", q: Query{Procedure: svcPath + "DeleteProfile", Origin: evilOrigin, RequestHeaders: protocol, Credentials: true},
			allowed: true, reason: "would refuse: origin not allowed", preflight: 204,
			from: []string{"report-only mode: portico.yaml:12"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ex := g.Explain(tt.q)
			if ex.Allowed != tt.allowed || ex.Reason != tt.reason {
				t.Errorf("allowed %v reason %q, want %v %q (rule %q)", ex.Allowed, ex.Reason, tt.allowed, tt.reason, ex.Rule)
			}
			for _, s := range tt.rule {
				if !strings.Contains(ex.Rule, s) {
					t.Errorf("rule %q\nwant it to contain %q", ex.Rule, s)
				}
			}
			for _, s := range tt.from {
				if !strings.Contains(ex.From, s) {
					t.Errorf("from %q\nwant it to contain %q", ex.From, s)
				}
			}
			switch {
			case tt.preflight == 0 && ex.Preflight != nil:
				t.Errorf("a preflight was simulated (%d), want none", ex.Preflight.Status)
			case tt.preflight != 0 && (ex.Preflight == nil || ex.Preflight.Status != tt.preflight):
				t.Errorf("preflight %+v, want status %d", ex.Preflight, tt.preflight)
			}
			if tt.allowed && (ex.Actual == nil || ex.Actual.ResponseHeader.Get("Access-Control-Allow-Origin") == "") {
				t.Errorf("allowed, but the actual response has no Allow-Origin: %+v", ex.Actual)
			}
		})
	}
}

func TestProcedures(t *testing.T) {
	t.Parallel()
	g, _ := newTestGateway(t, WithReportOnly("/portico.profile.v1.ProfileService/GetProfile", true, "env"))
	procs := g.Procedures()
	if len(procs) != len(profilev1portico.ProfileServicePolicy.Methods) {
		t.Fatalf("%d procedures, want %d", len(procs), len(profilev1portico.ProfileServicePolicy.Methods))
	}
	byName := map[string]Procedure{}
	for _, p := range procs {
		byName[p.Procedure] = p
	}
	get := byName[getProfile]
	if !get.ReportOnly || get.ReportOnlySource != "env" || get.AllowMethods != "GET, POST" || !get.AllowCredentials {
		t.Errorf("GetProfile = %+v", get)
	}
	var origins []string
	for _, o := range get.Origins {
		origins = append(origins, o.Pattern+"|"+o.Set+"|"+o.Source)
	}
	want := "https://app.example.com||portico/profile/v1/profile.proto:21 (service option) https://admin.example.com||portico/profile/v1/profile.proto:21 (service option) https://*.example.dev|web|PORTICO_ORIGINS_WEB http://localhost:5173|web|PORTICO_ORIGINS_WEB"
	if got := strings.Join(origins, " "); got != want {
		t.Errorf("origins\n got %s\nwant %s", got, want)
	}
	if pub := byName[publicRead]; !pub.Public || len(pub.Origins) != 0 || pub.ReportOnly {
		t.Errorf("GetPublicProfile = %+v", pub)
	}
}
