package walkthrough_test

import (
	"bufio"
	"context"
	"fmt"
	"go/format"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/walkthrough"
)

const (
	// repoRoot is the Portico checkout, relative to this package.
	repoRoot = "../.."
	// ownService is the README section this test runs.
	ownService = "Add Portico CORS to your own service"
	// readmeBase is where the README's curl commands send requests; the test
	// sends them to the port the server actually got.
	readmeBase = "http://127.0.0.1:8080"
	// blockTimeout bounds each shell block (module set-up, generation and
	// build); startTimeout bounds the wait for the server's listening line,
	// requestTimeout each request.
	blockTimeout   = 4 * time.Minute
	startTimeout   = 15 * time.Second
	requestTimeout = 5 * time.Second
)

// listening is the line the README's server logs once it listens, after
// log's date and time.
var listening = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d listening on (127\.0\.0\.1:\d+)$`)

// TestReadmeOwnService runs the README walkthrough "Add Portico CORS to your
// own service" as a reader would, in an empty directory: it writes the
// files the README shows, runs its shell blocks with bash, then starts the
// server of its console block and sends each curl request shown there,
// checking the status and every header field the README prints.
//
// The only addition is a replace directive to this checkout, right after
// go mod init, as the README says to do; and the network is off: modules
// come from the module cache (GOPROXY=off, GOSUMDB=off), and buf is the one
// pinned in tools/go.mod.
func TestReadmeOwnService(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module and its generators from scratch (about 20s); run by make walkthrough")
	}
	t.Parallel()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := walkthrough.Section(string(readme), ownService)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	env := offlineEnv(t, root)

	var (
		replaced  bool
		exchanges []walkthrough.Exchange
		server    *walkthrough.Command
	)
	for _, b := range blocks {
		if name, ok := b.File(); ok {
			writeFile(t, work, name, b)
			continue
		}
		switch b.Lang {
		case "sh":
			script, n := addReplace(b.Text, root)
			replaced = replaced || n > 0
			runScript(t, work, env, b, script)
		case "console":
			for _, c := range walkthrough.Commands(b) {
				ex, isCurl, err := c.Curl()
				switch {
				case err != nil:
					t.Fatalf("README.md: %v", err)
				case isCurl:
					exchanges = append(exchanges, ex)
				case strings.Contains(c.Text, "./"):
					server = &c
				}
			}
		}
	}
	if !replaced {
		t.Fatal("README.md: no go mod init in the walkthrough's shell blocks")
	}
	if server == nil {
		t.Fatal("README.md: the walkthrough starts no server (a console command running ./<binary>)")
	}
	var statuses []int
	for _, ex := range exchanges {
		statuses = append(statuses, ex.Status)
	}
	if !slices.Contains(statuses, http.StatusNoContent) || !slices.Contains(statuses, http.StatusForbidden) {
		t.Fatalf("README.md: the walkthrough must show an approved (204) and a refused (403) preflight; it shows %v", statuses)
	}

	// What the README says buf generate writes, next to the Go code.
	for _, name := range []string{"gen/greet/v1/greetv1portico/greet.portico.go", "gen/greet/v1/greetv1portico/greet.portico.json"} {
		if _, err := os.Stat(filepath.Join(work, filepath.FromSlash(name))); err != nil {
			t.Errorf("buf generate did not write %s: %v", name, err)
		}
	}

	base := startServer(t, work, env, server)
	client := &http.Client{Transport: &http.Transport{}, Timeout: requestTimeout}
	t.Cleanup(client.CloseIdleConnections)
	for _, ex := range exchanges {
		target, ok := strings.CutPrefix(ex.URL, readmeBase)
		if !ok {
			t.Fatalf("README.md: curl URL %s is not under %s", ex.URL, readmeBase)
		}
		req, err := http.NewRequestWithContext(t.Context(), ex.Method, base+target, http.NoBody)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = ex.Header.Clone()
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != ex.Status {
			t.Errorf("%s %s: status %d, the README shows %d", ex.Method, target, res.StatusCode, ex.Status)
		}
		for name, want := range ex.Response {
			if got := res.Header.Values(name); !slices.Equal(got, want) {
				t.Errorf("%s %s: %s = %q, the README shows %q", ex.Method, target, name, got, want)
			}
		}
	}
}

// offlineEnv is the environment of the walkthrough's commands: this
// process's, with the network off, no inherited GOFLAGS or workspace, and
// the buf of tools/go.mod first on PATH.
func offlineEnv(tb testing.TB, root string) []string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), blockTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "tool", "-modfile=tools/go.mod", "-n", "buf")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("go tool -n buf: %v", err)
	}
	bin := tb.TempDir()
	if err := os.Symlink(strings.TrimSpace(string(out)), filepath.Join(bin, "buf")); err != nil {
		tb.Fatal(err)
	}
	set := map[string]string{
		"PATH":        bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"GOPROXY":     "off",
		"GOSUMDB":     "off",
		"GOWORK":      "off",
		"GOTOOLCHAIN": "local",
		"GOFLAGS":     "",
	}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := set[name]; !ok {
			env = append(env, kv)
		}
	}
	for name, value := range set {
		env = append(env, name+"="+value)
	}
	return env
}

// addReplace inserts, after each go mod init line of script, the replace
// directive that points Portico's module at the checkout in root, and
// returns the script and how many it inserted.
func addReplace(script, root string) (string, int) {
	var b strings.Builder
	n := 0
	for line := range strings.Lines(script) {
		b.WriteString(line)
		if strings.HasPrefix(line, "go mod init ") {
			fmt.Fprintf(&b, "go mod edit -replace 'github.com/portico-dev/portico=%s'\n", root)
			n++
		}
	}
	return b.String(), n
}

// writeFile writes a file block under dir; Go files must be gofmt-clean.
func writeFile(tb testing.TB, dir, name string, b walkthrough.Block) {
	tb.Helper()
	if strings.HasSuffix(name, ".go") {
		if formatted, err := format.Source([]byte(b.Text)); err != nil || string(formatted) != b.Text {
			tb.Errorf("README.md:%d: %s is not gofmt-clean (%v)", b.Line, name, err)
		}
	}
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(b.Text), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// runScript runs a shell block with bash -euo pipefail in dir, failing tb
// with its output if it fails or outlasts blockTimeout.
func runScript(tb testing.TB, dir string, env []string, b walkthrough.Block, script string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), blockTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir, cmd.Env, cmd.WaitDelay = dir, env, time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("README.md:%d: shell block failed after %v: %v\n%s\n--- output:\n%s", b.Line, time.Since(start).Round(time.Millisecond), err, script, out)
	}
	tb.Logf("README.md:%d: shell block ran in %v", b.Line, time.Since(start).Round(time.Millisecond))
}

// startServer runs the README's server command (VAR=value... ./binary &)
// in dir, on a port the kernel picks rather than the README's 8080, and
// returns its base URL once it logs the listening line the README shows.
// The process is killed at cleanup.
func startServer(tb testing.TB, dir string, env []string, c *walkthrough.Command) string {
	tb.Helper()
	words, err := c.Words()
	if err != nil {
		tb.Fatal(err)
	}
	words = slices.DeleteFunc(words, func(w string) bool { return w == "&" })
	var vars []string
	for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "./") {
		vars, words = append(vars, words[0]), words[1:]
	}
	if len(words) != 1 || !strings.HasPrefix(words[0], "./") {
		tb.Fatalf("README.md:%d: want VAR=value... ./binary &, got %q", c.Line, c.Text)
	}
	if len(c.Output) != 1 || !listening.MatchString(c.Output[0]) || !strings.HasSuffix(c.Output[0], strings.TrimPrefix(readmeBase, "http://")) {
		tb.Fatalf("README.md:%d: the server's output should be its listening line on %s, got %q", c.Line, readmeBase, c.Output)
	}
	cmd := exec.Command(filepath.Join(dir, filepath.FromSlash(words[0])))
	cmd.Dir = dir
	cmd.Env = append(append(slices.Clone(env), vars...), "PORT=0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	var seen []string
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				tb.Fatalf("the server exited before listening:\n%s", strings.Join(seen, "\n"))
			}
			if m := listening.FindStringSubmatch(line); m != nil {
				go func() {
					for range lines { // keep draining, so that logging never blocks
					}
				}()
				return "http://" + m[1]
			}
			seen = append(seen, line)
		case <-timer.C:
			tb.Fatalf("no listening line within %v:\n%s", startTimeout, strings.Join(seen, "\n"))
		}
	}
}
