// Package app assembles Portico's reference server: the profile store
// (embedded SQLite, or PostgreSQL with [Config].DatabaseURL), the profile service behind its connect handler and interceptors,
// the status service (package status), and
// the gateway that applies the CORS policies generated from the .proto
// options. Next to it, outside every CORS policy (server-side callers only),
// it mounts gRPC health (connectrpc.com/grpchealth) and server reflection v1
// and v1alpha (connectrpc.com/grpcreflect), and it wraps the whole in an
// access log. cmd/portico reads the environment and serves the result; tests
// build the same stack in-process.
//
// Identity (identity.go, [AuthConfig]): bearer tokens of the configured
// issuer and, in the development environment, development tokens; the
// session service and its cookie sessions; the cross-site request forgery
// guard in front of both services; and the security response headers.
//
// Start from [New].
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/policy"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1portico"
	"github.com/portico-dev/portico/gen/portico/session/v1/sessionv1connect"
	"github.com/portico-dev/portico/gen/portico/session/v1/sessionv1portico"
	"github.com/portico-dev/portico/gen/portico/status/v1/statusv1connect"
	"github.com/portico-dev/portico/gen/portico/status/v1/statusv1portico"
	"github.com/portico-dev/portico/internal/accesslog"
	"github.com/portico-dev/portico/internal/corsconfig"
	"github.com/portico-dev/portico/service"
	"github.com/portico-dev/portico/status"
	"github.com/portico-dev/portico/validation"
)

// Config configures an [App]. The zero Config is not valid: DataDir is
// required.
type Config struct {
	// DataDir holds the embedded SQLite database; it is created if missing.
	DataDir string
	// DatabaseURL, if set, selects a PostgreSQL store instead of the
	// embedded one: postgres://user:password@host:port/database?options,
	// as [service.OpenPostgres] reads it. Instances of the server that share
	// the database share the profiles.
	DatabaseURL string
	// DatabaseStartTimeout bounds how long New retries while the database
	// of DatabaseURL is unreachable. Zero means
	// [service.DefaultStartTimeout], 10s.
	DatabaseStartTimeout time.Duration
	// OriginSets adds deployment origins to the origin sets the policies
	// name, as gateway.WithOriginSet does.
	OriginSets []OriginSet
	// ReportOnly overrides the report_only options of the policies, as
	// gateway.WithReportOnly does.
	ReportOnly []corsconfig.ReportOnly
	// Logger receives start-up, access, CORS refusal and error lines. Nil
	// means slog.Default().
	Logger *slog.Logger
	// ProjectID is the Google Cloud project whose Cloud Trace the access
	// lines link to; "" leaves the trace out.
	ProjectID string
	// ReadMaxBytes is the largest request message accepted, after
	// decompression; larger ones fail with resource_exhausted. Zero means
	// [DefaultReadMaxBytes].
	ReadMaxBytes int
	// MaxTimeout caps the deadline of unary calls: a call with no deadline,
	// or a longer one (Connect-Timeout-Ms, grpc-timeout), gets this one.
	// Zero means [DefaultMaxTimeout]. Streams are not capped: they end with
	// their client's deadline, Cloud Run's request timeout, or the drain.
	MaxTimeout time.Duration
	// Auth configures who may call the services; the zero AuthConfig is the
	// development mode. Its signing key and the session store live in
	// DataDir, which is needed even with DatabaseURL.
	Auth AuthConfig
	// DisableSecurityHeaders turns off the security response headers
	// (nosniff, CSP, Referrer-Policy, no-store, HSTS), for a front end that
	// sets them itself.
	DisableSecurityHeaders bool
}

// The defaults of [Config].
const (
	// DefaultReadMaxBytes is gRPC's own default limit, 4 MiB.
	DefaultReadMaxBytes = 4 << 20
	DefaultMaxTimeout   = 30 * time.Second
)

// watchDrainDelay is how long health watchers have to receive NOT_SERVING
// before [App.Drain] ends their streams.
const watchDrainDelay = 100 * time.Millisecond

// An OriginSet binds origins to a named origin set.
type OriginSet = corsconfig.OriginSet

// An App is the assembled server. Close it to release the store.
type App struct {
	handler http.Handler
	gateway *gateway.Gateway
	store   service.Store
	closer  io.Closer // closes store
	profile *service.ProfileService
	health  *grpchealth.StaticChecker
	// identity holds the session store.
	identity *identity
	// drained is done once Drain has given health watchers time to see
	// NOT_SERVING; it ends health and reflection streams.
	drained     context.Context //nolint:containedctx // a broadcast signal, not a request context
	stopStreams context.CancelFunc
}

// healthServices are the names health checks answer SERVING for until the
// drain: the server as a whole ("") and each mounted service.
var healthServices = []string{"", profilev1connect.ProfileServiceName, statusv1connect.StatusServiceName}

// Services lists the compiled policies the reference server mounts.
var Services = []*policy.Service{profilev1portico.ProfileServicePolicy, sessionv1portico.SessionServicePolicy, statusv1portico.StatusServicePolicy}

// NewGateway builds the gateway of [Services] with the deployment's origin
// set bindings and report-only overrides of cfg, and opts, with no handler
// mounted: what [New] serves, and what `portico cors` lists and explains.
// Invalid bindings fail here, with every problem reported at once.
func NewGateway(cfg Config, opts ...gateway.Option) (*gateway.Gateway, error) {
	for _, set := range cfg.OriginSets {
		opts = append(opts, gateway.WithOriginSet(set.Name, set.Source, set.Origins...))
	}
	for _, o := range cfg.ReportOnly {
		opts = append(opts, gateway.WithReportOnly(o.Target, o.On, o.Source))
	}
	return gateway.New(Services, opts...)
}

// New opens the store and builds the handler stack. Invalid origin set
// bindings fail here, with every problem reported at once.
func New(ctx context.Context, cfg Config) (*App, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.DataDir == "" {
		return nil, errors.New("app: no data directory")
	}
	access := accesslog.New(logger, cfg.ProjectID)
	gw, err := NewGateway(cfg,
		gateway.WithLogger(logger),
		gateway.WithDecisionCounts(),
		gateway.WithObserver(func(r *http.Request, d gateway.Decision) {
			accesslog.SetCORS(r.Context(), d.Preflight, d.Allowed, d.Reason)
		}))
	if err != nil {
		return nil, err
	}
	validator, err := validation.NewInterceptor(validation.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	store, closer, err := openStore(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	id, err := newIdentity(ctx, cfg, logger)
	if err != nil {
		_ = closer.Close()
		return nil, err
	}
	readMax, maxTimeout := cfg.ReadMaxBytes, cfg.MaxTimeout
	if readMax <= 0 {
		readMax = DefaultReadMaxBytes
	}
	if maxTimeout <= 0 {
		maxTimeout = DefaultMaxTimeout
	}
	// Every handler, peers included, gets the limits and the access log.
	common := []connect.HandlerOption{
		connect.WithReadMaxBytes(readMax),
		connect.WithInterceptors(access.Interceptor(), capTimeout(maxTimeout)),
		connect.WithRecover(recoverer(logger)),
	}
	// The layers, outermost first: the gateway (CORS, preflights), the
	// cross-site request forgery guard, then the interceptors in order:
	// authentication before validation, so that an anonymous caller learns
	// nothing about the shape of valid input.
	profileOpts := append(slices.Clone(common), connect.WithInterceptors(id.interceptor, validator))
	profile := service.New(store, service.WithLogger(logger))
	csrfGuard := guard(gw.OriginAllowed, logger)
	gw.Handle(csrfGuard.Wrap(profilev1connect.NewProfileServiceHandler(profile, profileOpts...)))
	gw.Handle(csrfGuard.Wrap(sessionv1connect.NewSessionServiceHandler(id.sessions, profileOpts...)))
	limits := status.Limits{MaxRequestBytes: int64(readMax), MaxTimeout: maxTimeout}
	gw.Handle(csrfGuard.Wrap(statusv1connect.NewStatusServiceHandler(status.New(limits), profileOpts...)))

	a := &App{gateway: gw, store: store, closer: closer, profile: profile, identity: id, health: grpchealth.NewStaticChecker(healthServices...)}
	a.drained, a.stopStreams = context.WithCancel(context.Background())
	// Health and reflection have no CORS policy, so the gateway serves them
	// without CORS: browsers cannot call them.
	reflector := grpcreflect.NewStaticReflector(
		profilev1connect.ProfileServiceName,
		statusv1connect.StatusServiceName,
		grpchealth.HealthV1ServiceName,
		grpcreflect.ReflectV1ServiceName,
		grpcreflect.ReflectV1AlphaServiceName,
	)
	gw.Handle(a.untilDrained(grpchealth.NewHandler(a.health, common...)))
	gw.Handle(a.untilDrained(grpcreflect.NewHandlerV1(reflector, common...)))
	gw.Handle(a.untilDrained(grpcreflect.NewHandlerV1Alpha(reflector, common...)))
	a.handler = access.Handler(secure(gw, cfg.DisableSecurityHeaders))
	return a, nil
}

// Drain prepares a graceful shutdown: health checks answer NOT_SERVING from
// now on, and long-lived streams end (health watchers once they have been
// told) so that the shutdown can complete; unary calls in flight are
// unaffected. Register it with http.Server.RegisterOnShutdown. Calling it
// again does nothing more.
func (a *App) Drain() {
	for _, name := range healthServices {
		a.health.SetStatus(name, grpchealth.StatusNotServing)
	}
	a.profile.StopWatches()
	time.AfterFunc(watchDrainDelay, a.stopStreams)
}

// untilDrained ends the calls of h once the drain has begun.
func (a *App) untilDrained(pattern string, h http.Handler) (string, http.Handler) {
	return pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		defer context.AfterFunc(a.drained, cancel)()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Gateway returns the server's gateway: its policies, for start-up
// summaries, and its decision counts, for metrics.
func (a *App) Gateway() *gateway.Gateway { return a.gateway }

// Handler returns the server's root handler.
func (a *App) Handler() http.Handler { return a.handler }

// Close closes the stores.
func (a *App) Close() error { return errors.Join(a.closer.Close(), a.identity.Close()) }

// recoverer turns a handler panic into an internal error, which still
// carries the CORS headers the gateway set, and logs the panic with its stack.
func recoverer(logger *slog.Logger) func(context.Context, connect.Spec, http.Header, any) error {
	return func(ctx context.Context, spec connect.Spec, _ http.Header, v any) error {
		logger.ErrorContext(ctx, "handler panic", "procedure", spec.Procedure, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		return connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
}
