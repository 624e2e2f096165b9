package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/portico-dev/portico/internal/oidctest"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestKeySet(iss *oidctest.Issuer, clock *fakeClock) *remoteKeySet {
	return &remoteKeySet{
		url:        iss.JWKSURL,
		client:     &http.Client{Timeout: 5 * time.Second},
		algs:       []jose.SignatureAlgorithm{jose.RS256, jose.ES256},
		minRefresh: 30 * time.Second,
		maxAge:     time.Hour,
		now:        clock.now,
	}
}

func TestRemoteKeySetCachesAndRotates(t *testing.T) {
	t.Parallel()
	iss := oidctest.NewIssuer(t)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	ks := newTestKeySet(iss, clock)
	ctx := t.Context()
	verify := func(step, token string, wantErr error) {
		t.Helper()
		_, err := ks.VerifySignature(ctx, token)
		if !errors.Is(err, wantErr) {
			t.Fatalf("%s: VerifySignature() error = %v; want %v", step, err, wantErr)
		}
	}
	fetches := func(step string, want int64) {
		t.Helper()
		if got := iss.JWKSFetches(); got != want {
			t.Fatalf("%s: %d JWKS fetches; want %d", step, got, want)
		}
	}

	verify("first token", iss.Token(t, "alice"), nil)
	fetches("first token", 1)
	verify("cached", iss.Token(t, "alice"), nil)
	fetches("cached", 1)

	// A flood of tokens with unknown kids costs one fetch per interval.
	verify("unknown kid right after a fetch", iss.SignUnpublished(t, "forged", iss.Claims("mallory")), errNoKey)
	fetches("unknown kid right after a fetch", 1)
	clock.advance(31 * time.Second)
	for i := range 20 {
		verify("unknown kid", iss.SignUnpublished(t, "forged", iss.Claims("mallory")), errNoKey)
		if i == 0 {
			fetches("first unknown kid", 2)
		}
	}
	fetches("unknown kids", 2)

	// The issuer rotates: the new kid is fetched once the interval allows.
	iss.Rotate(t, oidctest.NewECKey(t, "ec-2"))
	rotated := iss.Token(t, "alice")
	verify("new kid within the interval", rotated, errNoKey)
	fetches("new kid within the interval", 2)
	clock.advance(31 * time.Second)
	verify("new kid after the interval", rotated, nil)
	fetches("new kid after the interval", 3)
	verify("new kid cached", rotated, nil)
	fetches("new kid cached", 3)

	// A withdrawn key keeps verifying until the cache is older than maxAge.
	iss.Withdraw("ec-2")
	verify("withdrawn, cache fresh", rotated, nil)
	clock.advance(time.Hour)
	verify("withdrawn, cache stale", rotated, errNoKey)
	fetches("withdrawn, cache stale", 4)
}

func TestRemoteKeySetServesStaleKeysWhenIssuerFails(t *testing.T) {
	t.Parallel()
	iss := oidctest.NewIssuer(t)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	ks := newTestKeySet(iss, clock)
	token := iss.Token(t, "alice")
	if _, err := ks.VerifySignature(t.Context(), token); err != nil {
		t.Fatal(err)
	}
	ks.url = iss.URL + "/missing" // the issuer's JWKS now fails
	clock.advance(2 * time.Hour)
	if _, err := ks.VerifySignature(t.Context(), token); err != nil {
		t.Fatalf("stale key with a failing issuer: %v", err)
	}
	if ks.lastErr == nil {
		t.Error("the failed fetch was not recorded")
	}
}

func TestRemoteKeySetConcurrentFetchOnce(t *testing.T) {
	t.Parallel()
	iss := oidctest.NewIssuer(t)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	ks := newTestKeySet(iss, clock)
	token := iss.Token(t, "alice")
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if _, err := ks.VerifySignature(t.Context(), token); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d of 32 concurrent verifications failed", failed.Load())
	}
	if got := iss.JWKSFetches(); got != 1 {
		t.Errorf("%d JWKS fetches for 32 concurrent first tokens; want 1", got)
	}
}

func TestRemoteKeySetCanceledWait(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	srv := newBlockingServer(t, block)
	ks := &remoteKeySet{
		url: srv, client: http.DefaultClient, algs: []jose.SignatureAlgorithm{jose.RS256},
		minRefresh: time.Second, maxAge: time.Hour, now: time.Now,
	}
	iss := oidctest.NewIssuer(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := ks.VerifySignature(ctx, iss.Token(t, "alice")); !errors.Is(err, context.Canceled) {
		t.Errorf("VerifySignature() with a canceled context = %v; want context.Canceled", err)
	}
	close(block)
}

// newBlockingServer serves a JWKS URL that answers 503 once block is
// closed.
func newBlockingServer(tb testing.TB, block <-chan struct{}) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL + "/jwks"
}

func TestDecodeJWKS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		want    int
		wantErr bool
	}{
		{name: "not JSON", body: "<html>", wantErr: true},
		{name: "no keys", body: `{"keys":[]}`, wantErr: true},
		{
			name: "unknown key type skipped",
			body: `{"keys":[{"kty":"OKP","crv":"X448","x":"AAAA"},` + ecJWK + `]}`,
			want: 1,
		},
		{name: "encryption key skipped", body: `{"keys":[` + ecEncJWK + `]}`, wantErr: true},
		{name: "symmetric key skipped", body: `{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}`, wantErr: true},
		{name: "one key", body: `{"keys":[` + ecJWK + `]}`, want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			keys, err := decodeJWKS([]byte(tc.body))
			if (err != nil) != tc.wantErr {
				t.Fatalf("decodeJWKS() error = %v; wantErr %v", err, tc.wantErr)
			}
			if len(keys) != tc.want {
				t.Errorf("decodeJWKS() = %d keys; want %d", len(keys), tc.want)
			}
		})
	}
}

// A P-256 public key, RFC 7517 Appendix A.1.
const (
	ecJWK    = `{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","use":"sig","kid":"1"}`
	ecEncJWK = `{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","use":"enc","kid":"1"}`
)
