// Package securityheaders adds the response headers that every API
// response should carry, whoever calls it:
//
//	X-Content-Type-Options: nosniff
//	Referrer-Policy: no-referrer
//	Content-Security-Policy: default-src 'none'; frame-ancestors 'none'
//	Cache-Control: no-store                       (requests with credentials)
//	Strict-Transport-Security: max-age=63072000; includeSubDomains
//	                                              (requests that came over HTTPS)
//
// An API response is data, never a document: nosniff keeps a browser from
// rendering a JSON or protobuf body as HTML, and the Content-Security-Policy
// forbids it any resource or frame should it be opened anyway (the OWASP
// REST Security Cheat Sheet's headers). A response to a request with an
// Authorization header or cookies is the caller's own data, so no cache may
// keep it (RFC 9111 §5.2.2.5). HSTS is sent only when the request reached
// the front end over HTTPS (Cloud Run terminates TLS and says so in
// X-Forwarded-Proto); browsers ignore it over plain HTTP anyway
// (RFC 6797 §8.1).
//
// Start with [New].
package securityheaders

import (
	"net/http"
	"strings"
)

// Header keys, canonical, so that the hot path assigns them directly.
const (
	headerNosniff        = "X-Content-Type-Options"
	headerReferrerPolicy = "Referrer-Policy"
	headerCSP            = "Content-Security-Policy"
	headerCacheControl   = "Cache-Control"
	headerHSTS           = "Strict-Transport-Security"
	headerForwardedProto = "X-Forwarded-Proto"
)

// DefaultHSTS is the Strict-Transport-Security value of [New]: two years,
// subdomains included.
const DefaultHSTS = "max-age=63072000; includeSubDomains"

// Shared values, with capacity equal to length so that a handler appending
// to one copies it.
var (
	valueNosniff  = []string{"nosniff"}
	valueReferrer = []string{"no-referrer"}
	valueCSP      = []string{"default-src 'none'; frame-ancestors 'none'"}
	valueNoStore  = []string{"no-store"}
)

// An Option configures [New].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct{ hsts string }

// WithHSTS sets the Strict-Transport-Security value; "" sends none. The
// default is [DefaultHSTS].
func WithHSTS(value string) Option {
	return optionFunc(func(c *config) { c.hsts = value })
}

// New returns a middleware that sets the headers before the handler runs,
// so that they are on every response, errors included; a handler may still
// replace them. It does not allocate per request.
func New(opts ...Option) func(http.Handler) http.Handler {
	cfg := config{hsts: DefaultHSTS}
	for _, o := range opts {
		o.apply(&cfg)
	}
	var hsts []string
	if cfg.hsts != "" {
		hsts = []string{cfg.hsts}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h[headerNosniff] = valueNosniff
			h[headerReferrerPolicy] = valueReferrer
			h[headerCSP] = valueCSP
			if len(r.Header["Authorization"]) > 0 || len(r.Header["Cookie"]) > 0 {
				h[headerCacheControl] = valueNoStore
			}
			if hsts != nil && overHTTPS(r) {
				h[headerHSTS] = hsts
			}
			next.ServeHTTP(w, r)
		})
	}
}

// maxProtoBytes bounds the bytes of X-Forwarded-Proto scanned.
const maxProtoBytes = 16

// overHTTPS reports whether the client's request came over HTTPS: TLS to
// this server, or X-Forwarded-Proto from the front end. With several proxies
// the first value is the client's hop ("https, http").
func overHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	v := r.Header[headerForwardedProto]
	if len(v) == 0 {
		return false
	}
	first := v[0]
	if len(first) > maxProtoBytes {
		first = first[:maxProtoBytes] // "https" with room for spaces
	}
	if i := strings.IndexByte(first, ','); i >= 0 {
		first = first[:i]
	}
	return strings.EqualFold(strings.TrimSpace(first), "https")
}
