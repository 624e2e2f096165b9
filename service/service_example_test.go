package service_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"connectrpc.com/connect"
	"github.com/portico-dev/portico/auth"
	profilev1 "github.com/portico-dev/portico/gen/portico/profile/v1"
	"github.com/portico-dev/portico/service"
)

func ExampleNew() {
	dir, err := os.MkdirTemp("", "portico-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store, err := service.OpenSQLite(ctx, filepath.Join(dir, "profiles.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	svc := service.New(store)

	// In a server, the auth interceptor attaches the caller.
	ctx = auth.WithCaller(ctx, auth.Caller{Subject: "alice"})
	res, err := svc.UpdateProfile(ctx, connect.NewRequest(&profilev1.UpdateProfileRequest{DisplayName: "Alice"}))
	if err != nil {
		panic(err)
	}
	fmt.Println("created:", res.Header().Get("ETag"))

	// Replacing it needs the current ETag.
	_, err = svc.UpdateProfile(ctx, connect.NewRequest(&profilev1.UpdateProfileRequest{DisplayName: "Alice B."}))
	fmt.Println(connect.CodeOf(err))
	req := connect.NewRequest(&profilev1.UpdateProfileRequest{DisplayName: "Alice B."})
	req.Header().Set("If-Match", res.Header().Get("ETag"))
	res, err = svc.UpdateProfile(ctx, req)
	if err != nil {
		panic(err)
	}
	fmt.Println("replaced:", res.Msg.GetProfile().GetEtag())
	// Output:
	// created: "profile-v1"
	// failed_precondition
	// replaced: "profile-v2"
}
