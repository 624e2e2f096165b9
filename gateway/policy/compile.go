package policy

import (
	"slices"
	"strconv"
	"strings"
)

// MethodInfo is what the compiler needs to know of an RPC besides its options.
type MethodInfo struct {
	// Procedure is the request path, "/pkg.Service/Method".
	Procedure string
	// Source says where the method is declared, "file.proto:line"; optional.
	Source string
	// StreamType is the RPC's shape.
	StreamType StreamType
	// NoSideEffects reports idempotency_level = NO_SIDE_EFFECTS, which lets
	// Connect serve the method with GET.
	NoSideEffects bool
}

// Compile computes the final policy of a method from its effective Spec (see
// [Resolve]). It returns the [Spec.Validate] errors of the effective Spec, if
// any; a Spec that validated where it was declared can still conflict once
// inherited values are added.
func Compile(info MethodInfo, eff Spec) (Method, error) {
	if err := eff.Validate(); err != nil {
		return Method{}, err
	}
	m := Method{
		Procedure:           info.Procedure,
		Source:              info.Source,
		Public:              isSet(eff.Public),
		AllowCredentials:    isSet(eff.AllowCredentials) && !isSet(eff.Public),
		Origins:             slices.Clone(eff.Origins),
		OriginSet:           eff.OriginSet,
		AllowPrivateNetwork: isSet(eff.AllowPrivateNetwork),
		ReportOnly:          isSet(eff.ReportOnly),
		Declared:            slices.Clone(eff.Declared),
	}
	if m.Public {
		m.Origins, m.OriginSet = nil, ""
	}
	switch {
	case info.StreamType == ClientStream || info.StreamType == BidiStream:
		m.NotCallableReason = "client- and bidi-streaming methods cannot be called from browsers: fetch cannot stream request bodies"
	case !m.Public && len(m.Origins) == 0 && m.OriginSet == "":
		m.NotCallableReason = "the policy names no origins, no origin set and is not public"
	default:
		m.BrowserCallable = true
	}
	if !m.BrowserCallable {
		m.Public, m.AllowCredentials, m.Origins, m.OriginSet, m.AllowPrivateNetwork, m.ReportOnly = false, false, nil, "", false, false
		return m, nil
	}

	connect, grpcWeb := protocolsOf(eff.Protocols)
	var allow, expose []string
	if connect {
		allow = append(allow, connectRequestHeaders...)
		if info.StreamType != Unary {
			allow = append(allow, connectStreamRequestHeaders...)
		}
	}
	if grpcWeb {
		allow = append(allow, grpcWebRequestHeaders...)
		expose = append(expose, grpcWebResponseHeaders...)
	}
	m.AllowHeaders = joinHeaders(append(allow, eff.AllowHeaders...))
	m.ExposeHeaders = joinHeaders(append(expose, eff.ExposeHeaders...))
	m.AllowMethods = "POST"
	if connect && info.NoSideEffects && info.StreamType == Unary {
		m.AllowMethods = "GET, POST"
	}
	if eff.MaxAgeSeconds != nil {
		m.MaxAge = strconv.Itoa(int(*eff.MaxAgeSeconds))
	}
	return m, nil
}

func protocolsOf(ps []Protocol) (connect, grpcWeb bool) {
	if len(ps) == 0 {
		return true, true
	}
	return slices.Contains(ps, ProtocolConnect), slices.Contains(ps, ProtocolGRPCWeb)
}

// joinHeaders sorts names case-insensitively, drops case-insensitive
// duplicates (keeping the first spelling) and joins them with ", ".
func joinHeaders(names []string) string {
	seen := make(map[string]bool, len(names))
	unique := make([]string, 0, len(names))
	for _, n := range names {
		if k := strings.ToLower(n); !seen[k] {
			seen[k] = true
			unique = append(unique, n)
		}
	}
	slices.SortStableFunc(unique, func(a, b string) int {
		return strings.Compare(strings.ToLower(a), strings.ToLower(b))
	})
	return strings.Join(unique, ", ")
}
