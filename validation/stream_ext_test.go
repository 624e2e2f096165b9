package validation_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"connectrpc.com/connect"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"google.golang.org/protobuf/proto"
)

// queueConn is a [connect.StreamingHandlerConn] whose Receive hands out
// queued messages, then io.EOF.
type queueConn struct {
	connect.StreamingHandlerConn // nil: other methods panic

	queue []proto.Message
}

func (c *queueConn) Spec() connect.Spec {
	return connect.Spec{Procedure: "/test.v1.TestService/Stream", StreamType: connect.StreamTypeClient}
}

func (c *queueConn) Receive(msg any) error {
	if len(c.queue) == 0 {
		return io.EOF
	}
	next := c.queue[0]
	c.queue = c.queue[1:]
	proto.Merge(msg.(proto.Message), next)
	return nil
}

func TestStreamingHandler(t *testing.T) {
	t.Parallel()
	icpt := newInterceptor(t)
	conn := &queueConn{queue: []proto.Message{
		validUpdate(),
		&profilev1.UpdateProfileRequest{DisplayName: "Bob", Email: "bob"},
		validUpdate(),
	}}
	var codes []connect.Code // 0 for a valid message
	handler := icpt.WrapStreamingHandler(func(_ context.Context, conn connect.StreamingHandlerConn) error {
		for {
			err := conn.Receive(&profilev1.UpdateProfileRequest{})
			if errors.Is(err, io.EOF) {
				return nil
			}
			codes = append(codes, connect.CodeOf(err))
			if err == nil {
				codes[len(codes)-1] = 0
			}
		}
	})
	if err := handler(t.Context(), conn); err != nil {
		t.Fatalf("handler error = %v", err)
	}
	want := []connect.Code{0, connect.CodeInvalidArgument, 0}
	if len(codes) != len(want) {
		t.Fatalf("codes = %v; want %v", codes, want)
	}
	for i := range want {
		if codes[i] != want[i] {
			t.Errorf("message %d: code %v; want %v", i, codes[i], want[i])
		}
	}
}

func TestStreamingClientPassthrough(t *testing.T) {
	t.Parallel()
	var called bool
	next := func(context.Context, connect.Spec) connect.StreamingClientConn {
		called = true
		return nil
	}
	newInterceptor(t).WrapStreamingClient(next)(t.Context(), connect.Spec{IsClient: true})
	if !called {
		t.Error("WrapStreamingClient did not call next")
	}
}
