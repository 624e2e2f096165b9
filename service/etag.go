package service

import (
	"strconv"
	"strings"
)

// A profile's entity tag is the strong tag "profile-v<version>", quotes
// included (RFC 9110 §8.8.3).
const (
	etagPrefix = `"profile-v`
	etagSuffix = `"`
	// etagAny is the If-Match value that matches any current representation
	// (RFC 9110 §13.1.1).
	etagAny = "*"
	// maxVersionDigits bounds the digits of a version, as the etag field's
	// pattern does; 19 digits may still overflow an int64.
	maxVersionDigits = 19
)

// formatETag returns the entity tag of a profile version.
func formatETag(version int64) string {
	return etagPrefix + strconv.FormatInt(version, 10) + etagSuffix
}

// parseETag returns the version that the entity tag names. It reports false
// unless tag is exactly what formatETag returns for a version >= 1: weak tags
// (W/"..."), leading zeros and surrounding whitespace are refused.
func parseETag(tag string) (int64, bool) {
	digits, ok := strings.CutPrefix(tag, etagPrefix)
	if !ok {
		return 0, false
	}
	digits, ok = strings.CutSuffix(digits, etagSuffix)
	if !ok || digits == "" || len(digits) > maxVersionDigits || digits[0] == '0' {
		return 0, false
	}
	for i := range len(digits) {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// A precondition is what an update or deletion requires of the stored
// profile. The zero precondition requires nothing.
type precondition struct {
	// tag is as requested: "" for none, "*", or an entity tag.
	tag string
	// version is the version tag names, or anyVersion for "" and "*".
	version int64
}

// none reports whether p requires nothing.
func (p precondition) none() bool { return p.tag == "" }

// parsePrecondition parses "*" or an entity tag.
func parsePrecondition(s string) (precondition, bool) {
	if s == etagAny {
		return precondition{tag: etagAny, version: anyVersion}, true
	}
	v, ok := parseETag(s)
	if !ok {
		return precondition{}, false
	}
	return precondition{tag: s, version: v}, true
}

// preconditionFrom returns the precondition of a request from the values of
// its If-Match header field and its etag field, either of which may be
// empty. It fails with errMalformedIfMatch or errMalformedETag if one is not
// "*" or a single profile entity tag, and with errPreconditionConflict if
// both are given and differ.
//
// If-Match may in general list several tags (RFC 9110 §13.1.1); a profile
// has exactly one current tag, so a list is refused as malformed rather than
// guessed at.
func preconditionFrom(ifMatch []string, field string) (precondition, error) {
	var fromHeader, fromField precondition
	switch len(ifMatch) {
	case 0:
	case 1:
		// Optional whitespace around a field value is not part of it
		// (RFC 9110 §5.5).
		var ok bool
		if fromHeader, ok = parsePrecondition(strings.Trim(ifMatch[0], " \t")); !ok {
			return precondition{}, errMalformedIfMatch
		}
	default:
		return precondition{}, errMalformedIfMatch
	}
	if field != "" {
		var ok bool
		if fromField, ok = parsePrecondition(field); !ok {
			return precondition{}, errMalformedETag
		}
	}
	switch {
	case fromHeader.none():
		return fromField, nil
	case fromField.none() || fromField == fromHeader:
		return fromHeader, nil
	default:
		return precondition{}, errPreconditionConflict
	}
}
