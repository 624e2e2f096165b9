// Package validation checks request messages against the rules their
// Protobuf schemas declare with buf.validate options, before a Connect
// handler sees them.
//
// It is built directly on [buf.build/go/protovalidate], for connect-go v1
// ([connectrpc.com/connect]). Start with [NewInterceptor] and install the
// result with [connectrpc.com/connect.WithInterceptors]:
//
//	icpt, err := validation.NewInterceptor()
//	if err != nil {
//		return err
//	}
//	mux.Handle(profilev1connect.NewProfileServiceHandler(svc, connect.WithInterceptors(icpt)))
//
// An invalid request fails with [connect.CodeInvalidArgument] and a
// [buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate.Violations]
// error detail that names each offending field and rule.
package validation

import (
	"context"
	"fmt"

	"buf.build/go/protovalidate"
	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
)

// NewInterceptor returns a handler interceptor that validates every request
// message: the request of a unary call before the handler runs, and each
// message a streaming handler receives, as it is received. Responses are not
// validated, and on clients the interceptor does nothing.
//
// A message that breaks its rules fails the call with
// [connect.CodeInvalidArgument]; the error carries the violations as a
// *validate.Violations detail. Any other failure to validate, such as rules
// that do not compile or a request that is not a Protobuf message, fails with
// [connect.CodeInternal] and the generic message "internal error"; the cause
// is logged (see [WithLogger]).
//
// Unless [WithValidator] is given, NewInterceptor builds a validator with
// [protovalidate.New], and returns its error if that fails. The interceptor
// is safe for concurrent use.
func NewInterceptor(opts ...Option) (connect.Interceptor, error) {
	cfg := newConfig(opts)
	if cfg.validator == nil {
		v, err := protovalidate.New()
		if err != nil {
			return nil, fmt.Errorf("validation: create validator: %w", err)
		}
		cfg.validator = v
	}
	return &interceptor{cfg: cfg}, nil
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
		if err := i.validate(ctx, req.Spec(), req.Any()); err != nil {
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
		return next(ctx, &handlerConn{StreamingHandlerConn: conn, ctx: ctx, interceptor: i})
	}
}

// validate checks msg, received by the procedure of spec, and returns a
// *connect.Error if it is invalid or cannot be checked.
func (i *interceptor) validate(ctx context.Context, spec connect.Spec, msg any) error {
	if msg == nil {
		return nil
	}
	pm, ok := msg.(proto.Message)
	if !ok {
		return i.internal(ctx, spec, fmt.Errorf("request is a %T, not a proto.Message", msg))
	}
	if err := i.cfg.validator.Validate(pm); err != nil {
		return i.toConnect(ctx, spec, err)
	}
	return nil
}
