package session

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

func FuzzKeyOf(f *testing.F) {
	for _, s := range []string{"", strings.Repeat("A", 43), strings.Repeat("A", 42) + "B", "n_cqU7iWZAfS6NUGaoYUCzX3YFiCnyd5dxlI18M76fs"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		key, err := keyOf(value)
		if err != nil {
			return
		}
		// Only the canonical encoding of exactly 32 bytes is accepted, so each
		// session has one cookie value.
		raw, derr := base64.RawURLEncoding.DecodeString(value)
		if derr != nil || len(raw) != idLen || base64.RawURLEncoding.EncodeToString(raw) != value {
			t.Fatalf("keyOf(%q) accepted a non-canonical id", value)
		}
		if key != sha256.Sum256(raw) {
			t.Fatalf("keyOf(%q) is not the SHA-256 of the id", value)
		}
	})
}
