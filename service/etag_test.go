package service

import (
	"errors"
	"math"
	"strconv"
	"testing"
)

func TestParseETag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tag    string
		want   int64
		wantOK bool
	}{
		{tag: `"profile-v1"`, want: 1, wantOK: true},
		{tag: `"profile-v42"`, want: 42, wantOK: true},
		{tag: `"profile-v9223372036854775807"`, want: math.MaxInt64, wantOK: true},
		{tag: `"profile-v9223372036854775808"`},
		{tag: `"profile-v9999999999999999999"`},
		{tag: `"profile-v12345678901234567890"`},
		{tag: `"profile-v0"`},
		{tag: `"profile-v01"`},
		{tag: `"profile-v-1"`},
		{tag: `"profile-v+1"`},
		{tag: `"profile-v"`},
		{tag: `"profile-v1`},
		{tag: `profile-v1"`},
		{tag: `profile-v1`},
		{tag: `W/"profile-v1"`},
		{tag: ` "profile-v1"`},
		{tag: `"profile-v1" `},
		{tag: `"Profile-v1"`},
		{tag: `"profile-v1a"`},
		{tag: `"profile-v١"`}, // Arabic-Indic digit one
		{tag: `*`},
		{tag: ``},
	}
	for _, tc := range tests {
		t.Run(tc.tag, func(t *testing.T) {
			t.Parallel()
			got, ok := parseETag(tc.tag)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("parseETag(%q) = %d, %v; want %d, %v", tc.tag, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func FuzzETagRoundTrip(f *testing.F) {
	for _, seed := range []string{`"profile-v1"`, `"profile-v0"`, `"profile-v01"`, `W/"profile-v1"`, `*`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tag string) {
		v, ok := parseETag(tag)
		if !ok {
			return
		}
		if v < 1 {
			t.Errorf("parseETag(%q) = %d; want >= 1", tag, v)
		}
		if got := formatETag(v); got != tag {
			t.Errorf("formatETag(parseETag(%q)) = %q", tag, got)
		}
	})
}

func TestFormatETag(t *testing.T) {
	t.Parallel()
	for _, v := range []int64{1, 2, 10, math.MaxInt64} {
		tag := formatETag(v)
		if want := `"profile-v` + strconv.FormatInt(v, 10) + `"`; tag != want {
			t.Errorf("formatETag(%d) = %q; want %q", v, tag, want)
		}
		if got, ok := parseETag(tag); !ok || got != v {
			t.Errorf("parseETag(formatETag(%d)) = %d, %v", v, got, ok)
		}
	}
}

func TestPreconditionFrom(t *testing.T) {
	t.Parallel()
	v1 := precondition{tag: `"profile-v1"`, version: 1}
	star := precondition{tag: "*", version: anyVersion}
	tests := []struct {
		name    string
		ifMatch []string
		field   string
		want    precondition
		wantErr error
	}{
		{name: "none"},
		{name: "header", ifMatch: []string{`"profile-v1"`}, want: v1},
		{name: "header with whitespace", ifMatch: []string{" \t\"profile-v1\" "}, want: v1},
		{name: "header star", ifMatch: []string{"*"}, want: star},
		{name: "field", field: `"profile-v1"`, want: v1},
		{name: "field star", field: "*", want: star},
		{name: "both agree", ifMatch: []string{`"profile-v1"`}, field: `"profile-v1"`, want: v1},
		{name: "both star", ifMatch: []string{"*"}, field: "*", want: star},
		{name: "both disagree", ifMatch: []string{`"profile-v1"`}, field: `"profile-v2"`, wantErr: errPreconditionConflict},
		{name: "star and tag", ifMatch: []string{"*"}, field: `"profile-v1"`, wantErr: errPreconditionConflict},
		{name: "empty header", ifMatch: []string{""}, wantErr: errMalformedIfMatch},
		{name: "unquoted header", ifMatch: []string{"profile-v1"}, wantErr: errMalformedIfMatch},
		{name: "weak header", ifMatch: []string{`W/"profile-v1"`}, wantErr: errMalformedIfMatch},
		{name: "header list", ifMatch: []string{`"profile-v1", "profile-v2"`}, wantErr: errMalformedIfMatch},
		{name: "two headers", ifMatch: []string{`"profile-v1"`, `"profile-v1"`}, wantErr: errMalformedIfMatch},
		{name: "foreign tag", ifMatch: []string{`"abc"`}, wantErr: errMalformedIfMatch},
		{name: "malformed header beats field", ifMatch: []string{"x"}, field: `"profile-v1"`, wantErr: errMalformedIfMatch},
		{name: "malformed field", field: "profile-v1", wantErr: errMalformedETag},
		{name: "field with whitespace", field: ` "profile-v1"`, wantErr: errMalformedETag},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := preconditionFrom(tc.ifMatch, tc.field)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("preconditionFrom() error = %v; want %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("preconditionFrom() = %+v; want %+v", got, tc.want)
			}
		})
	}
}
