package origin

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/publicsuffix"
)

// The fuzz targets check Parse and Match against invariants and against a
// second, deliberately naive implementation of the same rules, written with
// net/url, net/netip and strings.Cut rather than the package's own scanning
// (the approach of jub0bs/cors's internal/origins/fuzz_test.go). Run one for
// longer with
//
//	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 5m ./gateway/internal/origin/

// parseSeeds are the patterns of TestParse, valid and invalid, plus a few
// that sit on the edges of its rules.
var parseSeeds = []string{
	"https://app.example.com", "http://localhost:5173", "http://127.0.0.1:8080", "http://[::1]:8080",
	"https://app.example.com:8443", "https://*.example.dev", "https://*.example.dev:8443",
	"chrome-extension://abcdefghijklmnop", "", "*", "null", "app.example.com", "://app.example.com",
	"HTTPS://app.example.com", "https://App.example.com", "https://app.example.com/", "https://app.example.com/app",
	"https://app.example.com?x", "https://user@app.example.com", "https://app.example.com:443",
	"http://app.example.com:80", "https://app.example.com:99999", "https://app.example.com:0443",
	"https://app.example.com:", "https://bücher.example", "https://app.example.com.", "https://app..example.com",
	"https://a*.example.com", "https://*.*.example.com", "https://app.*.example.com", "*://app.example.com",
	"https://*.com", "https://*.run.app", "https://*.co.uk", "https://*.kawasaki.jp", "http://*.0.0.1",
	"http://[::G]", "http://[::A]",
	// Edges: ports, IP literals, label lengths, underscores.
	"https://app.example.com:65535", "https://app.example.com:65536",
	"http://[::1]", "http://[0:0::1]", "http://1.2.3", "https://a_b.example.com",
	"https://" + strings.Repeat("a", 63) + ".example.com", "https://" + strings.Repeat("a", 64) + ".example.com",
	"https://*.a.run.app", "https://*.example.dev:443",
	// Port lists (ParseList).
	"http://localhost:[5173,8080]", "https://*.example.dev:[8443,9443]", "http://localhost:[]", "http://localhost:[5173,5173]",
	"http://localhost:[ 5173]", "http://localhost:[443,80]", "http://[::1]:[3000,3001]", "http://localhost:[0,1]",
}

// FuzzParse checks that every pattern Parse accepts is one a browser could
// send as an Origin (or, for a wildcard, stands for such origins over a
// registrable domain), that it round-trips through String, and that
// everything it refuses wraps ErrInvalid.
func FuzzParse(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		checkParseList(t, raw)
		p, err := Parse(raw)
		if err != nil {
			if !strings.Contains(err.Error(), "invalid origin pattern") || p != (Pattern{}) {
				t.Fatalf("Parse(%q) = %#v, %v; want the zero Pattern and an ErrInvalid", raw, p, err)
			}
			return
		}
		if p.String() != raw {
			t.Fatalf("Parse(%q).String() = %q", raw, p.String())
		}
		if !p.IsWildcard() {
			if why := notSerializedOrigin(raw); why != "" {
				t.Fatalf("Parse(%q) accepted a pattern no browser sends: %s", raw, why)
			}
			if !p.Match(raw) {
				t.Fatalf("exact pattern %q does not match itself", raw)
			}
			return
		}
		// A wildcard stands for one label: with the label filled in, it is
		// an exact origin, over a host that is not a public suffix.
		scheme, rest, _ := strings.Cut(raw, "://")
		if !strings.HasPrefix(rest, "*.") || strings.Count(raw, "*") != 1 {
			t.Fatalf("Parse(%q) accepted a wildcard that is not a whole first label", raw)
		}
		filled := scheme + "://x" + rest[1:]
		if why := notSerializedOrigin(filled); why != "" {
			t.Fatalf("wildcard %q with its label filled in, %q, is no origin: %s", raw, filled, why)
		}
		// Neither the fixed part nor a label under it may be a public
		// suffix (the latter catches wildcard entries such as "*.kawasaki.jp").
		host := strings.TrimPrefix(hostOf(filled), "x.")
		if ps, _ := publicsuffix.PublicSuffix(host); ps == host {
			t.Fatalf("wildcard %q is over the public suffix %q", raw, host)
		}
		if ps, _ := publicsuffix.PublicSuffix("x." + host); ps == "x."+host {
			t.Fatalf("wildcard %q stands for public suffixes under %q", raw, host)
		}
		if !p.Match(filled) || p.Match(scheme+"://"+rest[2:]) || p.Match(scheme+"://a.x"+rest[1:]) {
			t.Fatalf("wildcard %q: wrong matches around %q", raw, filled)
		}
	})
}

// checkParseList checks that ParseList is Parse for a pattern without a
// port list, and otherwise returns one pattern per listed port, each of
// which Parse returns alike from its String, at most 32 and no two alike.
func checkParseList(t *testing.T, raw string) {
	t.Helper()
	list, err := ParseList(raw)
	if err != nil {
		if !strings.Contains(err.Error(), "invalid origin pattern") || list != nil {
			t.Fatalf("ParseList(%q) = %v, %v; want no patterns and an ErrInvalid", raw, list, err)
		}
		return
	}
	one, oneErr := Parse(raw)
	if oneErr == nil {
		if len(list) != 1 || list[0] != one {
			t.Fatalf("ParseList(%q) = %v; Parse returns %v", raw, list, one)
		}
		return
	}
	if len(list) == 0 || len(list) > 32 || !strings.HasSuffix(raw, "]") {
		t.Fatalf("ParseList(%q) = %d patterns from what Parse refuses (%v)", raw, len(list), oneErr)
	}
	seen := map[string]bool{}
	for _, p := range list {
		again, err := Parse(p.String())
		if err != nil || again != p || seen[p.String()] {
			t.Fatalf("ParseList(%q) returned %q, which Parse gives as %v, %v (or twice)", raw, p, again, err)
		}
		seen[p.String()] = true
	}
}

// matchSeeds pairs patterns with the origins of TestMatcher.
var matchSeeds = [][2]string{
	{"https://app.example.com", "https://app.example.com"},
	{"http://localhost:5173", "http://localhost:5173"},
	{"https://*.example.dev", "https://pr-7.example.dev"},
	{"https://*.preview.example.com:8443", "https://a.preview.example.com:8443"},
	{"https://*.example.dev", "https://example.dev"},
	{"https://*.example.dev", "https://.example.dev"},
	{"https://*.example.dev", "https://a.b.example.dev"},
	{"https://*.example.dev", "https://x.example.dev.evil.test"},
	{"https://*.example.dev", "https://evilexample.dev"},
	{"https://*.example.dev", "http://pr-7.example.dev"},
	{"https://*.preview.example.com:8443", "https://a.preview.example.com:9443"},
	{"https://*.preview.example.com:8443", "https://a.preview.example.com"},
	{"https://*.example.dev", "https://PR-7.example.dev"},
	{"https://*.example.dev", "https://a:1.example.dev"},
	{"https://*.example.dev", "https://u@x.example.dev"},
	{"https://app.example.com", "https://APP.example.com"},
	{"https://app.example.com", "https://app.example.com/"},
	{"https://app.example.com", "https://app.example.com:443"},
	{"http://localhost:5173", "http://localhost:5174"},
	{"https://app.example.com", "http://app.example.com"},
	{"https://app.example.com", "null"},
	{"https://app.example.com", ""},
	{"https://app.example.com", "https://app.example.com, https://evil.example.net"},
	{"https://app.example.com", "https://app.example.com https://app.example.com"},
	{"https://*.example.dev", "https://-a.example.dev"},
	{"https://*.example.dev", "https://a_b.example.dev"},
	{"https://*.example.dev", "https://" + strings.Repeat("a", 64) + ".example.dev"},
}

// FuzzMatch checks Pattern.Match and Matcher.Match against a naive
// reference, and that no match ever admits "null", "", two Origin headers or
// a value Parse would refuse as an exact origin. Each Matcher is tried both
// as a short list and as a map (with more than maxScanned exact origins).
func FuzzMatch(f *testing.F) {
	for _, s := range matchSeeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, origin string) {
		p, err := Parse(pattern)
		if err != nil {
			return
		}
		got := p.Match(origin)
		if want := referenceMatch(pattern, origin); got != want {
			t.Fatalf("Parse(%q).Match(%q) = %v, reference says %v", pattern, origin, got, want)
		}
		if got {
			if q, err := Parse(origin); err != nil || q.IsWildcard() {
				t.Fatalf("%q matched %q, which is not an exact origin: %v", pattern, origin, err)
			}
		}
		// Fillers use a scheme no fuzzed origin shares by accident with a
		// match, so the Matcher's answer is the pattern's.
		few := NewMatcher(p)
		many := []Pattern{p}
		for i := range maxScanned + 2 {
			filler, err := Parse("portico-filler://f" + strconv.Itoa(i) + ".example")
			if err != nil {
				t.Fatal(err)
			}
			many = append(many, filler)
		}
		fillerMatch := strings.HasPrefix(origin, "portico-filler://")
		for name, m := range map[string]*Matcher{"few": few, "many": NewMatcher(many...)} {
			want := got
			if name == "many" && fillerMatch {
				want = want || referenceFiller(origin, maxScanned+2)
			}
			for range 2 { // the second time from the memory of wildcard matches
				if m.Match([]string{origin}) != want {
					t.Fatalf("%s Matcher{%q}.Match(%q) = %v, want %v", name, pattern, origin, !want, want)
				}
			}
			if m.Match([]string{origin, origin}) || m.Match(nil) || m.Match([]string{"null"}) || m.Match([]string{""}) {
				t.Fatalf("%s Matcher{%q} approved two Origin headers, none, null or empty", name, pattern)
			}
		}
	})
}

// referenceMatch is Pattern.Match written another way: an exact pattern is
// string equality; a wildcard's origin is its scheme, "://", one label, a
// dot and the rest of the pattern's host and port, compared after cutting
// at the first dot.
func referenceMatch(pattern, origin string) bool {
	if !strings.Contains(pattern, "*") {
		return origin == pattern
	}
	pScheme, pRest, _ := strings.Cut(pattern, "://")
	oScheme, oRest, ok := strings.Cut(origin, "://")
	if !ok || oScheme != pScheme {
		return false
	}
	label, tail, ok := strings.Cut(oRest, ".")
	return ok && tail == strings.TrimPrefix(pRest, "*.") && referenceLabel(label)
}

// referenceLabel reports whether s is one lower-case DNS label, with the
// underscores browsers leave alone.
func referenceLabel(s string) bool {
	if s == "" || len(s) > 63 || strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-_") == ""
}

func referenceFiller(origin string, n int) bool {
	for i := range n {
		if origin == "portico-filler://f"+strconv.Itoa(i)+".example" {
			return true
		}
	}
	return false
}

// notSerializedOrigin says why s is not an origin as browsers serialize it
// (https://html.spec.whatwg.org/multipage/browsers.html#ascii-serialisation-of-an-origin):
// scheme "://" host [":" port], lower case, no default port, no path; "" if
// it is one.
func notSerializedOrigin(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "net/url refuses it: " + err.Error()
	case u.Scheme == "" || u.Opaque != "" || u.User != nil || u.Path != "" || u.RawPath != "" ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.OmitHost:
		return "not scheme://host[:port]"
	case u.Scheme+"://"+u.Host != s:
		return "does not round-trip through net/url"
	case strings.ToLower(s) != s:
		return "upper case"
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return "empty host"
	}
	if strings.HasSuffix(u.Host, ":") {
		return "empty port"
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		switch {
		case err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port:
			return "port " + port + " is not 1-65535 in canonical decimal"
		case u.Scheme == "https" && n == 443, u.Scheme == "http" && n == 80:
			return "default port spelled out"
		}
	}
	if strings.HasPrefix(u.Host, "[") {
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "bracketed host is not an IPv6 address"
		}
		return ""
	}
	if strings.HasSuffix(host, ".") {
		return "trailing dot"
	}
	for label := range strings.SplitSeq(host, ".") {
		if !referenceLabel(label) {
			return "host label " + strconv.Quote(label) + " is not a lower-case DNS label"
		}
	}
	return ""
}

// hostOf returns the host of the origin s, without its port.
func hostOf(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
