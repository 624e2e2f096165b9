package app

import (
	"context"
	"time"

	"connectrpc.com/connect"
)

// capTimeout returns an interceptor that gives unary calls a deadline of at
// most limit from their start. connect-go has already applied the client's
// own deadline (Connect-Timeout-Ms, grpc-timeout) to the context, so a
// shorter client deadline wins and the call ends with deadline_exceeded.
func capTimeout(limit time.Duration) connect.Interceptor {
	return connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > limit {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, limit)
				defer cancel()
			}
			return next(ctx, req)
		}
	})
}
