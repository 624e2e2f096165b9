package validation

import (
	"context"
	"errors"
	"log/slog"

	"buf.build/go/protovalidate"
	"connectrpc.com/connect"
)

// errInternal is the only text a client sees when validation itself fails.
var errInternal = errors.New("internal error")

// toConnect maps an error of the validator to a *connect.Error: violations
// to invalid_argument with a *validate.Violations detail, anything else
// (protovalidate's CompilationError, RuntimeError, ...) to internal.
func (i *interceptor) toConnect(ctx context.Context, spec connect.Spec, err error) error {
	var verr *protovalidate.ValidationError
	if !errors.As(err, &verr) {
		return i.internal(ctx, spec, err)
	}
	cerr := connect.NewError(connect.CodeInvalidArgument, verr)
	detail, derr := connect.NewErrorDetail(verr.ToProto())
	if derr != nil {
		// Violations always marshal; if they ever did not, the client still
		// gets the code and the message naming the fields.
		i.cfg.logger.ErrorContext(ctx, "validation: cannot encode violations",
			slog.String("procedure", spec.Procedure), slog.Any("error", derr))
		return cerr
	}
	cerr.AddDetail(detail)
	return cerr
}

// internal logs err and returns the generic internal error.
func (i *interceptor) internal(ctx context.Context, spec connect.Spec, err error) error {
	i.cfg.logger.ErrorContext(ctx, "validation: cannot validate request",
		slog.String("procedure", spec.Procedure), slog.Any("error", err))
	return connect.NewError(connect.CodeInternal, errInternal)
}
