package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/internal/oidctest"
)

// bearer returns "Bearer <development token for subject>", signed with the
// key in s's data directory, which the server created at start-up.
func (s *server) bearer(tb testing.TB, subject string) string {
	tb.Helper()
	dir := ""
	for _, kv := range s.cmd.Env {
		if v, ok := strings.CutPrefix(kv, "PORTICO_DATA_DIR="); ok {
			dir = v
		}
	}
	signer, err := auth.LoadDevSigner(dir)
	if err != nil {
		tb.Fatal(err)
	}
	token, err := signer.Token(subject, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return "Bearer " + token
}

// TestDevToken runs `portico dev-token` against a running server in the
// development environment, and checks that prod refuses it.
func TestDevToken(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, "PORTICO_DATA_DIR="+dataDir)
	if e := s.waitLog(t, func(e logEntry) bool { return strings.HasPrefix(e.str("message"), "auth: development mode") }); e.str("severity") != "WARNING" {
		t.Errorf("development mode logged at %q; want WARNING", e.str("severity"))
	}
	stdout, stderr, code := runBinary(t, []string{"PORTICO_DATA_DIR=" + dataDir}, "dev-token", "--sub", "alice", "--ttl", "5m")
	if code != 0 {
		t.Fatalf("dev-token: exit %d: %s", code, stderr)
	}
	token := strings.TrimSpace(stdout)
	if strings.Count(token, ".") != 2 {
		t.Fatalf("dev-token printed %q; want a JWT", stdout)
	}
	tr := newTransports(t)[0]
	res, body := tr.do(t, newRequest(t, http.MethodPost, s.url(procUpdateProfile), `{"displayName":"A","email":"a@example.com"}`,
		"Content-Type", "application/json", "Authorization", "Bearer "+token))
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"id":"alice"`) {
		t.Errorf("UpdateProfile with the printed token: %d %s", res.StatusCode, body)
	}

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"prod", []string{"PORTICO_ENV=prod", "PORTICO_AUTH_ISSUER=https://issuer.example.com", "PORTICO_AUTH_AUDIENCE=x"}, []string{"--sub", "alice"}, 1, "refused"},
		{"issuer implies prod", []string{"PORTICO_AUTH_ISSUER=https://issuer.example.com", "PORTICO_AUTH_AUDIENCE=x"}, []string{"--sub", "alice"}, 1, "the default with PORTICO_AUTH_ISSUER"},
		{"no subject", nil, nil, 2, "--sub"},
		{"bad subject", nil, []string{"--sub", "Alice"}, 2, "subject"},
		{"too long", nil, []string{"--sub", "alice", "--ttl", "800h"}, 2, "lifetime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := runBinary(t, tc.env, append([]string{"dev-token"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) || stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, stdout, stderr, tc.code, tc.want)
			}
		})
	}
}

// TestIssuerFromEnvironment runs the binary in production mode against a
// test OpenID Connect issuer on loopback, found by discovery.
func TestIssuerFromEnvironment(t *testing.T) {
	t.Parallel()
	iss := oidctest.NewIssuer(t)
	s := startServer(t, "PORTICO_AUTH_ISSUER="+iss.URL, "PORTICO_AUTH_AUDIENCE="+oidctest.Audience)
	tr := newTransports(t)[0]
	res, body := tr.do(t, newRequest(t, http.MethodPost, s.url(procUpdateProfile), `{"displayName":"G","email":"g@example.com"}`,
		"Origin", appOrigin, "Content-Type", "application/json", "Authorization", "Bearer "+iss.Token(t, "grace")))
	if res.StatusCode != http.StatusOK {
		t.Errorf("issuer token: %d %s", res.StatusCode, body)
	}
	// Every refused token is readable by the browser.
	res, body = tr.do(t, newRequest(t, http.MethodPost, s.url(procGetProfile), `{}`,
		"Origin", appOrigin, "Content-Type", "application/json", "Authorization", "Bearer "+iss.Unsigned(t, iss.Claims("grace"))))
	var e struct{ Code string }
	if res.StatusCode != http.StatusUnauthorized || json.Unmarshal(body, &e) != nil || e.Code != "unauthenticated" ||
		res.Header.Get("Access-Control-Allow-Origin") != appOrigin || res.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("alg none: %d %s %v; want a CORS-readable unauthenticated", res.StatusCode, body, res.Header)
	}
	for _, e := range s.entries(t) {
		if strings.HasPrefix(e.str("message"), "auth: development mode") {
			t.Error("prod logged the development mode")
		}
	}
}

// TestIdentityConfigErrors checks that bad identity settings stop the
// server before it listens, each naming its variable.
func TestIdentityConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want []string // substrings of stderr
	}{
		{name: "prod without issuer", env: []string{"PORTICO_ENV=prod"}, want: []string{`PORTICO_ENV="prod"`, "an Issuer is required"}},
		{name: "staging without issuer", env: []string{"PORTICO_ENV=staging"}, want: []string{`PORTICO_ENV="staging"`, "an Issuer is required: development tokens are only accepted in dev, not in staging"}},
		{name: "invalid env name", env: []string{"PORTICO_ENV=Staging"}, want: []string{`PORTICO_ENV="Staging"`, "want an environment name"}},
		{name: "empty env", env: []string{"PORTICO_ENV="}, want: []string{"PORTICO_ENV is empty"}},
		{name: "http issuer", env: []string{"PORTICO_AUTH_ISSUER=http://issuer.example.com", "PORTICO_AUTH_AUDIENCE=x"}, want: []string{`PORTICO_AUTH_ISSUER="http://issuer.example.com"`, "https"}},
		{name: "issuer without audience", env: []string{"PORTICO_AUTH_ISSUER=https://issuer.example.com"}, want: []string{"PORTICO_AUTH_AUDIENCE", "required"}},
		{name: "audience without issuer", env: []string{"PORTICO_AUTH_AUDIENCE=x"}, want: []string{`PORTICO_AUTH_AUDIENCE="x"`, "needs an Issuer"}},
		{name: "misspelt variable", env: []string{"PORTICO_AUTH_AUDIANCE=x"}, want: []string{"PORTICO_AUTH_AUDIANCE: unknown variable"}},
		{name: "session lifetime", env: []string{"PORTICO_SESSION_TTL=1s"}, want: []string{`PORTICO_SESSION_TTL="1s"`}},
		{name: "SameSite", env: []string{"PORTICO_SESSION_SAMESITE=default"}, want: []string{`PORTICO_SESSION_SAMESITE="default"`}},
		{name: "security headers", env: []string{"PORTICO_SECURITY_HEADERS=maybe"}, want: []string{`PORTICO_SECURITY_HEADERS="maybe"`}},
		{name: "implicit dev on Cloud Run", env: []string{"K_SERVICE=portico"}, want: []string{"K_SERVICE", "PORTICO_ENV=dev"}},
		{name: "issuer unreachable", env: []string{"PORTICO_AUTH_ISSUER=http://127.0.0.1:1", "PORTICO_AUTH_AUDIENCE=x"}, want: []string{"OpenID discovery for http://127.0.0.1:1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := runBinary(t, tc.env)
			if code != 1 {
				t.Errorf("exit status = %d, want 1", code)
			}
			for _, want := range tc.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not name %q:\n%s", want, stderr)
				}
			}
			if strings.Contains(stdout, `"listening"`) {
				t.Errorf("started listening despite the error:\n%s", stdout)
			}
		})
	}
	// Explicit dev mode on Cloud Run is allowed.
	s := startServer(t, "K_SERVICE=portico", "PORTICO_ENV=dev")
	s.waitLog(t, func(e logEntry) bool { return strings.HasPrefix(e.str("message"), "auth: development mode") })
}
