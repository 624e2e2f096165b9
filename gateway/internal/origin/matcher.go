package origin

import "github.com/portico-dev/portico/gateway/internal/memo"

// A Matcher tells whether a request's Origin header is allowed by a set of
// patterns. Exact origins are compared directly when there are few of them
// (cheaper than hashing the origin) and found with one map lookup otherwise;
// wildcards are tried in order, after the few origins they matched first,
// which a preview deployment's browser sends on every request. Its patterns
// are fixed; a Matcher is safe for concurrent use. The zero Matcher allows
// nothing.
type Matcher struct {
	few       []string // the exact origins, if at most maxScanned
	exact     map[string]struct{}
	wildcards []Pattern
	// matched remembers origins the wildcards matched: a match depends
	// only on the origin, so it never changes an answer.
	matched memo.Memo
}

// maxScanned is the number of exact origins up to which a scan beats a map
// lookup: comparing strings of unequal length costs one length check.
const maxScanned = 8

// NewMatcher returns a Matcher for the given patterns. With no patterns it
// allows nothing.
func NewMatcher(patterns ...Pattern) *Matcher {
	m := &Matcher{exact: make(map[string]struct{}, len(patterns))}
	for _, p := range patterns {
		switch {
		case p.wildcard:
			m.wildcards = append(m.wildcards, p)
		case p.raw != "":
			m.exact[p.raw] = struct{}{}
		}
	}
	if len(m.exact) <= maxScanned {
		for o := range m.exact {
			m.few = append(m.few, o)
		}
	}
	return m
}

// Match reports whether the Origin header values allow the request. Exactly
// one value is required: two Origin headers, or a list in one, are never
// approved, and neither are "" or "null" (no pattern can spell them).
func (m *Matcher) Match(values []string) bool {
	if m == nil || len(values) != 1 {
		return false
	}
	o := values[0]
	if m.few != nil || len(m.exact) == 0 {
		for _, e := range m.few {
			if e == o {
				return true
			}
		}
	} else if _, ok := m.exact[o]; ok {
		return true
	}
	if len(m.wildcards) == 0 {
		return false
	}
	if m.matched.Contains(o) {
		return true
	}
	for i := range m.wildcards {
		if m.wildcards[i].Match(o) {
			m.matched.Add(o)
			return true
		}
	}
	return false
}

// Empty reports whether the Matcher allows no origin at all.
func (m *Matcher) Empty() bool { return m == nil || len(m.exact)+len(m.wildcards) == 0 }
