package memo

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestMemo(t *testing.T) {
	t.Parallel()
	var m Memo
	if m.Contains("a") {
		t.Fatal("zero Memo contains a list")
	}
	m.Add("authorization,content-type")
	m.Add("authorization,content-type")
	if !m.Contains("authorization,content-type") || m.Contains("authorization") {
		t.Fatal("Contains is wrong")
	}
	m.Add(strings.Repeat("a", MaxBytes+1))
	if m.Contains(strings.Repeat("a", MaxBytes+1)) {
		t.Error("a list over MaxBytes was remembered")
	}
	for i := range 2 * Size {
		m.Add(fmt.Sprint("x-", i))
	}
	if n := len(*m.values.Load()); n != Size {
		t.Errorf("memo holds %d lists, want %d", n, Size)
	}
	if !m.Contains("authorization,content-type") {
		t.Error("the first list was forgotten")
	}
}

func TestMemoConcurrent(t *testing.T) {
	t.Parallel()
	var m Memo
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				l := fmt.Sprint("h-", (g+i)%12)
				m.Add(l)
				m.Contains(l)
			}
		})
	}
	wg.Wait()
	if n := len(*m.values.Load()); n != Size {
		t.Errorf("memo holds %d lists, want %d", n, Size)
	}
}

func TestMemoAllocs(t *testing.T) {
	var m Memo
	m.Add("authorization,content-type")
	if n := testing.AllocsPerRun(100, func() { m.Contains("authorization,content-type") }); n != 0 {
		t.Errorf("Contains allocates %v times", n)
	}
}
