package auth

import (
	"context"
	"errors"
	"net/http"

	"connectrpc.com/connect"
)

// NewInterceptor returns a handler interceptor that authenticates every
// request with a development bearer token (see the package doc) and attaches
// the [Caller] to the handler's context, where [CallerFrom] finds it.
//
// A request without an Authorization header fails with
// [connect.CodeUnauthenticated], unless its procedure is allowed with
// [AllowAnonymous]; then it proceeds without a caller. A request whose
// header is present but is not exactly one "Bearer dev-<subject>" with a
// valid subject always fails with [connect.CodeUnauthenticated], whose
// message says what was expected and never repeats the credentials. Such
// errors carry a WWW-Authenticate challenge (RFC 6750 §3) in their metadata.
//
// Streaming handlers are authenticated once, from the request headers,
// before the handler runs. On clients the interceptor does nothing. The
// interceptor is safe for concurrent use.
func NewInterceptor(opts ...Option) connect.Interceptor {
	return &interceptor{cfg: newConfig(opts)}
}

type interceptor struct {
	cfg *config
}

// WrapUnary implements [connect.Interceptor].
func (i *interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, err := i.authenticate(ctx, req.Spec().Procedure, req.Header())
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient implements [connect.Interceptor]; it returns next.
func (i *interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements [connect.Interceptor].
func (i *interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := i.authenticate(ctx, conn.Spec().Procedure, conn.RequestHeader())
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

// authenticate returns ctx with the caller named by h, or ctx itself for an
// anonymous call to an anonymous procedure.
func (i *interceptor) authenticate(ctx context.Context, procedure string, h http.Header) (context.Context, error) {
	caller, err := callerFromHeader(h)
	switch {
	case err == nil:
		return WithCaller(ctx, caller), nil
	case errors.Is(err, errNoCredentials) && i.anonymous(procedure):
		return ctx, nil
	default:
		return ctx, toConnect(err)
	}
}

func (i *interceptor) anonymous(procedure string) bool {
	_, ok := i.cfg.anonymous[procedure]
	return ok
}
