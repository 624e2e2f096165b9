package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/gateway/policy"
	"google.golang.org/protobuf/compiler/protogen"
)

// manifestSchema names the format of the manifest. It changes with every
// change a reader could trip on: a key removed, renamed or given another
// meaning. Keys may be added without changing it.
const manifestSchema = "portico.cors.manifest.v1"

// A manifest is the machine-readable twin of a generated .portico.go file:
// the same compiled [policy.Service] values, written as JSON next to it
// (<go package dir>/<go package name>portico/<file>.portico.json), for
// clients and tests that are not Go. It is built from exactly the values the
// Go file is generated from, so the two cannot disagree.
//
// The encoding is deterministic: keys in the order of the struct fields
// below, services and methods in declaration order, header lists in the
// policy's order (sorted case-insensitively), two-space indentation and a
// final newline. Every key is always present, except not_callable_reason,
// which is present only when browser_callable is false; lists are [] when
// empty, never null.
type manifest struct {
	// Schema is [manifestSchema].
	Schema string `json:"schema"`
	// Source is the .proto file the policies are declared in.
	Source string `json:"source"`
	// Services holds one entry per service of the file, in declaration order.
	Services []manifestService `json:"services"`
}

type manifestService struct {
	// Name is the fully-qualified service name.
	Name string `json:"name"`
	// Default is the service-level policy, which the gateway applies to
	// actual requests for procedures of the service that name no method
	// (their preflights get 404); see [policy.Service].Default.
	Default manifestMethod `json:"default"`
	// Methods holds one entry per method, in declaration order.
	Methods []manifestMethod `json:"methods"`
}

// A manifestMethod is one [policy.Method]. Header values the gateway sends
// as one ", "-joined line are lists here.
type manifestMethod struct {
	Procedure         string `json:"procedure"`
	Source            string `json:"source"`
	BrowserCallable   bool   `json:"browser_callable"`
	NotCallableReason string `json:"not_callable_reason,omitempty"`
	Public            bool   `json:"public"`
	AllowCredentials  bool   `json:"allow_credentials"`
	// Origins are the origin patterns declared in the .proto; a deployment
	// may add more to OriginSet.
	Origins []string `json:"origins"`
	// OriginSet is "" when the policy names none.
	OriginSet string `json:"origin_set"`
	// AllowMethods is ["POST"] or ["GET", "POST"]; [] when not callable.
	AllowMethods []string `json:"allow_methods"`
	// AllowRequestHeaders are the request headers a preflight may ask for,
	// spelled as in Access-Control-Allow-Headers; browsers match them
	// case-insensitively.
	AllowRequestHeaders []string `json:"allow_request_headers"`
	ExposeHeaders       []string `json:"expose_headers"`
	// MaxAgeSeconds is null when the policy sends no Access-Control-Max-Age
	// (browsers then cache a preflight for 5 seconds).
	MaxAgeSeconds       *int `json:"max_age_seconds"`
	AllowPrivateNetwork bool `json:"allow_private_network"`
	// ConnectGETWithoutPreflight: see [connectGETWithoutPreflight].
	ConnectGETWithoutPreflight bool `json:"connect_get_without_preflight"`
	// ReportOnly is the .proto's report_only; a deployment may override it.
	ReportOnly bool `json:"report_only"`
	// Declared says where each field of the effective policy is written.
	Declared []manifestDeclaration `json:"declared"`
}

// A manifestDeclaration is one [policy.Declaration].
type manifestDeclaration struct {
	Field  string `json:"field"`
	Scope  string `json:"scope"`
	Source string `json:"source"`
}

// manifestName is the path of a file's manifest: that of its .portico.go
// file (see emit), with .json for .go.
func manifestName(file *protogen.File) string {
	prefix := file.GeneratedFilenamePrefix
	pkg := string(file.GoPackageName) + packageSuffix
	return path.Join(path.Dir(prefix), pkg, path.Base(prefix)) + ".portico.json"
}

// emitManifest writes the manifest of a file's compiled services.
func emitManifest(gen *protogen.Plugin, file *protogen.File, services []policy.Service) error {
	content, err := encodeManifest(file.Desc.Path(), services)
	if err != nil {
		return fmt.Errorf("%s: manifest: %w", file.Desc.Path(), err)
	}
	g := gen.NewGeneratedFile(manifestName(file), "")
	_, err = g.Write(content)
	return err
}

// encodeManifest returns the manifest of the services compiled from the
// .proto file source.
func encodeManifest(source string, services []policy.Service) ([]byte, error) {
	mf := manifest{Schema: manifestSchema, Source: source, Services: make([]manifestService, 0, len(services))}
	for _, svc := range services {
		ms := manifestService{Name: svc.Name, Methods: make([]manifestMethod, 0, len(svc.Methods))}
		var err error
		if ms.Default, err = newManifestMethod(svc.Default); err != nil {
			return nil, err
		}
		for _, m := range svc.Methods {
			mm, err := newManifestMethod(m)
			if err != nil {
				return nil, err
			}
			ms.Methods = append(ms.Methods, mm)
		}
		mf.Services = append(mf.Services, ms)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	// Encode ends the document with a newline.
	if err := enc.Encode(mf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func newManifestMethod(m policy.Method) (manifestMethod, error) {
	mm := manifestMethod{
		Procedure:                  m.Procedure,
		Source:                     m.Source,
		BrowserCallable:            m.BrowserCallable,
		NotCallableReason:          m.NotCallableReason,
		Public:                     m.Public,
		AllowCredentials:           m.AllowCredentials,
		Origins:                    append([]string{}, m.Origins...),
		OriginSet:                  m.OriginSet,
		AllowMethods:               headerList(m.AllowMethods),
		AllowRequestHeaders:        headerList(m.AllowHeaders),
		ExposeHeaders:              headerList(m.ExposeHeaders),
		AllowPrivateNetwork:        m.AllowPrivateNetwork,
		ConnectGETWithoutPreflight: connectGETWithoutPreflight(m),
		ReportOnly:                 m.ReportOnly,
		Declared:                   make([]manifestDeclaration, 0, len(m.Declared)),
	}
	for _, d := range m.Declared {
		mm.Declared = append(mm.Declared, manifestDeclaration{Field: d.Field, Scope: d.Scope, Source: d.Source})
	}
	if m.MaxAge != "" {
		n, err := strconv.Atoi(m.MaxAge)
		if err != nil {
			return manifestMethod{}, fmt.Errorf("%s: max age %q is not a number of seconds", m.Procedure, m.MaxAge)
		}
		mm.MaxAgeSeconds = &n
	}
	return mm, nil
}

// connectGETWithoutPreflight reports whether a browser can call the method
// with Connect GET as a CORS "simple request", which needs no preflight
// (https://fetch.spec.whatwg.org/#cors-preflight-fetch: a preflight is sent
// for a method other than GET, HEAD or POST, or for a request header that is
// not CORS-safelisted). It is true when all of these hold:
//
//  1. The method is browser-callable.
//  2. GET is among its allowed methods. The compiler allows GET only for
//     unary methods with idempotency_level = NO_SIDE_EFFECTS served with
//     Connect.
//  3. The call needs no request header that is not CORS-safelisted.
//
// On the third point: a Connect GET carries the message, its encoding and
// the protocol version in the query string (connect=v1, as connect-web sends
// it) and has no body, so it sends neither Content-Type nor
// Connect-Protocol-Version. What is left is how the caller proves who it is.
// A public method needs no credentials. A method that allows credentials can
// be called with cookies (fetch's credentials: "include"), and the Cookie
// header, which the browser adds itself, never triggers a preflight. Any
// other method can be given credentials only in a request header: if its
// policy allows Authorization, that header is taken to be needed, and as
// Authorization is never CORS-safelisted, such a method is false.
//
// True is a statement about the minimal call: a client that adds any header
// of allow_request_headers (Authorization, Connect-Timeout-Ms when it sets a
// timeout, X-Client-Version...) makes the browser preflight the GET anyway.
// The rule leaves Private Network Access out: Chromium preflights every
// request from a public page to a private address, simple or not, whatever
// the policy.
func connectGETWithoutPreflight(m policy.Method) bool {
	if !m.BrowserCallable || !containsFold(headerList(m.AllowMethods), "GET") {
		return false
	}
	if m.Public || m.AllowCredentials {
		return true
	}
	return !containsFold(headerList(m.AllowHeaders), "Authorization")
}

// headerList splits a ", "-joined list as the policy compiler writes it;
// never nil.
func headerList(v string) []string {
	if v == "" {
		return []string{}
	}
	return strings.Split(v, ", ")
}

func containsFold(list []string, name string) bool {
	for _, v := range list {
		if strings.EqualFold(v, name) {
			return true
		}
	}
	return false
}
