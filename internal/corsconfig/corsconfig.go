// Package corsconfig reads how one deployment binds the CORS policies that
// the .proto options declare: which origins each named origin set holds, and
// which services or procedures run in report-only mode. Origins belong to
// deployments, method needs belong to the API: the .proto says a method
// accepts the "web" set; each environment says what "web" is.
//
// A deployment configures them with a YAML file (PORTICO_CONFIG), which holds
// one section per environment and is read for the environment PORTICO_ENV
// names, and with environment variables, which Cloud Run's --set-env-vars
// carries: PORTICO_ORIGINS_<SET> adds origins to a set and
// PORTICO_CORS_REPORT_ONLY turns report-only mode on or off. Both add up.
//
// This package checks the shape of the configuration and records where each
// value comes from (a file line or a variable); the origins themselves are
// checked by the gateway, with the same rules as the .proto options, when
// the bindings are applied.
package corsconfig

import (
	"errors"
	"fmt"
	"strings"

	"github.com/portico-dev/portico/gateway/policy"
)

// Environment variables read by [FromEnv].
const (
	// OriginSetPrefix starts each variable that binds an origin set:
	// PORTICO_ORIGINS_WEB=https://staging.example.com,https://*.example.dev.
	OriginSetPrefix = "PORTICO_ORIGINS_"
	// ReportOnlyVar lists report-only overrides:
	// PORTICO_CORS_REPORT_ONLY=pkg.Service,/pkg.Service/Method=false.
	ReportOnlyVar = "PORTICO_CORS_REPORT_ONLY"
)

// An OriginSet binds origins to a named origin set.
type OriginSet struct {
	// Name is the set's name, as in the proto option origin_set.
	Name string
	// Source says where the binding is written: a variable, or
	// "file:line:column".
	Source string
	// Origins are exact origins, one-label wildcards or port lists.
	Origins []string
}

// A ReportOnly overrides the report_only option of a service
// ("pkg.Service") or a procedure ("/pkg.Service/Method").
type ReportOnly struct {
	Target string
	On     bool
	Source string
}

// A Config is one deployment's bindings.
type Config struct {
	OriginSets []OriginSet
	ReportOnly []ReportOnly
}

// FromEnv reads the bindings of the environment variables, given as
// "KEY=value" pairs, ignoring other variables. It reports every invalid
// variable at once, each error naming its variable.
func FromEnv(environ []string) (Config, error) {
	var cfg Config
	var errs []error
	for _, kv := range environ {
		key, value, _ := strings.Cut(kv, "=")
		switch {
		case key == ReportOnlyVar:
			overrides, err := parseReportOnlyVar(value)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			cfg.ReportOnly = append(cfg.ReportOnly, overrides...)
		case strings.HasPrefix(key, OriginSetPrefix):
			set, err := parseOriginSetVar(key, value)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			cfg.OriginSets = append(cfg.OriginSets, set)
		}
	}
	return cfg, errors.Join(errs...)
}

// parseOriginSetVar reads PORTICO_ORIGINS_<SET>=origin,origin. Spaces around
// items and empty items are ignored.
func parseOriginSetVar(key, value string) (OriginSet, error) {
	suffix := strings.TrimPrefix(key, OriginSetPrefix)
	if suffix != strings.ToUpper(suffix) {
		// PORTICO_ORIGINS_web and PORTICO_ORIGINS_WEB would both bind "web".
		return OriginSet{}, fmt.Errorf("%s: write the origin set name in upper case (%s%s)", key, OriginSetPrefix, strings.ToUpper(suffix))
	}
	name := strings.ToLower(suffix)
	if err := policy.CheckOriginSetName(name); err != nil {
		return OriginSet{}, fmt.Errorf("%s: %w", key, err)
	}
	set := OriginSet{Name: name, Source: key}
	for _, item := range splitOutsideBrackets(value) {
		if item = strings.TrimSpace(item); item != "" {
			set.Origins = append(set.Origins, item)
		}
	}
	return set, nil
}

// splitOutsideBrackets splits a comma-separated list whose items may hold
// port lists, "http://localhost:[5173,8080],https://app.example.com".
func splitOutsideBrackets(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth <= 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// parseReportOnlyVar reads target[=true|false],... .
func parseReportOnlyVar(value string) ([]ReportOnly, error) {
	var out []ReportOnly
	seen := map[string]bool{}
	for item := range strings.SplitSeq(value, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		target, flag, hasFlag := strings.Cut(item, "=")
		on := true
		if hasFlag {
			switch flag {
			case "true":
			case "false":
				on = false
			default:
				return nil, fmt.Errorf("%s: %q: want target, target=true or target=false", ReportOnlyVar, item)
			}
		}
		if err := checkTarget(target); err != nil {
			return nil, fmt.Errorf("%s: %w", ReportOnlyVar, err)
		}
		if seen[target] {
			return nil, fmt.Errorf("%s: %q given twice", ReportOnlyVar, target)
		}
		seen[target] = true
		out = append(out, ReportOnly{Target: target, On: on, Source: ReportOnlyVar})
	}
	return out, nil
}

// checkTarget checks the shape of a report-only target; the gateway checks
// that it names a service or procedure with a policy.
func checkTarget(target string) error {
	name := strings.TrimPrefix(target, "/")
	if name == "" || strings.ContainsAny(name, " \t") || strings.Count(name, "/") > 1 ||
		(strings.HasPrefix(target, "/") != strings.Contains(name, "/")) || strings.HasSuffix(name, "/") {
		return fmt.Errorf("report-only target %q: write a service as pkg.Service or a procedure as /pkg.Service/Method", target)
	}
	return nil
}

// Merge returns the bindings of a and b together, a's first.
func Merge(a, b Config) Config {
	return Config{
		OriginSets: append(append([]OriginSet(nil), a.OriginSets...), b.OriginSets...),
		ReportOnly: append(append([]ReportOnly(nil), a.ReportOnly...), b.ReportOnly...),
	}
}
