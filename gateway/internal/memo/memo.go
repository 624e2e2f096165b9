package headerlist

import "sync/atomic"

const (
	// MemoSize bounds how many lists a [Memo] remembers.
	MemoSize = 8
	// MemoMaxBytes bounds the length of a list a [Memo] remembers.
	MemoMaxBytes = 256
)

// A Memo remembers a few single-line lists that a [Set] accepted, so that the
// identical lists a browser sends on every preflight of a call site are
// accepted with one string comparison instead of a parse. Acceptance depends
// only on the Set and the list, so a Memo never changes a decision. It holds
// at most [MemoSize] lists of at most [MemoMaxBytes] bytes, keeps the first
// ones it is given and forgets nothing. The zero Memo is empty and ready; a
// Memo is safe for concurrent use and must not be copied after first use.
type Memo struct {
	lists atomic.Pointer[[]string]
}

// Contains reports whether list was added.
func (m *Memo) Contains(list string) bool {
	p := m.lists.Load()
	if p == nil {
		return false
	}
	for _, l := range *p {
		if l == list {
			return true
		}
	}
	return false
}

// Add remembers list, unless the Memo is full or list too long. The caller
// must only add lists its Set accepted.
func (m *Memo) Add(list string) {
	if len(list) > MemoMaxBytes {
		return
	}
	for {
		old := m.lists.Load()
		var cur []string
		if old != nil {
			cur = *old
		}
		if len(cur) >= MemoSize {
			return
		}
		for _, l := range cur {
			if l == list {
				return
			}
		}
		next := append(append(make([]string, 0, len(cur)+1), cur...), list)
		if m.lists.CompareAndSwap(old, &next) {
			return
		}
	}
}
