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
	return eff
}

func concat(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	out := make([]string, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

func isSet(b *bool) bool { return b != nil && *b }
