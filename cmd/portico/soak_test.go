package main

// TestSoak holds the built binary, on PostgreSQL, under the load of
// load_test.go for a minute, and checks that nothing went wrong, nothing
// was lost, and the server's goroutines and heap came back to where they
// were. It is slow, so `go test -short` skips it; `make soak` runs it with
// the fault tests, without the race detector:
//
//	PORTICO_SOAK_DURATION=10s PORTICO_SOAK_CLIENTS=16 go test -run '^TestSoak$' -v ./cmd/portico/

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/portico-dev/portico/internal/pgtest"
)

const (
	defaultSoakDuration = 60 * time.Second
	defaultSoakClients  = 64
	// goroutineSlack is how many goroutines above its idle baseline a server
	// may keep once its clients have gone: a pooled database connection
	// opened or closed meanwhile, a timer.
	goroutineSlack = 5
	// settleTimeout bounds the wait for goroutines to return to baseline.
	settleTimeout = 15 * time.Second
)

// heapLimit is how far the heap may grow from its size under the same load
// at the start: its peak under GOGC=100 varies by a quarter, and a few MiB.
// A leak of a hundred bytes a call fails it within a minute of this load.
func heapLimit(base float64) float64 { return 1.25*base + 4<<20 }

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak runs for a minute: run it with make soak (PORTICO_SOAK_DURATION shortens it)")
	}
	duration := envDuration(t, "PORTICO_SOAK_DURATION", defaultSoakDuration)
	clients := envInt(t, "PORTICO_SOAK_CLIENTS", defaultSoakClients)
	cluster := pgtest.Shared(t)
	databaseURL := cluster.NewDatabase(t)
	s := startPostgresServers(t, 1, databaseURL, cluster.Password(), metricsEnv)[0]
	metrics := s.metricsURL(t)
	l := newLoad(t, s, clients)

	// Warm up: every user's profile exists, pools have grown, and the heap
	// has found its size under this load, which the second half measures.
	warm := min(5*time.Second, duration/4)
	ctx, cancel := context.WithTimeout(t.Context(), warm)
	warmPeak := heapWatch(ctx, metrics, 100*time.Millisecond, time.Now().Add(warm/2))
	l.run(ctx)
	cancel()
	heapBase := <-warmPeak
	l.summary(warm)
	l.check(t)
	l.closeIdle()
	base := idleBaseline(t, metrics, settleTimeout)
	t.Logf("after a %v warm-up: idle %v; heap under load up to %.1f MiB", warm, base, heapBase/(1<<20))

	start := time.Now()
	ctx, cancel = context.WithTimeout(t.Context(), duration)
	endPeak := heapWatch(ctx, metrics, 100*time.Millisecond, start.Add(duration-warm/2))
	l.run(ctx)
	cancel()
	report := l.summary(time.Since(start))
	heapEnd := <-endPeak
	t.Logf("soak, %d clients:\n%v", clients, report)
	l.check(t)

	l.closeIdle()
	after, settled := settledGoroutines(t, metrics, base.goroutines+goroutineSlack, settleTimeout)
	t.Logf("after the soak: idle %v; heap under load up to %.1f MiB at the end", after, heapEnd/(1<<20))
	if !settled {
		t.Errorf("goroutines did not return to baseline within %v: %v, baseline %v", settleTimeout, after, base)
	}
	if limit := heapLimit(heapBase); heapEnd > limit || after.heap > limit {
		t.Errorf("heap grew: under load %.1f MiB at the end, %.1f MiB idle; %.1f MiB at the start (limit %.1f MiB)",
			heapEnd/(1<<20), after.heap/(1<<20), heapBase/(1<<20), limit/(1<<20))
	}
	if report.calls < clients {
		t.Errorf("only %d calls in %v", report.calls, duration)
	}
	checkStored(t, databaseURL, l)
}

// checkStored reads every profile from the database and checks it against
// the clients' acknowledged writes: each user's row is its last
// acknowledged write at that write's version, or, if one write's answer was
// lost, that write one version later; and every field of a row comes from
// the same write. It returns how many users had a write whose answer was
// lost, and how many of those writes were done.
func checkStored(tb testing.TB, databaseURL string, l *load) (pending, done int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(context.Background())
	type row struct {
		name, email, bio string
		version          int
	}
	rows := map[string]row{}
	res, err := conn.Query(ctx, `SELECT id, display_name, email, bio, version FROM profiles WHERE NOT deleted`)
	if err != nil {
		tb.Fatal(err)
	}
	for res.Next() {
		var id string
		var r row
		if err := res.Scan(&id, &r.name, &r.email, &r.bio, &r.version); err != nil {
			tb.Fatal(err)
		}
		rows[id] = r
	}
	if err := res.Err(); err != nil {
		tb.Fatal(err)
	}
	lost := 0
	for _, c := range l.clients {
		r, ok := rows["load-"+strconv.Itoa(c.id)]
		delete(rows, "load-"+strconv.Itoa(c.id))
		matches := func(n, version int) bool {
			name, email, bio := c.fields(n)
			if version == 0 {
				return !ok
			}
			return ok && r == row{name, email, bio, version}
		}
		if c.pending != 0 {
			pending++
		}
		switch {
		case matches(c.acked, c.ackedVersion):
			continue
		case c.pending != 0 && matches(c.pending, c.ackedVersion+1):
			done++
			continue
		}
		if lost++; lost <= 5 {
			tb.Errorf("user %d: stored %+v (found %v); acknowledged write %d at version %d, pending write %d",
				c.id, r, ok, c.acked, c.ackedVersion, c.pending)
		}
	}
	if lost > 0 || len(rows) > 0 {
		tb.Errorf("%d users' profiles differ from their acknowledged writes; %d profiles of no user", lost, len(rows))
	}
	return pending, done
}

func envDuration(tb testing.TB, key string, def time.Duration) time.Duration {
	tb.Helper()
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		tb.Fatalf("%s=%q: want a positive duration such as 10s", key, v)
	}
	return d
}

func envInt(tb testing.TB, key string, def int) int {
	tb.Helper()
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive number", key, v)
	}
	return n
}
