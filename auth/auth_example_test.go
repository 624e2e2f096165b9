package auth_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/portico-dev/portico/auth"
)

// A development signer keeps its key in a directory: the server and
// `portico dev-token` share it through PORTICO_DATA_DIR.
func ExampleDevSigner() {
	dir, err := os.MkdirTemp("", "portico-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	signer, err := auth.LoadDevSigner(dir)
	if err != nil {
		panic(err)
	}
	token, err := signer.Token("alice", time.Hour)
	if err != nil {
		panic(err)
	}
	caller, err := signer.Verify(context.Background(), token)
	fmt.Println(caller.Subject, caller.Issuer, caller.Credential, err)
	// Output: alice portico-dev bearer <nil>
}
