package service

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/portico-dev/portico/auth"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/internal/pgtest"
	"github.com/pressly/goose/v3/lock"
)

// quiet is the logger of the stores and services under test.
var quiet = slog.New(slog.DiscardHandler)

// newPostgresStore opens a store on the database that databaseURL names,
// closed when tb ends.
func newPostgresStore(tb testing.TB, databaseURL string, opts ...PostgresOption) *PostgresStore {
	tb.Helper()
	opts = append([]PostgresOption{WithPostgresLogger(quiet)}, opts...)
	store, err := OpenPostgres(tb.Context(), databaseURL, opts...)
	if err != nil {
		tb.Fatalf("OpenPostgres() error = %v", err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	return store
}

func TestPostgresStoreContract(t *testing.T) {
	t.Parallel()
	cluster := pgtest.Shared(t)
	testStoreContract(t, func(tb testing.TB) Store { return newPostgresStore(tb, cluster.NewDatabase(tb)) })
}

func TestPostgresStoreTombstone(t *testing.T) {
	t.Parallel()
	store := newPostgresStore(t, pgtest.Shared(t).NewDatabase(t))
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	deleted := t0.Add(time.Hour)
	mustCreate(t, store, Record{ID: "alice", DisplayName: "Alice", Email: "alice@example.com", Bio: "hi", UpdateTime: t0})
	mustDelete(t, store, "alice", 1, deleted)

	type row struct {
		displayName, email, bio string
		version                 int64
		updateTime              time.Time
		deleted                 bool
	}
	read := func() row {
		t.Helper()
		var r row
		err := store.pool.QueryRow(t.Context(),
			`SELECT display_name, email, bio, version, update_time, deleted FROM profiles WHERE id = 'alice'`,
		).Scan(&r.displayName, &r.email, &r.bio, &r.version, &r.updateTime, &r.deleted)
		if err != nil {
			t.Fatalf("read row: %v", err)
		}
		r.updateTime = r.updateTime.UTC()
		return r
	}
	// The personal fields are erased from the row, not merely hidden.
	if got, want := read(), (row{version: 2, updateTime: deleted, deleted: true}); got != want {
		t.Errorf("tombstone row = %+v; want %+v", got, want)
	}
	// The schema refuses a tombstone that keeps personal data.
	if _, err := store.pool.Exec(t.Context(), `UPDATE profiles SET email = 'x@example.com' WHERE id = 'alice'`); err == nil {
		t.Error("a tombstone with an email was accepted; want a CHECK failure")
	}
	mustCreate(t, store, Record{ID: "alice", DisplayName: "A", Email: "a@example.com", UpdateTime: t0})
	if got, want := read(), (row{displayName: "A", email: "a@example.com", version: 3, updateTime: t0}); got != want {
		t.Errorf("re-created row = %+v; want %+v", got, want)
	}
}

// appliedMigrations returns the versions in goose's table, in the order
// they were applied, without goose's own version 0.
func appliedMigrations(tb testing.TB, databaseURL string) []int64 {
	tb.Helper()
	conn, err := pgx.Connect(tb.Context(), databaseURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(tb.Context(), `SELECT version_id FROM goose_db_version WHERE version_id > 0 ORDER BY id`)
	if err != nil {
		tb.Fatal(err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		tb.Fatal(err)
	}
	return versions
}

func TestOpenPostgresReopen(t *testing.T) {
	t.Parallel()
	databaseURL := pgtest.Shared(t).NewDatabase(t)
	first := newPostgresStore(t, databaseURL)
	mustCreate(t, first, Record{ID: "alice", DisplayName: "Alice", UpdateTime: time.Unix(1, 0).UTC()})
	_ = first.Close()
	// Migrating again is a no-op that keeps the data.
	second := newPostgresStore(t, databaseURL)
	assertStored(t, second, Record{ID: "alice", DisplayName: "Alice", Version: 1, UpdateTime: time.Unix(1, 0).UTC()})
	if got := appliedMigrations(t, databaseURL); len(got) != 1 || got[0] != 1 {
		t.Errorf("applied migrations = %v; want [1]", got)
	}
}

// TestOpenPostgresMigratesConcurrently opens an empty database from several
// stores at once, as instances starting together do: each must succeed, and
// each migration must be applied once.
func TestOpenPostgresMigratesConcurrently(t *testing.T) {
	t.Parallel()
	const openers = 6
	databaseURL := pgtest.Shared(t).NewDatabase(t)
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make(chan error, openers)
	)
	for range openers {
		wg.Go(func() {
			<-start
			store, err := OpenPostgres(t.Context(), databaseURL, WithPostgresLogger(quiet))
			if err != nil {
				errs <- err
				return
			}
			_, err = store.Get(t.Context(), "alice")
			if errors.Is(err, errNotFound) {
				err = nil
			}
			errs <- errors.Join(err, store.Close())
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent OpenPostgres: %v", err)
		}
	}
	if got := appliedMigrations(t, databaseURL); len(got) != 1 || got[0] != 1 {
		t.Errorf("applied migrations = %v; want [1]", got)
	}
}

// TestOpenPostgresWaitsForMigrationLock checks that the lock that
// serialises migrations really holds them back: while another session holds
// goose's advisory lock, OpenPostgres neither migrates nor returns, and it
// goes on once the lock is released.
func TestOpenPostgresWaitsForMigrationLock(t *testing.T) {
	t.Parallel()
	databaseURL := pgtest.Shared(t).NewDatabase(t)
	holder, err := pgx.Connect(t.Context(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(context.Background())
	if _, err := holder.Exec(t.Context(), `SELECT pg_advisory_lock($1)`, lock.DefaultLockID); err != nil {
		t.Fatal(err)
	}
	opened := make(chan error, 1)
	go func() {
		store, err := OpenPostgres(t.Context(), databaseURL, WithPostgresLogger(quiet))
		if err == nil {
			_ = store.Close()
		}
		opened <- err
	}()
	select {
	case err := <-opened:
		t.Fatalf("OpenPostgres returned (%v) while another session held the migration lock", err)
	case <-time.After(1500 * time.Millisecond):
	}
	var exists bool
	if err := holder.QueryRow(t.Context(), `SELECT to_regclass('profiles') IS NOT NULL`).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatal("the profiles table was created while another session held the migration lock")
	}
	if _, err := holder.Exec(t.Context(), `SELECT pg_advisory_unlock($1)`, lock.DefaultLockID); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-opened:
		if err != nil {
			t.Fatalf("OpenPostgres() after the lock was released: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OpenPostgres did not finish within 5s of the lock's release")
	}
	if got := appliedMigrations(t, databaseURL); len(got) != 1 {
		t.Errorf("applied migrations = %v; want [1]", got)
	}
}

// TestOpenPostgresRetries starts with the database unreachable, and brings
// it back within the start timeout.
func TestOpenPostgresRetries(t *testing.T) {
	t.Parallel()
	cluster := pgtest.Shared(t)
	proxy := pgtest.NewProxy(t, cluster.Addr())
	proxy.Down()
	databaseURL := proxy.URL(t, cluster.NewDatabase(t))
	type result struct {
		store *PostgresStore
		err   error
	}
	opened := make(chan result, 1)
	go func() {
		store, err := OpenPostgres(t.Context(), databaseURL, WithStartTimeout(10*time.Second), WithPostgresLogger(quiet))
		opened <- result{store, err}
	}()
	select {
	case r := <-opened:
		t.Fatalf("OpenPostgres returned (%v) while the database was unreachable", r.err)
	case <-time.After(400 * time.Millisecond):
	}
	proxy.Up(t)
	r := <-opened // within the start timeout
	if r.err != nil {
		t.Fatalf("OpenPostgres() once the database is reachable: %v", r.err)
	}
	t.Cleanup(func() { _ = r.store.Close() })
	mustCreate(t, r.store, Record{ID: "alice"})
}

// TestOpenPostgresGivesUp checks the start-up failure on an unreachable
// database: after the start timeout, naming the database but not its
// password.
func TestOpenPostgresGivesUp(t *testing.T) {
	t.Parallel()
	cluster := pgtest.Shared(t)
	proxy := pgtest.NewProxy(t, cluster.Addr())
	proxy.Down()
	databaseURL := proxy.URL(t, cluster.URL("postgres"))
	start := time.Now()
	_, err := OpenPostgres(t.Context(), databaseURL, WithStartTimeout(300*time.Millisecond), WithPostgresLogger(quiet))
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("OpenPostgres() on an unreachable database succeeded")
	}
	if elapsed < 300*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("OpenPostgres() failed after %v; want about the start timeout, 300ms", elapsed)
	}
	msg := err.Error()
	for _, want := range []string{"postgres://" + pgtest.User + "@" + proxy.Addr() + "/postgres", "gave up after", "connection refused"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, cluster.Password()) {
		t.Errorf("error %q contains the password", msg)
	}
}

// TestOpenPostgresGivesUpMidAttempt checks that when the start timeout cuts
// an attempt short, the error still names what was wrong before, not only
// the timer: the database refuses connections, then hangs (a frozen proxy),
// so the last attempt ends with the start timeout.
func TestOpenPostgresGivesUpMidAttempt(t *testing.T) {
	t.Parallel()
	cluster := pgtest.Shared(t)
	proxy := pgtest.NewProxy(t, cluster.Addr())
	proxy.Down()
	databaseURL := proxy.URL(t, cluster.URL("postgres"))
	opened := make(chan error, 1)
	go func() {
		_, err := OpenPostgres(t.Context(), databaseURL, WithStartTimeout(time.Second), WithPostgresLogger(quiet))
		opened <- err
	}()
	// The first attempts are refused; from now on connections hang.
	time.Sleep(200 * time.Millisecond)
	proxy.Freeze()
	proxy.Up(t)
	var err error
	select {
	case err = <-opened:
	case <-time.After(5 * time.Second):
		t.Fatal("OpenPostgres() still waiting 5s after a 1s start timeout")
	}
	if err == nil {
		t.Fatal("OpenPostgres() on a hung database succeeded")
	}
	for _, want := range []string{"gave up after", "cut short by the start timeout", "connection refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

// TestOpenPostgresFailsFast checks that failures a retry cannot cure end
// start-up at once, without the password in the error.
func TestOpenPostgresFailsFast(t *testing.T) {
	t.Parallel()
	cluster := pgtest.Shared(t)
	good := cluster.URL("postgres")
	tests := []struct {
		name, url, want string
	}{
		{"wrong password", strings.Replace(good, cluster.Password(), "not-"+cluster.Password(), 1), "28P01"},
		{"missing database", cluster.URL("no_such_database"), "3D000"},
		{"bad port", "postgres://u:" + cluster.Password() + "@127.0.0.1:notaport/db", "cannot parse the database URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := OpenPostgres(t.Context(), tc.url, WithPostgresLogger(quiet))
			if err == nil {
				t.Fatal("OpenPostgres() succeeded")
			}
			// Well within the 10s that retries would take.
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("OpenPostgres() failed after %v; want at once", elapsed)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), cluster.Password()) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

// proxiedService returns a service on a store that reaches its own
// database through a proxy, and the proxy.
func proxiedService(tb testing.TB, opts ...PostgresOption) (*ProfileService, *PostgresStore, *pgtest.Proxy) {
	tb.Helper()
	cluster := pgtest.Shared(tb)
	proxy := pgtest.NewProxy(tb, cluster.Addr())
	store := newPostgresStore(tb, proxy.URL(tb, cluster.NewDatabase(tb)), opts...)
	return New(store, WithLogger(quiet)), store, proxy
}

func getProfile(ctx context.Context, svc *ProfileService) (*connect.Response[profilev1.GetProfileResponse], error) {
	return svc.GetProfile(ctx, connect.NewRequest(&profilev1.GetProfileRequest{}))
}

func assertUnavailable(tb testing.TB, call string, err error) {
	tb.Helper()
	var cerr *connect.Error
	if !errors.As(err, &cerr) || cerr.Code() != connect.CodeUnavailable {
		tb.Fatalf("%s: error = %v; want unavailable", call, err)
	}
	if cerr.Message() != errUnavailable.Error() {
		tb.Errorf("%s: message = %q; want the generic %q", call, cerr.Message(), errUnavailable)
	}
	if got := cerr.Meta().Get(headerRetryAfter); got != retryAfterSeconds {
		tb.Errorf("%s: Retry-After = %q; want %q", call, got, retryAfterSeconds)
	}
}

// TestPostgresStoreDown takes the database away under a running service:
// calls fail with unavailable, change nothing, and succeed again once the
// database is back, with the same store.
func TestPostgresStoreDown(t *testing.T) {
	t.Parallel()
	svc, _, proxy := proxiedService(t)
	ctx := auth.WithCaller(t.Context(), auth.Caller{Subject: "alice"})
	if _, err := svc.UpdateProfile(ctx, connect.NewRequest(&profilev1.UpdateProfileRequest{DisplayName: "Alice"})); err != nil {
		t.Fatal(err)
	}
	proxy.Down()
	_, err := getProfile(ctx, svc)
	assertUnavailable(t, "GetProfile", err)
	req := connect.NewRequest(&profilev1.UpdateProfileRequest{DisplayName: "Alice B."})
	req.Header().Set("If-Match", formatETag(1))
	_, err = svc.UpdateProfile(ctx, req)
	assertUnavailable(t, "UpdateProfile", err)

	proxy.Up(t)
	res, err := getProfile(ctx, svc)
	if err != nil {
		t.Fatalf("GetProfile() once the database is back: %v", err)
	}
	if got := res.Msg.GetProfile(); got.GetDisplayName() != "Alice" || got.GetEtag() != formatETag(1) {
		t.Errorf("profile after the failed update = %v; want Alice at version 1", got)
	}
	if _, err := svc.UpdateProfile(ctx, req); err != nil {
		t.Errorf("UpdateProfile() once the database is back: %v", err)
	}
}

// TestPostgresStoreHangs checks that a database that stops answering fails
// calls with unavailable after the store's call timeout, while a caller's
// shorter deadline is reported as deadline_exceeded.
func TestPostgresStoreHangs(t *testing.T) {
	t.Parallel()
	const callTimeout = 300 * time.Millisecond
	svc, store, proxy := proxiedService(t, WithCallTimeout(callTimeout))
	ctx := auth.WithCaller(t.Context(), auth.Caller{Subject: "alice"})
	mustCreate(t, store, Record{ID: "alice", DisplayName: "Alice"})
	proxy.Freeze()

	start := time.Now()
	_, err := store.Get(ctx, "alice")
	if elapsed := time.Since(start); elapsed < callTimeout || elapsed > callTimeout+2*time.Second {
		t.Errorf("Get() failed after %v; want about the call timeout, %v", elapsed, callTimeout)
	}
	if !errors.Is(err, errStoreTimeout) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get() error = %v; want errStoreTimeout, without context.DeadlineExceeded", err)
	}
	_, err = getProfile(ctx, svc)
	assertUnavailable(t, "GetProfile", err)

	short, cancel := context.WithTimeout(ctx, callTimeout/3)
	defer cancel()
	_, err = getProfile(short, svc)
	if code := connect.CodeOf(err); code != connect.CodeDeadlineExceeded {
		t.Errorf("GetProfile() with a short deadline: code %v (%v); want deadline_exceeded", code, err)
	}

	proxy.Thaw()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := getProfile(ctx, svc)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GetProfile() still failing 5s after the database answers again: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPostgresStoreConcurrentWriters races writers holding the same version
// on one store: exactly one wins each round, and the others learn the
// winner's version.
func TestPostgresStoreConcurrentWriters(t *testing.T) {
	t.Parallel()
	const writers, rounds = 20, 5
	store := newPostgresStore(t, pgtest.Shared(t).NewDatabase(t))
	var (
		mu   sync.Mutex
		wins int
	)
	// Creation races too: one creates, the others find it.
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			_, err := store.Create(t.Context(), Record{ID: "alice"})
			var mismatch *versionMismatchError
			switch {
			case err == nil:
				mu.Lock()
				wins++
				mu.Unlock()
			case !errors.As(err, &mismatch) || mismatch.current != 1:
				t.Errorf("losing Create() error = %v; want a mismatch naming version 1", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent creates succeeded; want 1", wins)
	}
	for round := range rounds {
		version := int64(round + 1)
		wins = 0
		for i := range writers {
			wg.Go(func() {
				_, err := store.Update(t.Context(), Record{ID: "alice", Bio: strings.Repeat("x", i)}, version)
				var mismatch *versionMismatchError
				switch {
				case err == nil:
					mu.Lock()
					wins++
					mu.Unlock()
				case !errors.As(err, &mismatch) || mismatch.current != version+1:
					t.Errorf("round %d: losing Update() error = %v; want a mismatch naming version %d", round, err, version+1)
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("round %d: %d concurrent updates succeeded; want 1", round, wins)
		}
	}
	if got, err := store.Get(t.Context(), "alice"); err != nil || got.Version != rounds+1 {
		t.Errorf("Get() = version %d, %v; want %d", got.Version, err, rounds+1)
	}
}

func TestDescribeConfig(t *testing.T) {
	t.Parallel()
	tests := []struct{ url, want string }{
		{"postgres://portico:secret@db.example.com:6432/profiles?sslmode=disable", "postgres://portico@db.example.com:6432/profiles"},
		{"postgres://portico:secret@[::1]/profiles", "postgres://portico@[::1]:5432/profiles"},
		{"postgres://portico:secret@/profiles?host=/cloudsql/p:r:i", "postgres://portico@/profiles?host=%2Fcloudsql%2Fp%3Ar%3Ai"},
	}
	for _, tc := range tests {
		cfg, err := pgx.ParseConfig(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := describeConfig(cfg); got != tc.want {
			t.Errorf("describeConfig(%q) = %q; want %q", tc.url, got, tc.want)
		}
	}
}
