package auth

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

var bearerCases = []struct {
	name    string
	values  []string // Authorization field values; nil for none
	want    string   // the token, if wantErr is nil and the field is present
	wantErr error
}{
	{name: "valid", values: []string{"Bearer abc.def.ghi"}, want: "abc.def.ghi"},
	{name: "lower-case scheme", values: []string{"bearer abc"}, want: "abc"},
	{name: "upper-case scheme", values: []string{"BEARER abc"}, want: "abc"},
	{name: "several spaces", values: []string{"Bearer   abc"}, want: "abc"},
	{name: "surrounding whitespace", values: []string{" Bearer abc\t"}, want: "abc"},
	{name: "longest token", values: []string{"Bearer " + strings.Repeat("a", maxTokenLen)}, want: strings.Repeat("a", maxTokenLen)},
	{name: "missing"},
	{name: "empty", values: []string{""}, wantErr: errMalformed},
	{name: "two values", values: []string{"Bearer a", "Bearer b"}, wantErr: errMalformed},
	{name: "scheme only", values: []string{"Bearer"}, wantErr: errMalformed},
	{name: "scheme and space", values: []string{"Bearer "}, wantErr: errMalformed},
	{name: "tab separator", values: []string{"Bearer\tabc"}, wantErr: errMalformed},
	{name: "trailing garbage", values: []string{"Bearer abc extra"}, wantErr: errMalformed},
	{name: "token too long", values: []string{"Bearer " + strings.Repeat("a", maxTokenLen+1)}, wantErr: errMalformed},
	{name: "basic", values: []string{"Basic YWxpY2U6c2VjcmV0"}, wantErr: errNotBearer},
	{name: "no scheme", values: []string{"abc.def.ghi"}, wantErr: errNotBearer},
	{name: "bearer prefix of scheme", values: []string{"Bearerx abc"}, wantErr: errNotBearer},
}

func TestBearerFromHeader(t *testing.T) {
	t.Parallel()
	for _, tc := range bearerCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := make(http.Header)
			for _, v := range tc.values {
				h.Add("Authorization", v)
			}
			got, ok, err := bearerFromHeader(h)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("bearerFromHeader() error = %v; want %v", err, tc.wantErr)
			}
			if ok != (len(tc.values) > 0) {
				t.Errorf("bearerFromHeader() present = %v with %d values", ok, len(tc.values))
			}
			if err == nil && got != tc.want {
				t.Errorf("bearerFromHeader() = %q; want %q", got, tc.want)
			}
		})
	}
}

func FuzzBearerToken(f *testing.F) {
	for _, tc := range bearerCases {
		if len(tc.values) == 1 {
			f.Add(tc.values[0])
		}
	}
	f.Fuzz(func(t *testing.T, value string) {
		token, err := bearerToken(value)
		if err != nil {
			if token != "" {
				t.Errorf("bearerToken(%q) = %q with error %v", value, token, err)
			}
			// Only the constant sentinels reach clients, so no input can be
			// echoed in a message.
			if !slices.Contains([]error{errMalformed, errNotBearer}, err) {
				t.Errorf("bearerToken(%q) error = %v; want a sentinel", value, err)
			}
			return
		}
		if token == "" || len(token) > maxTokenLen || strings.ContainsAny(token, " \t") {
			t.Errorf("bearerToken(%q) = %q", value, token)
		}
		if !strings.HasSuffix(strings.TrimRight(value, " \t"), " "+token) {
			t.Errorf("bearerToken(%q) = %q, not at the end of the value", value, token)
		}
	})
}

func TestSessionFromHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		lines  []string
		want   string
		wantOK bool
	}{
		{name: "none"},
		{name: "only", lines: []string{SessionCookie + "=abc"}, want: "abc", wantOK: true},
		{name: "among others", lines: []string{"a=1; " + SessionCookie + "=abc; b=2"}, want: "abc", wantOK: true},
		{name: "second line", lines: []string{"a=1", SessionCookie + "=abc"}, want: "abc", wantOK: true},
		{name: "malformed neighbour skipped", lines: []string{"x y=1; " + SessionCookie + "=abc"}, want: "abc", wantOK: true},
		{name: "first wins", lines: []string{SessionCookie + "=abc; " + SessionCookie + "=def"}, want: "abc", wantOK: true},
		{name: "empty value", lines: []string{SessionCookie + "="}},
		{name: "without prefix", lines: []string{"portico_session=abc"}},
		{name: "case differs", lines: []string{"__host-portico_session=abc"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := SessionFromHeader(http.Header{"Cookie": tc.lines})
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("SessionFromHeader(%q) = %q, %v; want %q, %v", tc.lines, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestValidDevSubject(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"alice": true, "0a_b-c": true, strings.Repeat("a", 64): true,
		"": false, strings.Repeat("a", 65): false, "Alice": false, "-alice": false,
		"_alice": false, "alice.smith": false, "zoë": false,
	} {
		if got := validDevSubject(s); got != want {
			t.Errorf("validDevSubject(%q) = %v; want %v", s, got, want)
		}
	}
}

func TestValidSubject(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"alice": true, "1234567890": true, "Xy3kLmN0pQ": true, "auth0|abc": true, strings.Repeat("a", 255): true,
		"": false, strings.Repeat("a", 256): false, "a b": false, "a\x00": false, "zoë": false,
	} {
		if got := validSubject(s); got != want {
			t.Errorf("validSubject(%q) = %v; want %v", s, got, want)
		}
	}
}
