package accesslog

import "net/http"

// traceOf reads the request's trace context: W3C traceparent
// (https://www.w3.org/TR/trace-context/#traceparent-header) first, then
// Google's X-Cloud-Trace-Context ("TRACE_ID/SPAN_ID;o=1"), which Cloud Run
// sets on every request. The trace is 32 lower-case hex digits; span is the
// span id in the header's own form ("" if absent).
func traceOf(h http.Header) (trace, span string, sampled, ok bool) {
	if v := h.Values("Traceparent"); len(v) == 1 {
		if trace, span, sampled, ok = parseTraceparent(v[0]); ok {
			return trace, span, sampled, true
		}
	}
	if v := h.Values("X-Cloud-Trace-Context"); len(v) == 1 {
		return parseCloudTraceContext(v[0])
	}
	return "", "", false, false
}

// parseTraceparent parses version 00: "00-<trace 32 hex>-<parent 16 hex>-<flags 2 hex>".
// Later versions may append fields after the flags.
func parseTraceparent(v string) (trace, span string, sampled, ok bool) {
	if len(v) < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' || (len(v) > 55 && v[55] != '-') {
		return "", "", false, false
	}
	if !isHex(v[:2]) || v[:2] == "ff" || !isHex(v[3:35]) || !isHex(v[36:52]) || !isHex(v[53:55]) {
		return "", "", false, false
	}
	trace, span = v[3:35], v[36:52]
	if trace == "00000000000000000000000000000000" || span == "0000000000000000" {
		return "", "", false, false
	}
	return trace, span, fromHex(v[54])&1 == 1, true
}

// parseCloudTraceContext parses "TRACE_ID[/SPAN_ID][;o=OPTIONS]", where the
// span id is decimal.
func parseCloudTraceContext(v string) (trace, span string, sampled, ok bool) {
	if len(v) < 32 || !isHex(v[:32]) {
		return "", "", false, false
	}
	trace, rest := v[:32], v[32:]
	if len(rest) > 0 && rest[0] == '/' {
		rest = rest[1:]
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		span, rest = rest[:i], rest[i:]
	}
	switch rest {
	case "", ";o=0":
	case ";o=1":
		sampled = true
	default:
		return "", "", false, false
	}
	return trace, span, sampled, true
}

// isHex reports whether s is lower-case hex digits only.
func isHex(s string) bool {
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func fromHex(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}
