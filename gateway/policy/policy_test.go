package policy

import (
	"errors"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestResolveAndCompile(t *testing.T) {
	t.Parallel()
	service := Spec{
		Origins:          []string{"https://app.example.com"},
		OriginSet:        "web",
		AllowCredentials: ptr(true),
		AllowHeaders:     []string{"Authorization", "x-client-version"},
		ExposeHeaders:    []string{"ETag"},
		MaxAgeSeconds:    ptr[int32](3600),
	}
	tests := []struct {
		name   string
		info   MethodInfo
		method Spec
		want   Method
	}{
		{
			name: "inherits, GET for side-effect-free unary",
			info: MethodInfo{Procedure: "/s/Get", NoSideEffects: true},
			want: Method{
				Procedure: "/s/Get", BrowserCallable: true, AllowCredentials: true,
				Origins: []string{"https://app.example.com"}, OriginSet: "web",
				AllowMethods:  "GET, POST",
				AllowHeaders:  "Authorization, Connect-Protocol-Version, Connect-Timeout-Ms, Content-Type, Grpc-Timeout, x-client-version, X-Grpc-Web, X-User-Agent",
				ExposeHeaders: "ETag, Grpc-Message, Grpc-Status, Grpc-Status-Details-Bin",
				MaxAge:        "3600",
			},
		},
		{
			name:   "method headers add, duplicates dropped",
			info:   MethodInfo{Procedure: "/s/Update"},
			method: Spec{AllowHeaders: []string{"If-Match", "AUTHORIZATION"}, ExposeHeaders: []string{"Location"}},
			want: Method{
				Procedure: "/s/Update", BrowserCallable: true, AllowCredentials: true,
				Origins: []string{"https://app.example.com"}, OriginSet: "web",
				AllowMethods:  "POST",
				AllowHeaders:  "Authorization, Connect-Protocol-Version, Connect-Timeout-Ms, Content-Type, Grpc-Timeout, If-Match, x-client-version, X-Grpc-Web, X-User-Agent",
				ExposeHeaders: "ETag, Grpc-Message, Grpc-Status, Grpc-Status-Details-Bin, Location",
				MaxAge:        "3600",
			},
		},
		{
			name:   "public drops credentials and origins",
			info:   MethodInfo{Procedure: "/s/Public", NoSideEffects: true},
			method: Spec{Public: ptr(true), MaxAgeSeconds: ptr[int32](0)},
			want: Method{
				Procedure: "/s/Public", BrowserCallable: true, Public: true,
				AllowMethods:  "GET, POST",
				AllowHeaders:  "Authorization, Connect-Protocol-Version, Connect-Timeout-Ms, Content-Type, Grpc-Timeout, x-client-version, X-Grpc-Web, X-User-Agent",
				ExposeHeaders: "ETag, Grpc-Message, Grpc-Status, Grpc-Status-Details-Bin",
				MaxAge:        "0",
			},
		},
		{
			name:   "gRPC-Web only: no Connect headers, no GET",
			info:   MethodInfo{Procedure: "/s/Web", NoSideEffects: true},
			method: Spec{Protocols: []Protocol{ProtocolGRPCWeb}, Origins: []string{"https://admin.example.com"}, AllowPrivateNetwork: ptr(true)},
			want: Method{
				Procedure: "/s/Web", BrowserCallable: true, AllowCredentials: true,
				Origins: []string{"https://admin.example.com"}, OriginSet: "web",
				AllowMethods:        "POST",
				AllowHeaders:        "Authorization, Content-Type, Grpc-Timeout, x-client-version, X-Grpc-Web, X-User-Agent",
				ExposeHeaders:       "ETag, Grpc-Message, Grpc-Status, Grpc-Status-Details-Bin",
				MaxAge:              "3600",
				AllowPrivateNetwork: true,
			},
		},
		{
			name:   "Connect only server stream: streaming headers, POST, nothing to expose from the protocol",
			info:   MethodInfo{Procedure: "/s/Watch", StreamType: ServerStream, NoSideEffects: true},
			method: Spec{Protocols: []Protocol{ProtocolConnect}},
			want: Method{
				Procedure: "/s/Watch", BrowserCallable: true, AllowCredentials: true,
				Origins: []string{"https://app.example.com"}, OriginSet: "web",
				AllowMethods:  "POST",
				AllowHeaders:  "Authorization, Connect-Accept-Encoding, Connect-Content-Encoding, Connect-Protocol-Version, Connect-Timeout-Ms, Content-Type, x-client-version",
				ExposeHeaders: "ETag",
				MaxAge:        "3600",
			},
		},
		{
			name: "client streaming is not browser-callable",
			info: MethodInfo{Procedure: "/s/Upload", StreamType: ClientStream},
			want: Method{Procedure: "/s/Upload", NotCallableReason: "client- and bidi-streaming methods cannot be called from browsers: fetch cannot stream request bodies"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Compile(tc.info, Resolve(service, tc.method))
			if err != nil {
				t.Fatal(err)
			}
			if !equalMethod(got, tc.want) {
				t.Errorf("Compile =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestCompileNoOrigins(t *testing.T) {
	t.Parallel()
	got, err := Compile(MethodInfo{Procedure: "/s/M"}, Spec{AllowHeaders: []string{"Authorization"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.BrowserCallable || got.AllowHeaders != "" || !strings.Contains(got.NotCallableReason, "no origins") {
		t.Errorf("a policy with no origins must not be browser-callable: %+v", got)
	}
}

func TestCompileValidatesEffectiveSpec(t *testing.T) {
	t.Parallel()
	// Compile is the last line of defence: an effective Spec that breaks a
	// rule fails even if nobody validated it before.
	_, err := Compile(MethodInfo{Procedure: "/s/M"}, Resolve(Spec{Public: ptr(true), AllowCredentials: ptr(true)}, Spec{}))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "allow_credentials" {
		t.Fatalf("Compile = %v, want a FieldError on allow_credentials", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	err := Spec{
		Origins:          []string{"https://ok.example.com", "https://*.com", "HTTPS://x.example.com"},
		OriginSet:        "Web",
		Public:           ptr(true),
		AllowCredentials: ptr(true),
		AllowHeaders:     []string{"X Bad", "Cookie", "Sec-Fetch-Mode", "*"},
		ExposeHeaders:    []string{"Set-Cookie"},
		MaxAgeSeconds:    ptr[int32](7201),
		Protocols:        []Protocol{ProtocolUnspecified},
	}.Validate()
	want := []string{
		`origins[1]: invalid origin pattern "https://*.com": "com" is a public suffix`,
		`origins[2]: invalid origin pattern "HTTPS://x.example.com": upper case in scheme`,
		`origin_set: invalid origin set name "Web"`,
		"allow_credentials: credentials cannot be allowed on a public policy",
		"origins: a public policy allows every origin",
		"origin_set: a public policy allows every origin",
		`allow_headers[0]: "X Bad" is not a valid header name`,
		`allow_headers[1]: "Cookie" is a forbidden request header`,
		`allow_headers[2]: "Sec-Fetch-Mode" is a forbidden request header`,
		`allow_headers[3]: "*" is not supported`,
		`expose_headers[0]: "Set-Cookie" can never be exposed`,
		"max_age_seconds: 7201 is out of range",
		"protocols[0]: PROTOCOL_UNSPECIFIED is not a browser protocol",
	}
	errs := err.(interface{ Unwrap() []error }).Unwrap()
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, e := range errs {
		if !strings.HasPrefix(e.Error(), want[i]) {
			t.Errorf("error %d = %q, want prefix %q", i, e, want[i])
		}
	}
	for _, v := range []int32{0, MaxAgeLimit} {
		if err := (Spec{MaxAgeSeconds: ptr(v)}).Validate(); err != nil {
			t.Errorf("max_age_seconds %d: %v", v, err)
		}
	}
	if err := (Spec{MaxAgeSeconds: ptr[int32](-1)}).Validate(); err == nil {
		t.Error("max_age_seconds -1 must be refused")
	}
}

func equalMethod(a, b Method) bool {
	return a.Procedure == b.Procedure && a.Source == b.Source && a.BrowserCallable == b.BrowserCallable &&
		a.NotCallableReason == b.NotCallableReason && a.Public == b.Public &&
		a.AllowCredentials == b.AllowCredentials && strings.Join(a.Origins, " ") == strings.Join(b.Origins, " ") &&
		a.OriginSet == b.OriginSet && a.AllowMethods == b.AllowMethods && a.AllowHeaders == b.AllowHeaders &&
		a.ExposeHeaders == b.ExposeHeaders && a.MaxAge == b.MaxAge && a.AllowPrivateNetwork == b.AllowPrivateNetwork
}
