package gateway

import (
	"slices"
	"strings"
)

// A Procedure is the effective CORS policy of one procedure in one
// deployment: the compiled .proto policy with the deployment's origin set
// bindings and report-only overrides applied, as [Gateway.Procedures] lists
// it.
type Procedure struct {
	// Procedure is the path, "/pkg.Service/Method".
	Procedure string `json:"procedure"`
	// Source is where the method is declared, "file.proto:line".
	Source string `json:"source"`
	// BrowserCallable reports whether browsers may call it at all;
	// NotCallableReason says why not.
	BrowserCallable   bool   `json:"browser_callable"`
	NotCallableReason string `json:"not_callable_reason,omitempty"`
	// Public reports Access-Control-Allow-Origin: * for any origin.
	Public bool `json:"public"`
	// AllowCredentials reports that the exact origin is echoed with
	// Access-Control-Allow-Credentials: true.
	AllowCredentials bool `json:"allow_credentials"`
	// Origins lists the allowed origin patterns as written, with where each
	// comes from.
	Origins []AllowedOrigin `json:"origins"`
	// OriginSet names the procedure's origin set, if any.
	OriginSet string `json:"origin_set,omitempty"`
	// The Access-Control-Allow-Methods, Allow-Headers, Expose-Headers and
	// Max-Age values of its preflights and responses.
	AllowMethods  string `json:"allow_methods,omitempty"`
	AllowHeaders  string `json:"allow_headers,omitempty"`
	ExposeHeaders string `json:"expose_headers,omitempty"`
	MaxAge        string `json:"max_age,omitempty"`
	// AllowPrivateNetwork reports that Private Network Access preflights
	// are approved.
	AllowPrivateNetwork bool `json:"allow_private_network"`
	// ReportOnly reports that refusals are logged, not enforced, and
	// ReportOnlySource who decided it (an option or an override).
	ReportOnly       bool   `json:"report_only"`
	ReportOnlySource string `json:"report_only_source,omitempty"`
}

// An AllowedOrigin is one allowed origin pattern and where it comes from.
type AllowedOrigin struct {
	// Pattern is the pattern as written, "https://*.example.dev" or
	// "http://localhost:[5173,8080]".
	Pattern string `json:"pattern"`
	// Set is the origin set whose binding added it, "" for the .proto's
	// own origins.
	Set string `json:"set,omitempty"`
	// Source is the .proto position or the binding's source (environment
	// variable or file line).
	Source string `json:"source"`
}

// Procedures lists the effective policy of every procedure given to [New],
// sorted by path. Service paths (the policies of unknown methods) are not
// listed.
func (g *Gateway) Procedures() []Procedure {
	out := make([]Procedure, 0, len(g.procedures))
	for _, rt := range g.procedures {
		out = append(out, rt.describe())
	}
	slices.SortFunc(out, func(a, b Procedure) int { return strings.Compare(a.Procedure, b.Procedure) })
	return out
}

func (rt *route) describe() Procedure {
	m := rt.policy
	p := Procedure{
		Procedure:         m.Procedure,
		Source:            m.Source,
		BrowserCallable:   rt.callable,
		NotCallableReason: m.NotCallableReason,
		Public:            rt.public,
		AllowCredentials:  rt.credentials,
		OriginSet:         m.OriginSet,
		AllowMethods:      m.AllowMethods,
		AllowHeaders:      m.AllowHeaders,
		ExposeHeaders:     m.ExposeHeaders,
		MaxAge:            m.MaxAge,
		ReportOnly:        rt.reportOnly,
		ReportOnlySource:  rt.reportOnlySource,
	}
	if rt.callable {
		p.AllowPrivateNetwork = rt.privateNet
	}
	for _, o := range rt.originSources {
		p.Origins = append(p.Origins, AllowedOrigin{Pattern: o.pattern, Set: o.set, Source: o.source})
	}
	return p
}
