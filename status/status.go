// Package status implements Portico's StatusService
// (proto/portico/status/v1/status.proto): a public status of the running
// server, and the settings the server applies to the authenticated caller.
//
// It is the second example service, after the profile service, and the
// smallest one: its CORS policy is declared in its .proto options only, and
// the server mounts it with one line, behind the same interceptors as the
// profile service, which authenticate the caller (package auth) before the
// handler runs. [Service] knows nothing of HTTP or CORS.
//
// Start with [New].
package status

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	"github.com/portico-dev/portico/auth"
	statusv1 "github.com/portico-dev/portico/gen/portico/status/v1"
	"github.com/portico-dev/portico/gen/portico/status/v1/statusv1connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var _ statusv1connect.StatusServiceHandler = (*Service)(nil)

// errUnauthenticated is GetSettings' answer to a call without a caller; the
// auth interceptor refuses such calls first wherever it is installed.
var errUnauthenticated = errors.New("unauthenticated: GetSettings needs the caller's credentials")

// Limits are the limits the server applies to calls, as GetSettings reports
// them. The zero Limits reports no limits (zero values).
type Limits struct {
	// MaxRequestBytes is the largest request message accepted, in bytes.
	MaxRequestBytes int64
	// MaxTimeout is the deadline a unary call gets if it has none or a
	// longer one.
	MaxTimeout time.Duration
}

// Service implements statusv1connect.StatusServiceHandler. It is safe for
// concurrent use.
type Service struct {
	limits  Limits
	version string
	start   time.Time
}

// New returns a Service that reports limits. Unless options say otherwise,
// its version is the main module's version of the build (debug.BuildInfo),
// and its start time the time New is called.
func New(limits Limits, opts ...Option) *Service {
	cfg := newConfig(opts)
	return &Service{limits: limits, version: cfg.version, start: cfg.start.UTC()}
}

// GetStatus implements statusv1connect.StatusServiceHandler. It needs no
// caller.
func (s *Service) GetStatus(
	context.Context,
	*connect.Request[statusv1.GetStatusRequest],
) (*connect.Response[statusv1.GetStatusResponse], error) {
	return connect.NewResponse(&statusv1.GetStatusResponse{
		Version:   s.version,
		StartTime: timestamppb.New(s.start),
	}), nil
}

// GetSettings implements statusv1connect.StatusServiceHandler. It fails with
// unauthenticated if ctx carries no caller ([auth.CallerFrom]).
func (s *Service) GetSettings(
	ctx context.Context,
	_ *connect.Request[statusv1.GetSettingsRequest],
) (*connect.Response[statusv1.GetSettingsResponse], error) {
	caller, ok := auth.CallerFrom(ctx)
	if !ok {
		return nil, connect.NewError(connect.CodeUnauthenticated, errUnauthenticated)
	}
	return connect.NewResponse(&statusv1.GetSettingsResponse{Settings: &statusv1.Settings{
		Subject:         caller.Subject,
		Credential:      credential(caller.Credential),
		MaxRequestBytes: s.limits.MaxRequestBytes,
		MaxTimeout:      durationpb.New(s.limits.MaxTimeout),
	}}), nil
}

func credential(c auth.Credential) statusv1.Credential {
	switch c {
	case auth.CredentialBearer:
		return statusv1.Credential_CREDENTIAL_BEARER
	case auth.CredentialSession:
		return statusv1.Credential_CREDENTIAL_SESSION
	}
	return statusv1.Credential_CREDENTIAL_UNSPECIFIED
}
