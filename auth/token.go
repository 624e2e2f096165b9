package auth

import (
	"net/http"
	"strings"
)

const (
	// bearerScheme is the auth-scheme of RFC 6750 §2.1. Schemes compare
	// case-insensitively (RFC 9110 §11.1).
	bearerScheme = "Bearer"
	// maxTokenLen bounds the bearer tokens the interceptor parses. ID tokens
	// are one to two kilobytes; the server's header limit (64 KiB) is the
	// outer bound.
	maxTokenLen = 16 << 10
	// maxSubjectLen bounds the "sub" claim, as OpenID Connect Core §2 does
	// (at most 255 ASCII characters).
	maxSubjectLen = 255
	// maxDevSubjectLen bounds a development token's subject, as
	// ^[a-z0-9][a-z0-9_-]{0,63}$ does.
	maxDevSubjectLen = 64
)

// SessionCookie is the name of the session cookie. The __Host- prefix makes
// browsers accept it only with Secure, Path=/ and no Domain attribute
// (RFC 6265bis §4.1.3.2), so a sibling subdomain can neither set nor shadow
// it.
const SessionCookie = "__Host-portico_session"

// bearerFromHeader returns the bearer token of the request headers h: ok is
// false if h has no Authorization field; err is one of the sentinels of
// errors.go if the field is not exactly one "Bearer <token>".
func bearerFromHeader(h http.Header) (token string, ok bool, err error) {
	values := h.Values("Authorization")
	switch len(values) {
	case 0:
		return "", false, nil
	case 1:
	default:
		return "", true, errMalformed
	}
	token, err = bearerToken(values[0])
	return token, true, err
}

// bearerToken returns the token of an Authorization field value of the form
// "Bearer" 1*SP token (RFC 6750 §2.1, RFC 9110 §11.4).
func bearerToken(value string) (string, error) {
	value = strings.Trim(value, " \t")
	scheme, rest, found := strings.Cut(value, " ")
	if !strings.EqualFold(scheme, bearerScheme) {
		if scheme == "" || strings.ContainsAny(scheme, "\t") {
			return "", errMalformed
		}
		return "", errNotBearer
	}
	if !found {
		return "", errMalformed
	}
	token := strings.TrimLeft(rest, " ")
	if token == "" || len(token) > maxTokenLen || strings.ContainsAny(token, " \t") {
		return "", errMalformed
	}
	return token, nil
}

// SessionFromHeader returns the value of the first [SessionCookie] in the
// Cookie fields of the request headers h, and false if there is none or it
// is empty. Malformed cookie pairs (other cookies of the same host may be
// anything) are skipped, as net/http does.
func SessionFromHeader(h http.Header) (string, bool) {
	lines := h["Cookie"]
	if len(lines) == 0 {
		return "", false
	}
	c, err := (&http.Request{Header: http.Header{"Cookie": lines}}).Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return "", false
	}
	return c.Value, true
}

// validDevSubject reports whether s matches ^[a-z0-9][a-z0-9_-]{0,63}$, the
// subjects [DevSigner] signs: the ids GetPublicProfile accepts.
func validDevSubject(s string) bool {
	if len(s) == 0 || len(s) > maxDevSubjectLen {
		return false
	}
	for i := range len(s) {
		b := s[i]
		switch {
		case 'a' <= b && b <= 'z', '0' <= b && b <= '9':
		case (b == '_' || b == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// validSubject reports whether a verified token's subject is usable: 1 to
// 255 bytes of printable ASCII.
func validSubject(s string) bool {
	if len(s) == 0 || len(s) > maxSubjectLen {
		return false
	}
	for i := range len(s) {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
