package walkthrough_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/portico-dev/portico/internal/walkthrough"
)

const doc = "# Title\n" +
	"\n" +
	"```sh\n" +
	"outside\n" +
	"```\n" +
	"\n" +
	"## Walk\n" +
	"\n" +
	"```sh\n" +
	"go mod init example.com/x\n" +
	"```\n" +
	"\n" +
	"### Inner\n" +
	"\n" +
	"```yaml\n" +
	"# file: buf.yaml\n" +
	"version: v2\n" +
	"```\n" +
	"\n" +
	"```console\n" +
	"$ ./x &\n" +
	"listening\n" +
	"$ curl -i -X OPTIONS http://127.0.0.1:8080/a \\\n" +
	"    -H 'Origin: https://a.example.com' -H \"Access-Control-Request-Method: POST\"\n" +
	"HTTP/1.1 204 No Content\n" +
	"Vary: Origin\n" +
	"Vary: Accept-Encoding\n" +
	"\n" +
	"body, not checked\n" +
	"$ curl http://127.0.0.1:8080/b\n" +
	"HTTP/1.1 404 Not Found\n" +
	"```\n" +
	"\n" +
	"## Next\n" +
	"\n" +
	"```sh\n" +
	"after\n" +
	"```\n"

func TestSection(t *testing.T) {
	t.Parallel()
	blocks, err := walkthrough.Section(doc, "Walk")
	if err != nil {
		t.Fatal(err)
	}
	var langs []string
	for _, b := range blocks {
		langs = append(langs, b.Lang)
	}
	if want := []string{"sh", "yaml", "console"}; !slices.Equal(langs, want) {
		t.Fatalf("blocks %q, want %q (the subsection's included, the next section's not)", langs, want)
	}
	if blocks[0].Text != "go mod init example.com/x\n" || blocks[0].Line != 9 {
		t.Errorf("first block = %+v", blocks[0])
	}
	if name, ok := blocks[1].File(); !ok || name != "buf.yaml" {
		t.Errorf("File() = %q, %v; want buf.yaml", name, ok)
	}
	if _, ok := blocks[0].File(); ok {
		t.Error("a sh block names no file")
	}
	if _, err := walkthrough.Section(doc, "Missing"); err == nil {
		t.Error("a missing section must be an error")
	}
	if _, err := walkthrough.Section("## Walk\n```sh\nnever closed\n", "Walk"); err == nil {
		t.Error("an unclosed block must be an error")
	}
}

func TestFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		first string
		want  string
		ok    bool
	}{
		{"// file: main.go", "main.go", true},
		{"# file: proto/a/v1/a.proto", "proto/a/v1/a.proto", true},
		{"// main.go", "", false},
		{"// file: /etc/passwd", "", false},
		{"// file: ../outside.go", "", false},
		{"// file: a/../../b", "", false},
		{"// file: ./a", "", false},
	}
	for _, tc := range tests {
		name, ok := walkthrough.Block{Text: tc.first + "\nrest\n"}.File()
		if name != tc.want || ok != tc.ok {
			t.Errorf("File() of %q = %q, %v; want %q, %v", tc.first, name, ok, tc.want, tc.ok)
		}
	}
}

func TestCommands(t *testing.T) {
	t.Parallel()
	blocks, err := walkthrough.Section(doc, "Walk")
	if err != nil {
		t.Fatal(err)
	}
	cmds := walkthrough.Commands(blocks[2])
	if len(cmds) != 3 {
		t.Fatalf("got %d commands, want 3: %+v", len(cmds), cmds)
	}
	if cmds[0].Text != "./x &" || !slices.Equal(cmds[0].Output, []string{"listening"}) {
		t.Errorf("first command = %+v", cmds[0])
	}
	if _, isCurl, err := cmds[0].Curl(); isCurl || err != nil {
		t.Errorf("Curl() of a server command = %v, %v", isCurl, err)
	}
	ex, isCurl, err := cmds[1].Curl()
	if !isCurl || err != nil {
		t.Fatalf("Curl() = %v, %v", isCurl, err)
	}
	want := walkthrough.Exchange{
		Method:   http.MethodOptions,
		URL:      "http://127.0.0.1:8080/a",
		Header:   http.Header{"Origin": {"https://a.example.com"}, "Access-Control-Request-Method": {"POST"}},
		Status:   http.StatusNoContent,
		Response: http.Header{"Vary": {"Origin", "Accept-Encoding"}},
	}
	if diff := cmp.Diff(want, ex); diff != "" {
		t.Errorf("exchange (-want +got):\n%s", diff)
	}
	if cmds[1].Line != 23 {
		t.Errorf("curl command at line %d, want 23", cmds[1].Line)
	}
	ex, _, err = cmds[2].Curl()
	if err != nil || ex.Method != http.MethodGet || ex.Status != http.StatusNotFound || len(ex.Response) != 0 {
		t.Errorf("second curl = %+v, %v", ex, err)
	}
}

func TestCurlErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ command, output string }{
		{"curl -d '{}' http://127.0.0.1:8080/a", "HTTP/1.1 200 OK"},
		{"curl -H 'Origin' http://127.0.0.1:8080/a", "HTTP/1.1 200 OK"},
		{"curl -i", "HTTP/1.1 200 OK"},
		{"curl 'http://127.0.0.1:8080/a", "HTTP/1.1 200 OK"},
		{"curl http://127.0.0.1:8080/a", "it worked"},
		{"curl http://127.0.0.1:8080/a", ""},
	} {
		block := walkthrough.Block{Lang: "console", Text: "$ " + tc.command + "\n" + tc.output + "\n"}
		cmds := walkthrough.Commands(block)
		if len(cmds) != 1 {
			t.Fatalf("%q: %d commands", tc.command, len(cmds))
		}
		if _, isCurl, err := cmds[0].Curl(); !isCurl || err == nil {
			t.Errorf("%q with output %q: no error", tc.command, tc.output)
		}
	}
}
