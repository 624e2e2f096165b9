package service

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// newSQLiteStore returns an empty store in a temporary directory, closed
// when tb ends.
func newSQLiteStore(tb testing.TB) *SQLiteStore {
	tb.Helper()
	store, err := OpenSQLite(tb.Context(), filepath.Join(tb.TempDir(), "profiles.db"))
	if err != nil {
		tb.Fatalf("OpenSQLite() error = %v", err)
	}
	tb.Cleanup(func() {
		if err := store.Close(); err != nil {
			tb.Errorf("Close() error = %v", err)
		}
	})
	return store
}

func TestSQLiteStoreContract(t *testing.T) {
	t.Parallel()
	testStoreContract(t, func(tb testing.TB) Store { return newSQLiteStore(tb) })
}

func TestOpenSQLiteReopen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "profiles.db")
	first, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("OpenSQLite() error = %v", err)
	}
	rec := Record{ID: "alice", DisplayName: "Alice"}
	mustCreate(t, first, rec)
	if err := first.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	// Creating the schema again is a no-op that keeps the data.
	second, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("second OpenSQLite() error = %v", err)
	}
	t.Cleanup(func() { _ = second.Close() })
	rec.Version = 1
	rec.UpdateTime = rec.UpdateTime.UTC()
	got, err := second.Get(t.Context(), "alice")
	if err != nil {
		t.Fatalf("Get() error = %v", err)
	}
	if !got.UpdateTime.Equal(rec.UpdateTime) {
		t.Errorf("UpdateTime = %v; want %v", got.UpdateTime, rec.UpdateTime)
	}
	got.UpdateTime = rec.UpdateTime
	if got != rec {
		t.Errorf("Get() = %+v; want %+v", got, rec)
	}
}

func TestOpenSQLitePragmas(t *testing.T) {
	t.Parallel()
	store := newSQLiteStore(t)
	// Every connection of the pool must have the pragmas: hold one
	// connection busy while asking another.
	conn, err := store.db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	for _, q := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"busy_timeout", "5000"},
		{"synchronous", "1"},
		{"secure_delete", "1"},
	} {
		for name, db := range map[string]interface {
			QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
		}{"pool": store.db, "conn": conn} {
			var got string
			if err := db.QueryRowContext(t.Context(), "PRAGMA "+q.pragma).Scan(&got); err != nil {
				t.Fatalf("%s: PRAGMA %s: %v", name, q.pragma, err)
			}
			if got != q.want {
				t.Errorf("%s: PRAGMA %s = %q; want %q", name, q.pragma, got, q.want)
			}
		}
	}
}

func TestOpenSQLiteRefuses(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"", ":memory:", filepath.Join(t.TempDir(), "x.db?mode=ro")} {
		if store, err := OpenSQLite(t.Context(), path); err == nil {
			_ = store.Close()
			t.Errorf("OpenSQLite(%q) succeeded; want an error", path)
		}
	}
	if _, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "missing", "dir", "x.db")); err == nil {
		t.Error("OpenSQLite in a missing directory succeeded; want an error")
	}
}

func TestSQLiteStoreClosed(t *testing.T) {
	t.Parallel()
	store, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "profiles.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = store.Get(t.Context(), "alice")
	if err == nil || errors.Is(err, errNotFound) {
		t.Errorf("Get() after Close error = %v; want a store failure", err)
	}
}

// tombstoneRow is a row of the profiles table, read directly.
type tombstoneRow struct {
	displayName, email, bio string
	version, updateTime     int64
	deleted                 int64
}

func readRow(tb testing.TB, db *sql.DB, id string) tombstoneRow {
	tb.Helper()
	var r tombstoneRow
	err := db.QueryRowContext(tb.Context(),
		`SELECT display_name, email, bio, version, update_time, deleted FROM profiles WHERE id = ?`, id,
	).Scan(&r.displayName, &r.email, &r.bio, &r.version, &r.updateTime, &r.deleted)
	if err != nil {
		tb.Fatalf("read row %q: %v", id, err)
	}
	return r
}

func TestSQLiteStoreTombstone(t *testing.T) {
	t.Parallel()
	store := newSQLiteStore(t)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	deleted := t0.Add(time.Hour)
	mustCreate(t, store, Record{ID: "alice", DisplayName: "Alice", Email: "alice@example.com", Bio: "hi", UpdateTime: t0})
	mustDelete(t, store, "alice", 1, deleted)

	// The personal fields are erased from the row, not merely hidden.
	want := tombstoneRow{version: 2, updateTime: deleted.UnixMicro(), deleted: 1}
	if got := readRow(t, store.db, "alice"); got != want {
		t.Errorf("tombstone row = %+v; want %+v", got, want)
	}

	// Re-creating revives the row with the next version.
	mustCreate(t, store, Record{ID: "alice", DisplayName: "A", Email: "a@example.com", UpdateTime: t0})
	want = tombstoneRow{displayName: "A", email: "a@example.com", version: 3, updateTime: t0.UnixMicro()}
	if got := readRow(t, store.db, "alice"); got != want {
		t.Errorf("re-created row = %+v; want %+v", got, want)
	}
}

// TestSQLiteStoreErasesFromFile checks that a deleted profile's personal
// data is gone from the database file, not only from the row: secure_delete
// overwrites the freed space, and a checkpoint empties the WAL.
func TestSQLiteStoreErasesFromFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "profiles.db")
	store, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	secret := []byte("erase-me-7d3f9a@example.com")
	// A bio longer than a page spills to overflow pages, which a deletion
	// frees rather than rewrites.
	bio := strings.Repeat("Personal history. ", 400) + string(secret)
	mustCreate(t, store, Record{ID: "alice", DisplayName: "Alice", Email: string(secret), Bio: bio, UpdateTime: time.Now()})
	mustCreate(t, store, Record{ID: "bob", DisplayName: "Bob", Email: "bob@example.com", UpdateTime: time.Now()})
	checkpoint := func() {
		t.Helper()
		if _, err := store.db.ExecContext(t.Context(), "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			t.Fatalf("checkpoint: %v", err)
		}
	}
	checkpoint()
	if data, err := os.ReadFile(path); err != nil || !bytes.Contains(data, secret) {
		t.Fatalf("the email is not in the file before the deletion (%v); the test proves nothing", err)
	}
	mustDelete(t, store, "alice", anyVersion, time.Now())
	checkpoint()
	for _, name := range []string{path, path + "-wal"} {
		data, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, secret) {
			t.Errorf("%s still contains the deleted email", filepath.Base(name))
		}
	}
}

// sqliteSchemaV0 is the profiles table as releases before tombstones
// created it.
const sqliteSchemaV0 = `CREATE TABLE profiles (
	id           TEXT    NOT NULL PRIMARY KEY,
	display_name TEXT    NOT NULL,
	email        TEXT    NOT NULL,
	bio          TEXT    NOT NULL,
	version      INTEGER NOT NULL CHECK (version >= 1),
	update_time  INTEGER NOT NULL
) STRICT`

// createV0 creates a database file with the schema before tombstones and
// alice's profile at version 4 in it.
func createV0(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "profiles.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{
		sqliteSchemaV0,
		`INSERT INTO profiles VALUES ('alice', 'Alice', 'alice@example.com', 'hi', 4, 1767323045000006)`,
	} {
		if _, err := db.ExecContext(tb.Context(), stmt); err != nil {
			tb.Fatalf("%s: %v", stmt, err)
		}
	}
	return path
}

func TestOpenSQLiteMigratesV0(t *testing.T) {
	t.Parallel()
	path := createV0(t)
	store, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("OpenSQLite() on the old schema error = %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })

	// The existing profile is live and unchanged.
	want := Record{
		ID: "alice", DisplayName: "Alice", Email: "alice@example.com", Bio: "hi",
		Version: 4, UpdateTime: time.UnixMicro(1767323045000006).UTC(),
	}
	assertStored(t, store, want)
	if got := readRow(t, store.db, "alice").deleted; got != 0 {
		t.Errorf("migrated row has deleted = %d; want 0", got)
	}
	// The new column keeps its constraint.
	if _, err := store.db.ExecContext(t.Context(), `UPDATE profiles SET deleted = 2`); err == nil {
		t.Error("deleted = 2 was accepted; want a CHECK failure")
	}

	// And tombstones work on it.
	mustDelete(t, store, "alice", 4, time.Now())
	if _, err := store.Get(t.Context(), "alice"); !errors.Is(err, errNotFound) {
		t.Errorf("Get() after Delete error = %v; want errNotFound", err)
	}
	rec, err := store.Create(t.Context(), Record{ID: "alice", DisplayName: "Alice again", UpdateTime: time.Now()})
	if err != nil || rec.Version != 6 {
		t.Errorf("Create() after Delete = version %d, %v; want version 6", rec.Version, err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	// Opening the migrated file again is a no-op that keeps the data.
	again, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("OpenSQLite() on the migrated file error = %v", err)
	}
	t.Cleanup(func() { _ = again.Close() })
	if got, err := again.Get(t.Context(), "alice"); err != nil || got.Version != 6 {
		t.Errorf("Get() after reopening = version %d, %v; want version 6", got.Version, err)
	}
}

// TestOpenSQLiteMigratesConcurrently opens an old file from several stores
// at once, as several processes might: each must succeed.
func TestOpenSQLiteMigratesConcurrently(t *testing.T) {
	t.Parallel()
	const openers = 8
	path := createV0(t)
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make(chan error, openers)
	)
	for range openers {
		wg.Go(func() {
			<-start
			store, err := OpenSQLite(t.Context(), path)
			if err != nil {
				errs <- err
				return
			}
			_, err = store.Get(t.Context(), "alice")
			errs <- errors.Join(err, store.Close())
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent OpenSQLite: %v", err)
		}
	}
}
