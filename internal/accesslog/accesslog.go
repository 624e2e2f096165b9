// Package accesslog writes one structured line per HTTP request, in Cloud
// Logging's format: an httpRequest object
// (https://cloud.google.com/logging/docs/reference/v2/rest/v2/LogEntry#HttpRequest),
// the trace of the request in logging.googleapis.com/trace so that Cloud
// Logging groups a request's lines, the Connect procedure and code, and the
// CORS decision for browser requests. Header values are never logged, so
// neither are Authorization nor Cookie.
//
// Start from [New]; wrap the root handler with [Logger.Handler], add
// [Logger.Interceptor] to every connect handler, and report CORS decisions
// with [SetCORS].
package accesslog

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
)

// A Logger writes access log lines. It is safe for concurrent use.
type Logger struct {
	logger    *slog.Logger
	projectID string
}

// New returns a Logger that writes to logger, at [slog.LevelInfo] for
// successful calls and [slog.LevelError] for server faults (HTTP 5xx, or the
// codes internal, unknown and data_loss). projectID is the Google Cloud
// project whose Cloud Trace holds the traces; "" omits the trace field.
func New(logger *slog.Logger, projectID string) *Logger {
	return &Logger{logger: logger, projectID: projectID}
}

// entryKey is the context key of the *entry of a request being logged.
type entryKey struct{}

// entry collects what the layers below the middleware learn of a request.
// It is written and read on the request's goroutine only.
type entry struct {
	procedure string
	code      connect.Code
	hasCode   bool // the interceptor saw the call end
	cors      *corsDecision
}

type corsDecision struct {
	preflight bool
	allowed   bool
	reason    string
}

// SetCORS records the CORS decision on the request whose context is ctx, for
// its access line. It does nothing if the request is not being logged.
func SetCORS(ctx context.Context, preflight, allowed bool, reason string) {
	if e, ok := ctx.Value(entryKey{}).(*entry); ok {
		e.cors = &corsDecision{preflight: preflight, allowed: allowed, reason: reason}
	}
}

// Handler returns next wrapped so that each request it serves is logged
// once, when next returns. If the logger is disabled at
// [slog.LevelError], the wrapper adds nothing.
func (l *Logger) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !l.logger.Enabled(r.Context(), slog.LevelError) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		e := &entry{}
		rw := &responseWriter{ResponseWriter: w}
		defer func() {
			// Log even if next panics (http.ErrAbortHandler): the client
			// saw its connection reset, and that is worth a line.
			l.log(r, rw, e, time.Since(start))
		}()
		next.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), entryKey{}, e)))
	})
}

func (l *Logger) log(r *http.Request, rw *responseWriter, e *entry, latency time.Duration) {
	status := rw.status
	if status == 0 {
		status = http.StatusOK // net/http's implicit status
	}
	code, hasCode := e.code, e.hasCode
	if !hasCode {
		code, hasCode = rw.code()
	}
	level := slog.LevelInfo
	if status >= 500 || hasCode && (code == connect.CodeInternal || code == connect.CodeUnknown || code == connect.CodeDataLoss) {
		level = slog.LevelError
	}
	ctx := r.Context()
	if !l.logger.Enabled(ctx, level) {
		return
	}
	req := []slog.Attr{
		slog.String("requestMethod", r.Method),
		slog.String("requestUrl", r.URL.RequestURI()),
		slog.Int("status", status),
		slog.String("responseSize", strconv.FormatInt(rw.size, 10)),
		slog.String("latency", formatLatency(latency)),
		slog.String("remoteIp", remoteIP(r)),
		slog.String("protocol", r.Proto),
	}
	if r.ContentLength > 0 {
		req = append(req, slog.String("requestSize", strconv.FormatInt(r.ContentLength, 10)))
	}
	if ua := r.UserAgent(); ua != "" {
		req = append(req, slog.String("userAgent", ua))
	}
	attrs := []slog.Attr{slog.Attr{Key: "httpRequest", Value: slog.GroupValue(req...)}}
	if trace, span, sampled, ok := traceOf(r.Header); ok && l.projectID != "" {
		attrs = append(attrs,
			slog.String("logging.googleapis.com/trace", "projects/"+l.projectID+"/traces/"+trace),
			slog.Bool("logging.googleapis.com/trace_sampled", sampled))
		if span != "" {
			attrs = append(attrs, slog.String("logging.googleapis.com/spanId", span))
		}
	}
	if hasCode {
		procedure := e.procedure
		if procedure == "" {
			procedure = r.URL.Path
		}
		codeText := "ok"
		if code != 0 {
			codeText = code.String()
		}
		attrs = append(attrs, slog.String("procedure", procedure), slog.String("code", codeText))
	}
	if c := e.cors; c != nil {
		attrs = append(attrs, slog.Attr{Key: "cors", Value: slog.GroupValue(
			slog.Bool("preflight", c.preflight),
			slog.Bool("allowed", c.allowed),
			slog.String("reason", c.reason),
		)})
	}
	l.logger.LogAttrs(ctx, level, "request", attrs...)
}

// formatLatency formats d as Cloud Logging's JSON form of a
// google.protobuf.Duration: seconds with a fraction, then "s" ("0.123s").
func formatLatency(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// remoteIP is the client's address. Behind Cloud Run's front end the peer is
// the proxy, which appends the address it saw connect to X-Forwarded-For;
// earlier items are the client's own claims and are not trusted.
func remoteIP(r *http.Request) string {
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		last := xff[len(xff)-1]
		if i := strings.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		if ip := strings.TrimSpace(last); ip != "" {
			return ip
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
