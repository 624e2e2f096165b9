// Package headerlist checks the header names a CORS preflight asks for
// (Access-Control-Request-Headers) against the names a policy allows.
//
// Browsers send that list lower-cased, sorted and comma-separated
// (https://fetch.spec.whatwg.org/#cors-unsafe-request-header-names), but
// proxies and hand-written clients add spaces, empty items, duplicates and
// extra header lines, all of which are tolerated. The input is attacker
// controlled, so a list is checked in one pass over its bytes, without
// allocating, and refused outright past fixed bounds (rs/cors's 2024 fix for
// an ACRH denial of service is the cautionary tale).
//
// Start from [NewSet].
package headerlist

import (
	"slices"
	"strings"
)

const (
	// MaxBytes bounds the bytes of all Access-Control-Request-Headers lines
	// together. Browsers send each name once; even every allowed name of a
	// generous policy fits many times over.
	MaxBytes = 4096
	// MaxEmpty bounds the empty items (",,") a list may contain.
	MaxEmpty = 16
)

// A Set is an immutable set of header names, matched case-insensitively.
// The zero Set is empty. A Set is safe for concurrent use.
type Set struct {
	names []string // lower case, sorted, unique
}

// NewSet returns the set of the given names. Names are compared in ASCII
// lower case; duplicates are dropped.
func NewSet(names ...string) Set {
	lower := make([]string, 0, len(names))
	for _, n := range names {
		lower = append(lower, strings.ToLower(n))
	}
	slices.Sort(lower)
	return Set{names: slices.Compact(lower)}
}

// Names returns the names of the set, lower case and sorted. The caller must
// not modify the result.
func (s Set) Names() []string { return s.names }

// Contains reports whether name is in the set, ignoring ASCII case.
func (s Set) Contains(name string) bool {
	_, ok := slices.BinarySearchFunc(s.names, name, compareFold)
	return ok
}

// Outcome says why [Set.Accepts] refused a list.
type Outcome int

const (
	// Accepted means every requested name is in the set.
	Accepted Outcome = iota
	// NotAllowed means a requested name is not in the set.
	NotAllowed
	// TooLong means the list exceeds [MaxBytes].
	TooLong
	// TooManyEmpty means the list has more than [MaxEmpty] empty items.
	TooManyEmpty
)

// Accepts checks the values of the Access-Control-Request-Headers header
// lines. It returns [Accepted], or the reason for refusal and, for
// [NotAllowed], the first offending name (a substring of the input). No
// values, or only empty ones, are accepted.
func (s Set) Accepts(values []string) (Outcome, string) {
	total := 0
	for _, v := range values {
		total += len(v)
	}
	if total > MaxBytes {
		return TooLong, ""
	}
	empty := 0
	for _, v := range values {
		for len(v) > 0 {
			var item string
			if i := strings.IndexByte(v, ','); i >= 0 {
				item, v = v[:i], v[i+1:]
			} else {
				item, v = v, ""
			}
			item = trimOWS(item)
			if item == "" {
				if empty++; empty > MaxEmpty {
					return TooManyEmpty, ""
				}
				continue
			}
			if !s.Contains(item) {
				return NotAllowed, item
			}
		}
	}
	return Accepted, ""
}

// trimOWS trims optional white space (RFC 9110, section 5.6.3).
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// compareFold compares the lower-case name with the ASCII-lower-cased
// target, without allocating.
func compareFold(name, target string) int {
	n := min(len(name), len(target))
	for i := 0; i < n; i++ {
		a, b := name[i], target[i]
		if a == b {
			continue // browsers send lower case: the common case needs no folding
		}
		if b = lower(b); a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(name) < len(target):
		return -1
	case len(name) > len(target):
		return 1
	}
	return 0
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}
