// Package logsafe bounds client-supplied values before they reach a log
// line, so that one request cannot write a megabyte of log. The gateway's
// CORS refusals and the CSRF guard's refusals both use it.
package logsafe

const (
	// MaxBytes bounds each value in a log line.
	MaxBytes = 256
	// MaxValues bounds how many values of a repeated header a line shows.
	MaxValues = 4
)

// String returns s, cut to [MaxBytes] with an ellipsis if longer.
func String(s string) string {
	if len(s) <= MaxBytes {
		return s
	}
	return s[:MaxBytes] + "…"
}

// Strings returns at most [MaxValues] of values, each bounded by [String].
// It allocates a new slice; values is not modified.
func Strings(values []string) []string {
	shown := make([]string, 0, min(len(values), MaxValues))
	for _, v := range values[:min(len(values), MaxValues)] {
		shown = append(shown, String(v))
	}
	return shown
}
