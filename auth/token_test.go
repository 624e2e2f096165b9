package auth

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

var tokenCases = []struct {
	name    string
	values  []string // Authorization field values; nil for none
	want    string   // the subject, if wantErr is nil
	wantErr error
}{
	{name: "valid", values: []string{"Bearer dev-alice"}, want: "alice"},
	{name: "lower-case scheme", values: []string{"bearer dev-alice"}, want: "alice"},
	{name: "upper-case scheme", values: []string{"BEARER dev-alice"}, want: "alice"},
	{name: "several spaces", values: []string{"Bearer   dev-alice"}, want: "alice"},
	{name: "surrounding whitespace", values: []string{" Bearer dev-alice\t"}, want: "alice"},
	{name: "digits dashes underscores", values: []string{"Bearer dev-0a_b-c"}, want: "0a_b-c"},
	{name: "longest subject", values: []string{"Bearer dev-" + strings.Repeat("a", 64)}, want: strings.Repeat("a", 64)},
	{name: "missing", wantErr: errNoCredentials},
	{name: "empty", values: []string{""}, wantErr: errMalformed},
	{name: "two values", values: []string{"Bearer dev-alice", "Bearer dev-bob"}, wantErr: errMalformed},
	{name: "scheme only", values: []string{"Bearer"}, wantErr: errMalformed},
	{name: "scheme and space", values: []string{"Bearer "}, wantErr: errMalformed},
	{name: "tab separator", values: []string{"Bearer\tdev-alice"}, wantErr: errMalformed},
	{name: "trailing garbage", values: []string{"Bearer dev-alice extra"}, wantErr: errMalformed},
	{name: "basic", values: []string{"Basic YWxpY2U6c2VjcmV0"}, wantErr: errNotBearer},
	{name: "no scheme", values: []string{"dev-alice"}, wantErr: errNotBearer},
	{name: "bearer prefix of scheme", values: []string{"Bearerx dev-alice"}, wantErr: errNotBearer},
	{name: "jwt", values: []string{"Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig"}, wantErr: errNotDevToken},
	{name: "upper-case prefix", values: []string{"Bearer DEV-alice"}, wantErr: errNotDevToken},
	{name: "empty subject", values: []string{"Bearer dev-"}, wantErr: errInvalidSubject},
	{name: "upper-case subject", values: []string{"Bearer dev-Alice"}, wantErr: errInvalidSubject},
	{name: "subject starts with dash", values: []string{"Bearer dev--alice"}, wantErr: errInvalidSubject},
	{name: "subject starts with underscore", values: []string{"Bearer dev-_alice"}, wantErr: errInvalidSubject},
	{name: "subject with dot", values: []string{"Bearer dev-alice.smith"}, wantErr: errInvalidSubject},
	{name: "subject too long", values: []string{"Bearer dev-" + strings.Repeat("a", 65)}, wantErr: errInvalidSubject},
	{name: "non-ASCII subject", values: []string{"Bearer dev-zoë"}, wantErr: errInvalidSubject},
}

func TestCallerFromHeader(t *testing.T) {
	t.Parallel()
	for _, tc := range tokenCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := make(http.Header)
			for _, v := range tc.values {
				h.Add("Authorization", v)
			}
			got, err := callerFromHeader(h)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("callerFromHeader() error = %v; want %v", err, tc.wantErr)
			}
			if err == nil && got.Subject != tc.want {
				t.Errorf("callerFromHeader() subject = %q; want %q", got.Subject, tc.want)
			}
		})
	}
}

func FuzzCallerFromHeader(f *testing.F) {
	for _, tc := range tokenCases {
		if len(tc.values) == 1 {
			f.Add(tc.values[0])
		}
	}
	f.Fuzz(func(t *testing.T, value string) {
		h := http.Header{"Authorization": {value}}
		c, err := callerFromHeader(h)
		if err != nil {
			if c != (Caller{}) {
				t.Errorf("callerFromHeader(%q) = %+v with error %v", value, c, err)
			}
			// Only the constant sentinels reach clients, so no input can be
			// echoed in a message.
			sentinels := []error{errMalformed, errNotBearer, errNotDevToken, errInvalidSubject}
			if !slices.Contains(sentinels, err) {
				t.Errorf("callerFromHeader(%q) error = %v; want a sentinel", value, err)
			}
			return
		}
		if !validSubject(c.Subject) {
			t.Errorf("callerFromHeader(%q) returned invalid subject %q", value, c.Subject)
		}
		if !strings.HasSuffix(strings.TrimRight(value, " \t"), " "+devPrefix+c.Subject) {
			t.Errorf("callerFromHeader(%q) returned subject %q not at the end of the value", value, c.Subject)
		}
	})
}
