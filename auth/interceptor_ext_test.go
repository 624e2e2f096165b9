package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/portico-dev/portico/auth"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
)

// echoService answers with the subject of the caller it sees, or
// "<anonymous>" for none.
type echoService struct {
	profilev1connect.UnimplementedProfileServiceHandler
}

const anonymous = "<anonymous>"

func subject(ctx context.Context) string {
	if c, ok := auth.CallerFrom(ctx); ok {
		return c.Subject
	}
	return anonymous
}

func (echoService) GetProfile(ctx context.Context, _ *connect.Request[profilev1.GetProfileRequest]) (*connect.Response[profilev1.GetProfileResponse], error) {
	return connect.NewResponse(&profilev1.GetProfileResponse{Profile: &profilev1.Profile{Id: subject(ctx)}}), nil
}

func (echoService) GetPublicProfile(ctx context.Context, _ *connect.Request[profilev1.GetPublicProfileRequest]) (*connect.Response[profilev1.GetPublicProfileResponse], error) {
	return connect.NewResponse(&profilev1.GetPublicProfileResponse{Profile: &profilev1.PublicProfile{Id: subject(ctx)}}), nil
}

// newClient serves echoService behind the interceptor and returns a client
// for it.
func newClient(tb testing.TB, opts ...auth.Option) profilev1connect.ProfileServiceClient {
	tb.Helper()
	mux := http.NewServeMux()
	mux.Handle(profilev1connect.NewProfileServiceHandler(
		echoService{},
		connect.WithInterceptors(auth.NewInterceptor(opts...)),
	))
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return profilev1connect.NewProfileServiceClient(srv.Client(), srv.URL)
}

func TestInterceptor(t *testing.T) {
	t.Parallel()
	client := newClient(t, auth.AllowAnonymous(profilev1connect.ProfileServiceGetPublicProfileProcedure))
	secret := "dev-Not_A-Valid.Subject"
	tests := []struct {
		name      string
		public    bool     // call GetPublicProfile, else GetProfile
		header    []string // Authorization values
		want      string   // the subject the handler saw
		wantMsg   string   // part of the error message; "" for success
		challenge string   // the WWW-Authenticate metadata
	}{
		{name: "valid", header: []string{"Bearer dev-alice"}, want: "alice"},
		{name: "valid on anonymous procedure", public: true, header: []string{"Bearer dev-alice"}, want: "alice"},
		{name: "anonymous procedure without header", public: true, want: anonymous},
		{
			name: "missing", wantMsg: "missing credentials",
			challenge: "Bearer",
		},
		{
			name: "malformed", header: []string{"Bearer"}, wantMsg: "malformed Authorization header",
			challenge: `Bearer error="invalid_request"`,
		},
		{
			name: "two headers", header: []string{"Bearer dev-alice", "Bearer dev-bob"}, wantMsg: "malformed Authorization header",
			challenge: `Bearer error="invalid_request"`,
		},
		{
			name: "not bearer", header: []string{"Basic YWxpY2U6c2VjcmV0"}, wantMsg: "unsupported authorization scheme",
			challenge: `Bearer error="invalid_request"`,
		},
		{
			name: "not a dev token", header: []string{"Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig"}, wantMsg: "unrecognized bearer token",
			challenge: `Bearer error="invalid_token"`,
		},
		{
			name: "invalid subject", header: []string{"Bearer " + secret}, wantMsg: "invalid development token",
			challenge: `Bearer error="invalid_token"`,
		},
		{
			name: "invalid on anonymous procedure", public: true, header: []string{"Bearer " + secret}, wantMsg: "invalid development token",
			challenge: `Bearer error="invalid_token"`,
		},
		{
			name: "not bearer on anonymous procedure", public: true, header: []string{"Basic YWxpY2U6c2VjcmV0"}, wantMsg: "unsupported authorization scheme",
			challenge: `Bearer error="invalid_request"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var (
				got string
				err error
			)
			if tc.public {
				req := connect.NewRequest(&profilev1.GetPublicProfileRequest{Id: "bob"})
				for _, v := range tc.header {
					req.Header().Add("Authorization", v)
				}
				var res *connect.Response[profilev1.GetPublicProfileResponse]
				if res, err = client.GetPublicProfile(t.Context(), req); err == nil {
					got = res.Msg.GetProfile().GetId()
				}
			} else {
				req := connect.NewRequest(&profilev1.GetProfileRequest{})
				for _, v := range tc.header {
					req.Header().Add("Authorization", v)
				}
				var res *connect.Response[profilev1.GetProfileResponse]
				if res, err = client.GetProfile(t.Context(), req); err == nil {
					got = res.Msg.GetProfile().GetId()
				}
			}
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("call failed: %v", err)
				}
				if got != tc.want {
					t.Errorf("handler saw caller %q; want %q", got, tc.want)
				}
				return
			}
			var cerr *connect.Error
			if !errors.As(err, &cerr) {
				t.Fatalf("call error = %v; want a *connect.Error", err)
			}
			if cerr.Code() != connect.CodeUnauthenticated {
				t.Errorf("code = %v; want %v", cerr.Code(), connect.CodeUnauthenticated)
			}
			if !strings.Contains(cerr.Message(), tc.wantMsg) {
				t.Errorf("message = %q; want it to contain %q", cerr.Message(), tc.wantMsg)
			}
			for _, v := range tc.header {
				if _, token, _ := strings.Cut(v, " "); token != "" && strings.Contains(cerr.Message(), token) {
					t.Errorf("message %q repeats the token %q", cerr.Message(), token)
				}
			}
			if got := cerr.Meta().Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate = %q; want %q", got, tc.challenge)
			}
		})
	}
}

func TestInterceptorNoAnonymousByDefault(t *testing.T) {
	t.Parallel()
	client := newClient(t)
	_, err := client.GetPublicProfile(t.Context(), connect.NewRequest(&profilev1.GetPublicProfileRequest{Id: "bob"}))
	if got := connect.CodeOf(err); got != connect.CodeUnauthenticated {
		t.Errorf("code = %v; want %v", got, connect.CodeUnauthenticated)
	}
}

func TestInterceptorClientPassthrough(t *testing.T) {
	t.Parallel()
	// A server without the interceptor, and a client with it: the client must
	// neither add nor require credentials.
	mux := http.NewServeMux()
	mux.Handle(profilev1connect.NewProfileServiceHandler(echoService{}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := profilev1connect.NewProfileServiceClient(srv.Client(), srv.URL,
		connect.WithInterceptors(auth.NewInterceptor()))
	res, err := client.GetProfile(t.Context(), connect.NewRequest(&profilev1.GetProfileRequest{}))
	if err != nil {
		t.Fatalf("GetProfile() error = %v", err)
	}
	if got := res.Msg.GetProfile().GetId(); got != anonymous {
		t.Errorf("handler saw caller %q; want %q", got, anonymous)
	}
}
