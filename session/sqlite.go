package session

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/portico-dev/portico/internal/sqlitedb"
)

// sqliteSchema creates the sessions table. key_hash is the [Key]; times are
// Unix microseconds, UTC.
const sqliteSchema = `CREATE TABLE IF NOT EXISTS sessions (
	key_hash    BLOB    NOT NULL PRIMARY KEY CHECK (length(key_hash) = 32),
	subject     TEXT    NOT NULL,
	issuer      TEXT    NOT NULL,
	create_time INTEGER NOT NULL,
	expire_time INTEGER NOT NULL
) STRICT, WITHOUT ROWID`

// sqliteIndex lets Create purge expired sessions without a scan.
const sqliteIndex = `CREATE INDEX IF NOT EXISTS sessions_expire_time ON sessions (expire_time)`

var _ Store = (*SQLiteStore)(nil)

// SQLiteStore is a [Store] in an SQLite database file, through the pure-Go
// driver modernc.org/sqlite. It is safe for concurrent use, also by several
// processes sharing the file, but not across machines: with more than one
// server instance, sessions need a shared Store. Creating a session also
// deletes the sessions that expired before its CreateTime. The zero SQLiteStore is not usable;
// start with [OpenSQLite].
type SQLiteStore struct {
	db *sql.DB
}

// OpenSQLite opens the SQLite database file at path, creating it and the
// sessions table if they do not exist. Close the store when done.
func OpenSQLite(ctx context.Context, path string) (*SQLiteStore, error) {
	db, err := sqlitedb.Open(ctx, path, func(ctx context.Context, db *sql.DB) error {
		if _, err := db.ExecContext(ctx, sqliteSchema); err != nil {
			return err
		}
		_, err := db.ExecContext(ctx, sqliteIndex)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	return &SQLiteStore{db: db}, nil
}

// Create implements [Store].
func (s *SQLiteStore) Create(ctx context.Context, k Key, sess Session) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("session: create: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expire_time <= ?`, micros(sess.CreateTime)); err != nil {
		return fmt.Errorf("session: create: purge expired: %w", err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO sessions (key_hash, subject, issuer, create_time, expire_time) VALUES (?, ?, ?, ?, ?)`,
		k[:], sess.Subject, sess.Issuer, micros(sess.CreateTime), micros(sess.ExpireTime),
	); err != nil {
		return fmt.Errorf("session: create: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("session: create: %w", err)
	}
	return nil
}

// Get implements [Store].
func (s *SQLiteStore) Get(ctx context.Context, k Key) (Session, error) {
	var (
		sess          Session
		create, until int64
	)
	err := s.db.QueryRowContext(ctx,
		`SELECT subject, issuer, create_time, expire_time FROM sessions WHERE key_hash = ?`, k[:],
	).Scan(&sess.Subject, &sess.Issuer, &create, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("session: get: %w", err)
	}
	sess.CreateTime, sess.ExpireTime = time.UnixMicro(create).UTC(), time.UnixMicro(until).UTC()
	return sess, nil
}

// Delete implements [Store].
func (s *SQLiteStore) Delete(ctx context.Context, k Key) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE key_hash = ?`, k[:]); err != nil {
		return fmt.Errorf("session: delete: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *SQLiteStore) Close() error { return s.db.Close() }

func micros(t time.Time) int64 { return t.UnixMicro() }
