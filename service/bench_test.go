package service_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"github.com/portico-dev/portico/auth"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/internal/pgtest"
	"github.com/portico-dev/portico/service"
)

// benchParallelism is the goroutines per GOMAXPROCS of the parallel
// benchmarks: a server has many requests in flight, each mostly waiting for
// its store.
const benchParallelism = 4

// BenchmarkStore measures GetProfile and UpdateProfile, through the service
// and without HTTP, on each store: one caller at a time ("serial"), and
// benchParallelism×GOMAXPROCS callers each on their own profile
// ("parallel"), reporting calls per second. The stores are as durable as
// each other: SQLite in WAL mode with synchronous=NORMAL, and PostgreSQL
// with fsync on, both with commits that do not wait for the disk
// ("postgres-async", synchronous_commit=off) and with PostgreSQL's default
// of commits that do ("postgres", synchronous_commit=on).
//
//	go test -run '^$' -bench Store ./service/
func BenchmarkStore(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) service.Store
	}{
		{"sqlite", func(b *testing.B) service.Store {
			store, err := service.OpenSQLite(b.Context(), filepath.Join(b.TempDir(), "profiles.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = store.Close() })
			return store
		}},
		{"postgres-async", func(b *testing.B) service.Store {
			return openBenchPostgres(b, pgtest.New(b, pgtest.WithSetting("fsync", "on"),
				pgtest.WithSetting("full_page_writes", "on"), pgtest.WithSetting("synchronous_commit", "off")))
		}},
		{"postgres", func(b *testing.B) service.Store {
			return openBenchPostgres(b, pgtest.New(b, pgtest.WithSetting("fsync", "on"),
				pgtest.WithSetting("full_page_writes", "on"), pgtest.WithSetting("synchronous_commit", "on")))
		}},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			svc := service.New(st.open(b), service.WithLogger(slog.New(slog.DiscardHandler)))
			var subjects atomic.Int64
			// caller returns the context of a new caller with a profile, and
			// its ETag.
			caller := func() (context.Context, string, error) {
				ctx := auth.WithCaller(context.Background(), auth.Caller{Subject: fmt.Sprintf("bench-%d", subjects.Add(1))})
				res, err := svc.UpdateProfile(ctx, connect.NewRequest(benchProfile(0)))
				return ctx, res.Msg.GetProfile().GetEtag(), err
			}
			get := func(ctx context.Context) error {
				_, err := svc.GetProfile(ctx, connect.NewRequest(&profilev1.GetProfileRequest{}))
				return err
			}
			update := func(ctx context.Context, n int, etag string) (string, error) {
				req := connect.NewRequest(benchProfile(n))
				req.Header().Set("If-Match", etag)
				res, err := svc.UpdateProfile(ctx, req)
				return res.Msg.GetProfile().GetEtag(), err
			}
			b.Run("GetProfile/serial", func(b *testing.B) {
				ctx, _, err := caller()
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if err := get(ctx); err != nil {
						b.Fatal(err)
					}
				}
				reportRate(b)
			})
			b.Run("UpdateProfile/serial", func(b *testing.B) {
				ctx, etag, err := caller()
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for b.Loop() {
					n++
					if etag, err = update(ctx, n, etag); err != nil {
						b.Fatal(err)
					}
				}
				reportRate(b)
			})
			// The parallel callers report with b.Error: only the benchmark's
			// own goroutine may stop it.
			b.Run("GetProfile/parallel", func(b *testing.B) {
				b.SetParallelism(benchParallelism)
				b.RunParallel(func(pb *testing.PB) {
					ctx, _, err := caller()
					for err == nil && pb.Next() {
						err = get(ctx)
					}
					if err != nil {
						b.Error(err)
					}
				})
				reportRate(b)
			})
			b.Run("UpdateProfile/parallel", func(b *testing.B) {
				b.SetParallelism(benchParallelism)
				b.RunParallel(func(pb *testing.PB) {
					ctx, etag, err := caller()
					for n := 1; err == nil && pb.Next(); n++ {
						etag, err = update(ctx, n, etag)
					}
					if err != nil {
						b.Error(err)
					}
				})
				reportRate(b)
			})
		})
	}
}

func openBenchPostgres(b *testing.B, cluster *pgtest.Cluster) service.Store {
	// A pool as large as the parallel callers, so that they wait for the
	// database rather than for a connection.
	databaseURL := cluster.NewDatabase(b) + "&pool_max_conns=16"
	store, err := service.OpenPostgres(b.Context(), databaseURL, service.WithPostgresLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	return store
}

func benchProfile(n int) *profilev1.UpdateProfileRequest {
	return &profilev1.UpdateProfileRequest{
		DisplayName: fmt.Sprintf("Bench %d", n),
		Email:       "bench@example.com",
		Bio:         "A profile of typical size, written again and again by the benchmark.",
	}
}

// reportRate reports calls per second, the figure to compare across stores.
func reportRate(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "calls/s")
	}
}
