package pathindex

import (
	"fmt"
	"testing"
)

var sink int

// BenchmarkGet looks up a procedure in an Index and in the Go map it
// replaces: go test -bench . ./gateway/internal/pathindex/
func BenchmarkGet(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		keys := procedures(n)
		x, m := indexOf(keys)
		key := keys[len(keys)/2]
		b.Run(fmt.Sprintf("procedures=%d/impl=map", n), func(b *testing.B) {
			for b.Loop() {
				sink += m[key]
			}
		})
		b.Run(fmt.Sprintf("procedures=%d/impl=index", n), func(b *testing.B) {
			for b.Loop() {
				v, _ := x.Get(key)
				sink += v
			}
		})
	}
}
