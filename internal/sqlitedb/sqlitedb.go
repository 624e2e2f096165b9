// Package sqlitedb opens the SQLite database files Portico's embedded stores
// keep (profiles, sessions), with the settings they share, through the
// pure-Go driver modernc.org/sqlite so that the binary stays static.
//
// Start from [Open].
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"modernc.org/sqlite" // also registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// BusyTimeout is how long a connection waits for another's write lock
// before SQLite reports SQLITE_BUSY.
const BusyTimeout = 5 * time.Second

// Open opens the database file at path, creating it if needed, and runs
// init (typically creating or upgrading the schema) until it succeeds.
// Every connection of the pool uses write-ahead logging, waits up to
// [BusyTimeout] for a lock, and overwrites deleted content. path must name
// a file: "", ":memory:" and paths containing '?' are refused. Open fails
// if the file cannot be put in WAL mode.
func Open(ctx context.Context, path string, init func(context.Context, *sql.DB) error) (*sql.DB, error) {
	if path == "" || path == ":memory:" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: open %q: want the path of a database file", path)
	}
	// modernc.org/sqlite runs each _pragma on every new connection, so all
	// connections of the pool get them.
	query := url.Values{"_pragma": {
		fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()),
		"journal_mode(WAL)",
		// Safe with WAL: a power loss may lose the last commits, never
		// corrupt the file (https://sqlite.org/pragma.html#pragma_synchronous).
		"synchronous(NORMAL)",
		// Overwrite the content that an update or deletion frees with
		// zeros, so that erased personal data does not linger in free space
		// of the file (https://sqlite.org/pragma.html#pragma_secure_delete).
		"secure_delete(ON)",
	}}
	db, err := sql.Open("sqlite", path+"?"+query.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	if err := initRetrying(ctx, db, init); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	return db, nil
}

// initRetrying checks WAL mode and runs init until both succeed, for at
// most BusyTimeout. Turning a new file to WAL mode needs an exclusive lock,
// and SQLite answers SQLITE_BUSY at once, without its busy handler, when
// another process is doing the same
// (https://sqlite.org/wal.html#sometimes_queries_return_sqlite_busy_in_wal_mode).
func initRetrying(ctx context.Context, db *sql.DB, init func(context.Context, *sql.DB) error) error {
	deadline := time.Now().Add(BusyTimeout)
	for {
		err := checkWAL(ctx, db)
		if err == nil {
			err = init(ctx, db)
		}
		if err == nil || !IsBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func checkWAL(ctx context.Context, db *sql.DB) error {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, not wal", mode)
	}
	return nil
}

// IsBusy reports whether err is, or wraps, SQLite's SQLITE_BUSY.
func IsBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}
