package main

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/gateway/policy"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

const (
	minEdition = descriptorpb.Edition_EDITION_PROTO2
	maxEdition = descriptorpb.Edition_EDITION_2023

	policyPackage = protogen.GoImportPath("github.com/portico-dev/portico/gateway/policy")
	// packageSuffix is appended to the Go package name of each .proto file
	// to name the package that holds its policies.
	packageSuffix = "portico"
)

// Field numbers of descriptor.proto, for source locations.
const (
	serviceOptionsField = 3 // ServiceDescriptorProto.options
	methodOptionsField  = 4 // MethodDescriptorProto.options
)

func generate(gen *protogen.Plugin) error {
	reader, err := newOptionReader(gen)
	if err != nil {
		return err
	}
	var errs []error
	for _, file := range gen.Files {
		if !file.Generate || len(file.Services) == 0 {
			continue
		}
		services, err := compileFile(reader, file)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		emit(gen, file, services)
		errs = append(errs, emitManifest(gen, file, services))
	}
	return errors.Join(errs...)
}

// compileFile compiles every service of a file, or returns all the reasons
// its policies are invalid, each prefixed with file:line:column.
func compileFile(r *optionReader, file *protogen.File) ([]policy.Service, error) {
	var errs []error
	report := func(at protoreflect.SourcePath, xt protoreflect.ExtensionType, name string, err error) {
		for _, e := range flatten(err) {
			loc := path.Clean(file.Desc.Path())
			var fe *policy.FieldError
			if errors.As(e, &fe) {
				loc = location(file, optionPath(at, xt, r.fieldNumber(xt, fe.Field), fe.Index))
			} else {
				loc = location(file, at)
			}
			errs = append(errs, fmt.Errorf("%s: %s: %w", loc, name, e))
		}
	}
	var out []policy.Service
	for _, svc := range file.Services {
		svcPath := svc.Location.Path
		svcAt := append(append(protoreflect.SourcePath(nil), svcPath...), serviceOptionsField)
		svcSpec, err := r.serviceSpec(svc)
		if err != nil {
			report(svcPath, nil, string(svc.Desc.FullName()), err)
			continue
		}
		placeDeclared(file, svcAt, r, r.service, "service", svcSpec.Declared)
		// An invalid service policy still lets each method's own policy be
		// checked, so that one run reports every mistake in the file; only
		// the resolved policies, which would repeat the service's errors, are
		// skipped.
		svcValid := true
		if err := svcSpec.Validate(); err != nil {
			report(svcAt, r.service, string(svc.Desc.FullName()), err)
			svcValid = false
		}
		compiled := policy.Service{Name: string(svc.Desc.FullName())}
		servicePath := "/" + string(svc.Desc.FullName()) + "/"
		if svcValid {
			compiled.Default, err = policy.Compile(policy.MethodInfo{
				Procedure: servicePath,
				Source:    source(file, svcPath),
			}, svcSpec)
			if err != nil {
				report(svcAt, r.service, string(svc.Desc.FullName()), err)
				svcValid = false
			}
		}
		for _, m := range svc.Methods {
			name := string(m.Desc.FullName())
			at := append(append(protoreflect.SourcePath(nil), m.Location.Path...), methodOptionsField)
			spec, err := r.methodSpec(m)
			if err == nil {
				placeDeclared(file, at, r, r.method, "method", spec.Declared)
				err = spec.Validate()
			}
			if err != nil {
				report(at, r.method, name, err)
				continue
			}
			if !svcValid {
				continue
			}
			compiledMethod, err := policy.Compile(methodInfo(file, m, servicePath), policy.Resolve(svcSpec, spec))
			if err != nil {
				// Wrap each reason, not the joined error, so that each
				// keeps its own line, location and name.
				var inherited []error
				for _, e := range flatten(err) {
					inherited = append(inherited, fmt.Errorf("with the service's policy: %w", e))
				}
				report(at, r.method, name, errors.Join(inherited...))
				continue
			}
			compiled.Methods = append(compiled.Methods, compiledMethod)
		}
		out = append(out, compiled)
	}
	return out, errors.Join(errs...)
}

func methodInfo(file *protogen.File, m *protogen.Method, servicePath string) policy.MethodInfo {
	info := policy.MethodInfo{
		Procedure: servicePath + string(m.Desc.Name()),
		Source:    source(file, m.Location.Path),
	}
	switch client, server := m.Desc.IsStreamingClient(), m.Desc.IsStreamingServer(); {
	case client && server:
		info.StreamType = policy.BidiStream
	case client:
		info.StreamType = policy.ClientStream
	case server:
		info.StreamType = policy.ServerStream
	}
	if opts, ok := m.Desc.Options().(*descriptorpb.MethodOptions); ok {
		info.NoSideEffects = opts.GetIdempotencyLevel() == descriptorpb.MethodOptions_NO_SIDE_EFFECTS
	}
	return info
}

// optionPath is the source path of a field of a Policy option: the options
// path, the extension, the field and, for repeated fields, the element.
func optionPath(options protoreflect.SourcePath, xt protoreflect.ExtensionType, field protoreflect.FieldNumber, index int) protoreflect.SourcePath {
	p := append(protoreflect.SourcePath(nil), options...)
	if xt == nil {
		return p
	}
	p = append(p, int32(xt.TypeDescriptor().Number()))
	if field == 0 {
		return p
	}
	p = append(p, int32(field))
	if index >= 0 {
		p = append(p, int32(index))
	}
	return p
}

// location renders the most precise known position of a source path as
// file:line:column, trying shorter paths when the compiler recorded no
// position for a longer one (not every compiler records each field of an
// option's message literal).
func location(file *protogen.File, p protoreflect.SourcePath) string {
	locs := file.Desc.SourceLocations()
	for n := len(p); n > 0; n-- {
		if loc := locs.ByPath(p[:n]); loc.Path != nil {
			return fmt.Sprintf("%s:%d:%d", file.Desc.Path(), loc.StartLine+1, loc.StartColumn+1)
		}
	}
	return file.Desc.Path()
}

// placeDeclared fills in the scope and position of each declared field of
// an option.
func placeDeclared(file *protogen.File, options protoreflect.SourcePath, r *optionReader, xt protoreflect.ExtensionType, scope string, declared []policy.Declaration) {
	for i := range declared {
		d := &declared[i]
		d.Scope = scope
		num := r.fieldNumber(xt, d.Field)
		at := optionPath(options, xt, num, 0) // a repeated field's first element
		if file.Desc.SourceLocations().ByPath(at).Path == nil {
			at = optionPath(options, xt, num, -1)
		}
		d.Source = source(file, at)
	}
}

// source is the file:line of a declaration, for the tables' Source field.
// Like location, it falls back to shorter paths.
func source(file *protogen.File, p protoreflect.SourcePath) string {
	locs := file.Desc.SourceLocations()
	for n := len(p); n > 0; n-- {
		if loc := locs.ByPath(p[:n]); loc.Path != nil {
			return file.Desc.Path() + ":" + strconv.Itoa(loc.StartLine+1)
		}
	}
	return file.Desc.Path()
}

// flatten undoes errors.Join, so that each reason gets its own location.
func flatten(err error) []error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func emit(gen *protogen.Plugin, file *protogen.File, services []policy.Service) {
	pkg := string(file.GoPackageName) + packageSuffix
	prefix := file.GeneratedFilenamePrefix
	filename := path.Join(path.Dir(prefix), pkg, path.Base(prefix)) + ".portico.go"
	g := gen.NewGeneratedFile(filename, protogen.GoImportPath(path.Join(string(file.GoImportPath), pkg)))

	g.P("// Code generated by protoc-gen-portico. DO NOT EDIT.")
	g.P("//")
	g.P("// Source: ", file.Desc.Path())
	g.P()
	g.P("// Package ", pkg, " holds the compiled CORS policies of the services in")
	g.P("// ", file.Desc.Path(), ", for the Portico gateway.")
	g.P("package ", pkg)
	g.P()
	for i, svc := range services {
		goName := file.Services[i].GoName + "Policy"
		g.P("// ", goName, " is the compiled CORS policy of ", svc.Name, ".")
		g.P("var ", goName, " = &", g.QualifiedGoIdent(policyPackage.Ident("Service")), "{")
		g.P("Name: ", strconv.Quote(svc.Name), ",")
		g.P("Default: ", g.QualifiedGoIdent(policyPackage.Ident("Method")), "{")
		emitMethod(g, svc.Default)
		g.P("},")
		g.P("Methods: []", g.QualifiedGoIdent(policyPackage.Ident("Method")), "{")
		for _, m := range svc.Methods {
			g.P("{")
			emitMethod(g, m)
			g.P("},")
		}
		g.P("},")
		g.P("}")
		g.P()
	}
}

// emitMethod writes the fields of a Method literal, leaving out zero values.
func emitMethod(g *protogen.GeneratedFile, m policy.Method) {
	str := func(name, v string) {
		if v != "" {
			g.P(name, ": ", strconv.Quote(v), ",")
		}
	}
	flag := func(name string, v bool) {
		if v {
			g.P(name, ": true,")
		}
	}
	str("Procedure", m.Procedure)
	str("Source", m.Source)
	flag("BrowserCallable", m.BrowserCallable)
	str("NotCallableReason", m.NotCallableReason)
	flag("Public", m.Public)
	flag("AllowCredentials", m.AllowCredentials)
	if len(m.Origins) > 0 {
		quoted := make([]string, len(m.Origins))
		for i, o := range m.Origins {
			quoted[i] = strconv.Quote(o)
		}
		g.P("Origins: []string{", strings.Join(quoted, ", "), "},")
	}
	str("OriginSet", m.OriginSet)
	str("AllowMethods", m.AllowMethods)
	str("AllowHeaders", m.AllowHeaders)
	str("ExposeHeaders", m.ExposeHeaders)
	str("MaxAge", m.MaxAge)
	flag("AllowPrivateNetwork", m.AllowPrivateNetwork)
	flag("ReportOnly", m.ReportOnly)
	if len(m.Declared) > 0 {
		g.P("Declared: []", g.QualifiedGoIdent(policyPackage.Ident("Declaration")), "{")
		for _, d := range m.Declared {
			g.P("{Field: ", strconv.Quote(d.Field), ", Scope: ", strconv.Quote(d.Scope), ", Source: ", strconv.Quote(d.Source), "},")
		}
		g.P("},")
	}
}
