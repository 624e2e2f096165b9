package service

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/portico-dev/portico/internal/sqlitedb"
)

// sqliteSchema creates the profiles table if it does not exist.
// update_time holds Unix microseconds, UTC.
//
// A row with deleted = 1 is the tombstone of a deleted profile (see
// [Store]): its display_name, email and bio are empty, and its version is
// one more than the deleted profile's, so that a profile created again
// continues the sequence.
const sqliteSchema = `CREATE TABLE IF NOT EXISTS profiles (
	id           TEXT    NOT NULL PRIMARY KEY,
	display_name TEXT    NOT NULL,
	email        TEXT    NOT NULL,
	bio          TEXT    NOT NULL,
	version      INTEGER NOT NULL CHECK (version >= 1),
	update_time  INTEGER NOT NULL,
	` + sqliteDeletedColumn + `
) STRICT`

// sqliteDeletedColumn defines the column that tables created before
// tombstones lack; [SQLiteStore.migrate] adds it to them, keeping every
// existing row live.
const sqliteDeletedColumn = `deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))`

const profileColumns = `id, display_name, email, bio, version, update_time`

// The conditional writes. Each is a single statement, so SQLite decides
// atomically whether the stored version matches: of concurrent writers
// holding the same ETag, exactly one finds it. Updates and deletions only
// match live rows (deleted = 0): to them, a tombstone is no row.
const (
	// sqliteInsert inserts version 1 of a new id, or turns the id's
	// tombstone into a live row with the next version. On a live row the DO
	// UPDATE's WHERE is false, so the statement changes nothing and returns
	// no row.
	sqliteInsert = `INSERT INTO profiles (` + profileColumns + `, deleted)
		VALUES (?, ?, ?, ?, 1, ?, 0)
		ON CONFLICT (id) DO UPDATE SET
			display_name = excluded.display_name,
			email = excluded.email,
			bio = excluded.bio,
			version = profiles.version + 1,
			update_time = excluded.update_time,
			deleted = 0
		WHERE profiles.deleted = 1
		RETURNING ` + profileColumns
	sqliteUpdateAny = `UPDATE profiles
		SET display_name = ?, email = ?, bio = ?, version = version + 1, update_time = ?
		WHERE id = ? AND deleted = 0
		RETURNING ` + profileColumns
	sqliteUpdateVersion = `UPDATE profiles
		SET display_name = ?, email = ?, bio = ?, version = version + 1, update_time = ?
		WHERE id = ? AND deleted = 0 AND version = ?
		RETURNING ` + profileColumns
	// The deletions leave a tombstone: they erase the personal fields and
	// increment the version.
	sqliteDeleteAny = `UPDATE profiles
		SET deleted = 1, display_name = '', email = '', bio = '', version = version + 1, update_time = ?
		WHERE id = ? AND deleted = 0`
	sqliteDeleteVersion = `UPDATE profiles
		SET deleted = 1, display_name = '', email = '', bio = '', version = version + 1, update_time = ?
		WHERE id = ? AND deleted = 0 AND version = ?`
	sqliteSelect        = `SELECT ` + profileColumns + ` FROM profiles WHERE id = ? AND deleted = 0`
	sqliteSelectVersion = `SELECT version FROM profiles WHERE id = ? AND deleted = 0`
)

var _ Store = (*SQLiteStore)(nil)

// SQLiteStore is a [Store] in an SQLite database file, through the pure-Go
// driver modernc.org/sqlite. It is safe for concurrent use, also by several
// processes sharing the file. The zero SQLiteStore is not usable; start with
// [OpenSQLite].
//
// A deleted profile leaves a tombstone row with its id and version; its
// personal fields are erased, and with secure_delete SQLite also overwrites
// the freed space in the database file.
type SQLiteStore struct {
	db *sql.DB
}

// OpenSQLite opens the SQLite database file at path, creating it and the
// profiles table if they do not exist, and upgrading a table of an earlier
// release. Every connection uses write-ahead logging, overwrites deleted
// content, and waits up to 5s for a lock. path must name a file: ":memory:"
// and paths containing '?' are refused. Close the store when done.
func OpenSQLite(ctx context.Context, path string) (*SQLiteStore, error) {
	s := &SQLiteStore{}
	db, err := sqlitedb.Open(ctx, path, func(ctx context.Context, db *sql.DB) error {
		s.db = db
		if err := s.migrate(ctx); err != nil {
			return fmt.Errorf("create schema: %w", wrapCtx(ctx, err))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.db = db
	return s, nil
}

// migrate creates the profiles table, or adds the deleted column to one
// that an earlier release created. It holds the write lock throughout, so
// that processes opening the same file at once do not both add the column.
func (s *SQLiteStore) migrate(ctx context.Context) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// A context that ended the migration must not keep the
			// rollback from running.
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if _, err := conn.ExecContext(ctx, sqliteSchema); err != nil {
		return err
	}
	var hasDeleted bool
	if err := conn.QueryRowContext(ctx,
		`SELECT count(*) > 0 FROM pragma_table_info('profiles') WHERE name = 'deleted'`,
	).Scan(&hasDeleted); err != nil {
		return fmt.Errorf("read columns: %w", err)
	}
	if !hasDeleted {
		if _, err := conn.ExecContext(ctx, `ALTER TABLE profiles ADD COLUMN `+sqliteDeletedColumn); err != nil {
			return fmt.Errorf("add column deleted: %w", err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return err
	}
	return nil
}

// Close closes the database. Calls after Close fail.
func (s *SQLiteStore) Close() error {
	return s.db.Close()
}

// Get implements [Store].
func (s *SQLiteStore) Get(ctx context.Context, id string) (Record, error) {
	rec, err := scanRecord(s.db.QueryRowContext(ctx, sqliteSelect, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, errNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("sqlite: get: %w", wrapCtx(ctx, err))
	}
	return rec, nil
}

// Create implements [Store].
func (s *SQLiteStore) Create(ctx context.Context, rec Record) (Record, error) {
	stored, err := scanRecord(s.db.QueryRowContext(ctx, sqliteInsert,
		rec.ID, rec.DisplayName, rec.Email, rec.Bio, rec.UpdateTime.UnixMicro()))
	if errors.Is(err, sql.ErrNoRows) {
		// A live record exists; report its version. Should it have been
		// deleted since, report that none is stored.
		if err := s.mismatch(ctx, rec.ID); !errors.Is(err, errNotFound) {
			return Record{}, err
		}
		return Record{}, &versionMismatchError{}
	}
	if err != nil {
		return Record{}, fmt.Errorf("sqlite: create: %w", wrapCtx(ctx, err))
	}
	return stored, nil
}

// Update implements [Store].
func (s *SQLiteStore) Update(ctx context.Context, rec Record, version int64) (Record, error) {
	args := []any{rec.DisplayName, rec.Email, rec.Bio, rec.UpdateTime.UnixMicro(), rec.ID}
	query := sqliteUpdateAny
	if version != anyVersion {
		query = sqliteUpdateVersion
		args = append(args, version)
	}
	stored, err := scanRecord(s.db.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, s.mismatch(ctx, rec.ID)
	}
	if err != nil {
		return Record{}, fmt.Errorf("sqlite: update: %w", wrapCtx(ctx, err))
	}
	return stored, nil
}

// Delete implements [Store].
func (s *SQLiteStore) Delete(ctx context.Context, id string, version int64, deleteTime time.Time) error {
	args := []any{deleteTime.UnixMicro(), id}
	query := sqliteDeleteAny
	if version != anyVersion {
		query = sqliteDeleteVersion
		args = append(args, version)
	}
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqlite: delete: %w", wrapCtx(ctx, err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: delete: %w", wrapCtx(ctx, err))
	}
	if n == 0 {
		return s.mismatch(ctx, id)
	}
	return nil
}

// mismatch explains why a conditional write on the record with the id
// changed nothing: errNotFound if there is no live record (a tombstone's
// version is never reported), or a *versionMismatchError with the stored
// version. The write itself already decided; this read only reports.
func (s *SQLiteStore) mismatch(ctx context.Context, id string) error {
	var current int64
	err := s.db.QueryRowContext(ctx, sqliteSelectVersion, id).Scan(&current)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return errNotFound
	case err != nil:
		return fmt.Errorf("sqlite: read version: %w", wrapCtx(ctx, err))
	default:
		return &versionMismatchError{current: current}
	}
}

func scanRecord(row *sql.Row) (Record, error) {
	var (
		rec  Record
		usec int64
	)
	if err := row.Scan(&rec.ID, &rec.DisplayName, &rec.Email, &rec.Bio, &rec.Version, &usec); err != nil {
		return Record{}, err
	}
	rec.UpdateTime = time.UnixMicro(usec).UTC()
	return rec, nil
}

// wrapCtx makes err wrap ctx.Err() if the context has ended, as [Store]
// requires: the driver may report an interrupted statement in its own terms.
func wrapCtx(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}
