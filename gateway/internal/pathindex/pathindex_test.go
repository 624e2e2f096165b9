package pathindex

import (
	"fmt"
	"strings"
	"testing"
)

// procedures returns n procedure paths shaped like generated ones: services
// of up to 100 methods sharing a package prefix and method suffixes.
func procedures(n int) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		for j := 0; j < 100 && len(out) < n; j++ {
			out = append(out, fmt.Sprintf("/acme.billing.v1.Invoice%dService/GetInvoice%dByIdentifier", i, j))
		}
	}
	return out
}

func indexOf(keys []string) (*Index[int], map[string]int) {
	m := make(map[string]int, len(keys))
	for i, k := range keys {
		m[k] = i
	}
	return New(m), m
}

// check looks up every key, and near misses of each, in x and in m.
func check(t *testing.T, x *Index[int], m map[string]int, probes []string) {
	t.Helper()
	if x.Len() != len(m) {
		t.Fatalf("Len() = %d, want %d", x.Len(), len(m))
	}
	for k := range m {
		probes = append(probes, k, k[:len(k)-1], k+"x", strings.ToUpper(k), "/"+k)
	}
	for _, p := range probes {
		got, ok := x.Get(p)
		want, wantOK := m[p]
		if got != want || ok != wantOK {
			t.Fatalf("Get(%q) = %d, %v; want %d, %v", p, got, ok, want, wantOK)
		}
	}
}

func TestIndex(t *testing.T) {
	misses := []string{"", "/", "a", "/portico.profile.v1.ProfileService/", strings.Repeat("/x", 4096)}
	for _, tc := range []struct {
		name         string
		keys         []string
		wantFallback bool
	}{
		{"empty", nil, false},
		{"one", []string{"/portico.profile.v1.ProfileService/GetProfile"}, false},
		{"short keys", []string{"/", "/a/", "/a/b", "/abcdefg", "/abcdefgh"}, false},
		{"reference", []string{
			"/portico.profile.v1.ProfileService/GetProfile",
			"/portico.profile.v1.ProfileService/UpdateProfile",
			"/portico.profile.v1.ProfileService/DeleteProfile",
			"/portico.profile.v1.ProfileService/GetPublicProfile",
			"/portico.profile.v1.ProfileService/WatchProfile",
			"/portico.status.v1.StatusService/GetStatus",
			"/portico.status.v1.StatusService/GetSettings",
		}, false},
		{"10 procedures", procedures(10), false},
		{"10,000 procedures", procedures(10_000), false},
		// Keys that differ only in a byte none of the candidate words
		// covers all hash alike: the index must fall back to a map.
		{"indistinguishable", func() []string {
			var keys []string
			for c := byte('a'); c <= 'z'; c++ {
				keys = append(keys, strings.Repeat("p", 48)+string(c)+strings.Repeat("s", 48))
			}
			return keys
		}(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, m := indexOf(tc.keys)
			if got := x.fallback != nil; got != tc.wantFallback {
				t.Errorf("fallback in use: %v, want %v", got, tc.wantFallback)
			}
			check(t, x, m, misses)
		})
	}
}

// TestProbesBounded checks the bound the package promises: no lookup, hit or
// miss, walks more than maxRun slots.
func TestProbesBounded(t *testing.T) {
	x, _ := indexOf(procedures(10_000))
	if x.slots == nil {
		t.Fatal("10,000 generated-shape procedures fell back to a map")
	}
	keys := make([]string, 0, len(x.entries))
	for _, e := range x.entries {
		keys = append(keys, e.key)
	}
	run := longestRun(keys, len(x.slots), x.a, x.b, len(x.slots))
	if run > maxRun {
		t.Fatalf("longest probe %d > %d", run, maxRun)
	}
}

func TestZeroIndex(t *testing.T) {
	var x Index[int]
	if v, ok := x.Get("/a/b"); ok || v != 0 || x.Len() != 0 {
		t.Fatalf("zero Index: Get = %d, %v; Len = %d", v, ok, x.Len())
	}
}

func FuzzGet(f *testing.F) {
	f.Add("/portico.profile.v1.ProfileService/GetProfile", "/portico.profile.v1.ProfileService/GetProfilf", uint8(10))
	f.Add("/a/", "/a", uint8(3))
	f.Fuzz(func(t *testing.T, key, probe string, n uint8) {
		keys := []string{key}
		for i := range int(n) {
			keys = append(keys, fmt.Sprintf("%s%d", key, i), fmt.Sprintf("%d%s", i, key))
		}
		x, m := indexOf(keys)
		check(t, x, m, []string{probe})
	})
}
