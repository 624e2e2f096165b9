package validation_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"buf.build/go/protovalidate"
	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	"github.com/portico-dev/portico/validation"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

func newInterceptor(tb testing.TB, opts ...validation.Option) connect.Interceptor {
	tb.Helper()
	icpt, err := validation.NewInterceptor(opts...)
	if err != nil {
		tb.Fatalf("NewInterceptor() error = %v", err)
	}
	return icpt
}

// violations returns the "field: rule" pairs of the *validate.Violations
// detail of err, sorted, failing tb unless err is an invalid_argument error
// with exactly one such detail.
func violations(tb testing.TB, err error) []string {
	tb.Helper()
	var cerr *connect.Error
	if !errors.As(err, &cerr) {
		tb.Fatalf("error = %v; want a *connect.Error", err)
	}
	if cerr.Code() != connect.CodeInvalidArgument {
		tb.Fatalf("code = %v; want %v", cerr.Code(), connect.CodeInvalidArgument)
	}
	if len(cerr.Details()) != 1 {
		tb.Fatalf("got %d error details; want 1", len(cerr.Details()))
	}
	value, err := cerr.Details()[0].Value()
	if err != nil {
		tb.Fatalf("decode detail: %v", err)
	}
	vs, ok := value.(*validate.Violations)
	if !ok {
		tb.Fatalf("detail is a %T; want *validate.Violations", value)
	}
	var got []string
	for _, v := range vs.GetViolations() {
		got = append(got, protovalidate.FieldPathString(v.GetField())+": "+v.GetRuleId())
	}
	slices.Sort(got)
	return got
}

func validUpdate() *profilev1.UpdateProfileRequest {
	return &profilev1.UpdateProfileRequest{
		DisplayName: "Alice",
		Email:       "alice@example.com",
		Bio:         "Hello.",
		Etag:        `"profile-v7"`,
	}
}

func TestUnary(t *testing.T) {
	t.Parallel()
	icpt := newInterceptor(t)
	update := func(edit func(*profilev1.UpdateProfileRequest)) *profilev1.UpdateProfileRequest {
		m := validUpdate()
		edit(m)
		return m
	}
	tests := []struct {
		name string
		req  connect.AnyRequest
		want []string // "field: rule" of each violation; none for a valid message
	}{
		{name: "valid update", req: connect.NewRequest(validUpdate())},
		{
			name: "valid update without etag",
			req:  connect.NewRequest(update(func(m *profilev1.UpdateProfileRequest) { m.Etag = "" })),
		},
		{
			name: "valid update with star",
			req:  connect.NewRequest(update(func(m *profilev1.UpdateProfileRequest) { m.Etag = "*" })),
		},
		{
			name: "bad email",
			req:  connect.NewRequest(update(func(m *profilev1.UpdateProfileRequest) { m.Email = "not an email" })),
			want: []string{"email: string.email"},
		},
		{
			name: "empty display name",
			req:  connect.NewRequest(update(func(m *profilev1.UpdateProfileRequest) { m.DisplayName = "" })),
			want: []string{"display_name: string.min_len"},
		},
		{
			name: "bio too long",
			req:  connect.NewRequest(update(func(m *profilev1.UpdateProfileRequest) { m.Bio = strings.Repeat("é", 281) })),
			want: []string{"bio: string.max_len"},
		},
		{
			name: "unquoted etag",
			req:  connect.NewRequest(update(func(m *profilev1.UpdateProfileRequest) { m.Etag = "profile-v7" })),
			want: []string{"etag: string.pattern"},
		},
		{
			name: "everything wrong",
			req: connect.NewRequest(&profilev1.UpdateProfileRequest{
				Email: "@", Bio: strings.Repeat("x", 281), Etag: `W/"profile-v1"`,
			}),
			want: []string{"bio: string.max_len", "display_name: string.min_len", "email: string.email", "etag: string.pattern"},
		},
		{
			name: "bad public profile id",
			req:  connect.NewRequest(&profilev1.GetPublicProfileRequest{Id: "Alice"}),
			want: []string{"id: string.pattern"},
		},
		{
			name: "bad delete etag",
			req:  connect.NewRequest(&profilev1.DeleteProfileRequest{Etag: `"profile-v0"`}),
			want: []string{"etag: string.pattern"},
		},
		{name: "no rules", req: connect.NewRequest(&profilev1.GetProfileRequest{})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var called bool
			next := icpt.WrapUnary(func(context.Context, connect.AnyRequest) (connect.AnyResponse, error) {
				called = true
				return nil, nil
			})
			_, err := next(t.Context(), tc.req)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("error = %v; want none", err)
				}
				if !called {
					t.Error("handler did not run for a valid message")
				}
				return
			}
			if called {
				t.Error("handler ran for an invalid message")
			}
			if diff := cmp.Diff(tc.want, violations(t, err)); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOverTheWire checks that the violations survive the Connect protocol.
func TestOverTheWire(t *testing.T) {
	t.Parallel()
	var got *profilev1.UpdateProfileRequest
	svc := &recordingService{got: &got}
	mux := http.NewServeMux()
	mux.Handle(profilev1connect.NewProfileServiceHandler(svc, connect.WithInterceptors(newInterceptor(t))))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := profilev1connect.NewProfileServiceClient(srv.Client(), srv.URL)

	bad := &profilev1.UpdateProfileRequest{Email: "nope", Etag: "profile-v1"}
	_, err := client.UpdateProfile(t.Context(), connect.NewRequest(bad))
	want := []string{"display_name: string.min_len", "email: string.email", "etag: string.pattern"}
	if diff := cmp.Diff(want, violations(t, err)); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	if got != nil {
		t.Errorf("handler received invalid message %v", got)
	}

	if _, err := client.UpdateProfile(t.Context(), connect.NewRequest(validUpdate())); err != nil {
		t.Fatalf("valid UpdateProfile() error = %v", err)
	}
	if diff := cmp.Diff(validUpdate(), got, protocmp.Transform()); diff != "" {
		t.Errorf("handler received (-want +got):\n%s", diff)
	}
}

type recordingService struct {
	profilev1connect.UnimplementedProfileServiceHandler

	got **profilev1.UpdateProfileRequest
}

func (s *recordingService) UpdateProfile(_ context.Context, req *connect.Request[profilev1.UpdateProfileRequest]) (*connect.Response[profilev1.UpdateProfileResponse], error) {
	*s.got = req.Msg
	return connect.NewResponse(&profilev1.UpdateProfileResponse{}), nil
}

// TestClientPassthrough checks that clients send invalid messages unchecked.
func TestClientPassthrough(t *testing.T) {
	t.Parallel()
	var got *profilev1.UpdateProfileRequest
	mux := http.NewServeMux()
	mux.Handle(profilev1connect.NewProfileServiceHandler(&recordingService{got: &got}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := profilev1connect.NewProfileServiceClient(srv.Client(), srv.URL,
		connect.WithInterceptors(newInterceptor(t)))
	bad := &profilev1.UpdateProfileRequest{Email: "nope"}
	if _, err := client.UpdateProfile(t.Context(), connect.NewRequest(bad)); err != nil {
		t.Fatalf("UpdateProfile() error = %v", err)
	}
	if diff := cmp.Diff(bad, got, protocmp.Transform()); diff != "" {
		t.Errorf("handler received (-want +got):\n%s", diff)
	}
}

// failingValidator fails every validation with err.
type failingValidator struct{ err error }

func (v failingValidator) Validate(proto.Message, ...protovalidate.ValidationOption) error {
	return v.err
}

func TestInternal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
	}{
		{name: "compilation error", err: &protovalidate.CompilationError{}},
		{name: "runtime error", err: &protovalidate.RuntimeError{}},
		{name: "other error", err: errors.New("secret cause")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			icpt := newInterceptor(t,
				validation.WithValidator(failingValidator{err: tc.err}),
				validation.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
			)
			next := icpt.WrapUnary(func(context.Context, connect.AnyRequest) (connect.AnyResponse, error) {
				t.Error("handler ran")
				return nil, nil
			})
			_, err := next(t.Context(), connect.NewRequest(validUpdate()))
			var cerr *connect.Error
			if !errors.As(err, &cerr) {
				t.Fatalf("error = %v; want a *connect.Error", err)
			}
			if cerr.Code() != connect.CodeInternal || cerr.Message() != "internal error" {
				t.Errorf("error = %v; want internal: internal error", cerr)
			}
			if len(cerr.Details()) != 0 {
				t.Errorf("internal error has %d details; want none", len(cerr.Details()))
			}
			if !strings.Contains(logs.String(), tc.err.Error()) {
				t.Errorf("log %q does not record the cause %q", logs.String(), tc.err)
			}
		})
	}
}
