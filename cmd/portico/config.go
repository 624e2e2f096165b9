package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/internal/app"
	"github.com/portico-dev/portico/internal/corsconfig"
)

// config is the server's configuration, read from the environment only, as
// Cloud Run passes it (--set-env-vars).
type config struct {
	port     string
	dataDir  string
	logLevel slog.Level
	grace    time.Duration
	// cors holds the origin set bindings and report-only overrides, from
	// the PORTICO_CONFIG file's environment and the variables (cors.go).
	cors corsconfig.Config
	// metricsPort is PORTICO_METRICS_PORT: "" for no metrics listener.
	metricsPort string
	// projectID is PORTICO_PROJECT_ID, else GOOGLE_CLOUD_PROJECT.
	projectID string
	// The limits; see the README.
	maxMessageBytes      int
	maxTimeout           time.Duration
	readHeaderTimeout    time.Duration
	maxConcurrentStreams int

	// Identity (identity.go): PORTICO_ENV, PORTICO_AUTH_*, PORTICO_SESSION_*,
	// PORTICO_SECURITY_HEADERS.
	auth                   app.AuthConfig
	envSet                 bool // PORTICO_ENV was given
	onCloudRun             bool // K_SERVICE is set
	disableSecurityHeaders bool

	// databaseURL is PORTICO_DATABASE_URL: "" for the embedded SQLite store
	// in dataDir, else a postgres:// URL. It may hold a password: never
	// print it.
	databaseURL          string
	databaseStartTimeout time.Duration
}

// parseConfig reads the environment and reports every invalid variable at
// once, each error naming its variable.
func parseConfig(environ []string) (config, error) {
	cfg := config{
		port: "8080", dataDir: "portico-data", grace: 8 * time.Second,
		maxMessageBytes:      app.DefaultReadMaxBytes,
		maxTimeout:           app.DefaultMaxTimeout,
		readHeaderTimeout:    10 * time.Second,
		maxConcurrentStreams: 100,
	}
	var errs []error
	var googleProject string
	for _, kv := range environ {
		key, value, _ := strings.Cut(kv, "=")
		switch {
		case key == "GOOGLE_CLOUD_PROJECT":
			googleProject = value
		case key == "PORTICO_PROJECT_ID":
			cfg.projectID = value
		case key == "PORTICO_MAX_MESSAGE_BYTES":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 {
				errs = append(errs, fmt.Errorf("PORTICO_MAX_MESSAGE_BYTES=%q: want a positive number of bytes", value))
				continue
			}
			cfg.maxMessageBytes = n
		case key == "PORTICO_MAX_CONCURRENT_STREAMS":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 || n > 1<<20 {
				errs = append(errs, fmt.Errorf("PORTICO_MAX_CONCURRENT_STREAMS=%q: want a number from 1 to 1048576", value))
				continue
			}
			cfg.maxConcurrentStreams = n
		case key == "PORTICO_MAX_TIMEOUT" || key == "PORTICO_READ_HEADER_TIMEOUT":
			d, err := time.ParseDuration(value)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as 30s", key, value))
				continue
			}
			if key == "PORTICO_MAX_TIMEOUT" {
				cfg.maxTimeout = d
			} else {
				cfg.readHeaderTimeout = d
			}
		case key == "PORT" || key == "PORTICO_METRICS_PORT":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 || n > 65535 || strings.TrimLeft(value, "0123456789") != "" {
				errs = append(errs, fmt.Errorf("%s=%q: not a port number (0 to 65535)", key, value))
				continue
			}
			if key == "PORT" {
				cfg.port = value
			} else {
				cfg.metricsPort = value
			}
		case key == "PORTICO_DATA_DIR":
			if value == "" {
				errs = append(errs, errors.New("PORTICO_DATA_DIR is empty"))
				continue
			}
			cfg.dataDir = value
		case key == "PORTICO_DATABASE_URL":
			if err := checkDatabaseURL(value); err != nil {
				errs = append(errs, err)
				continue
			}
			cfg.databaseURL = value
		case key == "PORTICO_DATABASE_START_TIMEOUT":
			d, err := time.ParseDuration(value)
			if err != nil || d <= 0 || d > maxDatabaseStartTimeout {
				errs = append(errs, fmt.Errorf("%s=%q: want a duration from 1ms to %v, such as 10s", key, value, maxDatabaseStartTimeout))
				continue
			}
			cfg.databaseStartTimeout = d
		case key == "PORTICO_LOG_LEVEL":
			if err := cfg.logLevel.UnmarshalText([]byte(value)); err != nil {
				errs = append(errs, fmt.Errorf("PORTICO_LOG_LEVEL=%q: use debug, info, warn or error", value))
			}
		case key == "PORTICO_SHUTDOWN_GRACE":
			d, err := time.ParseDuration(value)
			if err != nil || d < 0 || d > 10*time.Second {
				errs = append(errs, fmt.Errorf("PORTICO_SHUTDOWN_GRACE=%q: want a duration from 0s to 10s (Cloud Run kills the instance 10s after SIGTERM)", value))
				continue
			}
			cfg.grace = d
		case isIdentityVar(key):
			if err := cfg.setIdentity(key, value); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if cfg.projectID == "" {
		cfg.projectID = googleProject
	}
	if cfg.metricsPort != "" && cfg.metricsPort != "0" && cfg.metricsPort == cfg.port {
		errs = append(errs, fmt.Errorf("PORTICO_METRICS_PORT=%s is PORT too: the metrics need a port of their own", cfg.metricsPort))
	}
	errs = append(errs, cfg.checkIdentity())
	cors, err := loadCORS(environ, string(cfg.auth.ResolvedEnv()))
	errs = append(errs, err)
	cfg.cors = cors
	return cfg, errors.Join(errs...)
}

// maxDatabaseStartTimeout bounds PORTICO_DATABASE_START_TIMEOUT: Cloud Run's
// startup probe gives up on an instance within 4 minutes by default.
const maxDatabaseStartTimeout = 5 * time.Minute

// checkDatabaseURL checks that PORTICO_DATABASE_URL is a postgres:// URL.
// Its errors never quote the value, which may hold a password; pgx checks
// the rest when the store opens.
func checkDatabaseURL(value string) error {
	if value == "" {
		// Set but empty is more likely a broken deployment than a wish for
		// an embedded store per instance.
		return errors.New("PORTICO_DATABASE_URL is empty: unset it to use the embedded SQLite store, or set a postgres:// URL")
	}
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return errors.New("PORTICO_DATABASE_URL: want a URL of the form postgres://user:password@host:port/database?options (value withheld: it may hold a password)")
	}
	return nil
}

// checkOriginSets reports what the gateway would reject in the CORS
// bindings, without opening the store. It is for the error path only:
// app.New checks the same bindings when the configuration is otherwise
// valid.
func checkOriginSets(cors corsconfig.Config) error {
	_, err := app.NewGateway(app.Config{OriginSets: cors.OriginSets, ReportOnly: cors.ReportOnly}, gateway.WithLogger(nil))
	return err
}
