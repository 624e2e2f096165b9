package auth

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

func TestLoadDevSignerPersistsOneKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Concurrent first loads, as when `portico dev-token` runs while the
	// server starts, agree on one key.
	signers := make([]*DevSigner, 8)
	errs := make([]error, len(signers))
	var wg sync.WaitGroup
	for i := range signers {
		wg.Go(func() { signers[i], errs[i] = LoadDevSigner(dir) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, s := range signers[1:] {
		if s.kid != signers[0].kid {
			t.Fatalf("concurrent loads made different keys: %s, %s", s.kid, signers[0].kid)
		}
	}
	info, err := os.Stat(filepath.Join(dir, DevKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %v; want 0600", perm)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries; want only the key file", len(entries))
	}

	// A token from one process verifies in another.
	token, err := signers[3].Token("alice", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadDevSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := again.Verify(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	if c != (Caller{Subject: "alice", Issuer: DevIssuer, Credential: CredentialBearer}) {
		t.Errorf("Verify() = %+v", c)
	}
}

func TestLoadDevSignerRejectsGarbage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, DevKeyFile), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDevSigner(dir); err == nil {
		t.Error("LoadDevSigner() accepted a garbage key file")
	}
	if _, err := LoadDevSigner(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadDevSigner() accepted a missing directory")
	}
}

func TestDevSignerToken(t *testing.T) {
	t.Parallel()
	s, err := LoadDevSigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other, err := LoadDevSigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		subject string
		ttl     time.Duration
	}{
		{"Alice", time.Minute}, {"", time.Minute}, {"alice", 0}, {"alice", MaxDevTokenTTL + time.Second},
	} {
		if _, err := s.Token(tc.subject, tc.ttl); err == nil {
			t.Errorf("Token(%q, %v) succeeded", tc.subject, tc.ttl)
		}
	}
	now := time.Now()
	expired, err := s.sign(jwt.Claims{Issuer: DevIssuer, Audience: jwt.Audience{DevAudience}, Subject: "alice",
		Expiry: jwt.NewNumericDate(now.Add(-time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(t.Context(), expired); !errors.Is(err, errTokenExpired) {
		t.Errorf("expired development token: %v; want errTokenExpired", err)
	}
	wrongAud, err := s.sign(jwt.Claims{Issuer: DevIssuer, Audience: jwt.Audience{"portico"}, Subject: "alice",
		Expiry: jwt.NewNumericDate(now.Add(time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(t.Context(), wrongAud); !errors.Is(err, errInvalidToken) {
		t.Errorf("development token for another audience: %v; want errInvalidToken", err)
	}
	foreign, err := other.Token("alice", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(t.Context(), foreign); !errors.Is(err, errInvalidToken) {
		t.Errorf("token of another development key: %v; want errInvalidToken", err)
	}
}
