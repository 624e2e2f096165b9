package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/portico-dev/portico/gateway/internal/origin"
)

// MaxAgeLimit is the largest max_age_seconds accepted: Chromium caps its
// preflight cache at two hours
// (https://source.chromium.org/chromium/chromium/src/+/main:services/network/public/cpp/cors/preflight_result.cc,
// kMaxAgeCap), so a larger value would silently not be honoured.
const MaxAgeLimit = 7200

// A FieldError is one reason a [Spec] is invalid, naming the field (by its
// name in portico.cors.v1.Policy) and, for repeated fields, the index.
type FieldError struct {
	// Field is the proto field name, "origins".
	Field string
	// Index is the position in a repeated field, or -1.
	Index int
	// Reason says what is wrong, and how to fix it where that is not obvious.
	Reason string
}

// Error implements error.
func (e *FieldError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("%s[%d]: %s", e.Field, e.Index, e.Reason)
	}
	return e.Field + ": " + e.Reason
}

// Validate reports every rule the Spec breaks, as [*FieldError] values joined
// with [errors.Join]; nil if there are none. It checks the Spec as declared,
// before [Resolve]: a conflict must be fixed where it is written.
func (s Spec) Validate() error {
	var errs []error
	add := func(field string, index int, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Index: index, Reason: fmt.Sprintf(format, args...)})
	}
	for i, raw := range s.Origins {
		if _, err := origin.ParseList(raw); err != nil {
			add("origins", i, "%v", err)
		}
	}
	if s.OriginSet != "" {
		if err := CheckOriginSetName(s.OriginSet); err != nil {
			add("origin_set", -1, "%v", err)
		}
	}
	if isSet(s.Public) {
		if isSet(s.AllowCredentials) {
			add("allow_credentials", -1, "credentials cannot be allowed on a public policy: browsers refuse Access-Control-Allow-Origin: * with credentials; list the origins instead")
		}
		if len(s.Origins) > 0 {
			add("origins", -1, "a public policy allows every origin; remove origins or public")
		}
		if s.OriginSet != "" {
			add("origin_set", -1, "a public policy allows every origin; remove origin_set or public")
		}
	}
	for i, h := range s.AllowHeaders {
		if err := checkRequestHeader(h); err != nil {
			add("allow_headers", i, "%v", err)
		}
	}
	for i, h := range s.ExposeHeaders {
		if err := checkResponseHeader(h); err != nil {
			add("expose_headers", i, "%v", err)
		}
	}
	if s.MaxAgeSeconds != nil && (*s.MaxAgeSeconds < 0 || *s.MaxAgeSeconds > MaxAgeLimit) {
		add("max_age_seconds", -1, "%d is out of range: must be from 0 to %d (Chromium's cap)", *s.MaxAgeSeconds, MaxAgeLimit)
	}
	for i, p := range s.Protocols {
		if p != ProtocolConnect && p != ProtocolGRPCWeb {
			add("protocols", i, "%v is not a browser protocol: use PROTOCOL_CONNECT or PROTOCOL_GRPC_WEB", p)
		}
	}
	return errors.Join(errs...)
}

// CheckOrigin reports whether raw is a valid origin pattern, by the same rules
// for .proto options and deployment bindings.
func CheckOrigin(raw string) error {
	_, err := origin.ParseList(raw)
	return err
}

// CheckOriginSetName reports whether name is a valid origin set name: lower
// case letters, digits and underscores, starting with a letter, so that it
// maps one-to-one onto an environment variable suffix.
func CheckOriginSetName(name string) error {
	if name == "" {
		return errors.New("empty origin set name")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || i > 0 && ('0' <= c && c <= '9' || c == '_')) {
			return fmt.Errorf("invalid origin set name %q: use lower case letters, digits and underscores, starting with a letter", name)
		}
	}
	return nil
}

// forbiddenRequestHeaders are names JavaScript can never set
// (https://fetch.spec.whatwg.org/#forbidden-request-header), so allowing
// them is always a mistake.
var forbiddenRequestHeaders = []string{
	"accept-charset", "accept-encoding", "access-control-request-headers",
	"access-control-request-method", "access-control-request-private-network",
	"connection", "content-length", "cookie", "cookie2", "date", "dnt",
	"expect", "host", "keep-alive", "origin", "referer", "set-cookie", "te",
	"trailer", "transfer-encoding", "upgrade", "via",
}

func checkRequestHeader(name string) error {
	if err := checkFieldName(name); err != nil {
		return err
	}
	lower := strings.ToLower(name)
	for _, f := range forbiddenRequestHeaders {
		if lower == f {
			return fmt.Errorf("%q is a forbidden request header: browsers never let JavaScript send it", name)
		}
	}
	if strings.HasPrefix(lower, "proxy-") || strings.HasPrefix(lower, "sec-") {
		return fmt.Errorf("%q is a forbidden request header: browsers never let JavaScript send Proxy- or Sec- headers", name)
	}
	return nil
}

func checkResponseHeader(name string) error {
	if err := checkFieldName(name); err != nil {
		return err
	}
	switch strings.ToLower(name) {
	case "set-cookie", "set-cookie2":
		// https://fetch.spec.whatwg.org/#forbidden-response-header-name
		return fmt.Errorf("%q can never be exposed: browsers hide it from JavaScript whatever CORS says", name)
	}
	return nil
}

// checkFieldName checks an HTTP field name: a token of RFC 9110, section 5.6.2.
func checkFieldName(name string) error {
	if name == "" {
		return errors.New("empty header name")
	}
	if name == "*" {
		return errors.New(`"*" is not supported: list the header names (with credentials, browsers read "*" as a literal name)`)
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("%q is not a valid header name: %q is not allowed in a token", name, name[i])
		}
	}
	return nil
}

// IsToken reports whether s is an HTTP token (RFC 9110, section 5.6.2), as
// header names and methods are.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
