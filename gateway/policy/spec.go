package policy

// A Spec is a CORS policy as declared in the portico.cors.v1.Policy option of
// a service or a method, before inheritance. Pointer fields are nil when
// unset. See proto/portico/cors/v1/cors.proto for each field's meaning.
//
// The zero Spec declares nothing.
type Spec struct {
	Origins             []string
	OriginSet           string
	AllowCredentials    *bool
	Public              *bool
	AllowHeaders        []string
	ExposeHeaders       []string
	MaxAgeSeconds       *int32
	Protocols           []Protocol
	AllowPrivateNetwork *bool
	ReportOnly          *bool

	// Declared says where each field set here was written, for
	// diagnostics; the compiler does not need it. [Resolve] keeps the
	// declarations of the fields that take effect.
	Declared []Declaration
}

// A Declaration says where one field of a policy was written.
type Declaration struct {
	// Field is the portico.cors.v1.Policy field name, "allow_headers".
	Field string
	// Scope is "service" for the service's option, "method" for the
	// method's.
	Scope string
	// Source is the field's position, "file.proto:line".
	Source string
}

// Resolve returns the effective policy of a method: its own Spec refining its
// service's. Scalars set on the method win; origins, origin_set and protocols
// set on the method replace the service's; header lists are added to the
// service's. A method made public that does not set allow_credentials itself
// is not credentialed, whatever its service says, and drops the service's
// origins: public means every origin. Conversely, a method of a public service
// that names origins, an origin set or credentials is no longer public.
func Resolve(service, method Spec) Spec {
	eff := service
	if len(method.Origins) > 0 {
		eff.Origins = method.Origins
	}
	if method.OriginSet != "" {
		eff.OriginSet = method.OriginSet
	}
	if method.AllowCredentials != nil {
		eff.AllowCredentials = method.AllowCredentials
	}
	switch {
	case method.Public != nil:
		eff.Public = method.Public
		if *method.Public {
			eff.Origins, eff.OriginSet = nil, ""
			if method.AllowCredentials == nil {
				eff.AllowCredentials = nil
			}
		}
	case isSet(service.Public) && (len(method.Origins) > 0 || method.OriginSet != "" || isSet(method.AllowCredentials)):
		// The method narrows a public service to named origins: the more
		// specific declaration wins, as it does the other way round.
		eff.Public = nil
	}
	eff.AllowHeaders = concat(service.AllowHeaders, method.AllowHeaders)
	eff.ExposeHeaders = concat(service.ExposeHeaders, method.ExposeHeaders)
	if method.MaxAgeSeconds != nil {
		eff.MaxAgeSeconds = method.MaxAgeSeconds
	}
	if len(method.Protocols) > 0 {
		eff.Protocols = method.Protocols
	}
	if method.AllowPrivateNetwork != nil {
		eff.AllowPrivateNetwork = method.AllowPrivateNetwork
	}
	if method.ReportOnly != nil {
		eff.ReportOnly = method.ReportOnly
	}
	eff.Declared = resolveDeclared(service, method, eff)
	return eff
}

// additiveFields are the fields whose method values add to the service's.
var additiveFields = map[string]bool{"allow_headers": true, "expose_headers": true}

// resolveDeclared keeps the declarations of the fields that take effect in
// eff: the method's, the service's where the method sets nothing, and both
// for header lists.
func resolveDeclared(service, method, eff Spec) []Declaration {
	byMethod := make(map[string]bool, len(method.Declared))
	for _, d := range method.Declared {
		byMethod[d.Field] = true
	}
	var out []Declaration
	for _, d := range service.Declared {
		if byMethod[d.Field] && !additiveFields[d.Field] {
			continue
		}
		switch d.Field {
		case "origins":
			if len(eff.Origins) == 0 {
				continue
			}
		case "origin_set":
			if eff.OriginSet == "" {
				continue
			}
		case "allow_credentials":
			if eff.AllowCredentials == nil {
				continue
			}
		case "public":
			if eff.Public == nil {
				continue
			}
		}
		out = append(out, d)
	}
	return append(out, method.Declared...)
}

func concat(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	out := make([]string, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

func isSet(b *bool) bool { return b != nil && *b }
