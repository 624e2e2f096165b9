// Package memo remembers a few header values that passed a check whose
// verdict depends only on the value, so that the identical values a browser
// sends on request after request pass with one string comparison instead of
// the check: the Access-Control-Request-Headers lists a policy accepted, the
// origins a wildcard matched.
//
// The values come from clients, so a Memo is small, bounded, and first come
// first served: a client that fills it with values of its own only takes
// the shortcut away from others, never a verdict.
package memo

import (
	"strings"
	"sync/atomic"
)

const (
	// Size bounds how many values a [Memo] remembers.
	Size = 8
	// MaxBytes bounds the length of a value a [Memo] remembers.
	MaxBytes = 256
)

// A Memo remembers values that passed a fixed check. It holds at most [Size]
// values of at most [MaxBytes] bytes, keeps the first ones it is given and
// forgets nothing. The zero Memo is empty and ready; a Memo is safe for
// concurrent use and must not be copied after first use.
type Memo struct {
	values atomic.Pointer[[]string]
}

// Contains reports whether v was added.
func (m *Memo) Contains(v string) bool {
	p := m.values.Load()
	if p == nil {
		return false
	}
	for _, r := range *p {
		if r == v {
			return true
		}
	}
	return false
}

// Add remembers v, unless the Memo is full or v too long. The caller must
// only add values that passed its check. Add keeps a copy, so that a
// remembered value does not hold on to the memory of the request it came in.
func (m *Memo) Add(v string) {
	if len(v) > MaxBytes {
		return
	}
	for {
		old := m.values.Load()
		var cur []string
		if old != nil {
			cur = *old
		}
		if len(cur) >= Size {
			return
		}
		for _, r := range cur {
			if r == v {
				return
			}
		}
		next := append(append(make([]string, 0, len(cur)+1), cur...), strings.Clone(v))
		if m.values.CompareAndSwap(old, &next) {
			return
		}
	}
}
