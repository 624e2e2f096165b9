// Package pgtest runs throwaway PostgreSQL servers for tests: each a
// cluster that initdb creates in a temporary directory, served by the
// postgres binary of Debian's postgresql package on a free port of
// 127.0.0.1, with its unix socket in the same directory, and removed when
// it stops. Tests get a fresh database each, on one cluster shared by the
// test binary ([Shared], which needs [Run] in TestMain), or a cluster of
// their own that they may stop and start ([New]).
//
// The server binaries are found as /usr/lib/postgresql/*/bin (the newest
// version wins). When they are missing the helpers fail the test, saying to
// run `make postgres`, rather than skip it: a test that quietly does not run
// proves nothing. Run as root, as CI does, the server runs as the postgres
// system user that the package creates (or nobody), since PostgreSQL refuses
// to run as root.
//
// Servers run with fsync off, for speed; [WithSetting] changes that. Should
// the test binary die without cleaning up, the kernel stops its servers
// (PR_SET_PDEATHSIG).
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// binGlob is where Debian's postgresql-NN packages put the server binaries.
const binGlob = "/usr/lib/postgresql/*/bin"

// installHint says how to get the server binaries.
const installHint = "run `make postgres` from the repository root: it installs Debian's postgresql package " +
	"with apt-get (as root) when " + binGlob + "/initdb is missing"

// User is the superuser of every cluster; tests connect as User with the
// cluster's password over TCP.
const User = "portico_test"

// Timeouts of the helpers, so that a broken server fails a test rather than
// hanging it.
const (
	initTimeout  = time.Minute
	readyTimeout = 30 * time.Second
	stopTimeout  = 15 * time.Second
	adminTimeout = 30 * time.Second
)

// An Option configures a cluster that [New] starts.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	settings map[string]string
}

// WithSetting sets a server setting (postgres -c name=value), such as
// "synchronous_commit" to "off"; it overrides the defaults, which turn
// fsync, full_page_writes and synchronous_commit off.
func WithSetting(name, value string) Option {
	return optionFunc(func(c *config) { c.settings[name] = value })
}

// A Cluster is a running throwaway PostgreSQL server. Its methods are safe
// for concurrent use.
type Cluster struct {
	bin      string
	dir      string // the cluster's own directory: data/, the socket, log
	port     int
	password string
	settings map[string]string
	sys      *syscall.SysProcAttr
	dbSeq    atomic.Int64

	mu     sync.Mutex
	server *process      // nil while stopped
	admin  *pgxpool.Pool // connected to the postgres database; nil while stopped
	log    *syncBuffer   // the server's output, across restarts
}

// New starts a cluster of the test's own, stopped and removed at tb's
// cleanup. It fails tb if the server binaries are missing or the server does
// not start.
func New(tb testing.TB, opts ...Option) *Cluster {
	tb.Helper()
	c, err := newCluster(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := c.close(); err != nil {
			tb.Error(err)
		}
	})
	return c
}

var shared struct {
	once    sync.Once
	running atomic.Bool // Run is running the tests
	cluster *Cluster
	err     error
}

// Run runs the tests of m and then stops the shared cluster, if a test
// started it. Call it from TestMain, as os.Exit(pgtest.Run(m)), in every
// package whose tests use [Shared].
func Run(m *testing.M) int {
	shared.running.Store(true)
	code := m.Run()
	shared.running.Store(false)
	if shared.cluster != nil {
		if err := shared.cluster.close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Shared returns the cluster that the tests of the binary share, starting
// it on first use. Tests must not stop it; they get databases of their own
// with [Cluster.NewDatabase]. It fails tb if the package's TestMain does not
// call [Run], which stops the cluster, or if the cluster cannot start.
func Shared(tb testing.TB) *Cluster {
	tb.Helper()
	if !shared.running.Load() {
		tb.Fatal("pgtest: Shared needs TestMain to call os.Exit(pgtest.Run(m)), which stops the shared cluster")
	}
	shared.once.Do(func() { shared.cluster, shared.err = newCluster() })
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	return shared.cluster
}

// BinDir returns the directory of the newest PostgreSQL server binaries
// installed, or an error that says how to install them.
func BinDir() (string, error) {
	dirs, _ := filepath.Glob(binGlob)
	var best string
	bestVersion := -1
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err != nil {
			continue
		}
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		if err == nil && v > bestVersion {
			best, bestVersion = dir, v
		}
	}
	if best == "" {
		return "", fmt.Errorf("pgtest: no PostgreSQL server binaries (%s/initdb and postgres not found); %s", binGlob, installHint)
	}
	return best, nil
}

func newCluster(opts ...Option) (_ *Cluster, err error) {
	cfg := &config{settings: map[string]string{
		"fsync":              "off",
		"full_page_writes":   "off",
		"synchronous_commit": "off",
	}}
	for _, opt := range opts {
		opt.apply(cfg)
	}
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	sys, uid, gid, err := serverProcAttr()
	if err != nil {
		return nil, err
	}
	// Not tb.TempDir: its parent is private to the user running the tests,
	// and the server may run as another.
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	c := &Cluster{
		bin: bin, dir: dir, password: randomHex(16), settings: cfg.settings, sys: sys,
		log: &syncBuffer{},
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return nil, err
	}
	for _, p := range []string{dir, pwfile} {
		if err := os.Lchown(p, uid, gid); err != nil {
			return nil, fmt.Errorf("pgtest: chown %s to the server's user: %w", p, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), initTimeout)
	defer cancel()
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"--pgdata", filepath.Join(dir, "data"), "--username", User, "--pwfile", pwfile,
		"--auth-local", "trust", "--auth-host", "scram-sha-256",
		"--encoding", "UTF8", "--locale", "C", "--no-sync", "--no-instructions")
	initdb.Dir, initdb.Env, initdb.SysProcAttr = dir, serverEnv(), sys
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pgtest: %s: %w\n%s", strings.Join(initdb.Args, " "), err, out)
	}
	_ = os.Remove(pwfile)
	// A free port now may be taken by the time the server binds it: try a
	// few.
	for attempt := 1; ; attempt++ {
		if c.port, err = freePort(); err != nil {
			return nil, err
		}
		err = c.start()
		if err == nil || attempt == 3 || !strings.Contains(c.log.String(), "could not bind") {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// URL returns the URL of the database named db, with the password.
func (c *Cluster) URL(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(User, c.password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Password returns the password of [User], which every URL of the cluster
// holds: tests check that it appears in no log.
func (c *Cluster) Password() string { return c.password }

// Addr returns the server's TCP address, 127.0.0.1:port.
func (c *Cluster) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)) }

// NewDatabase creates an empty database and returns its URL. The database
// is dropped at tb's cleanup, its connections closed, unless the cluster is
// stopped by then.
func (c *Cluster) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("t%d_%s", c.dbSeq.Add(1), dbNameChars.ReplaceAllString(strings.ToLower(tb.Name()), "_"))
	name = name[:min(len(name), 63)] // NAMEDATALEN - 1
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if err := c.adminExec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		if c.running() {
			_ = c.adminExec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		}
	})
	return c.URL(name)
}

var dbNameChars = regexp.MustCompile(`[^a-z0-9_]+`)

func (c *Cluster) adminExec(ctx context.Context, sql string) error {
	c.mu.Lock()
	admin := c.admin
	c.mu.Unlock()
	if admin == nil {
		return errors.New("pgtest: the cluster is stopped")
	}
	_, err := admin.Exec(ctx, sql)
	return err
}

func (c *Cluster) running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.server != nil
}

// Stop shuts the server down (fast shutdown: connections are closed, open
// transactions roll back) and waits for it to exit. The data stay for
// [Cluster.Start]. Stopping a stopped cluster does nothing.
func (c *Cluster) Stop(tb testing.TB) {
	tb.Helper()
	if err := c.stop(); err != nil {
		tb.Fatal(err)
	}
}

// Start starts a stopped server again on the same port and data, and waits
// until it accepts connections. Starting a running cluster does nothing.
func (c *Cluster) Start(tb testing.TB) {
	tb.Helper()
	if c.running() {
		return
	}
	if err := c.start(); err != nil {
		tb.Fatal(err)
	}
}

// Log returns what the server has written so far, for failure messages.
func (c *Cluster) Log() string { return c.log.String() }

func (c *Cluster) start() error {
	args := []string{
		"-D", filepath.Join(c.dir, "data"),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port=" + strconv.Itoa(c.port),
		"-c", "unix_socket_directories=" + c.dir,
		"-c", "max_connections=200",
		"-c", "logging_collector=off",
	}
	for _, name := range slices.Sorted(maps.Keys(c.settings)) {
		args = append(args, "-c", name+"="+c.settings[name])
	}
	cmd := exec.Command(filepath.Join(c.bin, "postgres"), args...)
	cmd.Dir, cmd.Env, cmd.SysProcAttr = c.dir, serverEnv(), c.sys
	cmd.Stdout, cmd.Stderr = c.log, c.log
	p, err := startProcess(cmd)
	if err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	admin, err := c.waitReady(p)
	if err != nil {
		_ = p.stop()
		return err
	}
	c.mu.Lock()
	c.server, c.admin = p, admin
	c.mu.Unlock()
	return nil
}

// waitReady waits until the server accepts connections, and returns a pool
// on its postgres database.
func (c *Cluster) waitReady(p *process) (*pgxpool.Pool, error) {
	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		admin, err := pgxpool.New(ctx, c.URL("postgres"))
		if err == nil {
			err = admin.Ping(ctx)
			if err != nil {
				admin.Close()
			}
		}
		cancel()
		if err == nil {
			return admin, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("pgtest: postgres exited before accepting connections (%v); its log:\n%s", p.err, c.log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("pgtest: postgres not ready after %v: %v; its log:\n%s", readyTimeout, err, c.log)
		}
	}
}

func (c *Cluster) stop() error {
	c.mu.Lock()
	p, admin := c.server, c.admin
	c.server, c.admin = nil, nil
	c.mu.Unlock()
	if p == nil {
		return nil
	}
	admin.Close()
	return p.stop()
}

// close stops the server and removes its directory.
func (c *Cluster) close() error {
	return errors.Join(c.stop(), os.RemoveAll(c.dir))
}

// A process is a running server.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when Wait returned
	err    error         // Wait's, once exited is closed
}

// startProcess starts cmd from an OS thread of its own that stays alive as
// long as the process runs: the parent-death signal fires when the thread
// that started the child exits, not only when the whole test binary does.
func startProcess(cmd *exec.Cmd) (*process, error) {
	p := &process{cmd: cmd, exited: make(chan struct{})}
	started := make(chan error)
	go func() {
		// Never unlocked: the thread ends with this goroutine, after the
		// process has exited.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// stop asks for a fast shutdown (SIGINT) and waits for the exit, killing the
// server if it takes too long.
func (p *process) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
		return nil
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("pgtest: postgres did not stop within %v; killed it", stopTimeout)
	}
}

// serverEnv is the whole environment of initdb and postgres.
func serverEnv() []string {
	return []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
