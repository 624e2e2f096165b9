package headerlist

import (
	"strings"
	"testing"
)

func TestAccepts(t *testing.T) {
	t.Parallel()
	set := NewSet("Authorization", "Content-Type", "Connect-Protocol-Version", "X-Client-Version", "If-Match")
	tests := []struct {
		name    string
		values  []string
		want    Outcome
		wantBad string
	}{
		{name: "none", values: nil, want: Accepted},
		{name: "browser shape", values: []string{"authorization,content-type,if-match,x-client-version"}, want: Accepted},
		{name: "mixed case", values: []string{"Authorization,CONTENT-TYPE"}, want: Accepted},
		{name: "any order", values: []string{"x-client-version,authorization"}, want: Accepted},
		{name: "spaces and tabs", values: []string{" authorization ,\tcontent-type\t"}, want: Accepted},
		{name: "duplicates", values: []string{"authorization,authorization,Authorization"}, want: Accepted},
		{name: "empty items", values: []string{",authorization,,content-type,"}, want: Accepted},
		{name: "only empty", values: []string{""}, want: Accepted},
		{name: "several lines", values: []string{"authorization", "content-type", "if-match"}, want: Accepted},
		{name: "not allowed", values: []string{"authorization,x-evil"}, want: NotAllowed, wantBad: "x-evil"},
		{name: "not allowed keeps case", values: []string{"X-Evil"}, want: NotAllowed, wantBad: "X-Evil"},
		{name: "prefix of allowed", values: []string{"authoriz"}, want: NotAllowed, wantBad: "authoriz"},
		{name: "allowed plus suffix", values: []string{"authorizationx"}, want: NotAllowed, wantBad: "authorizationx"},
		{name: "inner space", values: []string{"content type"}, want: NotAllowed, wantBad: "content type"},
		{name: "not allowed in second line", values: []string{"authorization", "cookie"}, want: NotAllowed, wantBad: "cookie"},
		{name: "too many empty", values: []string{strings.Repeat(",", MaxEmpty+1)}, want: TooManyEmpty},
		{name: "max empty ok", values: []string{strings.Repeat(",", MaxEmpty-1) + "authorization"}, want: Accepted},
		{name: "too long", values: []string{strings.Repeat("authorization,", 600)}, want: TooLong},
		{name: "too long across lines", values: []string{strings.Repeat("a", MaxBytes/2+1), strings.Repeat("a", MaxBytes/2)}, want: TooLong},
		{name: "adversarial 8KiB 500 items", values: []string{adversarial()}, want: TooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, bad := set.Accepts(tc.values)
			if got != tc.want || bad != tc.wantBad {
				t.Errorf("Accepts(%.60q) = %v, %q; want %v, %q", tc.values, got, bad, tc.want, tc.wantBad)
			}
		})
	}
}

func TestAcceptsAllocs(t *testing.T) {
	set := NewSet("Authorization", "Content-Type")
	values := []string{"Authorization, content-type,,x-other"}
	if n := testing.AllocsPerRun(100, func() { set.Accepts(values) }); n != 0 {
		t.Errorf("Accepts allocates %v times, want 0", n)
	}
}

func TestNewSet(t *testing.T) {
	t.Parallel()
	s := NewSet("B", "a", "b", "A")
	if got := strings.Join(s.Names(), ","); got != "a,b" {
		t.Errorf("Names() = %q, want a,b", got)
	}
	if !s.Contains("B") || s.Contains("c") || (Set{}).Contains("a") {
		t.Error("Contains is wrong")
	}
}

// adversarial is an 8 KiB Access-Control-Request-Headers of 500 names, the
// shape of rs/cors's 2024 denial of service.
func adversarial() string {
	var b strings.Builder
	for i := 0; b.Len() < 8<<10; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("x-" + strings.Repeat("a", 13))
	}
	return b.String()
}
