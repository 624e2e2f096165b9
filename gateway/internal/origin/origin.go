// Package origin parses the origin patterns a CORS policy allows and matches
// the Origin header browsers send against them.
//
// Matching is exact on the serialized origin of the Fetch standard
// (https://fetch.spec.whatwg.org/#origin-header): scheme, host and, when not
// the scheme's default, port, all lower case. Nothing is normalized before
// matching, so a variant no browser sends (upper case, a trailing slash, a
// default port spelled out) never matches. A "*" pattern label stands for
// exactly one DNS label.
//
// Start from [Parse] for one pattern and [NewMatcher] for a set of them.
package origin

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// A Pattern is a parsed, valid origin pattern: an exact origin or a
// one-label wildcard. The zero Pattern matches nothing.
type Pattern struct {
	raw string
	// For wildcards: the origin must start with prefix ("https://"), end
	// with suffix (".example.dev" or ".example.dev:8443") and have exactly
	// one DNS label in between.
	wildcard bool
	prefix   string
	suffix   string
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.raw }

// IsWildcard reports whether the pattern has a "*" label.
func (p Pattern) IsWildcard() bool { return p.wildcard }

// Match reports whether origin, the value of one Origin header, matches p.
func (p Pattern) Match(origin string) bool {
	if !p.wildcard {
		return p.raw != "" && origin == p.raw
	}
	if len(origin) <= len(p.prefix)+len(p.suffix) ||
		!strings.HasPrefix(origin, p.prefix) || !strings.HasSuffix(origin, p.suffix) {
		return false
	}
	return isLabel(origin[len(p.prefix) : len(origin)-len(p.suffix)])
}

// ErrInvalid is wrapped by every error [Parse] returns.
var ErrInvalid = errors.New("invalid origin pattern")

func invalid(raw, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrInvalid, raw, fmt.Sprintf(format, args...))
}

// Parse parses an origin pattern as written in a policy: "scheme://host" or
// "scheme://host:port", where host may begin with the label "*". It refuses
// anything a browser would never send as an Origin, and wildcards whose fixed
// part is a public suffix ("https://*.com", "https://*.run.app"), since those
// would admit origins owned by anyone.
func Parse(raw string) (Pattern, error) {
	switch raw {
	case "":
		return Pattern{}, invalid(raw, "empty")
	case "*":
		return Pattern{}, invalid(raw, `"*" is not an origin; declare the method public instead`)
	case "null":
		// Sandboxed iframes, file: pages and redirects all send "null":
		// allowing it allows them all (https://w3c.github.io/webappsec-cors-for-developers/#avoid-returning-access-control-allow-origin-null).
		return Pattern{}, invalid(raw, `"null" is sent by sandboxed and opaque origins and is never allowed`)
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return Pattern{}, invalid(raw, `no scheme: write it as "https://host"`)
	}
	if err := checkScheme(scheme); err != nil {
		return Pattern{}, invalid(raw, "%v", err)
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		if rest[i:] == "/" {
			return Pattern{}, invalid(raw, "trailing slash: browsers send origins without one")
		}
		return Pattern{}, invalid(raw, "has a path, query or fragment: an origin is scheme, host and port only")
	}
	if strings.Contains(rest, "@") {
		return Pattern{}, invalid(raw, "has userinfo: an origin is scheme, host and port only")
	}
	host, port, err := splitHostPort(rest)
	if err != nil {
		return Pattern{}, invalid(raw, "%v", err)
	}
	if port != "" {
		if err := checkPort(scheme, port); err != nil {
			return Pattern{}, invalid(raw, "%v", err)
		}
	}
	if !strings.Contains(host, "*") {
		if err := checkHost(host); err != nil {
			return Pattern{}, invalid(raw, "%v", err)
		}
		return Pattern{raw: raw}, nil
	}
	fixed, ok := strings.CutPrefix(host, "*.")
	if !ok || strings.Contains(fixed, "*") {
		return Pattern{}, invalid(raw, `"*" may only stand for the whole first label of the host, as in "https://*.example.dev"`)
	}
	if strings.HasPrefix(fixed, "[") || isIPv4(fixed) {
		return Pattern{}, invalid(raw, "a wildcard cannot apply to an IP address")
	}
	if err := checkHost(fixed); err != nil {
		return Pattern{}, invalid(raw, "%v", err)
	}
	if lastLabelNumeric(fixed) {
		return Pattern{}, invalid(raw, "a wildcard cannot apply to an IP address")
	}
	if isPublicSuffix(fixed) {
		return Pattern{}, invalid(raw, "%q is a public suffix: the wildcard would match origins anyone can register", fixed)
	}
	p := Pattern{raw: raw, wildcard: true, prefix: scheme + "://", suffix: "." + fixed}
	if port != "" {
		p.suffix += ":" + port
	}
	return p, nil
}

func checkScheme(scheme string) error {
	if scheme == "" {
		return errors.New(`empty scheme: write it as "https://host"`)
	}
	for i := 0; i < len(scheme); i++ {
		c := scheme[i]
		switch {
		case 'a' <= c && c <= 'z':
		case 'A' <= c && c <= 'Z':
			return errors.New("upper case in scheme: browsers send it in lower case")
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return fmt.Errorf("invalid scheme %q", scheme)
		}
	}
	return nil
}

func splitHostPort(hostport string) (host, port string, err error) {
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return "", "", errors.New("unterminated IPv6 address")
		}
		host, rest := hostport[:end+1], hostport[end+1:]
		if rest == "" {
			return host, "", nil
		}
		if rest[0] != ':' {
			return "", "", errors.New("junk after IPv6 address")
		}
		if rest == ":" {
			return "", "", errors.New("empty port")
		}
		return host, rest[1:], nil
	}
	host, port, _ = strings.Cut(hostport, ":")
	if strings.Contains(port, ":") {
		return "", "", errors.New("more than one port")
	}
	if strings.HasSuffix(hostport, ":") {
		return "", "", errors.New("empty port")
	}
	return host, port, nil
}

func checkPort(scheme, port string) error {
	if port == "" {
		return errors.New("empty port")
	}
	if strings.TrimLeft(port, "0123456789") != "" {
		return fmt.Errorf("invalid port %q: digits only", port)
	}
	if port[0] == '0' {
		return fmt.Errorf("port %q has a leading zero: browsers never send one", port)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("invalid port %q", port)
	}
	if (scheme == "https" && n == 443) || (scheme == "http" && n == 80) {
		return fmt.Errorf("default port %s spelled out: browsers omit it, so this would never match", port)
	}
	return nil
}

func checkHost(host string) error {
	if host == "" {
		return errors.New("empty host")
	}
	if strings.HasPrefix(host, "[") {
		for i := 1; i < len(host)-1; i++ {
			c := host[i]
			if !(('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || c == ':' || c == '.') {
				if 'A' <= c && c <= 'F' {
					return errors.New("upper case in IPv6 address: browsers send it in lower case")
				}
				return fmt.Errorf("invalid IPv6 address %q", host)
			}
		}
		addr, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !addr.Is6() || addr.Is4In6() && strings.Contains(host, ".") {
			return fmt.Errorf("invalid IPv6 address %q", host)
		}
		if addr.String() != host[1:len(host)-1] {
			// Browsers serialize the shortest form: [::1], not [0:0:0:0:0:0:0:1].
			return fmt.Errorf("IPv6 address %q is not in its shortest form: browsers send [%s]", host, addr.String())
		}
		return nil
	}
	if strings.HasSuffix(host, ".") {
		return errors.New("trailing dot in host")
	}
	for label := range strings.SplitSeq(host, ".") {
		if !isLabel(label) {
			if strings.ToLower(label) != label {
				return errors.New("upper case in host: browsers send it in lower case")
			}
			for _, r := range label {
				if r >= 0x80 {
					return errors.New("non-ASCII host: browsers send the punycode (xn--) form")
				}
			}
			return fmt.Errorf("invalid host label %q", label)
		}
	}
	return nil
}

// isLabel reports whether s is one lower-case DNS label (RFC 1123: letters,
// digits and inner hyphens, 1 to 63 bytes); underscores are allowed too,
// since browsers serialize such hosts unchanged.
func isLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !labelByte[s[i]] {
			return false
		}
	}
	return true
}

// labelByte marks the bytes of a DNS label: one table lookup per byte of a
// wildcard match, instead of four range tests.
var labelByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
	}
	return t
}()

// sharedApexes are domains under which anyone can get a host name, but
// which the Public Suffix List does not name, or names only one level
// below: the list has "a.run.app", not "run.app", yet "*.run.app" is as wide
// a net as "*.a.run.app". A wildcard over one of them would admit pages
// anyone can publish: Cloud Run services, Google-hosted user content and
// buckets, cloud IDEs' port forwarding, tunnels and sandboxes.
var sharedApexes = map[string]bool{
	"run.app":                true,
	"googleusercontent.com":  true,
	"storage.googleapis.com": true,
	"cloudshell.dev":         true,
	"github.dev":             true,
	"app.github.dev":         true,
	"gitpod.io":              true,
	"codesandbox.io":         true,
	"csb.app":                true,
	"stackblitz.io":          true,
	"webcontainer.io":        true,
	"glitch.me":              true,
	"surge.sh":               true,
	"loca.lt":                true,
	"serveo.net":             true,
	"ngrok.io":               true,
	"ngrok.app":              true,
	"ngrok-free.app":         true,
	"trycloudflare.com":      true,
	"replit.dev":             true,
	"repl.co":                true,
	"cloudfunctions.net":     true,
	"firebaseapp.com":        true,
	"web.app":                true,
	"appspot.com":            true,
	"vercel.app":             true,
	"netlify.app":            true,
	"pages.dev":              true,
	"workers.dev":            true,
	"herokuapp.com":          true,
	"azurewebsites.net":      true,
	"cloudfront.net":         true,
	"amplifyapp.com":         true,
	"onrender.com":           true,
	"fly.dev":                true,
	"deno.dev":               true,
	"github.io":              true,
	"gitlab.io":              true,
	"blogspot.com":           true,
	"translate.goog":         true,
	"cloud.goog":             true,
}

// isPublicSuffix reports whether host is a public suffix, ICANN or private
// (https://publicsuffix.org), the parent of wildcard suffixes, or a shared
// hosting apex.
// A wildcard list entry such as "*.kawasaki.jp" makes every label under host a
// public suffix, which a probe label reveals.
func isPublicSuffix(host string) bool {
	if sharedApexes[host] {
		return true
	}
	if suffix, _ := publicsuffix.PublicSuffix(host); suffix == host {
		return true
	}
	probe := "portico-probe." + host
	suffix, _ := publicsuffix.PublicSuffix(probe)
	return suffix == probe
}

func lastLabelNumeric(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	_, err := strconv.ParseUint(last, 10, 64)
	return err == nil
}

func isIPv4(s string) bool {
	parts := 0
	for p := range strings.SplitSeq(s, ".") {
		if _, err := strconv.ParseUint(p, 10, 8); err != nil {
			return false
		}
		parts++
	}
	return parts == 4
}
