package accesslog

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"connectrpc.com/connect"
)

// sniffMax bounds what responseWriter keeps of an error body to find its
// code: a Connect error's code comes first, within the first bytes.
const sniffMax = 512

// responseWriter records the status and size of a response, and enough of an
// error's body to read its Connect code.
type responseWriter struct {
	http.ResponseWriter
	status int
	size   int64
	// sniff holds the start of a Connect unary error body (JSON).
	sniff []byte
	// webTrailer holds the gRPC-Web trailers frame; inTrailer is set once
	// its envelope prefix (flag 0x80) has been written.
	webTrailer []byte
	inTrailer  bool
}

func (w *responseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	switch ct := w.Header()["Content-Type"]; {
	case w.status >= 400 && len(ct) == 1 && ct[0] == "application/json" && len(w.sniff) < sniffMax:
		w.sniff = append(w.sniff, p[:min(len(p), sniffMax-len(w.sniff))]...)
	case len(ct) == 1 && strings.HasPrefix(ct[0], "application/grpc-web"):
		// connect-go writes each envelope as a 5-byte prefix, then the data.
		if w.inTrailer {
			w.webTrailer = append(w.webTrailer, p[:min(len(p), sniffMax-len(w.webTrailer))]...)
		} else if len(p) >= 5 && p[0]&0x80 != 0 {
			w.inTrailer = true
			w.webTrailer = append(w.webTrailer, p[5:min(len(p), 5+sniffMax)]...)
		}
	}
	n, err := w.ResponseWriter.Write(p)
	w.size += int64(n)
	return n, err
}

// Flush implements [http.Flusher], which streaming responses need.
func (w *responseWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets [http.ResponseController] reach the connection's writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// code reads the response's RPC code, for calls that ended before the
// interceptor saw them: from grpc-status for gRPC (a trailer) and gRPC-Web
// (a header when trailers-only, else the trailers frame), or from the JSON
// body of a Connect unary error.
func (w *responseWriter) code() (connect.Code, bool) {
	h := w.Header()
	for _, key := range []string{http.TrailerPrefix + "Grpc-Status", "Grpc-Status"} {
		if v := h[key]; len(v) == 1 {
			return parseGRPCStatus(v[0])
		}
	}
	if w.webTrailer != nil {
		for line := range strings.SplitSeq(string(w.webTrailer), "\r\n") {
			if v, ok := strings.CutPrefix(line, "grpc-status:"); ok {
				return parseGRPCStatus(strings.TrimSpace(v))
			}
		}
	}
	// connect-go marshals the code first: {"code":"not_found","message":...}.
	if rest, ok := bytes.CutPrefix(w.sniff, []byte(`{"code":"`)); ok {
		if i := bytes.IndexByte(rest, '"'); i > 0 {
			var c connect.Code
			if c.UnmarshalText(rest[:i]) == nil {
				return c, true
			}
		}
	}
	return 0, false
}

func parseGRPCStatus(v string) (connect.Code, bool) {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n > uint64(connect.CodeUnauthenticated) {
		return 0, false
	}
	return connect.Code(n), true
}
