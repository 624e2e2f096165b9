package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/policy"
	"github.com/portico-dev/portico/internal/app"
	"github.com/portico-dev/portico/internal/corsconfig"
)

// configVar names the deployment configuration file.
const configVar = "PORTICO_CONFIG"

// loadCORS reads the CORS bindings of environment env: the environment's
// section of the PORTICO_CONFIG file, if set, then the PORTICO_ORIGINS_<SET>
// and PORTICO_CORS_REPORT_ONLY variables. Each error names its variable or
// file line. The file's other environments are checked too, as the gateway
// would check them, so that a broken prod section fails in staging first.
func loadCORS(environ []string, env string) (corsconfig.Config, error) {
	fromEnv, envErr := corsconfig.FromEnv(environ)
	var fromFile corsconfig.Config
	var fileErr error
	if path, ok := lookup(environ, configVar); ok {
		fromFile, fileErr = readConfigFile(path, env)
	}
	cfg := corsconfig.Merge(fromFile, fromEnv)
	slices.SortStableFunc(cfg.OriginSets, func(a, b corsconfig.OriginSet) int { return strings.Compare(a.Name, b.Name) })
	return cfg, errors.Join(fileErr, envErr)
}

func readConfigFile(path, env string) (corsconfig.Config, error) {
	if path == "" {
		return corsconfig.Config{}, fmt.Errorf("%s is empty: unset it, or name a YAML file", configVar)
	}
	f, err := os.Open(path)
	if err != nil {
		return corsconfig.Config{}, fmt.Errorf("%s=%q: %w", configVar, path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, corsconfig.MaxFileBytes+1))
	if err != nil {
		return corsconfig.Config{}, fmt.Errorf("%s=%q: %w", configVar, path, err)
	}
	file, err := corsconfig.ParseFile(path, data)
	if err != nil {
		return corsconfig.Config{}, err
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(file.Environments)) {
		if name != env {
			errs = append(errs, checkOriginSets(file.Environments[name]))
		}
	}
	cfg, err := file.Environment(env)
	return cfg, errors.Join(append(errs, err)...)
}

// lookup returns the value of key in environ, the last one if repeated, as
// os.Getenv would see it.
func lookup(environ []string, key string) (string, bool) {
	value, found := "", false
	for _, kv := range environ {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			value, found = v, true
		}
	}
	return value, found
}

// logPolicies writes one line per service summarising its effective CORS
// policy in this deployment, and a warning per procedure in report-only
// mode, whose refusals are not enforced.
func logPolicies(logger *slog.Logger, gw *gateway.Gateway, env string) {
	type summary struct {
		callable, public, credentialed, reportOnly []string
		origins                                    []string
		total                                      int
	}
	byService := map[string]*summary{}
	var order []string
	for _, p := range gw.Procedures() {
		svc, method := splitProcedure(p.Procedure)
		s := byService[svc]
		if s == nil {
			s = &summary{}
			byService[svc] = s
			order = append(order, svc)
		}
		s.total++
		if !p.BrowserCallable {
			continue
		}
		s.callable = append(s.callable, method)
		if p.Public {
			s.public = append(s.public, method)
		}
		if p.AllowCredentials {
			s.credentialed = append(s.credentialed, method)
		}
		if p.ReportOnly {
			s.reportOnly = append(s.reportOnly, method)
			logger.Warn("cors: report-only mode: refusals are logged, not enforced", "procedure", p.Procedure, "source", p.ReportOnlySource)
		}
		for _, o := range p.Origins {
			if !slices.Contains(s.origins, o.Pattern) {
				s.origins = append(s.origins, o.Pattern)
			}
		}
	}
	for _, svc := range order {
		s := byService[svc]
		logger.Info("cors policy", "env", env, "service", svc,
			"procedures", s.total, "browser_callable", len(s.callable),
			"public", strings.Join(s.public, ","), "credentialed", strings.Join(s.credentialed, ","),
			"origins", strings.Join(s.origins, ","), "report_only", strings.Join(s.reportOnly, ","))
	}
}

func splitProcedure(p string) (service, method string) {
	i := strings.LastIndexByte(p, '/')
	return strings.Trim(p[:i], "/"), p[i+1:]
}

// corsCommand runs `portico cors list|explain`: it builds the gateway from
// the same configuration the server reads (PORTICO_ENV, PORTICO_CONFIG,
// PORTICO_ORIGINS_<SET>, PORTICO_CORS_REPORT_ONLY) and asks it.
func corsCommand(args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, corsUsage)
		return 2
	}
	switch args[0] {
	case "list":
		return corsList(args[1:], environ, stdout, stderr)
	case "explain":
		return corsExplain(args[1:], environ, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, corsUsage)
		return 0
	}
	fmt.Fprintf(stderr, "portico cors: unknown command %q\n\n%s", args[0], corsUsage)
	return 2
}

const corsUsage = `Usage:
  portico cors list [--env E] [--json]
      the effective CORS policy of every procedure in environment E
  portico cors explain --procedure /pkg.Service/Method --origin O [--method POST|GET]
                       [--request-headers a,b] [--credentials] [--env E] [--json]
      simulate a browser's call: exit status 0 if it is allowed, 1 if not,
      2 for a usage or configuration error

Both read the server's configuration: PORTICO_ENV (or --env), PORTICO_CONFIG,
PORTICO_ORIGINS_<SET> and PORTICO_CORS_REPORT_ONLY.
`

// corsGateway builds the gateway for environment env (PORTICO_ENV if env is
// empty, else dev).
func corsGateway(env string, environ []string) (*gateway.Gateway, string, error) {
	if env == "" {
		env, _ = lookup(environ, "PORTICO_ENV")
	}
	if env == "" {
		// The server's default: prod when an issuer is configured.
		var ac app.AuthConfig
		ac.Issuer, _ = lookup(environ, "PORTICO_AUTH_ISSUER")
		env = string(ac.ResolvedEnv())
	}
	if !corsconfig.ValidEnvName(env) {
		return nil, env, fmt.Errorf("environment %q: want a name such as dev, staging or prod", env)
	}
	cfg, err := loadCORS(environ, env)
	if err != nil {
		return nil, env, err
	}
	gw, err := app.NewGateway(app.Config{OriginSets: cfg.OriginSets, ReportOnly: cfg.ReportOnly}, gateway.WithLogger(nil))
	return gw, env, err
}

func corsList(args, environ []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("portico cors list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := fs.String("env", "", "environment (default PORTICO_ENV)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "portico cors list: unexpected arguments %q\n", fs.Args())
		return 2
	}
	gw, envName, err := corsGateway(*env, environ)
	if err != nil {
		fmt.Fprintln(stderr, "portico cors list:", err)
		return 2
	}
	procs := gw.Procedures()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"env": envName, "procedures": procs}); err != nil {
			fmt.Fprintln(stderr, "portico cors list:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stdout, "environment %s\n\n", envName)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROCEDURE\tBROWSER\tORIGINS\tCREDENTIALS\tMETHODS\tALLOW HEADERS\tEXPOSE HEADERS\tMAX AGE\tREPORT-ONLY")
	for _, p := range procs {
		browser, origins := "yes", originsCell(p)
		if !p.BrowserCallable {
			browser, origins = "no", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Procedure, browser, origins,
			yesNo(p.AllowCredentials), dash(p.AllowMethods), dash(p.AllowHeaders), dash(p.ExposeHeaders), dash(p.MaxAge), reportOnlyCell(p))
	}
	if err := tw.Flush(); err != nil {
		return 1
	}
	return 0
}

func originsCell(p gateway.Procedure) string {
	if p.Public {
		return "* (public)"
	}
	var out []string
	for _, o := range p.Origins {
		out = append(out, o.Pattern)
	}
	if p.OriginSet != "" {
		out = append(out, "set:"+p.OriginSet)
	}
	return strings.Join(out, " ")
}

func reportOnlyCell(p gateway.Procedure) string {
	if !p.ReportOnly {
		return "no"
	}
	return "yes (" + p.ReportOnlySource + ")"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// connectUnaryHeaders are the headers connect-web's Connect transport sets
// on a unary POST: explain's default request headers.
var connectUnaryHeaders = []string{"connect-protocol-version", "content-type"}

func corsExplain(args, environ []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("portico cors explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := fs.String("env", "", "environment (default PORTICO_ENV)")
	procedure := fs.String("procedure", "", "procedure path, /pkg.Service/Method (required)")
	origin := fs.String("origin", "", "the calling page's origin, https://app.example.com (required)")
	method := fs.String("method", "POST", "HTTP method: POST, or GET for Connect GET")
	headers := fs.String("request-headers", "", "comma-separated request headers the page sends (default: connect-protocol-version,content-type for POST, none for GET)")
	credentials := fs.Bool("credentials", false, "the request carries credentials (cookies or HTTP authentication)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *procedure == "" || *origin == "" {
		fmt.Fprintln(stderr, "portico cors explain: --procedure and --origin are required, and nothing else")
		fs.Usage()
		return 2
	}
	if !validProcedure(*procedure) {
		fmt.Fprintf(stderr, "portico cors explain: --procedure %q: write it as the request path, /pkg.Service/Method\n", *procedure)
		return 2
	}
	if strings.ContainsFunc(*origin, isControl) {
		fmt.Fprintf(stderr, "portico cors explain: --origin %q: control characters cannot be in a header\n", *origin)
		return 2
	}
	if *method == "" {
		*method = "POST"
	}
	if !policy.IsToken(*method) {
		fmt.Fprintf(stderr, "portico cors explain: --method %q: not an HTTP method\n", *method)
		return 2
	}
	q := gateway.Query{Procedure: *procedure, Origin: *origin, Method: strings.ToUpper(*method), Credentials: *credentials}
	headersSet := false
	fs.Visit(func(f *flag.Flag) { headersSet = headersSet || f.Name == "request-headers" })
	switch {
	case headersSet:
		for h := range strings.SplitSeq(*headers, ",") {
			if h = strings.TrimSpace(h); h != "" {
				if !policy.IsToken(h) {
					fmt.Fprintf(stderr, "portico cors explain: --request-headers: %q is not a header name\n", h)
					return 2
				}
				q.RequestHeaders = append(q.RequestHeaders, h)
			}
		}
	case q.Method == "POST":
		q.RequestHeaders = connectUnaryHeaders
	}
	gw, envName, err := corsGateway(*env, environ)
	if err != nil {
		fmt.Fprintln(stderr, "portico cors explain:", err)
		return 2
	}
	ex := gw.Explain(q)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"env": envName, "query": q, "explanation": ex})
	} else {
		printExplanation(stdout, envName, q, ex)
	}
	if !ex.Allowed {
		return 1
	}
	return 0
}

func printExplanation(w io.Writer, env string, q gateway.Query, ex gateway.Explanation) {
	verdict := "DENY"
	switch {
	case ex.ReportOnly:
		verdict = "ALLOW (report-only: the policy would refuse)"
	case ex.Allowed:
		verdict = "ALLOW"
	}
	fmt.Fprintf(w, "%s  %s %s from %s (environment %s)\n", verdict, q.Method, q.Procedure, q.Origin, env)
	fmt.Fprintf(w, "  reason: %s\n", ex.Reason)
	if ex.Rule != "" {
		fmt.Fprintf(w, "  rule:   %s\n", ex.Rule)
	}
	if ex.From != "" {
		fmt.Fprintf(w, "  from:   %s\n", ex.From)
	}
	printExchange := func(title string, e *gateway.Exchange) {
		if e == nil {
			return
		}
		fmt.Fprintf(w, "\n%s\n  > %s %s\n", title, e.Method, e.Path)
		printHeader(w, "  > ", e.Header)
		if e.Status != 0 {
			fmt.Fprintf(w, "  < %d\n", e.Status)
		}
		printHeader(w, "  < ", e.ResponseHeader)
	}
	if ex.Preflight == nil {
		fmt.Fprintf(w, "\nno preflight: a %s with only CORS-safelisted headers is a simple request\n", q.Method)
	}
	printExchange("preflight", ex.Preflight)
	printExchange("actual request (the CORS headers the gateway adds before the handler runs)", ex.Actual)
}

func printHeader(w io.Writer, prefix string, h map[string][]string) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(w, "%s%s: %s\n", prefix, k, v)
		}
	}
}

// validProcedure reports whether p looks like a procedure path,
// "/pkg.Service/Method": no query, space or escape.
func validProcedure(p string) bool {
	if len(p) < 3 || p[0] != '/' || strings.Count(p, "/") != 2 {
		return false
	}
	for i := 1; i < len(p); i++ {
		if c := p[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '/') {
			return false
		}
	}
	return true
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
