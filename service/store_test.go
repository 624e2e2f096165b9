package service

import (
	"context"
	"errors"
	"testing"
	"time"
)

// testStoreContract checks that the stores newStore returns keep the
// contract of [Store]. Each call of newStore must return an empty store.
func testStoreContract(t *testing.T, newStore func(testing.TB) Store) {
	t.Helper()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	alice := Record{ID: "alice", DisplayName: "Alice", Email: "alice@example.com", Bio: "hi", UpdateTime: t0}
	alice2 := Record{ID: "alice", DisplayName: "Alice B.", Email: "ab@example.com", Bio: "", UpdateTime: t0.Add(time.Second)}
	t1 := t0.Add(time.Minute) // when deletions happen
	withVersion := func(rec Record, v int64) Record {
		rec.Version = v
		return rec
	}

	t.Run("get missing", func(t *testing.T) {
		t.Parallel()
		_, err := newStore(t).Get(t.Context(), "alice")
		if !errors.Is(err, errNotFound) {
			t.Errorf("Get() error = %v; want errNotFound", err)
		}
	})
	t.Run("create and get", func(t *testing.T) {
		t.Parallel()
		store := newStore(t)
		got, err := store.Create(t.Context(), withVersion(alice, 7))
		if err != nil {
			t.Fatalf("Create() error = %v", err)
		}
		if want := withVersion(alice, 1); got != want {
			t.Errorf("Create() = %+v; want %+v", got, want)
		}
		got, err = store.Get(t.Context(), "alice")
		if err != nil || got != withVersion(alice, 1) {
			t.Errorf("Get() = %+v, %v; want %+v", got, err, withVersion(alice, 1))
		}
	})
	t.Run("create existing", func(t *testing.T) {
		t.Parallel()
		store := newStore(t)
		mustCreate(t, store, alice)
		_, err := store.Create(t.Context(), alice2)
		assertMismatch(t, err, 1)
		assertStored(t, store, withVersion(alice, 1))
	})
	t.Run("update", func(t *testing.T) {
		t.Parallel()
		for _, version := range []int64{1, anyVersion} {
			store := newStore(t)
			mustCreate(t, store, alice)
			got, err := store.Update(t.Context(), alice2, version)
			if err != nil {
				t.Fatalf("Update(%d) error = %v", version, err)
			}
			if want := withVersion(alice2, 2); got != want {
				t.Errorf("Update(%d) = %+v; want %+v", version, got, want)
			}
			assertStored(t, store, withVersion(alice2, 2))
		}
	})
	t.Run("update stale", func(t *testing.T) {
		t.Parallel()
		store := newStore(t)
		mustCreate(t, store, alice)
		for _, version := range []int64{2, 5} {
			_, err := store.Update(t.Context(), alice2, version)
			assertMismatch(t, err, 1)
		}
		assertStored(t, store, withVersion(alice, 1))
	})
	t.Run("update missing", func(t *testing.T) {
		t.Parallel()
		store := newStore(t)
		for _, version := range []int64{1, anyVersion} {
			if _, err := store.Update(t.Context(), alice, version); !errors.Is(err, errNotFound) {
				t.Errorf("Update(%d) error = %v; want errNotFound", version, err)
			}
		}
		if _, err := store.Get(t.Context(), "alice"); !errors.Is(err, errNotFound) {
			t.Errorf("Get() error = %v; want errNotFound", err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		t.Parallel()
		for _, version := range []int64{1, anyVersion} {
			store := newStore(t)
			mustCreate(t, store, alice)
			if err := store.Delete(t.Context(), "alice", version, t1); err != nil {
				t.Fatalf("Delete(%d) error = %v", version, err)
			}
			if _, err := store.Get(t.Context(), "alice"); !errors.Is(err, errNotFound) {
				t.Errorf("Get() after Delete(%d) error = %v; want errNotFound", version, err)
			}
		}
	})
	t.Run("delete stale", func(t *testing.T) {
		t.Parallel()
		store := newStore(t)
		mustCreate(t, store, alice)
		assertMismatch(t, store.Delete(t.Context(), "alice", 2, t1), 1)
		assertStored(t, store, withVersion(alice, 1))
	})
	t.Run("delete missing", func(t *testing.T) {
		t.Parallel()
		store := newStore(t)
		for _, version := range []int64{1, anyVersion} {
			if err := store.Delete(t.Context(), "alice", version, t1); !errors.Is(err, errNotFound) {
				t.Errorf("Delete(%d) error = %v; want errNotFound", version, err)
			}
		}
	})
	t.Run("create after delete", func(t *testing.T) {
		t.Parallel()
		for _, version := range []int64{1, anyVersion} {
			store := newStore(t)
			mustCreate(t, store, alice)
			mustDelete(t, store, "alice", version, t1)
			// The tombstone has version 2; the new record continues
			// after it.
			got, err := store.Create(t.Context(), alice2)
			if err != nil {
				t.Fatalf("Create() after Delete(%d) error = %v", version, err)
			}
			if want := withVersion(alice2, 3); got != want {
				t.Errorf("Create() after Delete(%d) = %+v; want %+v", version, got, want)
			}
			assertStored(t, store, withVersion(alice2, 3))
		}
	})
	t.Run("versions never repeat across deletes", func(t *testing.T) {
		t.Parallel()
		store := newStore(t)
		seen := map[int64]bool{}
		var last int64
		for round := range 4 {
			stored, err := store.Create(t.Context(), alice)
			if err != nil {
				t.Fatalf("round %d: Create() error = %v", round, err)
			}
			if stored, err = store.Update(t.Context(), alice2, stored.Version); err != nil {
				t.Fatalf("round %d: Update() error = %v", round, err)
			}
			for _, v := range []int64{stored.Version - 1, stored.Version} {
				if seen[v] || v <= last {
					t.Fatalf("round %d: version %d after %d; versions must only increase", round, v, last)
				}
				seen[v] = true
				last = v
			}
			mustDelete(t, store, "alice", stored.Version, t1)
		}
	})
	t.Run("stale version after re-create", func(t *testing.T) {
		t.Parallel()
		store := newStore(t)
		mustCreate(t, store, alice)
		mustDelete(t, store, "alice", 1, t1)
		mustCreate(t, store, alice2)
		// Version 1 was the deleted record's: it must not match the new
		// one, nor must the tombstone's version 2.
		for _, version := range []int64{1, 2} {
			_, err := store.Update(t.Context(), alice, version)
			assertMismatch(t, err, 3)
			assertMismatch(t, store.Delete(t.Context(), "alice", version, t1), 3)
		}
		assertStored(t, store, withVersion(alice2, 3))
	})
	t.Run("tombstone is no record", func(t *testing.T) {
		t.Parallel()
		store := newStore(t)
		mustCreate(t, store, alice)
		mustDelete(t, store, "alice", 1, t1)
		if _, err := store.Get(t.Context(), "alice"); !errors.Is(err, errNotFound) {
			t.Errorf("Get() error = %v; want errNotFound", err)
		}
		// Neither the deleted record's version 1 nor the tombstone's 2
		// matches.
		for _, version := range []int64{1, 2, anyVersion} {
			if _, err := store.Update(t.Context(), alice2, version); !errors.Is(err, errNotFound) {
				t.Errorf("Update(%d) error = %v; want errNotFound", version, err)
			}
			if err := store.Delete(t.Context(), "alice", version, t1); !errors.Is(err, errNotFound) {
				t.Errorf("Delete(%d) error = %v; want errNotFound", version, err)
			}
		}
		if _, err := store.Get(t.Context(), "alice"); !errors.Is(err, errNotFound) {
			t.Errorf("Get() after refused writes error = %v; want errNotFound", err)
		}
		// The refused writes did not move the version on.
		got, err := store.Create(t.Context(), alice)
		if err != nil || got.Version != 3 {
			t.Errorf("Create() = version %d, %v; want version 3", got.Version, err)
		}
	})
	t.Run("create existing after re-create", func(t *testing.T) {
		t.Parallel()
		store := newStore(t)
		mustCreate(t, store, alice)
		mustDelete(t, store, "alice", anyVersion, t1)
		mustCreate(t, store, alice)
		_, err := store.Create(t.Context(), alice2)
		assertMismatch(t, err, 3)
		assertStored(t, store, withVersion(alice, 3))
	})
	t.Run("records are separate", func(t *testing.T) {
		t.Parallel()
		store := newStore(t)
		mustCreate(t, store, alice)
		bob := Record{ID: "bob", DisplayName: "Bob", UpdateTime: t0}
		mustCreate(t, store, bob)
		if err := store.Delete(t.Context(), "bob", anyVersion, t1); err != nil {
			t.Fatalf("Delete(bob) error = %v", err)
		}
		assertStored(t, store, withVersion(alice, 1))
	})
	t.Run("canceled context", func(t *testing.T) {
		t.Parallel()
		store := newStore(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := store.Get(ctx, "alice"); !errors.Is(err, context.Canceled) {
			t.Errorf("Get() error = %v; want context.Canceled", err)
		}
		if _, err := store.Create(ctx, alice); !errors.Is(err, context.Canceled) {
			t.Errorf("Create() error = %v; want context.Canceled", err)
		}
		if _, err := store.Update(ctx, alice, anyVersion); !errors.Is(err, context.Canceled) {
			t.Errorf("Update() error = %v; want context.Canceled", err)
		}
		if err := store.Delete(ctx, "alice", anyVersion, t1); !errors.Is(err, context.Canceled) {
			t.Errorf("Delete() error = %v; want context.Canceled", err)
		}
	})
}

func mustCreate(tb testing.TB, store Store, rec Record) {
	tb.Helper()
	if _, err := store.Create(tb.Context(), rec); err != nil {
		tb.Fatalf("Create(%q) error = %v", rec.ID, err)
	}
}

func mustDelete(tb testing.TB, store Store, id string, version int64, deleteTime time.Time) {
	tb.Helper()
	if err := store.Delete(tb.Context(), id, version, deleteTime); err != nil {
		tb.Fatalf("Delete(%q, %d) error = %v", id, version, err)
	}
}

func assertStored(tb testing.TB, store Store, want Record) {
	tb.Helper()
	got, err := store.Get(tb.Context(), want.ID)
	if err != nil {
		tb.Fatalf("Get(%q) error = %v", want.ID, err)
	}
	if got != want {
		tb.Errorf("stored %+v; want %+v", got, want)
	}
}

func assertMismatch(tb testing.TB, err error, current int64) {
	tb.Helper()
	var mismatch *versionMismatchError
	if !errors.As(err, &mismatch) {
		tb.Fatalf("error = %v; want a *versionMismatchError", err)
	}
	if mismatch.current != current {
		tb.Errorf("mismatch reports version %d; want %d", mismatch.current, current)
	}
}
