// Command protoc-gen-portico is Portico's protoc plugin. For every .proto file
// that defines services, it reads the portico.cors.v1 options of each service
// and method, compiles them with [policy.Compile], and writes a Go package
// (named after the file's Go package plus "portico", as protoc-gen-connect-go
// appends "connect") that holds one [policy.Service] table per service, ready
// for gateway.New. Next to the Go file it writes the same policies as JSON,
// <file>.portico.json (the manifest, see manifest.go), for clients and tests
// that are not Go.
//
// An invalid policy fails generation with file:line:column and the reason.
//
// Use it from buf.gen.yaml as a local plugin:
//
//	plugins:
//	  - local: ["go", "run", "github.com/portico-dev/portico/cmd/protoc-gen-portico"]
//	    out: gen
//	    opt: paths=source_relative
package main

import (
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/pluginpb"
)

func main() {
	protogen.Options{}.Run(func(gen *protogen.Plugin) error {
		gen.SupportedFeatures = uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL) |
			uint64(pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS)
		gen.SupportedEditionsMinimum = minEdition
		gen.SupportedEditionsMaximum = maxEdition
		return generate(gen)
	})
}
