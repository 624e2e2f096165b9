package auth

import (
	"errors"
	"net/http"
	"testing"

	"github.com/portico-dev/portico/internal/oidctest"
)

func TestOIDCConfigCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    OIDCConfig
		fields []string // the fields with errors, in order
	}{
		{name: "valid", cfg: OIDCConfig{Issuer: "https://securetoken.google.com/p", Audience: "p"}},
		{name: "loopback http", cfg: OIDCConfig{Issuer: "http://127.0.0.1:9000", Audience: "p", JWKSURL: "http://localhost:9000/jwks"}},
		{name: "empty", fields: []string{"Issuer", "Audience"}},
		{name: "http issuer", cfg: OIDCConfig{Issuer: "http://issuer.example.com", Audience: "p"}, fields: []string{"Issuer"}},
		{name: "relative", cfg: OIDCConfig{Issuer: "issuer.example.com", Audience: "p"}, fields: []string{"Issuer"}},
		{name: "userinfo", cfg: OIDCConfig{Issuer: "https://u:p@issuer.example.com", Audience: "p"}, fields: []string{"Issuer"}},
		{name: "bad JWKS URL", cfg: OIDCConfig{Issuer: "https://i.example.com", Audience: "p", JWKSURL: "ftp://x"}, fields: []string{"JWKSURL"}},
		{
			name:   "symmetric and none algorithms",
			cfg:    OIDCConfig{Issuer: "https://i.example.com", Audience: "p", Algorithms: []string{"RS256", "HS256", "none"}},
			fields: []string{"Algorithms", "Algorithms"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Check()
			var got []string
			if joined, ok := err.(interface{ Unwrap() []error }); ok {
				for _, e := range joined.Unwrap() {
					var ce *ConfigError
					if !errors.As(e, &ce) {
						t.Fatalf("error %v is not a *ConfigError", e)
					}
					got = append(got, ce.Field)
				}
			}
			if len(got) != len(tc.fields) {
				t.Fatalf("Check() = %v; want errors on %v", err, tc.fields)
			}
			for i := range got {
				if got[i] != tc.fields[i] {
					t.Errorf("Check() error %d on %s; want %s", i, got[i], tc.fields[i])
				}
			}
		})
	}
}

func TestNewOIDCVerifierDiscovery(t *testing.T) {
	t.Parallel()
	iss := oidctest.NewIssuer(t)
	v, err := NewOIDCVerifier(t.Context(), OIDCConfig{Issuer: iss.URL, Audience: oidctest.Audience})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.verifier; got == nil {
		t.Fatal("no verifier")
	}
	if _, err := v.Verify(t.Context(), iss.Token(t, "alice")); err != nil {
		t.Errorf("Verify() after discovery: %v", err)
	}

	// Discovery that names another issuer fails, as OpenID Connect
	// Discovery §4.3 requires.
	_, err = NewOIDCVerifier(t.Context(), OIDCConfig{Issuer: iss.URL + "/", Audience: oidctest.Audience})
	if err == nil {
		t.Error("NewOIDCVerifier() accepted a discovery document for another issuer")
	}
	// No discovery document.
	_, err = NewOIDCVerifier(t.Context(), OIDCConfig{Issuer: iss.URL + "/tenant", Audience: oidctest.Audience,
		HTTPClient: http.DefaultClient})
	if err == nil {
		t.Error("NewOIDCVerifier() without a discovery document succeeded")
	}
	// A configured JWKS URL skips discovery.
	v, err = NewOIDCVerifier(t.Context(), OIDCConfig{Issuer: "https://issuer.example.com", Audience: oidctest.Audience, JWKSURL: iss.JWKSURL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), iss.Token(t, "alice")); !errors.Is(err, errInvalidToken) {
		t.Errorf("token of another issuer: %v; want errInvalidToken", err)
	}
	claims := iss.Claims("alice")
	claims["iss"] = "https://issuer.example.com"
	if _, err := v.Verify(t.Context(), iss.Sign(t, claims)); err != nil {
		t.Errorf("Verify() with a configured JWKS URL: %v", err)
	}
}
