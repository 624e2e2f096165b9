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
		probes = append(probes, k, k+"x", strings.ToUpper(k), "/"+k)
		if k != "" {
			probes = append(probes, k[:len(k)-1])
		}
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
		// Keys that differ only in a byte no candidate word covers hash
		// alike. A dozen stay in the table, one run of probes that only
		// the full comparison tells apart; 26 are too many.
		{"colliding", uncovered("abcdefghijkl"), false},
		{"indistinguishable", uncovered("abcdefghijklmnopqrstuvwxyz"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, m := indexOf(tc.keys)
			if got := x.fallback != nil; got != tc.wantFallback {
				t.Errorf("fallback in use: %v, want %v", got, tc.wantFallback)
			}
			check(t, x, m, append(misses, uncovered("mnopqrstuvwxyz")...))
		})
	}
}

// uncovered returns one 97-byte key for each byte of distinct, placed at
// byte 48: the candidate words cover bytes 0 to 47 from the start and 49 to
// 96 from the end, so every key hashes alike.
func uncovered(distinct string) []string {
	var keys []string
	for _, c := range []byte(distinct) {
		keys = append(keys, strings.Repeat("p", 48)+string(c)+strings.Repeat("s", 48))
	}
	return keys
}

// TestProbesBounded checks the bound the package promises: no lookup, hit or
// miss, walks more than maxRun slots, whatever slot its hash starts at.
func TestProbesBounded(t *testing.T) {
	for _, keys := range [][]string{procedures(10_000), uncovered("abcdefghijkl")} {
		x, _ := indexOf(keys)
		if x.slots == nil {
			t.Fatalf("%d keys fell back to a map", len(keys))
		}
		longest := 0
		for start := range x.slots {
			probes := 1
			for i := start; x.slots[i] != 0; i = (i + 1) % len(x.slots) {
				probes++
			}
			longest = max(longest, probes)
		}
		if longest > maxRun {
			t.Errorf("%d keys: a lookup can probe %d slots, more than %d", len(keys), longest, maxRun)
		}
	}
}

func TestZeroIndex(t *testing.T) {
	var x Index[int]
	if v, ok := x.Get("/a/b"); ok || v != 0 || x.Len() != 0 {
		t.Fatalf("zero Index: Get = %d, %v; Len = %d", v, ok, x.Len())
	}
	var nilIndex *Index[int]
	if v, ok := nilIndex.Get("/a/b"); ok || v != 0 || nilIndex.Len() != 0 {
		t.Fatalf("nil Index: Get = %d, %v; Len = %d", v, ok, nilIndex.Len())
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
