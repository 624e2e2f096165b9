package headerlist

import (
	"strings"
	"testing"
)

// FuzzAccepts checks Set.Accepts, on any Access-Control-Request-Headers
// lines (the fuzzed string, one line per "\n"), against a reference written
// the obvious way with strings.Split, and checks that it never allocates:
// its work is one pass over at most MaxBytes. Run it for longer with
//
//	go test -run '^$' -fuzz '^FuzzAccepts$' -fuzztime 5m ./gateway/internal/headerlist/
func FuzzAccepts(f *testing.F) {
	// The cases of TestAccepts, one line per "\n".
	for _, seed := range []string{
		"", "authorization,content-type,if-match,x-client-version", "Authorization,CONTENT-TYPE",
		"x-client-version,authorization", " authorization ,\tcontent-type\t", "authorization,authorization,Authorization",
		",authorization,,content-type,", "authorization\ncontent-type\nif-match", "authorization,x-evil", "X-Evil",
		"authoriz", "authorizationx", "content type", "authorization\ncookie", strings.Repeat(",", MaxEmpty+1),
		strings.Repeat(",", MaxEmpty-1) + "authorization", strings.Repeat(",", MaxEmpty) + "\n,",
		strings.Repeat("authorization,", 600), strings.Repeat("a", MaxBytes/2+1) + "\n" + strings.Repeat("a", MaxBytes/2),
		adversarial(), "\n\n\n", "authorization\n\n,", "content-type, ,\t,x-client-version",
	} {
		f.Add(seed)
	}
	set := NewSet("Authorization", "Content-Type", "Connect-Protocol-Version", "X-Client-Version", "If-Match")
	f.Fuzz(func(t *testing.T, lines string) {
		values := strings.Split(lines, "\n")
		got, bad := set.Accepts(values)
		want, wantBad := referenceAccepts(set, values)
		if got != want || bad != wantBad {
			t.Fatalf("Accepts(%.80q) = %v, %q; reference says %v, %q", values, got, bad, want, wantBad)
		}
		if got == NotAllowed && (set.Contains(bad) || !strings.Contains(lines, bad) || bad == "") {
			t.Fatalf("Accepts(%.80q) blamed %q, which is allowed, empty or not in the input", values, bad)
		}
		if n := testing.AllocsPerRun(1, func() { set.Accepts(values) }); n != 0 {
			t.Fatalf("Accepts(%.80q) allocated %v times, want 0", values, n)
		}
	})
}

// referenceAccepts is Accepts written with strings.Split and
// strings.ToLower: the bound on bytes first, then the items in order, each
// trimmed of spaces and tabs. An empty item counts towards MaxEmpty, except
// after a list's last comma ("a," is one item) and for an empty line.
func referenceAccepts(set Set, values []string) (Outcome, string) {
	if len(strings.Join(values, "")) > MaxBytes {
		return TooLong, ""
	}
	allowed := make(map[string]bool)
	for _, n := range set.Names() {
		allowed[n] = true
	}
	empty := 0
	for _, v := range values {
		items := strings.Split(v, ",")
		if items[len(items)-1] == "" {
			items = items[:len(items)-1]
		}
		for _, item := range items {
			item = strings.Trim(item, " \t")
			if item == "" {
				if empty++; empty > MaxEmpty {
					return TooManyEmpty, ""
				}
				continue
			}
			if !allowed[asciiLower(item)] {
				return NotAllowed, item
			}
		}
	}
	return Accepted, ""
}

// asciiLower lower-cases ASCII letters only, byte by byte, as header names
// compare (strings.ToLower would also fold the Kelvin sign to "k", and
// rewrite invalid UTF-8).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
