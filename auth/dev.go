package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The claims of development tokens. They are not URLs that could belong to
// a real issuer, so no deployment's issuer can be confused with them.
const (
	// DevIssuer is the "iss" of the tokens a [DevSigner] signs.
	DevIssuer = "portico-dev"
	// DevAudience is their "aud".
	DevAudience = "portico-dev"
	// DevKeyFile is the name of the signing key's file in the directory
	// given to [LoadDevSigner]: a PKCS #8 PEM, mode 0600.
	DevKeyFile = "dev-token-key.pem"
	// MaxDevTokenTTL is the longest lifetime [DevSigner.Token] signs.
	MaxDevTokenTTL = 7 * 24 * time.Hour
)

// A DevSigner signs and verifies development tokens: ES256 JWTs with
// issuer [DevIssuer], audience [DevAudience], a kid that is the key's
// RFC 7638 thumbprint, and an expiry. It is a [TokenVerifier] for exactly
// the tokens it signed, and safe for concurrent use.
//
// A development token proves only that its maker could read the key file.
// Never trust a DevSigner in a deployment reachable by untrusted clients.
type DevSigner struct {
	kid      string
	signer   jose.Signer
	verifier *oidc.IDTokenVerifier
	now      func() time.Time
}

var _ TokenVerifier = (*DevSigner)(nil)

// LoadDevSigner returns a signer with the key of dir/[DevKeyFile],
// generating a new P-256 key there first if the file does not exist. The
// directory must exist. Concurrent calls on the same directory, from one or
// several processes, end up with the same key.
func LoadDevSigner(dir string) (*DevSigner, error) {
	path := filepath.Join(dir, DevKeyFile)
	key, err := readDevKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createDevKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("development signing key: %w", err)
	}
	return newDevSigner(key)
}

func newDevSigner(key *ecdsa.PrivateKey) (*DevSigner, error) {
	thumb, err := (&jose.JSONWebKey{Key: &key.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	kid := base64.RawURLEncoding.EncodeToString(thumb)
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, err
	}
	return &DevSigner{
		kid:    kid,
		signer: signer,
		verifier: oidc.NewVerifier(DevIssuer,
			&oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{&key.PublicKey}},
			&oidc.Config{ClientID: DevAudience, SupportedSigningAlgs: []string{"ES256"}}),
		now: time.Now,
	}, nil
}

// Issuer implements [TokenVerifier]; it returns [DevIssuer].
func (s *DevSigner) Issuer() string { return DevIssuer }

// Verify implements [TokenVerifier].
func (s *DevSigner) Verify(ctx context.Context, token string) (Caller, error) {
	return verifyWith(ctx, s.verifier, token)
}

// Token signs a development token for subject, valid for ttl from now.
// The subject must match ^[a-z0-9][a-z0-9_-]{0,63}$ (the profile ids that
// GetPublicProfile accepts), and ttl must be positive and at most
// [MaxDevTokenTTL].
func (s *DevSigner) Token(subject string, ttl time.Duration) (string, error) {
	if !validDevSubject(subject) {
		return "", fmt.Errorf("subject %q: want ^[a-z0-9][a-z0-9_-]{0,63}$", subject)
	}
	if ttl <= 0 || ttl > MaxDevTokenTTL {
		return "", fmt.Errorf("lifetime %v: want more than 0 and at most %v", ttl, MaxDevTokenTTL)
	}
	now := s.now()
	return s.sign(jwt.Claims{
		Issuer:   DevIssuer,
		Audience: jwt.Audience{DevAudience},
		Subject:  subject,
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(ttl)),
	})
}

// sign signs any claims with the development key; tests use it to make
// expired or misaddressed tokens.
func (s *DevSigner) sign(claims any) (string, error) {
	return jwt.Signed(s.signer).Claims(claims).Serialize()
}

func readDevKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM PRIVATE KEY", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s: not a P-256 key", path)
	}
	return key, nil
}

// createDevKey writes a new key to path, unless another process got there
// first: the key goes to a temporary file that is then hard-linked into
// place, which fails if path exists, so no reader ever sees a partial file.
func createDevKey(path string) (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dev-token-key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600.
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readDevKey(path)
		}
		return nil, err
	}
	return key, nil
}
