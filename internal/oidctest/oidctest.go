// Package oidctest runs an OpenID Connect issuer for tests: an
// httptest.Server on 127.0.0.1 that serves a discovery document and a JWKS
// of freshly generated keys, and signs tokens with them, valid or
// deliberately broken (expired, misaddressed, alg "none", HS256 keyed with
// the public key, unknown kid, malformed).
//
// Start from [NewIssuer].
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Audience is the audience of the tokens an [Issuer] signs by default.
const Audience = "portico-test"

// An Issuer is a test OpenID Connect issuer. Its methods are safe for
// concurrent use.
type Issuer struct {
	// URL is the issuer identifier, the server's base URL
	// ("http://127.0.0.1:<port>").
	URL string
	// JWKSURL is where the keys are served.
	JWKSURL string

	server  *httptest.Server
	fetches atomic.Int64

	mu        sync.Mutex
	published []jose.JSONWebKey // the JWKS
	current   jose.JSONWebKey   // the private key tokens are signed with
	rogue     crypto.Signer     // the key of SignUnpublished
}

// A Key is a signing key and the kid it is published under.
type Key struct {
	// KID is the key's id.
	KID string
	// Private is an *rsa.PrivateKey or an *ecdsa.PrivateKey.
	Private crypto.Signer
}

// NewIssuer starts an issuer with one RS256 key, published and current, and
// closes it at cleanup.
func NewIssuer(tb testing.TB) *Issuer {
	tb.Helper()
	iss := &Issuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                iss.URL,
			"jwks_uri":                              iss.JWKSURL,
			"authorization_endpoint":                iss.URL + "/authorize",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		iss.fetches.Add(1)
		iss.mu.Lock()
		set := jose.JSONWebKeySet{Keys: append([]jose.JSONWebKey(nil), iss.published...)}
		iss.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	})
	// The URLs are set before the server starts, so that its handlers read
	// them without a race even when the first request comes from another
	// process.
	iss.server = httptest.NewUnstartedServer(mux)
	iss.URL = "http://" + iss.server.Listener.Addr().String()
	iss.JWKSURL = iss.URL + "/jwks"
	iss.Rotate(tb, NewRSAKey(tb, "rsa-1"))
	iss.server.Start()
	tb.Cleanup(iss.server.Close)
	return iss
}

// NewRSAKey generates a 2048-bit RSA key.
func NewRSAKey(tb testing.TB, kid string) Key {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return Key{KID: kid, Private: k}
}

// NewECKey generates a P-256 key.
func NewECKey(tb testing.TB, kid string) Key {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return Key{KID: kid, Private: k}
}

func (k Key) alg() jose.SignatureAlgorithm {
	if _, ok := k.Private.(*ecdsa.PrivateKey); ok {
		return jose.ES256
	}
	return jose.RS256
}

func (k Key) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.Private, KeyID: k.KID, Algorithm: string(k.alg()), Use: "sig"}
}

// Rotate publishes k next to the keys already published and signs with it
// from now on.
func (i *Issuer) Rotate(tb testing.TB, k Key) {
	tb.Helper()
	jwk := k.jwk()
	i.mu.Lock()
	defer i.mu.Unlock()
	i.published = append(i.published, jwk.Public())
	i.current = jwk
}

// Withdraw removes the key with kid from the JWKS.
func (i *Issuer) Withdraw(kid string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	kept := i.published[:0]
	for _, k := range i.published {
		if k.KeyID != kid {
			kept = append(kept, k)
		}
	}
	i.published = kept
}

// JWKSFetches returns how many times the JWKS was fetched.
func (i *Issuer) JWKSFetches() int64 { return i.fetches.Load() }

// Claims returns the claims of a valid token for subject: this issuer,
// [Audience], issued now, expiring in an hour.
func (i *Issuer) Claims(subject string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": i.URL,
		"aud": Audience,
		"sub": subject,
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
}

// Token signs a valid token for subject with the current key.
func (i *Issuer) Token(tb testing.TB, subject string) string {
	tb.Helper()
	return i.Sign(tb, i.Claims(subject))
}

// Sign signs claims with the current key.
func (i *Issuer) Sign(tb testing.TB, claims map[string]any) string {
	tb.Helper()
	i.mu.Lock()
	key := i.current
	i.mu.Unlock()
	return SignWith(tb, key, claims)
}

// SignWith signs claims with key (a private jose.JSONWebKey with KeyID and
// Algorithm).
func SignWith(tb testing.TB, key jose.JSONWebKey, claims map[string]any) string {
	tb.Helper()
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		tb.Fatal(err)
	}
	token, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		tb.Fatal(err)
	}
	return token
}

// SignUnpublished signs claims with a key that is not in the JWKS, under
// kid.
func (i *Issuer) SignUnpublished(tb testing.TB, kid string, claims map[string]any) string {
	tb.Helper()
	i.mu.Lock()
	if i.rogue == nil {
		k := NewECKey(tb, "").Private
		i.rogue = k
	}
	rogue := i.rogue
	i.mu.Unlock()
	return SignWith(tb, Key{KID: kid, Private: rogue}.jwk(), claims)
}

// Unsigned returns a token with alg "none" and an empty signature
// (RFC 7519 §6).
func (i *Issuer) Unsigned(tb testing.TB, claims map[string]any) string {
	tb.Helper()
	return compact(tb, map[string]any{"alg": "none", "typ": "JWT"}, claims, nil)
}

// HMACWithPublicKey returns a token with alg HS256 whose MAC is keyed with
// the current key's public key, PEM-encoded, under the current kid: the
// algorithm-confusion attack on verifiers that take alg from the token.
func (i *Issuer) HMACWithPublicKey(tb testing.TB, claims map[string]any) string {
	tb.Helper()
	i.mu.Lock()
	key := i.current
	i.mu.Unlock()
	der, err := x509.MarshalPKIXPublicKey(key.Public().Key)
	if err != nil {
		tb.Fatal(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	header := map[string]any{"alg": "HS256", "typ": "JWT", "kid": key.KeyID}
	signingInput := segment(tb, header) + "." + segment(tb, claims)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signingInput))
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// compact assembles a JWS compact serialization by hand, for tokens no
// library would sign.
func compact(tb testing.TB, header, claims map[string]any, sig []byte) string {
	tb.Helper()
	return segment(tb, header) + "." + segment(tb, claims) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func segment(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
