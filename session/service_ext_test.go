package session_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/portico-dev/portico/auth"
	sessionv1 "github.com/portico-dev/portico/gen/portico/session/v1"
	"github.com/portico-dev/portico/gen/portico/session/v1/sessionv1connect"
	"github.com/portico-dev/portico/session"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newSessionServer serves the Service behind the auth interceptor, which
// trusts a development signer and the Service's own sessions.
func newSessionServer(tb testing.TB, opts ...session.Option) (sessionv1connect.SessionServiceClient, *session.Service, *auth.DevSigner, string) {
	tb.Helper()
	dir := tb.TempDir()
	store, err := session.OpenSQLite(context.Background(), filepath.Join(dir, "sessions.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	dev, err := auth.LoadDevSigner(dir)
	if err != nil {
		tb.Fatal(err)
	}
	svc := session.New(store, opts...)
	mux := http.NewServeMux()
	mux.Handle(sessionv1connect.NewSessionServiceHandler(svc, connect.WithInterceptors(auth.NewInterceptor(
		auth.WithTokenVerifiers(dev),
		auth.WithSessions(svc),
		auth.AllowAnonymous(sessionv1connect.SessionServiceDeleteSessionProcedure),
	))))
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return sessionv1connect.NewSessionServiceClient(srv.Client(), srv.URL), svc, dev, filepath.Join(dir, "sessions.db")
}

func TestServiceLifecycle(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Now()}
	client, svc, dev, dbPath := newSessionServer(t, session.WithClock(clk.now), session.WithTTL(time.Hour))
	ctx := t.Context()
	token, err := dev.Token("alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	req := connect.NewRequest(&sessionv1.CreateSessionRequest{})
	req.Header().Set("Authorization", "Bearer "+token)
	res, err := client.CreateSession(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Msg.GetSubject() != "alice" || !res.Msg.GetExpireTime().AsTime().Equal(clk.now().Add(time.Hour).Truncate(time.Microsecond)) {
		t.Errorf("CreateSession() = %v", res.Msg)
	}
	cookies, err := http.ParseSetCookie(res.Header().Get("Set-Cookie"))
	if err != nil {
		t.Fatal(err)
	}
	c := cookies
	if c.Name != auth.SessionCookie || !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" ||
		c.SameSite != http.SameSiteLaxMode || c.MaxAge != 3600 || len(c.Value) != 43 {
		t.Errorf("Set-Cookie = %q", res.Header().Get("Set-Cookie"))
	}

	// The cookie resolves to the caller; the store holds only its hash.
	caller, err := svc.ResolveSession(ctx, c.Value)
	if err != nil {
		t.Fatal(err)
	}
	if caller != (auth.Caller{Subject: "alice", Issuer: auth.DevIssuer, Credential: auth.CredentialSession}) {
		t.Errorf("ResolveSession() = %+v", caller)
	}
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(dbPath + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(c.Value)) {
			t.Errorf("%s holds the session id", filepath.Base(dbPath+suffix))
		}
	}

	// A session cannot mint another.
	again := connect.NewRequest(&sessionv1.CreateSessionRequest{})
	again.Header().Set("Cookie", auth.SessionCookie+"="+c.Value)
	if _, err := client.CreateSession(ctx, again); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("CreateSession() with only a cookie: %v; want unauthenticated", err)
	}

	// Signing in again revokes the session the browser still holds.
	renew := connect.NewRequest(&sessionv1.CreateSessionRequest{})
	renew.Header().Set("Authorization", "Bearer "+token)
	renew.Header().Set("Cookie", auth.SessionCookie+"="+c.Value)
	res2, err := client.CreateSession(ctx, renew)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ResolveSession(ctx, c.Value); err == nil {
		t.Error("the previous session survived a new sign-in")
	}
	c2, err := http.ParseSetCookie(res2.Header().Get("Set-Cookie"))
	if err != nil {
		t.Fatal(err)
	}
	if c2.Value == c.Value {
		t.Error("a new sign-in reused the session id")
	}

	// It expires with the clock.
	clk.advance(time.Hour)
	if _, err := svc.ResolveSession(ctx, c2.Value); err == nil {
		t.Error("an expired session resolved")
	}

	// DeleteSession works without a valid session, and clears the cookie.
	del := connect.NewRequest(&sessionv1.DeleteSessionRequest{})
	del.Header().Set("Cookie", auth.SessionCookie+"="+c2.Value)
	dres, err := client.DeleteSession(ctx, del)
	if err != nil {
		t.Fatal(err)
	}
	cleared := dres.Header().Get("Set-Cookie")
	for _, want := range []string{auth.SessionCookie + "=;", "Path=/", "Max-Age=0", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(cleared, want) {
			t.Errorf("clearing Set-Cookie %q lacks %q", cleared, want)
		}
	}
	if _, err := client.DeleteSession(ctx, connect.NewRequest(&sessionv1.DeleteSessionRequest{})); err != nil {
		t.Errorf("DeleteSession() without a cookie: %v", err)
	}
}

func TestResolveSessionMalformed(t *testing.T) {
	t.Parallel()
	_, svc, _, _ := newSessionServer(t)
	for _, v := range []string{"", "short", strings.Repeat("A", 42), strings.Repeat("A", 44), strings.Repeat("*", 43),
		strings.Repeat("A", 42) + "B", // non-canonical final character
		strings.Repeat("A", 43)} {
		if _, err := svc.ResolveSession(t.Context(), v); err == nil {
			t.Errorf("ResolveSession(%q) succeeded", v)
		}
	}
}

func TestParseSameSite(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]http.SameSite{"lax": http.SameSiteLaxMode, "Strict": http.SameSiteStrictMode, "NONE": http.SameSiteNoneMode} {
		if got, err := session.ParseSameSite(in); err != nil || got != want {
			t.Errorf("ParseSameSite(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := session.ParseSameSite("default"); err == nil {
		t.Error(`ParseSameSite("default") succeeded`)
	}
}

func TestNewPanics(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	for name, opts := range map[string][]session.Option{
		"nil store":    nil,
		"short TTL":    {session.WithTTL(time.Second)},
		"long TTL":     {session.WithTTL(session.MaxTTL + time.Second)},
		"bad SameSite": {session.WithSameSite(http.SameSiteDefaultMode)},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Error("New() did not panic")
				}
			}()
			if name == "nil store" {
				session.New(nil)
				return
			}
			session.New(store, opts...)
		})
	}
}
