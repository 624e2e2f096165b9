package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/policy"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1portico"
)

func TestOriginAllowed(t *testing.T) {
	t.Parallel()
	g, err := New([]*policy.Service{profilev1portico.ProfileServicePolicy},
		WithLogger(nil), WithOriginSet("web", "test", "https://*.example.dev", "http://127.0.0.1:5173"))
	if err != nil {
		t.Fatal(err)
	}
	g.Handle("/portico.profile.v1.ProfileService/", http.NotFoundHandler())
	g.Handle("/other.v1.Other/", http.NotFoundHandler())
	const (
		update = "/portico.profile.v1.ProfileService/UpdateProfile"
		public = "/portico.profile.v1.ProfileService/GetPublicProfile"
	)
	tests := []struct {
		procedure string
		origins   []string
		want      bool
	}{
		{update, []string{"https://app.example.com"}, true},
		{update, []string{"https://admin.example.com"}, true},
		{update, []string{"https://feature-1.example.dev"}, true},
		{update, []string{"http://127.0.0.1:5173"}, true},
		{update, []string{"https://evil.example.net"}, false},
		{update, []string{"https://app.example.com.evil.example.net"}, false},
		{update, []string{"http://app.example.com"}, false},
		{update, []string{"https://a.b.example.dev"}, false},
		{update, []string{"null"}, false},
		{update, []string{""}, false},
		{update, nil, false},
		{update, []string{"https://app.example.com", "https://app.example.com"}, false},
		{update, []string{"https://app.example.com, https://evil.example.net"}, false},
		{public, []string{"https://anyone.example.org"}, true},
		{public, []string{"null"}, false},
		{public, nil, false},
		{"/portico.profile.v1.ProfileService/Nope", []string{"https://app.example.com"}, true},
		{"/portico.profile.v1.ProfileService/Nope", []string{"https://evil.example.net"}, false},
		{"/portico.profile.v1.ProfileService/", []string{"https://app.example.com"}, true},
		{"/other.v1.Other/Method", []string{"https://app.example.com"}, false},
		{"nope", []string{"https://app.example.com"}, false},
		{"", []string{"https://app.example.com"}, false},
	}
	for _, tc := range tests {
		name := strings.TrimPrefix(tc.procedure, "/portico.profile.v1.ProfileService/") + " " + strings.Join(tc.origins, "|")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// The same verdict as CORS on an actual request.
			got := g.OriginAllowed(tc.procedure, tc.origins)
			if got != tc.want {
				t.Errorf("OriginAllowed(%q, %q) = %v; want %v", tc.procedure, tc.origins, got, tc.want)
			}
			if rt, _ := g.policyOf(tc.procedure); rt != nil {
				h := make(http.Header)
				granted := !rt.decorate(h, tc.origins) && h[headerAllowOrigin] != nil
				if granted != got {
					t.Errorf("actual request granted = %v, OriginAllowed = %v", granted, got)
				}
			}
		})
	}
}

func BenchmarkOriginAllowed(b *testing.B) {
	g, err := New([]*policy.Service{profilev1portico.ProfileServicePolicy},
		WithLogger(nil), WithOriginSet("web", "bench", "https://*.example.dev"))
	if err != nil {
		b.Fatal(err)
	}
	const update = "/portico.profile.v1.ProfileService/UpdateProfile"
	for _, bc := range []struct {
		name    string
		origins []string
	}{
		{"exact", []string{"https://app.example.com"}},
		{"wildcard", []string{"https://feature-123.example.dev"}},
		{"refused", []string{"https://evil.example.net"}},
		// Adversarial: a long origin that almost matches the wildcard.
		{"adversarial", []string{"https://" + strings.Repeat("a", 4096) + ".example.dev.evil.example.net"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g.OriginAllowed(update, bc.origins)
			}
		})
	}
}
