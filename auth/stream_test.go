package auth

import (
	"context"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
)

// fakeHandlerConn is a [connect.StreamingHandlerConn] with only a spec and
// request headers.
type fakeHandlerConn struct {
	connect.StreamingHandlerConn // nil: other methods panic

	spec   connect.Spec
	header http.Header
}

func (c *fakeHandlerConn) Spec() connect.Spec         { return c.spec }
func (c *fakeHandlerConn) RequestHeader() http.Header { return c.header }
func (c *fakeHandlerConn) Peer() connect.Peer         { return connect.Peer{Protocol: connect.ProtocolConnect} }

func TestWrapStreamingHandler(t *testing.T) {
	t.Parallel()
	const (
		public  = "/test.v1.TestService/Public"
		private = "/test.v1.TestService/Private"
	)
	dev, err := LoadDevSigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	token, err := dev.Token("alice", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	icpt := NewInterceptor(AllowAnonymous(public), WithTokenVerifiers(dev))
	tests := []struct {
		name      string
		procedure string
		header    http.Header
		want      Caller
		wantOK    bool
		wantCode  connect.Code // 0 for success
	}{
		{
			name: "valid", procedure: private,
			header: http.Header{"Authorization": {"Bearer " + token}},
			want:   Caller{Subject: "alice", Issuer: DevIssuer, Credential: CredentialBearer}, wantOK: true,
		},
		{name: "missing", procedure: private, header: http.Header{}, wantCode: connect.CodeUnauthenticated},
		{name: "anonymous", procedure: public, header: http.Header{}},
		{
			name: "invalid on anonymous", procedure: public,
			header:   http.Header{"Authorization": {"Bearer " + token[:len(token)-4]}},
			wantCode: connect.CodeUnauthenticated,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var (
				called bool
				got    Caller
				gotOK  bool
			)
			next := icpt.WrapStreamingHandler(func(ctx context.Context, _ connect.StreamingHandlerConn) error {
				called = true
				got, gotOK = CallerFrom(ctx)
				return nil
			})
			conn := &fakeHandlerConn{
				spec:   connect.Spec{Procedure: tc.procedure, StreamType: connect.StreamTypeBidi},
				header: tc.header,
			}
			err := next(t.Context(), conn)
			if tc.wantCode != 0 {
				if got := connect.CodeOf(err); got != tc.wantCode {
					t.Errorf("code = %v; want %v", got, tc.wantCode)
				}
				if called {
					t.Error("handler ran for a refused stream")
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if got != tc.want || gotOK != tc.wantOK {
				t.Errorf("CallerFrom() = %+v, %v; want %+v, %v", got, gotOK, tc.want, tc.wantOK)
			}
		})
	}
}

func TestWrapStreamingClientPassthrough(t *testing.T) {
	t.Parallel()
	var called bool
	next := func(context.Context, connect.Spec) connect.StreamingClientConn {
		called = true
		return nil
	}
	NewInterceptor().WrapStreamingClient(next)(t.Context(), connect.Spec{IsClient: true})
	if !called {
		t.Error("WrapStreamingClient did not call next")
	}
}
