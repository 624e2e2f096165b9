package logsafe

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	t.Parallel()
	if got := String("short"); got != "short" {
		t.Errorf("String(short) = %q", got)
	}
	long := strings.Repeat("a", MaxBytes+10)
	if got := String(long); got != long[:MaxBytes]+"…" {
		t.Errorf("String(long) has %d bytes", len(got))
	}
}

func TestStrings(t *testing.T) {
	t.Parallel()
	values := []string{"a", strings.Repeat("b", 1000), "c", "d", "e", "f"}
	got := Strings(values)
	if len(got) != MaxValues || got[0] != "a" || len(got[1]) > MaxBytes+len("…") {
		t.Errorf("Strings = %q", got)
	}
	if values[1] != strings.Repeat("b", 1000) {
		t.Error("Strings modified its input")
	}
	if got := Strings(nil); len(got) != 0 {
		t.Errorf("Strings(nil) = %q", got)
	}
}
