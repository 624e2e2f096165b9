package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: each power of two is split into
// 1<<subBits buckets, so that a recorded value is known to within 1/128
// (0.8%) of itself, the scheme of HdrHistogram. Values below 128ns are exact.
const subBits = 7

// numBuckets covers every uint64: the largest index, that of 1<<64-1, is
// (63-subBits)<<subBits + 1<<(subBits+1) - 1.
const numBuckets = (64 - subBits + 1) << subBits

// A Histogram counts latencies in log-linear buckets, so that recording is
// a few instructions and no allocation, and percentiles are accurate to
// 0.8%. The zero Histogram is empty and ready to use. A Histogram is not
// safe for concurrent use: give each worker its own and [Histogram.Merge]
// them.
type Histogram struct {
	counts [numBuckets]uint64
	total  uint64
}

// Record adds one latency; negative ones count as zero.
func (h *Histogram) Record(d time.Duration) {
	h.counts[bucketOf(uint64(max(d, 0)))]++
	h.total++
}

// Merge adds every latency recorded in o.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
}

// Count returns the number of latencies recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Quantile returns the latency at quantile q (0.5 for the median, 0.99 for
// p99), as the midpoint of its bucket; it returns 0 for an empty histogram.
// q is clamped to [0, 1].
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	// The rank of the nearest-rank definition: the smallest value with at
	// least q of the latencies at or below it.
	rank := uint64(math.Ceil(min(max(q, 0), 1) * float64(h.total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, width := bucketBounds(i)
			return time.Duration(lo + width/2)
		}
	}
	panic("unreachable")
}

// bucketOf returns the index of v's bucket. Buckets below 1<<(subBits+1)
// hold one value each; above, the bucket of v in [2^k, 2^(k+1)) holds
// 2^(k-subBits) values.
func bucketOf(v uint64) int {
	if v < 1<<(subBits+1) {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return shift<<subBits + int(v>>shift)
}

// bucketBounds returns the lowest value of bucket i and how many values it
// holds.
func bucketBounds(i int) (lo, width uint64) {
	if i < 1<<(subBits+1) {
		return uint64(i), 1
	}
	shift := i>>subBits - 1
	mantissa := uint64(i - shift<<subBits)
	return mantissa << shift, 1 << shift
}
