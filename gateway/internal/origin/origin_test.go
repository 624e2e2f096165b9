package origin

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		wantErr string // substring; "" means valid
	}{
		{name: "exact https", raw: "https://app.example.com"},
		{name: "exact http port", raw: "http://localhost:5173"},
		{name: "ipv4", raw: "http://127.0.0.1:8080"},
		{name: "ipv6", raw: "http://[::1]:8080"},
		{name: "non-default port", raw: "https://app.example.com:8443"},
		{name: "wildcard", raw: "https://*.example.dev"},
		{name: "wildcard with port", raw: "https://*.example.dev:8443"},
		{name: "custom scheme", raw: "chrome-extension://abcdefghijklmnop"},
		{name: "empty", raw: "", wantErr: "empty"},
		{name: "bare star", raw: "*", wantErr: "public"},
		{name: "null", raw: "null", wantErr: "never allowed"},
		{name: "no scheme", raw: "app.example.com", wantErr: "no scheme"},
		{name: "empty scheme", raw: "://app.example.com", wantErr: "empty scheme"},
		{name: "upper scheme", raw: "HTTPS://app.example.com", wantErr: "upper case in scheme"},
		{name: "upper host", raw: "https://App.example.com", wantErr: "upper case in host"},
		{name: "trailing slash", raw: "https://app.example.com/", wantErr: "trailing slash"},
		{name: "path", raw: "https://app.example.com/app", wantErr: "path"},
		{name: "query", raw: "https://app.example.com?x", wantErr: "path"},
		{name: "userinfo", raw: "https://user@app.example.com", wantErr: "userinfo"},
		{name: "default https port", raw: "https://app.example.com:443", wantErr: "default port"},
		{name: "default http port", raw: "http://app.example.com:80", wantErr: "default port"},
		{name: "bad port", raw: "https://app.example.com:99999", wantErr: "invalid port"},
		{name: "leading zero port", raw: "https://app.example.com:0443", wantErr: "leading zero"},
		{name: "empty port", raw: "https://app.example.com:", wantErr: "empty port"},
		{name: "non-ascii host", raw: "https://bücher.example", wantErr: "punycode"},
		{name: "trailing dot", raw: "https://app.example.com.", wantErr: "trailing dot"},
		{name: "empty label", raw: "https://app..example.com", wantErr: "invalid host label"},
		{name: "star inside label", raw: "https://a*.example.com", wantErr: "whole first label"},
		{name: "two stars", raw: "https://*.*.example.com", wantErr: "whole first label"},
		{name: "star not first", raw: "https://app.*.example.com", wantErr: "whole first label"},
		{name: "star scheme", raw: "*://app.example.com", wantErr: "invalid scheme"},
		{name: "public suffix com", raw: "https://*.com", wantErr: "public suffix"},
		{name: "public suffix run.app", raw: "https://*.run.app", wantErr: "public suffix"},
		{name: "public suffix co.uk", raw: "https://*.co.uk", wantErr: "public suffix"},
		{name: "parent of wildcard suffixes", raw: "https://*.kawasaki.jp", wantErr: "public suffix"},
		{name: "wildcard ip", raw: "http://*.0.0.1", wantErr: "invalid"},
		{name: "bad ipv6", raw: "http://[::G]", wantErr: "invalid IPv6"},
		{name: "upper ipv6", raw: "http://[::A]", wantErr: "upper case in IPv6"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse(tc.raw)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse(%q) = %v, want no error", tc.raw, err)
				}
				if p.String() != tc.raw {
					t.Errorf("String() = %q, want %q", p.String(), tc.raw)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse(%q) = nil error, want one containing %q", tc.raw, tc.wantErr)
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Parse(%q) = %v, want ErrInvalid containing %q", tc.raw, err, tc.wantErr)
			}
		})
	}
}

func TestMatcher(t *testing.T) {
	t.Parallel()
	m := NewMatcher(mustParse(t, "https://app.example.com"), mustParse(t, "https://*.example.dev"),
		mustParse(t, "http://localhost:5173"), mustParse(t, "https://*.preview.example.com:8443"))
	tests := []struct {
		name    string
		origins []string
		want    bool
	}{
		{"exact", []string{"https://app.example.com"}, true},
		{"exact with port", []string{"http://localhost:5173"}, true},
		{"wildcard one label", []string{"https://pr-7.example.dev"}, true},
		{"wildcard with port", []string{"https://a.preview.example.com:8443"}, true},
		{"wildcard bare suffix", []string{"https://example.dev"}, false},
		{"wildcard empty label", []string{"https://.example.dev"}, false},
		{"wildcard two labels", []string{"https://a.b.example.dev"}, false},
		{"wildcard suffix attack", []string{"https://x.example.dev.evil.test"}, false},
		{"wildcard prefix attack", []string{"https://evilexample.dev"}, false},
		{"wildcard other scheme", []string{"http://pr-7.example.dev"}, false},
		{"wildcard wrong port", []string{"https://a.preview.example.com:9443"}, false},
		{"wildcard missing port", []string{"https://a.preview.example.com"}, false},
		{"wildcard upper label", []string{"https://PR-7.example.dev"}, false},
		{"wildcard label with port chars", []string{"https://a:1.example.dev"}, false},
		{"wildcard userinfo", []string{"https://u@x.example.dev"}, false},
		{"upper case", []string{"https://APP.example.com"}, false},
		{"trailing slash", []string{"https://app.example.com/"}, false},
		{"default port spelled", []string{"https://app.example.com:443"}, false},
		{"other port", []string{"http://localhost:5174"}, false},
		{"scheme differs", []string{"http://app.example.com"}, false},
		{"null", []string{"null"}, false},
		{"empty", []string{""}, false},
		{"none", nil, false},
		{"two headers", []string{"https://app.example.com", "https://app.example.com"}, false},
		{"list in one", []string{"https://app.example.com, https://evil.example.net"}, false},
		{"list in one, space", []string{"https://app.example.com https://app.example.com"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Twice: the second wildcard match is answered from memory.
			for range 2 {
				if got := m.Match(tc.origins); got != tc.want {
					t.Errorf("Match(%q) = %v, want %v", tc.origins, got, tc.want)
				}
			}
		})
	}
	if !NewMatcher().Empty() || (*Matcher)(nil).Match([]string{"https://app.example.com"}) {
		t.Error("an empty or nil Matcher must allow nothing")
	}
}

func mustParse(tb testing.TB, raw string) Pattern {
	tb.Helper()
	p, err := Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestMatcherManyExact(t *testing.T) {
	t.Parallel()
	var patterns []Pattern
	for i := range 3 * maxScanned {
		patterns = append(patterns, mustParse(t, "https://app"+string(rune('a'+i))+".example.com"))
	}
	m := NewMatcher(patterns...)
	if m.few != nil {
		t.Fatal("a large set must use the map")
	}
	for _, p := range patterns {
		if !m.Match([]string{p.String()}) {
			t.Errorf("%s not matched", p)
		}
	}
	if m.Match([]string{"https://appz.example.com"}) {
		t.Error("an unlisted origin matched")
	}
}

func TestParseList(t *testing.T) {
	t.Parallel()
	ps, err := ParseList("http://localhost:[5173,8080]")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	if want := "http://localhost:5173 http://localhost:8080"; strings.Join(got, " ") != want {
		t.Errorf("ParseList = %v, want %s", got, want)
	}
	m := NewMatcher(ps...)
	for o, want := range map[string]bool{
		"http://localhost:5173": true, "http://localhost:8080": true,
		"http://localhost:3000": false, "http://localhost": false,
	} {
		if m.Match([]string{o}) != want {
			t.Errorf("Match(%q) = %v, want %v", o, !want, want)
		}
	}
	wild, err := ParseList("https://*.example.dev:[8443,9443]")
	if err != nil || len(wild) != 2 || !wild[1].Match("https://pr-1.example.dev:9443") || wild[1].Match("https://a.b.example.dev:9443") {
		t.Errorf("wildcard with ports = %v, %v", wild, err)
	}
	if ps, err := ParseList("https://app.example.com"); err != nil || len(ps) != 1 {
		t.Errorf("no list = %v, %v", ps, err)
	}
	for raw, why := range map[string]string{
		"http://localhost:[]":                                  "empty port list",
		"http://localhost:[5173,,8080]":                        "empty or padded",
		"http://localhost:[5173, 8080]":                        "empty or padded",
		"http://localhost:[5173,5173]":                         "listed twice",
		"http://localhost:[80]":                                "default port",
		"http://localhost:[0x50]":                              "port 0x50: invalid port \"0x50\": digits only",
		"http://localhost:1:[2]":                               "more than one port",
		"https://*.com:[8443]":                                 "public suffix",
		"http://localhost:[" + strings.Repeat("1,", 32) + "2]": "at most 32",
	} {
		if _, err := ParseList(raw); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("ParseList(%q) = %v, want an error containing %q", raw, err, why)
		}
	}
}

func TestSharedApexWildcardsRefused(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"https://*.googleusercontent.com", "https://*.storage.googleapis.com", "https://*.app.github.dev",
		"https://*.cloudshell.dev", "https://*.gitpod.io", "https://*.ngrok-free.app", "https://*.trycloudflare.com",
	} {
		if _, err := Parse(raw); err == nil || !strings.Contains(err.Error(), "public suffix") {
			t.Errorf("Parse(%q) = %v, want a public-suffix refusal", raw, err)
		}
	}
	// One level below a shared apex is one customer's: allowed.
	if _, err := Parse("https://*.my-project.web.app"); err != nil {
		t.Errorf("Parse of a wildcard under one customer's host: %v", err)
	}
}
