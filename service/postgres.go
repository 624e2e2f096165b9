package service

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// The defaults of [OpenPostgres].
const (
	// DefaultCallTimeout bounds each call of a [PostgresStore] method.
	DefaultCallTimeout = 5 * time.Second
	// DefaultStartTimeout bounds how long [OpenPostgres] waits for an
	// unreachable database.
	DefaultStartTimeout = 10 * time.Second
)

// postgresMigrations holds the schema of [PostgresStore], as goose SQL
// migrations, applied in the order of their numbers.
//
//go:embed migrations/postgres/*.sql
var postgresMigrations embed.FS

// migrationLockPeriod is how often an instance that waits for another's
// migration tries the advisory lock again: goose's session locker polls, and
// one second is the shortest period it accepts.
const migrationLockPeriod = 1 // second

const pgProfileColumns = `id, display_name, email, bio, version, update_time`

// The conditional writes, as in [SQLiteStore]. Each is a single statement,
// so PostgreSQL decides atomically whether the stored version matches: a
// concurrent writer waits for the row lock of the one before it and then
// evaluates its WHERE clause again on the row that one left (READ COMMITTED,
// https://www.postgresql.org/docs/current/transaction-iso.html#XACT-READ-COMMITTED),
// so of concurrent writers holding the same ETag exactly one finds it.
// Updates and deletions only match live rows: to them, a tombstone is no row.
const (
	// pgInsert inserts version 1 of a new id, or turns the id's tombstone
	// into a live row with the next version. On a live row the DO UPDATE's
	// WHERE is false, so the statement changes nothing and returns no row.
	pgInsert = `INSERT INTO profiles AS p (` + pgProfileColumns + `, deleted)
		VALUES ($1, $2, $3, $4, 1, $5, false)
		ON CONFLICT (id) DO UPDATE SET
			display_name = excluded.display_name,
			email = excluded.email,
			bio = excluded.bio,
			version = p.version + 1,
			update_time = excluded.update_time,
			deleted = false
		WHERE p.deleted
		RETURNING ` + pgProfileColumns
	pgUpdateAny = `UPDATE profiles
		SET display_name = $2, email = $3, bio = $4, version = version + 1, update_time = $5
		WHERE id = $1 AND NOT deleted
		RETURNING ` + pgProfileColumns
	pgUpdateVersion = `UPDATE profiles
		SET display_name = $2, email = $3, bio = $4, version = version + 1, update_time = $5
		WHERE id = $1 AND NOT deleted AND version = $6
		RETURNING ` + pgProfileColumns
	// The deletions leave a tombstone: they erase the personal fields and
	// increment the version.
	pgDeleteAny = `UPDATE profiles
		SET deleted = true, display_name = '', email = '', bio = '', version = version + 1, update_time = $2
		WHERE id = $1 AND NOT deleted`
	pgDeleteVersion = `UPDATE profiles
		SET deleted = true, display_name = '', email = '', bio = '', version = version + 1, update_time = $2
		WHERE id = $1 AND NOT deleted AND version = $3`
	pgSelect        = `SELECT ` + pgProfileColumns + ` FROM profiles WHERE id = $1 AND NOT deleted`
	pgSelectVersion = `SELECT version FROM profiles WHERE id = $1 AND NOT deleted`
)

var _ Store = (*PostgresStore)(nil)

// PostgresStore is a [Store] in a PostgreSQL database, through a
// jackc/pgx connection pool, for servers that run as several instances on
// one database. It is safe for concurrent use, also by several processes
// sharing the database. The zero PostgresStore is not usable; start with
// [OpenPostgres].
//
// Every method call has a deadline: the caller's, or the store's own call
// timeout if that is sooner (see [WithCallTimeout]). A call that the store's
// own deadline ends fails with an error that the service reports as
// unavailable, not as deadline_exceeded.
//
// A deleted profile leaves a tombstone row with its id and version; its
// personal fields are erased, which a CHECK constraint enforces. PostgreSQL
// has no counterpart to SQLite's secure_delete: the row version that a
// deletion replaces stays in the table's storage until VACUUM reclaims it,
// and in the write-ahead log until that is recycled.
type PostgresStore struct {
	pool        *pgxpool.Pool
	callTimeout time.Duration
	target      string
}

// A PostgresOption configures [OpenPostgres].
type PostgresOption interface {
	applyPostgres(*postgresConfig)
}

type postgresOptionFunc func(*postgresConfig)

func (f postgresOptionFunc) applyPostgres(c *postgresConfig) { f(c) }

type postgresConfig struct {
	// callTimeout bounds each method call. By default DefaultCallTimeout.
	callTimeout time.Duration
	// startTimeout bounds OpenPostgres's wait for the database. By default
	// DefaultStartTimeout.
	startTimeout time.Duration
	// logger records start-up retries and migrations. By default
	// slog.Default().
	logger *slog.Logger
}

// WithCallTimeout bounds each call of a [PostgresStore] method, the wait
// for a pooled connection included; a shorter deadline of the caller's
// context still applies. It is also the connect timeout, unless the URL
// sets connect_timeout. The default, also restored by zero or less, is
// [DefaultCallTimeout] (5s).
func WithCallTimeout(d time.Duration) PostgresOption {
	return postgresOptionFunc(func(c *postgresConfig) { c.callTimeout = d })
}

// WithStartTimeout bounds how long [OpenPostgres] retries while the database
// is unreachable, refusing connections or starting up, and waits for
// another instance's migration. The default, also restored by zero or less,
// is [DefaultStartTimeout] (10s).
func WithStartTimeout(d time.Duration) PostgresOption {
	return postgresOptionFunc(func(c *postgresConfig) { c.startTimeout = d })
}

// WithPostgresLogger sets the logger that records [OpenPostgres]'s retries
// and the migrations it applies. The default, also restored by nil, is
// [slog.Default] at the time of OpenPostgres.
func WithPostgresLogger(logger *slog.Logger) PostgresOption {
	return postgresOptionFunc(func(c *postgresConfig) { c.logger = logger })
}

// OpenPostgres connects to the PostgreSQL database that databaseURL names
// (postgres://user:password@host:port/database?options, as libpq reads it;
// pool_max_conns and the other pgxpool options are accepted too), and brings
// its schema up to date with the migrations embedded in the binary. Close
// the store when done.
//
// Migrations run under a session-level advisory lock, so instances that
// start at once against the same database apply each migration once: the
// others wait for the lock, then find nothing left to do. Running them again
// is a no-op.
//
// While the database is unreachable, refuses connections or is starting up,
// OpenPostgres retries, with backoff, until the start timeout (see
// [WithStartTimeout], 10s by default) has passed; then it fails with the last
// error. Other failures, such as a bad password or a missing database, fail
// at once. Error messages name the database by its URL without the password.
func OpenPostgres(ctx context.Context, databaseURL string, opts ...PostgresOption) (*PostgresStore, error) {
	cfg := &postgresConfig{}
	for _, opt := range opts {
		opt.applyPostgres(cfg)
	}
	if cfg.callTimeout <= 0 {
		cfg.callTimeout = DefaultCallTimeout
	}
	if cfg.startTimeout <= 0 {
		cfg.startTimeout = DefaultStartTimeout
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	poolConfig, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgx redacts passwords from its parse errors only as best it can:
		// withhold its message.
		return nil, errors.New("postgres: cannot parse the database URL; " +
			"want postgres://user:password@host:port/database?options")
	}
	if poolConfig.ConnConfig.ConnectTimeout <= 0 {
		// pgxpool finishes a connect that a canceled call started in the
		// background, by default for up to two minutes.
		poolConfig.ConnConfig.ConnectTimeout = cfg.callTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolConfig)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", describeConfig(poolConfig.ConnConfig), err)
	}
	s := &PostgresStore{pool: pool, callTimeout: cfg.callTimeout, target: describeConfig(poolConfig.ConnConfig)}
	if err := s.start(ctx, cfg); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", s.target, err)
	}
	return s, nil
}

// start pings the database and migrates it, retrying as [OpenPostgres]
// describes.
func (s *PostgresStore) start(ctx context.Context, cfg *postgresConfig) error {
	began := time.Now()
	startCtx, cancel := context.WithTimeout(ctx, cfg.startTimeout)
	defer cancel()
	backoff := 50 * time.Millisecond
	// lastErr is the error of the last attempt that the start timeout did
	// not cut short.
	var lastErr error
	for attempt := 1; ; attempt++ {
		err := s.pool.Ping(startCtx)
		if err == nil {
			err = migratePostgres(startCtx, s.pool, cfg.logger)
		}
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return wrapCtx(ctx, err)
		case startCtx.Err() != nil && lastErr != nil:
			// This attempt's error is the timer's ("context deadline
			// exceeded"): the earlier one says what is wrong.
			return fmt.Errorf("gave up after %v (%d attempts, the last cut short by the start timeout): %w",
				time.Since(began).Round(time.Millisecond), attempt, lastErr)
		case startCtx.Err() != nil:
			return fmt.Errorf("gave up after %v (%d attempts): %w",
				time.Since(began).Round(time.Millisecond), attempt, err)
		case !storeUnavailable(err):
			return err
		}
		lastErr = err
		cfg.logger.WarnContext(ctx, "postgres: database not reachable yet; retrying",
			slog.String("database", s.target), slog.Int("attempt", attempt),
			slog.Duration("retry_in", backoff), slog.Any("error", err))
		select {
		case <-startCtx.Done():
			// Report the last real error, not the timer's.
			return fmt.Errorf("gave up after %v (%d attempts): %w",
				time.Since(began).Round(time.Millisecond), attempt, err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// migratePostgres applies the embedded migrations that the database lacks.
// goose's session locker holds a PostgreSQL advisory lock (scoped to the
// database) on one connection while it reads the version table and applies
// migrations, each in its own transaction; another instance polls for the
// lock every migrationLockPeriod until ctx ends.
func migratePostgres(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	// The locker counts its retries, so it is made for each run. ctx bounds
	// the wait for the lock; goose unlocks without ctx, so bound that here
	// (it only retries while the lock is not released, which a closed
	// session does by itself).
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockTimeout(migrationLockPeriod, 3600),
		lock.WithUnlockTimeout(1, 5),
	)
	if err != nil {
		return err
	}
	migrations, err := fs.Sub(postgresMigrations, "migrations/postgres")
	if err != nil {
		return err
	}
	// The *sql.DB borrows the pool's connections; closing it leaves the
	// pool open.
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(logger),
	)
	if err != nil {
		return err
	}
	results, err := provider.Up(ctx)
	var partial *goose.PartialError
	if errors.As(err, &partial) {
		results = partial.Applied
		if partial.Failed != nil && partial.Failed.Source != nil {
			err = fmt.Errorf("version %d: %w", partial.Failed.Source.Version, partial.Err)
		} else {
			err = partial.Err
		}
	}
	for _, r := range results {
		logger.InfoContext(ctx, "postgres: migration applied",
			slog.Int64("version", r.Source.Version), slog.Duration("duration", r.Duration))
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// describeConfig names the database of cfg as a URL without the password.
func describeConfig(cfg *pgx.ConnConfig) string {
	u := url.URL{Scheme: "postgres", User: url.User(cfg.User), Path: "/" + cfg.Database}
	if strings.HasPrefix(cfg.Host, "/") {
		// A unix socket's directory, such as Cloud SQL's /cloudsql/...
		u.RawQuery = url.Values{"host": {cfg.Host}}.Encode()
	} else {
		u.Host = net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	}
	return u.String()
}

// String returns the store's database URL without its password, for logs.
func (s *PostgresStore) String() string { return s.target }

// Close closes the pool, waiting for the connections in use to be released.
// Calls after Close fail.
func (s *PostgresStore) Close() error {
	s.pool.Close()
	return nil
}

// call runs f with the store's deadline. It retries once if the first
// attempt failed before anything reached the server (a stale pooled
// connection, say), which is safe even for writes. It returns pgx.ErrNoRows
// as f does, and turns other errors into the errors [Store] promises.
func (s *PostgresStore) call(ctx context.Context, op string, f func(ctx context.Context) error) error {
	callCtx, cancel := context.WithTimeout(ctx, s.callTimeout)
	defer cancel()
	err := f(callCtx)
	if err != nil && pgconn.SafeToRetry(err) && callCtx.Err() == nil {
		err = f(callCtx)
	}
	switch {
	case err == nil || errors.Is(err, pgx.ErrNoRows):
		return err
	case ctx.Err() != nil:
		return fmt.Errorf("postgres: %s: %w", op, wrapCtx(ctx, err))
	case callCtx.Err() != nil, errors.Is(err, context.DeadlineExceeded):
		// Not the caller's deadline but the store's, or the connect
		// timeout: keep context.DeadlineExceeded out of the chain.
		return fmt.Errorf("postgres: %s: %w after %v (%v)", op, errStoreTimeout, s.callTimeout, err)
	default:
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
}

// Get implements [Store].
func (s *PostgresStore) Get(ctx context.Context, id string) (Record, error) {
	var rec Record
	err := s.call(ctx, "get", func(ctx context.Context) error {
		return scanPgRecord(s.pool.QueryRow(ctx, pgSelect, id), &rec)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, errNotFound
	}
	if err != nil {
		return Record{}, err
	}
	return rec, nil
}

// Create implements [Store].
func (s *PostgresStore) Create(ctx context.Context, rec Record) (Record, error) {
	var stored Record
	err := s.call(ctx, "create", func(ctx context.Context) error {
		return scanPgRecord(s.pool.QueryRow(ctx, pgInsert,
			rec.ID, rec.DisplayName, rec.Email, rec.Bio, rec.UpdateTime), &stored)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		// A live record exists; report its version. Should it have been
		// deleted since, report that none is stored.
		if err := s.mismatch(ctx, rec.ID); !errors.Is(err, errNotFound) {
			return Record{}, err
		}
		return Record{}, &versionMismatchError{}
	}
	if err != nil {
		return Record{}, err
	}
	return stored, nil
}

// Update implements [Store].
func (s *PostgresStore) Update(ctx context.Context, rec Record, version int64) (Record, error) {
	args := []any{rec.ID, rec.DisplayName, rec.Email, rec.Bio, rec.UpdateTime}
	query := pgUpdateAny
	if version != anyVersion {
		query = pgUpdateVersion
		args = append(args, version)
	}
	var stored Record
	err := s.call(ctx, "update", func(ctx context.Context) error {
		return scanPgRecord(s.pool.QueryRow(ctx, query, args...), &stored)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, s.mismatch(ctx, rec.ID)
	}
	if err != nil {
		return Record{}, err
	}
	return stored, nil
}

// Delete implements [Store].
func (s *PostgresStore) Delete(ctx context.Context, id string, version int64, deleteTime time.Time) error {
	args := []any{id, deleteTime}
	query := pgDeleteAny
	if version != anyVersion {
		query = pgDeleteVersion
		args = append(args, version)
	}
	var tag pgconn.CommandTag
	err := s.call(ctx, "delete", func(ctx context.Context) error {
		var err error
		tag, err = s.pool.Exec(ctx, query, args...)
		return err
	})
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return s.mismatch(ctx, id)
	}
	return nil
}

// mismatch explains why a conditional write on the record with the id
// changed nothing, as [SQLiteStore]'s does: errNotFound if there is no live
// record, or a *versionMismatchError with the stored version.
func (s *PostgresStore) mismatch(ctx context.Context, id string) error {
	var current int64
	err := s.call(ctx, "read version", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, pgSelectVersion, id).Scan(&current)
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return errNotFound
	case err != nil:
		return err
	default:
		return &versionMismatchError{current: current}
	}
}

func scanPgRecord(row pgx.Row, rec *Record) error {
	if err := row.Scan(&rec.ID, &rec.DisplayName, &rec.Email, &rec.Bio, &rec.Version, &rec.UpdateTime); err != nil {
		return err
	}
	rec.UpdateTime = rec.UpdateTime.UTC()
	return nil
}
