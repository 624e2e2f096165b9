package corsconfig

import (
	"reflect"
	"strings"
	"testing"
)

func TestFromEnv(t *testing.T) {
	t.Parallel()
	cfg, err := FromEnv([]string{
		"HOME=/root",
		"PORTICO_ORIGINS_WEB=http://localhost:[5173,8080], https://*.example.dev,,",
		"PORTICO_CORS_REPORT_ONLY=portico.profile.v1.ProfileService, /portico.profile.v1.ProfileService/GetProfile=false",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		OriginSets: []OriginSet{{Name: "web", Source: "PORTICO_ORIGINS_WEB", Origins: []string{"http://localhost:[5173,8080]", "https://*.example.dev"}}},
		ReportOnly: []ReportOnly{
			{Target: "portico.profile.v1.ProfileService", On: true, Source: ReportOnlyVar},
			{Target: "/portico.profile.v1.ProfileService/GetProfile", On: false, Source: ReportOnlyVar},
		},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("FromEnv =\n%+v\nwant\n%+v", cfg, want)
	}
	for env, why := range map[string]string{
		"PORTICO_ORIGINS_web=x":             "upper case",
		"PORTICO_ORIGINS_9X=x":              "invalid origin set name",
		"PORTICO_CORS_REPORT_ONLY=a.B=nope": "target=true or target=false",
		"PORTICO_CORS_REPORT_ONLY=/a.B":     "/pkg.Service/Method",
		"PORTICO_CORS_REPORT_ONLY=a.B/M":    "/pkg.Service/Method",
		"PORTICO_CORS_REPORT_ONLY=/a.B/M/N": "/pkg.Service/Method",
	} {
		if _, err := FromEnv([]string{env}); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("FromEnv(%q) = %v, want an error containing %q", env, err, why)
		}
	}
}

func TestParseFile(t *testing.T) {
	t.Parallel()
	data := []byte(`# Portico deployment configuration
environments:
  staging:
    origin_sets:
      web:
        - https://staging.example.com
        - "https://*.example.dev"
    report_only:
      portico.profile.v1.ProfileService: true
  prod:
`)
	f, err := ParseFile("portico.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Environment("staging")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		OriginSets: []OriginSet{
			{Name: "web", Source: "portico.yaml:6:11", Origins: []string{"https://staging.example.com"}},
			{Name: "web", Source: "portico.yaml:7:11", Origins: []string{"https://*.example.dev"}},
		},
		ReportOnly: []ReportOnly{{Target: "portico.profile.v1.ProfileService", On: true, Source: "portico.yaml:9:7"}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("ParseFile =\n%+v\nwant\n%+v", cfg, want)
	}
	if cfg, err := f.Environment("prod"); err != nil || len(cfg.OriginSets)+len(cfg.ReportOnly) != 0 {
		t.Errorf("empty prod section = %+v, %v", cfg, err)
	}
	for body, why := range map[string]string{
		"":                                   "empty file",
		"environments: [dev]\n":              "portico.yaml:1:15: environments: want a mapping",
		"envs: {}\n":                         `portico.yaml:1:1: unknown key "envs"`,
		"environments:\n  Dev: {}\n":         `portico.yaml:2:3: invalid environment name "Dev"`,
		"environments:\n  staging: {}\n":     `no environment "prod" (the file has: staging)`,
		"environments:\n  prod:\n    x: 1\n": `portico.yaml:3:5: unknown key "x"`,
		"environments:\n  prod:\n    origin_sets:\n      Web: []\n":                                 `portico.yaml:4:7: invalid origin set name "Web"`,
		"environments:\n  prod:\n    origin_sets:\n      web: [1]\n":                                `portico.yaml:4:13: origin_sets.web: want an origin string`,
		"environments:\n  prod:\n    report_only:\n      a.B: 1\n":                                  `portico.yaml:4:12: report_only["a.B"]: want true or false`,
		"environments:\n  prod:\n    report_only:\n      a b: true\n":                               `portico.yaml:4:7: report-only target "a b"`,
		"environments:\n  prod: {}\n  prod: {}\n":                                                   `portico.yaml:3:3: environments: key "prod" given twice`,
		"environments:\n  prod: [\n":                                                                "portico.yaml:2: did not find expected node content",
		"environments:\n\tprod: {}\n":                                                               "(YAML cannot indent with tabs)",
		"environments:\n  prod: {}\n---\nenvironments: {}\n":                                        "portico.yaml:3: a second YAML document",
		"x: &a {}\nenvironments:\n  prod: *a\n":                                                     "portico.yaml:3:9: aliases (*a) are not supported",
		"environments:\n  prod:\n    origin_sets:\n      web: [&o \"https://a.example.com\", *o]\n": "aliases (*o)",
		strings.Repeat("#", MaxFileBytes+1):                                                         "more than the 1048576",
	} {
		f, err := ParseFile("portico.yaml", []byte(body))
		if err == nil {
			_, err = f.Environment("prod")
		}
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("ParseFile(%q) = %v, want an error containing %q", body, err, why)
		}
	}
}
