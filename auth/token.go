package auth

import (
	"net/http"
	"strings"
)

const (
	// bearerScheme is the auth-scheme of RFC 6750 §2.1. Schemes compare
	// case-insensitively (RFC 9110 §11.1).
	bearerScheme = "Bearer"
	// devPrefix starts every development token.
	devPrefix = "dev-"
	// maxSubjectLen bounds a subject, as ^[a-z0-9][a-z0-9_-]{0,63}$ does.
	maxSubjectLen = 64
)

// callerFromHeader authenticates the request headers h. It returns
// errNoCredentials if h has no Authorization field, and one of the other
// sentinels of errors.go if the field is not a valid development token.
func callerFromHeader(h http.Header) (Caller, error) {
	values := h.Values("Authorization")
	switch len(values) {
	case 0:
		return Caller{}, errNoCredentials
	case 1:
	default:
		return Caller{}, errMalformed
	}
	token, err := bearerToken(values[0])
	if err != nil {
		return Caller{}, err
	}
	subject, ok := strings.CutPrefix(token, devPrefix)
	if !ok {
		return Caller{}, errNotDevToken
	}
	if !validSubject(subject) {
		return Caller{}, errInvalidSubject
	}
	return Caller{Subject: subject}, nil
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
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", errMalformed
	}
	return token, nil
}

// validSubject reports whether s matches ^[a-z0-9][a-z0-9_-]{0,63}$.
func validSubject(s string) bool {
	if len(s) == 0 || len(s) > maxSubjectLen {
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
