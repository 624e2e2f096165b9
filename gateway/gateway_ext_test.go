package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/policy"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1portico"
)

// panicky panics in GetProfile and implements nothing else.
type panicky struct {
	profilev1connect.UnimplementedProfileServiceHandler
}

func (panicky) GetProfile(context.Context, *connect.Request[profilev1.GetProfileRequest]) (*connect.Response[profilev1.GetProfileResponse], error) {
	panic("boom")
}

// TestCORSOnHandlerFailures checks that a recovered panic and an
// unimplemented method, answered by connect-go itself, keep the CORS headers
// the gateway set before the handler ran.
func TestCORSOnHandlerFailures(t *testing.T) {
	t.Parallel()
	gw, err := gateway.New([]*policy.Service{profilev1portico.ProfileServicePolicy}, gateway.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	gw.Handle(profilev1connect.NewProfileServiceHandler(panicky{},
		connect.WithRecover(func(context.Context, connect.Spec, http.Header, any) error {
			return connect.NewError(connect.CodeInternal, errors.New("internal error"))
		})))
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		procedure string
		want      connect.Code
	}{
		{profilev1connect.ProfileServiceGetProfileProcedure, connect.CodeInternal},
		{profilev1connect.ProfileServiceDeleteProfileProcedure, connect.CodeUnimplemented},
	} {
		t.Run(tc.want.String(), func(t *testing.T) {
			t.Parallel()
			client := profilev1connect.NewProfileServiceClient(srv.Client(), srv.URL, connect.WithInterceptors(originInterceptor("https://app.example.com")))
			var err error
			switch tc.procedure {
			case profilev1connect.ProfileServiceGetProfileProcedure:
				_, err = client.GetProfile(context.Background(), connect.NewRequest(&profilev1.GetProfileRequest{}))
			default:
				_, err = client.DeleteProfile(context.Background(), connect.NewRequest(&profilev1.DeleteProfileRequest{}))
			}
			var ce *connect.Error
			if !errors.As(err, &ce) || ce.Code() != tc.want {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			header := ce.Meta()
			if header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || header.Get("Access-Control-Allow-Credentials") != "true" {
				t.Errorf("CORS headers missing on %v: %v", tc.want, header)
			}
		})
	}
}

// originInterceptor sends an Origin header, as a browser would.
func originInterceptor(origin string) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Origin", origin)
			return next(ctx, req)
		}
	}
}
