package policy

import (
	"slices"
	"testing"
)

func TestResolveKeepsEffectiveDeclarations(t *testing.T) {
	t.Parallel()
	decl := func(field, scope, src string) Declaration {
		return Declaration{Field: field, Scope: scope, Source: src}
	}
	service := Spec{
		Origins: []string{"https://app.example.com"}, OriginSet: "web", AllowCredentials: ptr(true),
		AllowHeaders: []string{"Authorization"}, ReportOnly: ptr(true),
		Declared: []Declaration{
			decl("origins", "service", "a.proto:3"), decl("origin_set", "service", "a.proto:4"),
			decl("allow_credentials", "service", "a.proto:5"), decl("allow_headers", "service", "a.proto:6"),
			decl("report_only", "service", "a.proto:7"),
		},
	}
	tests := []struct {
		name       string
		method     Spec
		want       []string // the sources kept, in order
		reportOnly bool
	}{
		{name: "inherits everything", want: []string{"a.proto:3", "a.proto:4", "a.proto:5", "a.proto:6", "a.proto:7"}, reportOnly: true},
		{
			name:   "replaced origins, added headers, report_only turned off",
			method: Spec{Origins: []string{"https://b.example.com"}, AllowHeaders: []string{"If-Match"}, ReportOnly: ptr(false), Declared: []Declaration{decl("origins", "method", "a.proto:10"), decl("allow_headers", "method", "a.proto:11"), decl("report_only", "method", "a.proto:12")}},
			want:   []string{"a.proto:4", "a.proto:5", "a.proto:6", "a.proto:10", "a.proto:11", "a.proto:12"},
		},
		{
			name:       "public drops the service's origins and credentials",
			method:     Spec{Public: ptr(true), Declared: []Declaration{decl("public", "method", "a.proto:20")}},
			want:       []string{"a.proto:6", "a.proto:7", "a.proto:20"},
			reportOnly: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eff := Resolve(service, tt.method)
			var got []string
			for _, d := range eff.Declared {
				got = append(got, d.Source)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("declared at %v, want %v", got, tt.want)
			}
			m, err := Compile(MethodInfo{Procedure: "/s/M"}, eff)
			if err != nil {
				t.Fatal(err)
			}
			if m.ReportOnly != tt.reportOnly {
				t.Errorf("ReportOnly = %v, want %v", m.ReportOnly, tt.reportOnly)
			}
		})
	}
}

func TestDeclaredAt(t *testing.T) {
	t.Parallel()
	m := Method{Declared: []Declaration{
		{Field: "allow_headers", Scope: "service", Source: "a.proto:6"},
		{Field: "origins", Scope: "service", Source: "a.proto:3"},
		{Field: "allow_headers", Scope: "method", Source: "a.proto:11"},
	}}
	if got, want := m.DeclaredAt("allow_headers"), "a.proto:6 (service option); a.proto:11 (method option)"; got != want {
		t.Errorf("DeclaredAt = %q, want %q", got, want)
	}
	if got := m.DeclaredAt("max_age_seconds"); got != "" {
		t.Errorf("DeclaredAt of an undeclared field = %q, want empty", got)
	}
}
