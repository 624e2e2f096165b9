// Command portico serves Portico's reference ProfileService behind the CORS
// gateway: Connect, gRPC and gRPC-Web on one port, HTTP/1.1 and cleartext
// HTTP/2 (h2c), as Cloud Run runs it.
//
// Usage:
//
//	portico [serve]   serve until SIGTERM or SIGINT (the default)
//	portico dev-token --sub <subject> [--ttl 1h]
//	                  print a development token (dev environment only)
//	portico cors list [--env E]
//	                  the effective CORS policy of each procedure
//	portico cors explain --procedure /pkg.Svc/Method --origin O [...]
//	                  simulate a browser call: allow (exit 0) or deny (1)
//	portico version   print the version
//
// Environment:
//
//	PORT                 port to listen on (default 8080; 0 picks a free one)
//	PORTICO_DATA_DIR     directory of the embedded store (default ./portico-data)
//	PORTICO_ORIGINS_<SET> comma-separated origins added to origin set <set>,
//	                     e.g. PORTICO_ORIGINS_WEB=http://localhost:[5173,8080]
//	PORTICO_CONFIG       YAML file with a section per environment: origin_sets
//	                     and report_only (see the README)
//	PORTICO_CORS_REPORT_ONLY report-only overrides: pkg.Svc,/pkg.Svc/M=false
//	PORTICO_METRICS_PORT port of the Prometheus /metrics listener (default none)
//	PORTICO_LOG_LEVEL    debug, info (default), warn or error
//	PORTICO_SHUTDOWN_GRACE how long in-flight calls may finish after SIGTERM
//	                     (default 8s; Cloud Run allows 10s)
//	PORTICO_PROJECT_ID   project of the traces in access lines (default
//	                     GOOGLE_CLOUD_PROJECT; none: no trace field)
//	PORTICO_MAX_MESSAGE_BYTES largest request message (default 4 MiB)
//	PORTICO_MAX_TIMEOUT  ceiling on unary calls' deadlines (default 30s)
//	PORTICO_READ_HEADER_TIMEOUT time allowed to send a request header (default 10s)
//	PORTICO_MAX_CONCURRENT_STREAMS HTTP/2 streams per connection (default 100)
//	PORTICO_ENV          environment name: dev, staging, prod, ... (default: prod
//	                     with PORTICO_AUTH_ISSUER, else dev); only dev accepts
//	                     development tokens
//	PORTICO_AUTH_ISSUER, PORTICO_AUTH_AUDIENCE, PORTICO_AUTH_JWKS_URL
//	                     the OpenID Connect issuer whose tokens are trusted
//	PORTICO_SESSION_TTL, PORTICO_SESSION_SAMESITE session cookies (12h, lax)
//	PORTICO_SECURITY_HEADERS on (default) or off
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		// After the first signal starts the drain, a second one kills the
		// process as usual.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// run executes one command and returns the process exit status.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		if len(args) > 0 {
			fmt.Fprintf(stderr, "portico serve: unexpected arguments %q; configure it through the environment\n", args)
			return 2
		}
		if err := serve(ctx, environ, stdout); err != nil {
			fmt.Fprintln(stderr, "portico:", err)
			return 1
		}
		return 0
	case "dev-token":
		return devToken(args, environ, stdout, stderr)
	case "cors":
		return corsCommand(args, environ, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "portico", version)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "portico: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

const usage = `Usage: portico [serve|dev-token|cors|version|help]

Environment: PORT, PORTICO_DATA_DIR, PORTICO_ENV, PORTICO_CONFIG,
PORTICO_ORIGINS_<SET>, PORTICO_CORS_REPORT_ONLY, PORTICO_METRICS_PORT, PORTICO_LOG_LEVEL,
PORTICO_SHUTDOWN_GRACE, PORTICO_PROJECT_ID, PORTICO_MAX_MESSAGE_BYTES,
PORTICO_MAX_TIMEOUT, PORTICO_READ_HEADER_TIMEOUT, PORTICO_MAX_CONCURRENT_STREAMS,
PORTICO_AUTH_ISSUER, PORTICO_AUTH_AUDIENCE, PORTICO_AUTH_JWKS_URL,
PORTICO_SESSION_TTL, PORTICO_SESSION_SAMESITE, PORTICO_SECURITY_HEADERS
(see the README).

portico dev-token --sub <subject> [--ttl 1h] prints a development token.
portico cors list|explain shows and simulates the CORS policy (portico cors help).
`
