package main

// TestDockerfile checks what the image relies on, without a Docker engine:
// the Dockerfile's own build command yields a static, version-stamped
// binary, which starts with only the image's environment and PORT, as the
// image's non-root user and as PID 1 where the test may arrange it, and
// exits 0 on SIGTERM.

import (
	"bufio"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// nonroot is the uid and gid of distroless's nonroot user, which the
// Dockerfile's USER names.
const nonroot = 65532

func TestDockerfile(t *testing.T) {
	t.Parallel()
	df := parseDockerfile(t, filepath.Join(repoRoot, "Dockerfile"))
	if df.build == nil {
		t.Fatal("Dockerfile: no RUN line with go build")
	}
	for _, want := range []string{"CGO_ENABLED=0"} {
		if !slices.Contains(df.build.env, want) {
			t.Errorf("Dockerfile build: environment %q lacks %s", df.build.env, want)
		}
	}
	if !slices.Contains(df.build.args, "-trimpath") {
		t.Errorf("Dockerfile build: %q lacks -trimpath", df.build.args)
	}
	if df.user != "nonroot:nonroot" || df.entrypoint != `["/portico"]` || !slices.Contains(df.expose, "8080") {
		t.Errorf("Dockerfile: USER %q, ENTRYPOINT %s, EXPOSE %q; want nonroot:nonroot, exec-form [\"/portico\"], 8080",
			df.user, df.entrypoint, df.expose)
	}

	// Run the build command itself, with the image's output path moved into
	// a directory the nonroot user may read.
	dir, err := os.MkdirTemp("", "portico-image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const version = "v9.9.9-docker"
	bin := filepath.Join(dir, "portico")
	args := slices.Clone(df.build.args)
	for i, a := range args {
		a = strings.ReplaceAll(a, "${VERSION}", version)
		if i > 0 && args[i-1] == "-o" {
			a = bin
		}
		args[i] = a
	}
	build := exec.Command(args[0], args[1:]...)
	build.Dir = repoRoot
	build.Env = append(os.Environ(), df.build.env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", strings.Join(df.build.env, " "), strings.Join(args, " "), err, out)
	}

	checkStatic(t, bin)
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("build settings CGO_ENABLED=%q -trimpath=%q, want 0 and true", settings["CGO_ENABLED"], settings["-trimpath"])
	}
	// Issue 6's goal: a small image pulls and starts fast.
	const maxSize = 25 << 20
	if fi, err := os.Stat(bin); err != nil {
		t.Error(err)
	} else if t.Logf("binary size: %.1f MiB (%d bytes)", float64(fi.Size())/(1<<20), fi.Size()); fi.Size() > maxSize {
		t.Errorf("binary size %d bytes, want at most 25 MiB", fi.Size())
	}

	out, err := exec.Command(bin, "version").Output()
	if err != nil || string(out) != "portico "+version+"\n" {
		t.Errorf("portico version = %q, %v; want the stamped %s", out, err, version)
	}

	// Start it as the image does: the image's ENV, PORT, nothing else. The
	// data directory moves into the test's own directory.
	data := filepath.Join(dir, "data")
	env := []string{"PORT=0"}
	for _, kv := range df.env {
		if strings.HasPrefix(kv, "PORTICO_DATA_DIR=") {
			kv = "PORTICO_DATA_DIR=" + data
		}
		env = append(env, kv)
	}
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Dir = "/"
	if os.Getuid() == 0 {
		if err := os.Mkdir(data, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(data, nonroot, nonroot); err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: nonroot, Gid: nonroot},
			// In a new PID namespace portico is PID 1, as in the container,
			// where a signal without a handler does nothing.
			Cloneflags: syscall.CLONE_NEWPID,
		}
	} else {
		t.Log("not root: starting as the current user, in the current PID namespace")
	}
	s := startProcess(t, cmd)
	if os.Getuid() == 0 {
		status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(s.cmd.Process.Pid), "status"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Uid:\t65532\t65532", "NSpid:\t" + strconv.Itoa(s.cmd.Process.Pid) + "\t1"} {
			if !strings.Contains(string(status), want) {
				t.Errorf("/proc/<pid>/status lacks %q:\n%s", want, status)
			}
		}
	}
	c := dialH2C(t, s)
	c.check(1)
	_ = c.conn.Close()
	s.stop(t, syscall.SIGTERM)
}

// checkStatic checks that the ELF file at path asks for no dynamic loader
// and links no shared library, so it runs on an image with no libc.
func checkStatic(tb testing.TB, path string) {
	tb.Helper()
	f, err := elf.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			tb.Errorf("%s has a %v program header: not static", path, p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		tb.Errorf("%s links shared libraries %q", path, libs)
	}
}

// A dockerfile holds what the test reads from the Dockerfile.
type dockerfile struct {
	build      *shellCommand // the RUN line that runs go build
	env        []string      // ENV of the final stage, as KEY=value
	user       string        // USER of the final stage
	expose     []string
	entrypoint string
}

// A shellCommand is a simple command: assignments, then arguments.
type shellCommand struct {
	env  []string
	args []string
}

// parseDockerfile reads the instructions the test relies on. It knows only
// the forms our Dockerfile uses: one instruction per line, and RUN lines
// that are simple commands with double-quoted words.
func parseDockerfile(tb testing.TB, path string) dockerfile {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var df dockerfile
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		instr, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			// Only the final stage's settings matter at run time.
			df.env, df.user, df.expose, df.entrypoint = nil, "", nil, ""
		case "RUN":
			words := shellWords(tb, rest)
			i := 0
			for i < len(words) && strings.Contains(words[i], "=") && !strings.HasPrefix(words[i], "-") {
				i++
			}
			if i+1 < len(words) && words[i] == "go" && words[i+1] == "build" {
				df.build = &shellCommand{env: words[:i], args: words[i:]}
			}
		case "ENV":
			df.env = append(df.env, strings.Fields(rest)...)
		case "USER":
			df.user = rest
		case "EXPOSE":
			df.expose = append(df.expose, strings.Fields(rest)...)
		case "ENTRYPOINT":
			df.entrypoint = rest
		}
	}
	return df
}

// shellWords splits s into words at spaces, honouring double quotes.
func shellWords(tb testing.TB, s string) []string {
	tb.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		tb.Fatalf("unbalanced quotes in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
