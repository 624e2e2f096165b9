// Package pathindex finds a request path among a fixed set of paths (the
// gateway's procedures) faster than a Go map can.
//
// A Go map hashes every byte of the key with a per-map random seed, so that
// whoever chooses the keys cannot make its buckets collide. Here the keys are
// the gateway's own, known when it is built, and a request only looks one up.
// So the hash reads just three 8-byte words of a path, whose offsets are
// chosen at build time to tell the keys apart, and every hit is confirmed by
// comparing the whole string: a poor choice of words costs probes, never a
// wrong answer. A key set that no choice spreads well enough falls back to a
// Go map, so that no lookup, of any path, probes more than [maxRun] slots.
//
// Start from [New].
package pathindex

import (
	"maps"
	"math/bits"
)

// maxRun bounds the probes of any lookup, hit or miss: the longest run of
// occupied slots the chosen hash may leave in the table, which is kept at
// most a quarter full. A probe that misses compares one integer.
const maxRun = 16

// offsets are the candidate starting bytes of the two chosen words:
// non-negative from the start of a path, negative from its end. Procedure
// paths share their package prefix and often their method suffixes, so the
// distinguishing bytes can sit anywhere.
var offsets = []int{0, 8, 16, 24, 32, 40, -16, -24, -32, -40, -48}

// An Index maps a fixed set of strings to values. It is immutable and safe
// for concurrent use. The zero Index is empty.
type Index[V any] struct {
	// slots is the open-addressed table, a power of two long: 0 for a free
	// slot, else 1 + the index of its entry. Nil when fallback is in use.
	slots    []uint32
	entries  []entry[V]
	mask     uint64
	shift    uint // 64 - log2(len(slots)): slots are indexed by a hash's high bits
	a, b     int  // offsets of the chosen words
	fallback map[string]V
	n        int
}

type entry[V any] struct {
	hash uint64
	key  string
	val  V
}

// New builds an Index of entries, which it does not retain. Choosing the
// words tries every pair of [offsets]: about 10 ms for 10,000 keys.
func New[V any](entries map[string]V) *Index[V] {
	x := &Index[V]{n: len(entries)}
	if len(entries) == 0 {
		return x
	}
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	size := 1 << bits.Len(uint(4*len(keys)-1)) // at most a quarter full
	best, bestA, bestB := maxRun+1, 0, 0
	used := make([]bool, size)
	for i, a := range offsets {
		for _, b := range offsets[i+1:] {
			clear(used)
			if run := longestRun(used, keys, a, b, best-1); run < best {
				best, bestA, bestB = run, a, b
			}
		}
	}
	if best > maxRun {
		x.fallback = maps.Clone(entries)
		return x
	}
	x.a, x.b, x.mask, x.shift = bestA, bestB, uint64(size-1), shiftFor(size)
	x.slots = make([]uint32, size)
	x.entries = make([]entry[V], 0, len(keys))
	for _, k := range keys {
		h := hash(k, x.a, x.b)
		i := h >> x.shift
		for x.slots[i] != 0 {
			i = (i + 1) & x.mask
		}
		x.entries = append(x.entries, entry[V]{hash: h, key: k, val: entries[k]})
		x.slots[i] = uint32(len(x.entries))
	}
	return x
}

// longestRun places keys in used, an empty table of a power of two slots,
// hashing with the words at a and b, and returns the longest run of occupied
// slots plus one: the most probes a lookup can take. It gives up, returning
// limit+1, as soon as one key probes more than limit slots, so that a hash
// that piles keys together costs no more to try than a good one.
func longestRun(used []bool, keys []string, a, b, limit int) int {
	size := len(used)
	mask, shift := uint64(size-1), shiftFor(size)
	for _, k := range keys {
		i := hash(k, a, b) >> shift
		for probes := 1; used[i]; probes++ {
			if probes > limit {
				return limit + 1
			}
			i = (i + 1) & mask
		}
		used[i] = true
	}
	// The table is at most a quarter full, so some slot is free: start the
	// count after one, and the run that wraps around the end is counted whole.
	start := 0
	for used[start] {
		start++
	}
	longest, run := 0, 0
	for j := 1; j <= size; j++ {
		if used[(start+j)&(size-1)] {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest + 1
}

// shiftFor returns the shift that turns a hash into an index of a table of
// size slots, a power of two.
func shiftFor(size int) uint { return uint(64 - bits.TrailingZeros(uint(size))) }

// Get returns the value of key, and whether key is in the Index. A nil
// Index is empty.
func (x *Index[V]) Get(key string) (V, bool) {
	if x == nil {
		var zero V
		return zero, false
	}
	if x.slots == nil {
		v, ok := x.fallback[key]
		return v, ok
	}
	h := hash(key, x.a, x.b)
	for i := h >> x.shift; ; i = (i + 1) & x.mask {
		j := x.slots[i]
		if j == 0 {
			var zero V
			return zero, false
		}
		if e := &x.entries[j-1]; e.hash == h && e.key == key {
			return e.val, true
		}
	}
}

// Len returns the number of keys.
func (x *Index[V]) Len() int {
	if x == nil {
		return 0
	}
	return x.n
}

// Multipliers of wyhash, odd and with well-spread bits.
const (
	m1 = 0xa0761d6478bd642f
	m2 = 0xe7037ed1a0b428db
)

// hash mixes the length of s with its last 8 bytes and the 8 bytes at each
// of the offsets a and b, clamped into s: two multiplications, whose high
// bits the table indexes by. Strings shorter than 8 bytes are hashed whole.
func hash(s string, a, b int) uint64 {
	n := len(s)
	var h uint64
	if n < 8 {
		for i := 0; i < n; i++ {
			h = h<<8 | uint64(s[i])
		}
	} else {
		h = word(s, n-8)
		h = (h ^ uint64(n)) * m1
		h ^= word(s, clamp(a, n)) ^ bits.RotateLeft64(word(s, clamp(b, n)), 31)
	}
	h = (h ^ uint64(n)<<56) * m2
	return h ^ h>>29
}

// clamp turns an offset into the start of an 8-byte word inside a string of
// n ≥ 8 bytes.
func clamp(off, n int) int {
	if off < 0 {
		off += n
	}
	return min(max(off, 0), n-8)
}

// word reads the 8 bytes of s at i, little-endian; the compiler turns it
// into one load.
func word(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
