package accesslog

import (
	"context"

	"connectrpc.com/connect"
)

// Interceptor returns a connect interceptor that records each call's
// procedure and code for its access line. Errors connect-go raises before
// interceptors run (an oversized or undecodable message, a bad timeout) do
// not reach it; [Logger.Handler] reads those from the response instead.
func (l *Logger) Interceptor() connect.Interceptor { return interceptor{} }

type interceptor struct{}

func (interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		res, err := next(ctx, req)
		record(ctx, req.Spec().Procedure, err)
		return res, err
	}
}

func (interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		err := next(ctx, conn)
		record(ctx, conn.Spec().Procedure, err)
		return err
	}
}

// record notes the outcome of a call, as connect-go will send it: a context
// error becomes canceled or deadline_exceeded.
func record(ctx context.Context, procedure string, err error) {
	e, ok := ctx.Value(entryKey{}).(*entry)
	if !ok {
		return
	}
	e.procedure, e.hasCode = procedure, true
	if err != nil {
		e.code = connect.CodeOf(err)
	}
}
