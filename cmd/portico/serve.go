package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/app"
	"github.com/portico-dev/portico/internal/metrics"
)

// serve runs the server until ctx is done, then drains in-flight calls for
// the configured grace period.
func serve(ctx context.Context, environ []string, stdout io.Writer) error {
	cfg, err := parseConfig(environ)
	if err != nil {
		// Check the origin sets too, so that one failed start names every
		// bad variable rather than one class of them per deploy.
		return errors.Join(err, checkOriginSets(cfg.cors))
	}
	// app.New creates the directory too, but its error cannot say which
	// variable to fix.
	if err := os.MkdirAll(cfg.dataDir, 0o700); err != nil {
		return fmt.Errorf("PORTICO_DATA_DIR=%q: %w", cfg.dataDir, err)
	}
	logger := newLogger(stdout, cfg.logLevel)
	a, err := app.New(ctx, app.Config{
		DataDir:              cfg.dataDir,
		DatabaseURL:          cfg.databaseURL,
		DatabaseStartTimeout: cfg.databaseStartTimeout,
		OriginSets:           cfg.cors.OriginSets,
		ReportOnly:           cfg.cors.ReportOnly,
		Logger:               logger,
		ProjectID:            cfg.projectID,
		ReadMaxBytes:         cfg.maxMessageBytes,
		MaxTimeout:           cfg.maxTimeout,
		// identity.go
		Auth:                   cfg.auth,
		DisableSecurityHeaders: cfg.disableSecurityHeaders,
	})
	if err != nil {
		return err
	}
	defer a.Close()
	for _, set := range cfg.cors.OriginSets {
		logger.Info("origin set bound", "set", set.Name, "source", set.Source, "origins", strings.Join(set.Origins, ","))
	}
	logPolicies(logger, a.Gateway(), string(cfg.auth.ResolvedEnv()))
	if cfg.metricsPort != "" {
		stopMetrics, err := serveMetrics(cfg.metricsPort, a, logger)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}

	ln, err := net.Listen("tcp", ":"+cfg.port)
	if err != nil {
		return fmt.Errorf("PORT=%s: %w", cfg.port, err)
	}
	srv := newServer(a.Handler(), cfg, logger)
	// Shutdown stops accepting first, then runs Drain: health answers
	// NOT_SERVING on the connections still open, and streams end.
	srv.RegisterOnShutdown(a.Drain)
	logger.Info("listening", "addr", ln.Addr().String(), "version", version, "data_dir", cfg.dataDir)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", cfg.grace.String())
	drainCtx, cancel := context.WithTimeout(context.Background(), cfg.grace)
	defer cancel()
	if err := srv.Shutdown(drainCtx); err != nil {
		// Cloud Run kills the instance 10s after SIGTERM anyway: cut what is
		// left now, say so, and exit cleanly rather than be killed.
		logger.Warn("grace period expired: closing the connections still busy", "grace", cfg.grace.String(), "error", err.Error())
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// serveMetrics serves the Prometheus metrics on their own port, which Cloud
// Run does not route requests to: only a sidecar in the same instance (or a
// local scraper) can read them. It returns a function that stops the
// listener.
func serveMetrics(port string, a *app.App, logger *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return nil, fmt.Errorf("PORTICO_METRICS_PORT=%s: %w", port, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(metrics.NewRegistry(a.Gateway())))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go func() { _ = srv.Serve(ln) }()
	logger.Info("metrics listening", "addr", ln.Addr().String(), "path", "/metrics")
	return func() { _ = srv.Close() }, nil
}

// maxHeaderBytes bounds a request's header: over HTTP/1.1 a larger one gets
// 431 and the connection is closed; over HTTP/2 it is the advertised
// SETTINGS_MAX_HEADER_LIST_SIZE, and a larger header block gets 431 on its
// stream. Cloud Run's own front end allows 64 KiB too.
const maxHeaderBytes = 64 << 10

// newServer serves HTTP/1.1 and cleartext HTTP/2 on one port: Cloud Run
// terminates TLS and, with --use-http2, forwards h2c end to end, which gRPC
// needs.
func newServer(h http.Handler, cfg config, logger *slog.Logger) *http.Server {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:   h,
		Protocols: &protocols,
		// A client that sends its header slowly (slowloris) is cut off:
		// over HTTP/1.1 the connection is closed without a response.
		ReadHeaderTimeout: cfg.readHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    maxHeaderBytes,
		HTTP2: &http.HTTP2Config{
			// Advertised in SETTINGS; a client opening more streams at once
			// has them refused (RST_STREAM REFUSED_STREAM).
			MaxConcurrentStreams: cfg.maxConcurrentStreams,
		},
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// newLogger writes JSON lines in Cloud Logging's structured format: the level
// is "severity" and the text is "message".
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.LevelKey:
				a.Key = "severity"
				if lvl, ok := a.Value.Any().(slog.Level); ok && lvl == slog.LevelWarn {
					a.Value = slog.StringValue("WARNING")
				}
			case slog.MessageKey:
				a.Key = "message"
			}
			return a
		},
	}))
}
