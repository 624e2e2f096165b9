package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	t.Parallel()
	// Every bucket's bounds map back to it, and the buckets tile the line.
	var next uint64
	for i := range numBuckets {
		lo, width := bucketBounds(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, next)
		}
		if got := bucketOf(lo); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d", lo, got, i)
		}
		if got := bucketOf(lo + width - 1); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d", lo+width-1, got, i)
		}
		if i >= 1<<(subBits+1) && float64(width)/float64(lo) > 1.0/(1<<subBits) {
			t.Fatalf("bucket %d: width %d over %d", i, width, lo)
		}
		next = lo + width
	}
	if next != 0 { // wrapped around: the last bucket ends at 1<<64
		t.Fatalf("buckets end at %d, want 1<<64", next)
	}
}

func TestQuantile(t *testing.T) {
	t.Parallel()
	var h Histogram
	if got := h.Quantile(0.5); got != 0 {
		t.Errorf("empty: Quantile(0.5) = %v, want 0", got)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	samples := make([]time.Duration, 100_000)
	for i := range samples {
		// Log-normal-ish latencies between 20µs and 20ms.
		samples[i] = time.Duration(20_000 * (1 + rng.ExpFloat64()*rng.ExpFloat64()*50))
		h.Record(samples[i])
	}
	slices.Sort(samples)
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		// The nearest rank: the ceil(q*n)-th smallest.
		want := samples[max(int(math.Ceil(q*float64(len(samples))))-1, 0)]
		got := h.Quantile(q)
		if err := float64(got-want) / float64(want); err > 0.01 || err < -0.01 {
			t.Errorf("Quantile(%v) = %v, want %v within 1%%", q, got, want)
		}
	}
	if h.Count() != uint64(len(samples)) {
		t.Errorf("Count() = %d, want %d", h.Count(), len(samples))
	}
	var merged Histogram
	merged.Merge(&h)
	merged.Merge(&h)
	if merged.Count() != 2*h.Count() || merged.Quantile(0.5) != h.Quantile(0.5) {
		t.Errorf("Merge twice: count %d, p50 %v; want %d, %v", merged.Count(), merged.Quantile(0.5), 2*h.Count(), h.Quantile(0.5))
	}
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	d := 123 * time.Microsecond
	for b.Loop() {
		h.Record(d)
	}
}
