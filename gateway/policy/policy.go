// Package policy is Portico's one CORS policy compiler. It turns the
// portico.cors.v1 options declared on a service and its methods into the
// per-procedure [Method] table that the gateway serves, with every header
// value computed ahead of time, and it holds the rules that make a policy
// invalid.
//
// The same code runs in three places: protoc-gen-portico calls [Spec.Validate],
// [Resolve] and [Compile] at generate time and emits the resulting [Service]
// as Go source; the gateway checks deployment bindings of origin sets with the
// same origin rules at start-up; and tooling reads the generated tables. There
// is no second implementation of any rule.
//
// This package does not read protobuf options itself (the plugin does, from
// the descriptors it is given), so it does not depend on generated code.
package policy

import "strings"

// A Service is the compiled CORS policy of one protobuf service, as emitted by
// protoc-gen-portico. It is read-only once built.
type Service struct {
	// Name is the fully-qualified service name, "portico.profile.v1.ProfileService".
	Name string
	// Default is the service-level policy, compiled as for a unary method
	// with side effects. The gateway applies it to requests under the service's
	// path that name no known method, so that even a "not found" answer is
	// readable by an allowed browser. Its Procedure is the service path,
	// "/portico.profile.v1.ProfileService/".
	Default Method
	// Methods holds one entry per method, in declaration order.
	Methods []Method
}

// A Method is the compiled CORS policy of one procedure. Header values are
// final: the gateway writes them as they are.
//
// The zero Method is not browser-callable.
type Method struct {
	// Procedure is the request path, "/portico.profile.v1.ProfileService/GetProfile".
	Procedure string
	// Source says where the policy was declared, "file.proto:line", for
	// diagnostics. It may be empty.
	Source string
	// BrowserCallable reports whether browsers may call the method at all. If
	// false, the gateway refuses its preflights and adds no CORS headers, and
	// NotCallableReason says why.
	BrowserCallable bool
	// NotCallableReason explains a false BrowserCallable.
	NotCallableReason string
	// Public reports whether any origin may call the method, without
	// credentials (Access-Control-Allow-Origin: *).
	Public bool
	// AllowCredentials reports whether the exact origin is echoed together
	// with Access-Control-Allow-Credentials: true.
	AllowCredentials bool
	// Origins lists the origin patterns declared in the .proto.
	Origins []string
	// OriginSet names the origin set a deployment may add origins to; empty
	// if none.
	OriginSet string
	// AllowMethods is the Access-Control-Allow-Methods value: "POST", or
	// "GET, POST" for side-effect-free unary methods served with Connect.
	AllowMethods string
	// AllowHeaders is the Access-Control-Allow-Headers value: the protocol
	// headers plus the declared ones, sorted case-insensitively.
	AllowHeaders string
	// ExposeHeaders is the Access-Control-Expose-Headers value; empty sends
	// none.
	ExposeHeaders string
	// MaxAge is the Access-Control-Max-Age value; empty sends none.
	MaxAge string
	// AllowPrivateNetwork reports whether preflights asking for Private
	// Network Access are approved.
	AllowPrivateNetwork bool
	// ReportOnly reports whether the policy is rolled out in report-only
	// mode: refusals are logged, not enforced. A deployment may override it.
	ReportOnly bool
	// Declared says where each field of the effective policy was written,
	// for explanations; it may be empty.
	Declared []Declaration
}

// DeclaredAt returns where field of the effective policy was written,
// "file.proto:line (method option)", each position once, joined with "; ";
// "" if unknown.
func (m *Method) DeclaredAt(field string) string {
	var at []string
	for _, d := range m.Declared {
		if d.Field == field {
			at = append(at, d.Source+" ("+d.Scope+" option)")
		}
	}
	return strings.Join(at, "; ")
}

// Credentialed reports whether responses of the method depend on the
// request's Origin, so that every response must carry Vary: Origin.
func (m *Method) Credentialed() bool {
	return m.BrowserCallable && !m.Public
}
