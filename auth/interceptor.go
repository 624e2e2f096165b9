package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"connectrpc.com/connect"
)

// NewInterceptor returns a handler interceptor that authenticates every
// request and attaches the [Caller] to the handler's context, where
// [CallerFrom] finds it.
//
// A request with an Authorization header must carry exactly one
// "Bearer <token>" that a verifier of [WithTokenVerifiers] accepts. A
// request without one is authenticated by its [SessionCookie], if
// [WithSessions] is given. A request with neither fails with
// [connect.CodeUnauthenticated], unless its procedure is allowed with
// [AllowAnonymous]; then it proceeds without a caller.
//
// Every refusal is [connect.CodeUnauthenticated], with a message that says
// what was expected and never repeats the credentials or the server's
// configuration, and a WWW-Authenticate challenge (RFC 6750 §3) in its
// metadata; [WithLogger] logs the cause. The interceptor runs inside the
// handler, so a refusal still carries the CORS headers the gateway set, and
// CORS preflights, which the gateway answers, never reach it.
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
		ctx, err := i.authenticate(ctx, req.Spec().Procedure, req.Peer().Protocol, req.Header())
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
		ctx, err := i.authenticate(ctx, conn.Spec().Procedure, conn.Peer().Protocol, conn.RequestHeader())
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

// maxLoggedBytes bounds the reason of a refusal in a log line.
const maxLoggedBytes = 512

// authenticate returns ctx with the caller named by h, or ctx itself for an
// anonymous call to an anonymous procedure.
func (i *interceptor) authenticate(ctx context.Context, procedure, protocol string, h http.Header) (context.Context, error) {
	caller, err := i.callerFromHeader(ctx, h)
	switch {
	case err == nil:
		return WithCaller(ctx, caller), nil
	case (errors.Is(err, errNoCredentials) || errors.Is(err, errSessionInvalid)) && i.anonymous(procedure):
		return ctx, nil
	}
	if i.cfg.logger.Enabled(ctx, slog.LevelDebug) {
		// The reason may quote claims of the token: bound it.
		reason := err.Error()
		if len(reason) > maxLoggedBytes {
			reason = reason[:maxLoggedBytes] + "…"
		}
		i.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "auth: request refused",
			slog.String("procedure", procedure), slog.String("reason", reason))
	}
	cerr := toConnect(err)
	if protocol == connect.ProtocolGRPC {
		// gRPC sends error metadata as HTTP trailers, where authentication
		// fields are not allowed (RFC 9110 §6.5.1); the status says it all.
		cerr.Meta().Del("WWW-Authenticate")
	}
	return ctx, cerr
}

// callerFromHeader authenticates the request headers h.
func (i *interceptor) callerFromHeader(ctx context.Context, h http.Header) (Caller, error) {
	token, ok, err := bearerFromHeader(h)
	switch {
	case err != nil:
		return Caller{}, err
	case ok:
		return i.cfg.verifiers.verify(ctx, token)
	}
	if i.cfg.sessions != nil {
		if value, ok := SessionFromHeader(h); ok {
			caller, err := i.cfg.sessions.ResolveSession(ctx, value)
			if err != nil {
				return Caller{}, invalidSession(err)
			}
			if caller.Subject == "" {
				return Caller{}, invalidSession(errors.New("session has no subject"))
			}
			caller.Credential = CredentialSession
			return caller, nil
		}
	}
	return Caller{}, errNoCredentials
}

func (i *interceptor) anonymous(procedure string) bool {
	_, ok := i.cfg.anonymous[procedure]
	return ok
}
