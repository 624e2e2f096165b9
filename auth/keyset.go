package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// maxJWKSBytes bounds a JWKS document. Google's holds two or three keys in
// about 2 KiB.
const maxJWKSBytes = 1 << 20

var (
	errNoKey        = errors.New("no key in the issuer's JWKS matches the token's kid")
	errBadSignature = errors.New("signature does not verify")
)

// A remoteKeySet is an oidc.KeySet over an issuer's JWKS URL: the keys are
// cached, refetched when a token names a kid the cache lacks (key rotation,
// https://openid.net/specs/openid-connect-core-1_0.html#RotateSigKeys), and
// refetched when the cache is older than maxAge, so that a key the issuer
// withdrew stops verifying.
//
// go-oidc's RemoteKeySet does the same but refetches for every token with
// an unknown kid: anyone can send a stream of forged tokens, each with a
// fresh kid, and have the server fetch the JWKS back to back. Here a fetch
// for an unknown kid happens at most once per minRefresh; tokens with an
// unknown kid in between are refused at once. Issuers publish a new key well
// before they sign with it, so a legitimate new kid is almost always in the
// cache already.
//
// Signatures are checked by go-jose; this type only decides which keys to
// try. It is safe for concurrent use.
type remoteKeySet struct {
	url        string
	client     *http.Client
	algs       []jose.SignatureAlgorithm
	minRefresh time.Duration
	maxAge     time.Duration
	now        func() time.Time

	mu        sync.Mutex
	keys      []jose.JSONWebKey
	fetched   time.Time     // when the keys were last fetched successfully
	attempted time.Time     // when a fetch last started
	inflight  chan struct{} // closed when the fetch in flight ends; nil if none
	lastErr   error         // the last fetch's error
}

// VerifySignature implements oidc.KeySet: it returns the payload of jwt if
// one of the issuer's keys verifies its signature.
func (s *remoteKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(jwt, s.algs)
	if err != nil {
		return nil, fmt.Errorf("malformed jwt: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("want exactly one signature")
	}
	header := jws.Signatures[0].Header
	keys, err := s.keysFor(ctx, header.KeyID)
	if err != nil {
		return nil, err
	}
	for i := range keys {
		k := &keys[i]
		if k.Algorithm != "" && k.Algorithm != header.Algorithm {
			continue // RFC 7517 §4.4: the key is for another algorithm
		}
		if payload, err := jws.Verify(k); err == nil {
			return payload, nil
		}
	}
	return nil, errBadSignature
}

// keysFor returns the cached keys that may have signed a token with kid (all
// of them for an empty kid), refetching the JWKS when they are stale or none
// matches and the rate limit allows.
func (s *remoteKeySet) keysFor(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	for attempt := 0; ; attempt++ {
		s.mu.Lock()
		now := s.now()
		stale := s.fetched.IsZero() || now.Sub(s.fetched) >= s.maxAge
		matched := matching(s.keys, kid)
		canFetch := s.inflight != nil || s.attempted.IsZero() || now.Sub(s.attempted) >= s.minRefresh
		if attempt > 0 || (!stale && len(matched) > 0) || !canFetch {
			err := s.lastErr
			s.mu.Unlock()
			if len(matched) > 0 {
				// A stale cache still serves when the issuer is unreachable:
				// refusing every caller would be worse.
				return matched, nil
			}
			if err != nil {
				return nil, fmt.Errorf("%w (last JWKS fetch: %w)", errNoKey, err)
			}
			return nil, errNoKey
		}
		done := s.startFetchLocked()
		s.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// startFetchLocked starts a fetch unless one is in flight, and returns the
// channel closed when it ends. s.mu must be held.
func (s *remoteKeySet) startFetchLocked() <-chan struct{} {
	if s.inflight != nil {
		return s.inflight
	}
	done := make(chan struct{})
	s.inflight = done
	s.attempted = s.now()
	go func() {
		// The fetch serves every waiting request, so no single request's
		// cancellation ends it; the client's timeout bounds it.
		keys, err := s.fetch(context.Background())
		s.mu.Lock()
		if err == nil {
			s.keys, s.fetched = keys, s.now()
		}
		s.lastErr = err
		s.inflight = nil
		s.mu.Unlock()
		close(done)
	}()
	return done
}

// fetch GETs and decodes the JWKS.
func (s *remoteKeySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", s.url, res.Status)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", s.url, err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("GET %s: JWKS larger than %d bytes", s.url, maxJWKSBytes)
	}
	return decodeJWKS(body)
}

// decodeJWKS decodes a JWK Set, keeping the public signature keys it can
// use. RFC 7517 §5: implementations should ignore keys of a type they do
// not understand, rather than reject the set.
func decodeJWKS(body []byte) ([]jose.JSONWebKey, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("decode JWKS: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, r := range raw.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(r); err != nil {
			continue
		}
		if (k.Use != "" && k.Use != "sig") || !k.IsPublic() || !k.Valid() {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("decode JWKS: no usable public signature key")
	}
	return keys, nil
}

// matching returns the keys with the given kid, or all keys for "".
func matching(keys []jose.JSONWebKey, kid string) []jose.JSONWebKey {
	if kid == "" {
		return keys
	}
	for i := range keys {
		if keys[i].KeyID == kid {
			return keys[i : i+1 : i+1]
		}
	}
	return nil
}
