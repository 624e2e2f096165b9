package validation

import (
	"context"

	"connectrpc.com/connect"
)

// handlerConn validates each message a streaming handler receives.
type handlerConn struct {
	connect.StreamingHandlerConn

	ctx         context.Context // the stream's, for logging from Receive
	interceptor *interceptor
}

// Receive implements [connect.StreamingHandlerConn]. It returns a
// *connect.Error if the received message is invalid; the stream stays open,
// and the handler decides whether to go on.
func (c *handlerConn) Receive(msg any) error {
	if err := c.StreamingHandlerConn.Receive(msg); err != nil {
		return err
	}
	return c.interceptor.validate(c.ctx, c.Spec(), msg)
}
