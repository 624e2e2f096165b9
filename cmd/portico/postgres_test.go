package main

// These tests run portico processes on PostgreSQL (PORTICO_DATABASE_URL), on
// throwaway clusters that internal/pgtest starts: the database shared by
// several instances, as on Cloud Run with more than one instance.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	"github.com/portico-dev/portico/internal/pgtest"
)

const (
	// raceWriters is how many UpdateProfile calls race with the same ETag.
	raceWriters = 50
	// raceRounds is how many times they race.
	raceRounds = 20
	// recoverTimeout bounds the wait for calls to succeed again once the
	// database is back.
	recoverTimeout = 15 * time.Second
)

// startPostgresServers starts n portico processes at once on the database
// that databaseURL names, and waits until all listen. They share a data
// directory, so that whatever an instance keeps there (but profiles) is
// the same for all, as their configuration would be on Cloud Run. At
// cleanup it fails tb if a process wrote the database password to its
// output.
func startPostgresServers(tb testing.TB, n int, databaseURL, password string, env ...string) []*server {
	tb.Helper()
	env = append([]string{
		"PORTICO_DATABASE_URL=" + databaseURL,
		"PORTICO_DATA_DIR=" + filepath.Join(tb.TempDir(), "data"),
	}, env...)
	servers := make([]*server, n)
	for i := range servers {
		cmd := exec.Command(binary)
		cmd.Env = childEnv(tb, env...)
		servers[i] = launch(tb, cmd)
	}
	// Registered after launch's cleanup, so it runs first: the processes
	// may still be running, and their output so far is what they wrote.
	tb.Cleanup(func() {
		for i, s := range servers {
			if s == nil {
				continue
			}
			if strings.Contains(s.stdout.String(), password) || strings.Contains(s.stderr.String(), password) {
				tb.Errorf("server %d wrote the database password to its output", i)
			}
		}
	})
	for _, s := range servers {
		s.awaitListening(tb)
	}
	return servers
}

// TestPostgresConcurrentUpdates races UpdateProfile calls that carry the
// same ETag, across two processes on one database: each round exactly one
// wins, the others fail with failed_precondition naming the winner's ETag,
// and both processes then read the winner's profile.
func TestPostgresConcurrentUpdates(t *testing.T) {
	t.Parallel()
	cluster := pgtest.Shared(t)
	servers := startPostgresServers(t, 2, cluster.NewDatabase(t), cluster.Password())
	const subject = "racer"
	bearer := servers[0].bearer(t, subject)
	httpClient := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: raceWriters},
		Timeout:   requestTimeout,
	}
	t.Cleanup(httpClient.CloseIdleConnections)
	clients := make([]profilev1connect.ProfileServiceClient, len(servers))
	for i, s := range servers {
		clients[i] = profilev1connect.NewProfileServiceClient(httpClient, s.base)
	}
	// update sends the precondition in the etag field, or in If-Match if
	// inHeader.
	update := func(ctx context.Context, client profilev1connect.ProfileServiceClient, name, etag string, inHeader bool) (*connect.Response[profilev1.UpdateProfileResponse], error) {
		req := connect.NewRequest(&profilev1.UpdateProfileRequest{DisplayName: name, Email: "racer@example.com"})
		if inHeader {
			req.Header().Set("If-Match", etag)
		} else {
			req.Msg.Etag = etag
		}
		req.Header().Set("Authorization", bearer)
		return client.UpdateProfile(ctx, req)
	}
	res, err := update(t.Context(), clients[0], "created", "", false)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	etag := res.Msg.GetProfile().GetEtag()

	for round := range raceRounds {
		type result struct {
			name string
			res  *connect.Response[profilev1.UpdateProfileResponse]
			err  error
		}
		results := make([]result, raceWriters)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range results {
			results[i].name = fmt.Sprintf("round %d writer %d", round, i)
			wg.Go(func() {
				<-start
				results[i].res, results[i].err = update(t.Context(), clients[i%len(clients)], results[i].name, etag, i%4 >= 2)
			})
		}
		close(start)
		wg.Wait()

		var winners []result
		var losers []*connect.Error
		for _, r := range results {
			var cerr *connect.Error
			switch {
			case r.err == nil:
				winners = append(winners, r)
			case errors.As(r.err, &cerr) && cerr.Code() == connect.CodeFailedPrecondition:
				losers = append(losers, cerr)
			default:
				t.Errorf("round %d: %s: %v; want success or failed_precondition", round, r.name, r.err)
			}
		}
		if len(winners) != 1 || len(losers) != raceWriters-1 {
			t.Fatalf("round %d: %d succeeded, %d failed_precondition; want 1 and %d", round, len(winners), len(losers), raceWriters-1)
		}
		won := winners[0].res.Msg.GetProfile()
		if want := fmt.Sprintf(`"profile-v%d"`, round+2); won.GetEtag() != want {
			t.Errorf("round %d: the winner got %s; want %s", round, won.GetEtag(), want)
		}
		for _, cerr := range losers {
			if got := cerr.Meta().Get("Etag"); got != won.GetEtag() {
				t.Errorf("round %d: a loser was told the current ETag is %q; want the winner's %s", round, got, won.GetEtag())
				break
			}
		}
		// No lost update: both processes read the winner's write.
		for i, client := range clients {
			req := connect.NewRequest(&profilev1.GetProfileRequest{})
			req.Header().Set("Authorization", bearer)
			got, err := client.GetProfile(t.Context(), req)
			if err != nil {
				t.Fatalf("round %d: server %d: GetProfile: %v", round, i, err)
			}
			p := got.Msg.GetProfile()
			if p.GetEtag() != won.GetEtag() || p.GetDisplayName() != winners[0].name || got.Header().Get("Etag") != won.GetEtag() {
				t.Fatalf("round %d: server %d reads %s %q; want the winner's %s %q",
					round, i, p.GetEtag(), p.GetDisplayName(), won.GetEtag(), winners[0].name)
			}
		}
		etag = won.GetEtag()
	}
}

// TestPostgresMigrationRace starts two processes at once against an empty
// database: both come up, and the migration is applied once.
func TestPostgresMigrationRace(t *testing.T) {
	t.Parallel()
	const rounds = 2
	cluster := pgtest.Shared(t)
	for round := range rounds {
		databaseURL := cluster.NewDatabase(t)
		servers := startPostgresServers(t, 2, databaseURL, cluster.Password())

		applied := 0
		for _, s := range servers {
			for _, e := range s.entries(t) {
				if e.str("message") == "postgres: migration applied" {
					applied++
				}
			}
		}
		if applied != 1 {
			t.Errorf("round %d: %d processes logged an applied migration; want 1", round, applied)
		}
		if got := appliedMigrations(t, databaseURL); !slices.Equal(got, []int64{1}) {
			t.Errorf("round %d: applied migrations %v; want [1]", round, got)
		}
		// Both serve, from the one table.
		for i, s := range servers {
			res, body := newTransports(t)[0].do(t, newRequest(t, http.MethodPost, s.url(procGetPublicProfile),
				`{"id":"nobody"}`, "Content-Type", "application/json"))
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("round %d: server %d: GetPublicProfile: status %d, want 404: %s", round, i, res.StatusCode, body)
			}
		}
	}
}

// appliedMigrations returns the versions in goose's table, in the order they
// were applied, without goose's own version 0.
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

// TestPostgresDown stops the database under a running portico: browser
// calls fail with unavailable, still readable by the frontend, change
// nothing, and succeed again once the database is back, without a restart.
func TestPostgresDown(t *testing.T) {
	t.Parallel()
	cluster := pgtest.New(t)
	s := startPostgresServers(t, 1, cluster.NewDatabase(t), cluster.Password())[0]
	tr := newTransports(t)[0]
	appCORS := http.Header{
		"Access-Control-Allow-Origin":      {appOrigin},
		"Access-Control-Allow-Credentials": {"true"},
		"Access-Control-Expose-Headers":    {exposeHeaders},
	}
	browser := []string{"Origin", appOrigin, "Authorization", s.bearer(t, "dana"), "X-Client-Version", "web-42"}
	update := func(ifMatch string) (*http.Response, []byte) {
		t.Helper()
		header := append(slices.Clone(browser), "Content-Type", "application/json")
		if ifMatch != "" {
			header = append(header, "If-Match", ifMatch)
		}
		return tr.do(t, newRequest(t, http.MethodPost, s.url(procUpdateProfile), `{"displayName":"Dana","email":"dana@example.com"}`, header...))
	}
	get := func() (*http.Response, []byte) {
		t.Helper()
		return tr.do(t, newRequest(t, http.MethodPost, s.url(procGetProfile), `{}`,
			append(slices.Clone(browser), "Content-Type", "application/json")...))
	}
	res, body := update("")
	checkResponse(t, "create", res, body, http.StatusOK, appCORS)

	cluster.Stop(t)
	res, body = update(`"profile-v1"`)
	checkResponse(t, "update while down", res, body, http.StatusServiceUnavailable, appCORS)
	checkConnectError(t, "update while down", body, "unavailable", "")
	checkFields(t, "update while down", res.Header, map[string]string{"Retry-After": "1"})
	res, body = get()
	checkResponse(t, "get while down", res, body, http.StatusServiceUnavailable, appCORS)
	checkConnectError(t, "get while down", body, "unavailable", "")

	cluster.Start(t)
	deadline := time.Now().Add(recoverTimeout)
	for {
		res, body = get()
		if res.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GetProfile still fails %v after the database is back: status %d: %s", recoverTimeout, res.StatusCode, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The update that failed changed nothing.
	checkFields(t, "get once back", res.Header, map[string]string{"Etag": `"profile-v1"`})
	res, body = update(`"profile-v1"`)
	checkResponse(t, "update once back", res, body, http.StatusOK, appCORS)
	checkFields(t, "update once back", res.Header, map[string]string{"Etag": `"profile-v2"`})

	warned := false
	for _, e := range s.entries(t) {
		warned = warned || e.str("message") == "profile service: store unavailable" && e.str("severity") == "WARNING"
	}
	if !warned {
		t.Error("no WARNING line logged the store's failure")
	}
}

// TestPostgresUnreachableAtStart checks the start-up contract: with the
// database unreachable, portico retries for PORTICO_DATABASE_START_TIMEOUT
// (10s by default; 2s here), then exits with status 1, naming the database
// without its password.
func TestPostgresUnreachableAtStart(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	const password = "s3cret-Pa55"
	start := time.Now()
	stdout, stderr, code := runBinary(t, []string{
		"PORTICO_DATABASE_URL=postgres://portico:" + password + "@" + addr + "/profiles",
		"PORTICO_DATABASE_START_TIMEOUT=2s",
	})
	elapsed := time.Since(start)
	if code != 1 {
		t.Errorf("exit status = %d, want 1", code)
	}
	if elapsed < 2*time.Second {
		t.Errorf("exited after %v; want it to retry for 2s first", elapsed)
	}
	for _, want := range []string{"postgres://portico@" + addr + "/profiles", "gave up after 2", "connection refused"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not contain %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "postgres: database not reachable yet; retrying") {
		t.Errorf("stdout logs no retry:\n%s", stdout)
	}
	if strings.Contains(stdout+stderr, password) {
		t.Errorf("the output contains the password:\n%s\n%s", stdout, stderr)
	}
	if strings.Contains(stdout, `"listening"`) {
		t.Errorf("started listening without a database:\n%s", stdout)
	}
}

// TestDatabaseConfigErrors checks that a bad PORTICO_DATABASE_URL or
// PORTICO_DATABASE_START_TIMEOUT stops the server before it listens, naming
// the variable, and never quoting the URL.
func TestDatabaseConfigErrors(t *testing.T) {
	t.Parallel()
	const password = "hunter2-secret"
	tests := []struct{ key, value string }{
		{"PORTICO_DATABASE_URL", ""},
		{"PORTICO_DATABASE_URL", "mysql://u:" + password + "@db/profiles"},
		{"PORTICO_DATABASE_URL", "u:" + password + "@db:5432"},
		{"PORTICO_DATABASE_START_TIMEOUT", "0s"},
		{"PORTICO_DATABASE_START_TIMEOUT", "1h"},
	}
	for _, tc := range tests {
		stdout, stderr, code := runBinary(t, []string{tc.key + "=" + tc.value})
		if code != 1 {
			t.Errorf("%s=%q: exit status = %d, want 1", tc.key, tc.value, code)
		}
		if !strings.Contains(stderr, tc.key) {
			t.Errorf("%s=%q: stderr does not name the variable:\n%s", tc.key, tc.value, stderr)
		}
		if strings.Contains(stdout+stderr, password) {
			t.Errorf("%s=%q: the output contains the password:\n%s", tc.key, tc.value, stderr)
		}
	}
}
