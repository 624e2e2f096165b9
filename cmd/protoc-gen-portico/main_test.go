package main

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// protoRoot is the repository's proto/ directory, where
// portico/cors/v1/cors.proto lives.
var protoRoot = filepath.Join("..", "..", "proto")

// compileRequest compiles the named .proto files in-process, as protoc or buf
// would before running a plugin, and returns the CodeGeneratorRequest that
// asks for them. Files are looked up first in sources (path to content), then
// in importPaths, then in the repository's proto/ directory, then among the
// standard imports (google/protobuf/descriptor.proto). Compilation errors
// fail the test.
//
// mode says how much source info the compiler records: protoc records
// [protocompile.SourceInfoStandard]; buf adds
// [protocompile.SourceInfoExtraOptionLocations], a location for each field
// inside an option's message literal.
func compileRequest(tb testing.TB, mode protocompile.SourceInfoMode, sources map[string]string, importPaths []string, files ...string) *pluginpb.CodeGeneratorRequest {
	tb.Helper()
	inMemory := protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
		src, ok := sources[path]
		if !ok {
			return protocompile.SearchResult{}, fs.ErrNotExist
		}
		return protocompile.SearchResult{Source: io.NopCloser(bytes.NewReader([]byte(src)))}, nil
	})
	onDisk := &protocompile.SourceResolver{ImportPaths: append(append([]string(nil), importPaths...), protoRoot)}
	compiler := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(protocompile.CompositeResolver{inMemory, onDisk}),
		SourceInfoMode: mode,
	}
	compiled, err := compiler.Compile(context.Background(), files...)
	if err != nil {
		tb.Fatalf("compile %v: %v", files, err)
	}

	// ProtoFile must list every file after its dependencies.
	var (
		ordered []*descriptorpb.FileDescriptorProto
		seen    = make(map[string]bool)
		visit   func(protoreflect.FileDescriptor)
	)
	visit = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			visit(imports.Get(i).FileDescriptor)
		}
		ordered = append(ordered, protodesc.ToFileDescriptorProto(fd))
	}
	for _, fd := range compiled {
		visit(fd)
	}
	req := &pluginpb.CodeGeneratorRequest{
		FileToGenerate: files,
		Parameter:      proto.String("paths=source_relative"),
		ProtoFile:      ordered,
	}
	// Send the request through the wire format, as protoc does over stdin:
	// the plugin then sees custom options as unknown fields, exactly as it
	// does in production, rather than the compiler's in-memory values.
	raw, err := proto.Marshal(req)
	if err != nil {
		tb.Fatalf("marshal request: %v", err)
	}
	wire := new(pluginpb.CodeGeneratorRequest)
	if err := proto.Unmarshal(raw, wire); err != nil {
		tb.Fatalf("unmarshal request: %v", err)
	}
	return wire
}

// runPlugin runs the plugin on req as protogen.Options.Run does, and returns
// its response. A request protogen itself rejects fails the test.
func runPlugin(tb testing.TB, req *pluginpb.CodeGeneratorRequest) *pluginpb.CodeGeneratorResponse {
	tb.Helper()
	gen := newPlugin(tb, req)
	if err := generate(gen); err != nil {
		gen.Error(err)
	}
	return gen.Response()
}

// newPlugin builds the protogen.Plugin the plugin's main would get for req.
func newPlugin(tb testing.TB, req *pluginpb.CodeGeneratorRequest) *protogen.Plugin {
	tb.Helper()
	gen, err := protogen.Options{}.New(req)
	if err != nil {
		tb.Fatalf("protogen: %v", err)
	}
	return gen
}

// generatedFile returns the content of the one file of resp named name,
// failing the test if resp is an error or lacks it.
func generatedFile(tb testing.TB, resp *pluginpb.CodeGeneratorResponse, name string) string {
	tb.Helper()
	if resp.Error != nil {
		tb.Fatalf("plugin failed:\n%s", resp.GetError())
	}
	var names []string
	for _, f := range resp.GetFile() {
		if f.GetName() == name {
			return f.GetContent()
		}
		names = append(names, f.GetName())
	}
	tb.Fatalf("no generated file %s; got %q", name, names)
	return ""
}

func TestCompileRequest(t *testing.T) {
	t.Parallel()
	req := compileRequest(t, protocompile.SourceInfoStandard, map[string]string{
		"a/v1/a.proto": `syntax = "proto3";
package a.v1;
import "portico/cors/v1/cors.proto";
option go_package = "example.com/a/v1;av1";
service S {
  option (portico.cors.v1.service) = {public: true};
}
`,
	}, nil, "a/v1/a.proto")
	var paths []string
	for _, f := range req.GetProtoFile() {
		paths = append(paths, f.GetName())
	}
	want := []string{"google/protobuf/descriptor.proto", "portico/cors/v1/cors.proto", "a/v1/a.proto"}
	if !slices.Equal(paths, want) {
		t.Errorf("ProtoFile = %q, want %q (dependencies first)", paths, want)
	}
	if last := req.GetProtoFile()[len(paths)-1]; last.GetSourceCodeInfo() == nil {
		t.Error("no source code info for the file to generate")
	}
	// The option reaches the plugin as an unknown field of ServiceOptions.
	opts := req.GetProtoFile()[len(paths)-1].GetService()[0].GetOptions()
	if len(opts.ProtoReflect().GetUnknown()) == 0 {
		t.Error("the service option is not an unknown field after the wire round trip")
	}
}
