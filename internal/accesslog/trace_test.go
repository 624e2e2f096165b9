package accesslog

import (
	"net/http"
	"testing"
	"time"
)

func TestTraceOf(t *testing.T) {
	t.Parallel()
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	tests := []struct {
		name        string
		header      http.Header
		wantTrace   string
		wantSpan    string
		wantSampled bool
	}{
		{"traceparent sampled", http.Header{"Traceparent": {"00-" + trace + "-00f067aa0ba902b7-01"}}, trace, "00f067aa0ba902b7", true},
		{"traceparent not sampled", http.Header{"Traceparent": {"00-" + trace + "-00f067aa0ba902b7-00"}}, trace, "00f067aa0ba902b7", false},
		{"traceparent future version with more fields", http.Header{"Traceparent": {"01-" + trace + "-00f067aa0ba902b7-01-extra"}}, trace, "00f067aa0ba902b7", true},
		{"traceparent version ff", http.Header{"Traceparent": {"ff-" + trace + "-00f067aa0ba902b7-01"}}, "", "", false},
		{"traceparent zero trace", http.Header{"Traceparent": {"00-00000000000000000000000000000000-00f067aa0ba902b7-01"}}, "", "", false},
		{"traceparent upper case", http.Header{"Traceparent": {"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"}}, "", "", false},
		{"traceparent short", http.Header{"Traceparent": {"00-" + trace + "-00f067aa0ba902b7"}}, "", "", false},
		{"two traceparents", http.Header{"Traceparent": {"00-" + trace + "-00f067aa0ba902b7-01", "00-" + trace + "-00f067aa0ba902b7-01"}}, "", "", false},
		{"cloud trace sampled", http.Header{"X-Cloud-Trace-Context": {trace + "/123;o=1"}}, trace, "123", true},
		{"cloud trace without span", http.Header{"X-Cloud-Trace-Context": {trace}}, trace, "", false},
		{"cloud trace bad options", http.Header{"X-Cloud-Trace-Context": {trace + "/1;o=x"}}, "", "", false},
		{"cloud trace not hex", http.Header{"X-Cloud-Trace-Context": {"zz" + trace[2:] + "/1"}}, "", "", false},
		{"traceparent wins", http.Header{
			"Traceparent":           {"00-" + trace + "-00f067aa0ba902b7-01"},
			"X-Cloud-Trace-Context": {"105445aa7843bc8bf206b12000100000/1;o=1"},
		}, trace, "00f067aa0ba902b7", true},
		{"bad traceparent falls back", http.Header{
			"Traceparent":           {"junk"},
			"X-Cloud-Trace-Context": {"105445aa7843bc8bf206b12000100000/1;o=1"},
		}, "105445aa7843bc8bf206b12000100000", "1", true},
		{"none", http.Header{}, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			trace, span, sampled, ok := traceOf(tc.header)
			if ok != (tc.wantTrace != "") || trace != tc.wantTrace || span != tc.wantSpan || sampled != tc.wantSampled {
				t.Errorf("traceOf() = %q, %q, %v, %v; want %q, %q, %v", trace, span, sampled, ok, tc.wantTrace, tc.wantSpan, tc.wantSampled)
			}
		})
	}
}

func TestFormatLatency(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		123 * time.Millisecond:  "0.123s",
		1500 * time.Millisecond: "1.5s",
		time.Nanosecond:         "0.000000001s",
		0:                       "0s",
	} {
		if got := formatLatency(d); got != want {
			t.Errorf("formatLatency(%v) = %q, want %q", d, got, want)
		}
	}
}

func FuzzTraceOf(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "105445aa7843bc8bf206b12000100000/1;o=1")
	f.Fuzz(func(t *testing.T, traceparent, cloud string) {
		trace, _, _, ok := traceOf(http.Header{"Traceparent": {traceparent}, "X-Cloud-Trace-Context": {cloud}})
		if ok && (len(trace) != 32 || !isHex(trace)) {
			t.Errorf("trace %q is not 32 lower-case hex digits", trace)
		}
	})
}
