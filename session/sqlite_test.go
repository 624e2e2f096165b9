package session_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/portico-dev/portico/session"
)

func openStore(tb testing.TB) *session.SQLiteStore {
	tb.Helper()
	s, err := session.OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "sessions.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestSQLiteStore(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openStore(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 678_000, time.UTC)
	k1, k2 := sha256.Sum256([]byte("one")), sha256.Sum256([]byte("two"))
	want := session.Session{Subject: "alice", Issuer: "https://issuer.example.com", CreateTime: now, ExpireTime: now.Add(time.Hour)}

	if _, err := s.Get(ctx, k1); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Get() of a missing key: %v; want ErrNotFound", err)
	}
	if err := s.Create(ctx, k1, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, k1)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Get() = %+v; want %+v", got, want)
	}
	if err := s.Create(ctx, k1, want); err == nil {
		t.Error("Create() of an existing key succeeded")
	}
	if err := s.Delete(ctx, k1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, k1); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Get() after Delete(): %v; want ErrNotFound", err)
	}
	if err := s.Delete(ctx, k1); err != nil {
		t.Errorf("Delete() of a missing key: %v", err)
	}

	// Creating a session purges the ones that expired before it.
	if err := s.Create(ctx, k1, want); err != nil {
		t.Fatal(err)
	}
	later := session.Session{Subject: "bob", CreateTime: want.ExpireTime.Add(time.Second), ExpireTime: want.ExpireTime.Add(time.Hour)}
	if err := s.Create(ctx, k2, later); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, k1); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("expired session survived a later Create(): %v", err)
	}
}

func TestOpenSQLiteRejectsNonFiles(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"", ":memory:", "x.db?mode=memory"} {
		if _, err := session.OpenSQLite(t.Context(), path); err == nil {
			t.Errorf("OpenSQLite(%q) succeeded", path)
		}
	}
}
