// Package app assembles Portico's reference server: the embedded profile
// store, the profile service behind its connect handler and interceptors, and
// the gateway that applies the CORS policies generated from the .proto
// options. cmd/portico reads the environment and serves the result; tests
// build the same stack in-process.
//
// Start from [New].
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"

	"connectrpc.com/connect"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/policy"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1connect"
	"github.com/portico-dev/portico/gen/portico/profile/v1/profilev1portico"
	"github.com/portico-dev/portico/service"
	"github.com/portico-dev/portico/validation"
)

// Config configures an [App]. The zero Config is not valid: DataDir is
// required.
type Config struct {
	// DataDir holds the embedded SQLite database; it is created if missing.
	DataDir string
	// OriginSets adds deployment origins to the origin sets the policies
	// name, as gateway.WithOriginSet does.
	OriginSets []OriginSet
	// Logger receives start-up, CORS refusal and error lines. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// An OriginSet binds origins to a named origin set.
type OriginSet struct {
	// Name is the set's name, as in the proto option origin_set.
	Name string
	// Source names where the binding came from, for error messages.
	Source string
	// Origins are exact origins or one-label wildcard patterns.
	Origins []string
}

// An App is the assembled server. Close it to release the store.
type App struct {
	handler http.Handler
	store   *service.SQLiteStore
	profile *service.ProfileService
}

// Services lists the compiled policies the reference server mounts.
var Services = []*policy.Service{profilev1portico.ProfileServicePolicy}

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
	opts := []gateway.Option{gateway.WithLogger(logger)}
	for _, set := range cfg.OriginSets {
		opts = append(opts, gateway.WithOriginSet(set.Name, set.Source, set.Origins...))
	}
	gw, err := gateway.New(Services, opts...)
	if err != nil {
		return nil, err
	}
	validator, err := validation.NewInterceptor(validation.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	store, err := service.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "profiles.db"))
	if err != nil {
		return nil, err
	}
	// Interceptors run in order: authentication before validation, so that
	// an anonymous caller learns nothing about the shape of valid input.
	handlerOpts := []connect.HandlerOption{
		connect.WithInterceptors(
			auth.NewInterceptor(auth.AllowAnonymous(profilev1connect.ProfileServiceGetPublicProfileProcedure)),
			validator,
		),
		connect.WithRecover(recoverer(logger)),
	}
	profile := service.New(store, service.WithLogger(logger))
	gw.Handle(profilev1connect.NewProfileServiceHandler(profile, handlerOpts...))
	return &App{handler: gw, store: store, profile: profile}, nil
}

// Drain ends long-lived streams so that a graceful shutdown can complete;
// unary calls in flight are unaffected. Register it with
// http.Server.RegisterOnShutdown.
func (a *App) Drain() { a.profile.StopWatches() }

// Handler returns the server's root handler.
func (a *App) Handler() http.Handler { return a.handler }

// Close closes the store.
func (a *App) Close() error { return a.store.Close() }

// recoverer turns a handler panic into an internal error, which still
// carries the CORS headers the gateway set, and logs the panic with its stack.
func recoverer(logger *slog.Logger) func(context.Context, connect.Spec, http.Header, any) error {
	return func(ctx context.Context, spec connect.Spec, _ http.Header, v any) error {
		logger.ErrorContext(ctx, "handler panic", "procedure", spec.Procedure, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		return connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
}
