package service

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/portico-dev/portico/auth"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
)

func TestStoreUnavailable(t *testing.T) {
	t.Parallel()
	pgError := func(code string) error {
		return fmt.Errorf("postgres: get: %w", &pgconn.PgError{Severity: "FATAL", Code: code})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"admin shutdown", pgError("57P01"), true},
		{"starting up", pgError("57P03"), true},
		{"connection failure", pgError("08006"), true},
		{"too many connections", pgError("53300"), true},
		{"serialization failure", pgError("40001"), true},
		{"statement timeout", pgError("57014"), true},
		{"bad password", pgError("28P01"), false},
		{"missing database", pgError("3D000"), false},
		{"unique violation", pgError("23505"), false},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"connection reset", fmt.Errorf("read: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), true},
		{"store timeout", fmt.Errorf("postgres: get: %w after 5s (timeout)", errStoreTimeout), true},
		{"closed mid-answer", fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), true},
		{"conn closed", pgconn.ErrConnClosed, true},
		{"anything else", errors.New("boom"), false},
		{"not found", errNotFound, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := storeUnavailable(tc.err); got != tc.want {
				t.Errorf("storeUnavailable(%v) = %v; want %v", tc.err, got, tc.want)
			}
		})
	}
}

// TestStoreUnavailableSQLiteBusy checks SQLite's answer to a write while
// another connection holds the write lock, past its busy timeout.
func TestStoreUnavailableSQLiteBusy(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "busy.db")+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	var conns [2]*sql.Conn
	for i := range conns {
		if conns[i], err = db.Conn(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer conns[i].Close()
	}
	if _, err := conns[0].ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	_, err = conns[1].ExecContext(t.Context(), "BEGIN IMMEDIATE")
	if err == nil || !storeUnavailable(err) {
		t.Errorf("storeUnavailable(%v) = false; want true for SQLITE_BUSY", err)
	}
	if _, err := conns[0].ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
}

// failingStore is a [Store] whose every call fails with err.
type failingStore struct{ err error }

func (s failingStore) Get(context.Context, string) (Record, error)            { return Record{}, s.err }
func (s failingStore) Create(context.Context, Record) (Record, error)         { return Record{}, s.err }
func (s failingStore) Update(context.Context, Record, int64) (Record, error)  { return Record{}, s.err }
func (s failingStore) Delete(context.Context, string, int64, time.Time) error { return s.err }

// TestToConnectStoreFailures checks the codes that store failures get, and
// that clients learn nothing of their causes.
func TestToConnectStoreFailures(t *testing.T) {
	t.Parallel()
	expired, cancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel()
	tests := []struct {
		name     string
		ctx      context.Context //nolint:containedctx // the case's request context
		err      error
		wantCode connect.Code
		wantMsg  string
	}{
		{"database down", context.Background(), pgconnError("57P01"), connect.CodeUnavailable, errUnavailable.Error()},
		{"store timeout", context.Background(), fmt.Errorf("postgres: get: %w", errStoreTimeout), connect.CodeUnavailable, errUnavailable.Error()},
		{"bad password", context.Background(), pgconnError("28P01"), connect.CodeInternal, errInternal.Error()},
		{"caller's deadline", expired, fmt.Errorf("postgres: get: %w", context.DeadlineExceeded), connect.CodeDeadlineExceeded, context.DeadlineExceeded.Error()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := New(failingStore{tc.err}, WithLogger(quiet))
			ctx := auth.WithCaller(tc.ctx, auth.Caller{Subject: "alice"})
			_, err := svc.GetProfile(ctx, connect.NewRequest(&profilev1.GetProfileRequest{}))
			var cerr *connect.Error
			if !errors.As(err, &cerr) {
				t.Fatalf("GetProfile() error = %v; want a *connect.Error", err)
			}
			if cerr.Code() != tc.wantCode || cerr.Message() != tc.wantMsg {
				t.Errorf("GetProfile() error = %v; want %v: %s", err, tc.wantCode, tc.wantMsg)
			}
		})
	}
}

func pgconnError(code string) error {
	return fmt.Errorf("postgres: get: %w", &pgconn.PgError{Severity: "FATAL", Code: code, Message: "secret detail"})
}
