package service

import (
	"os"
	"testing"

	"github.com/portico-dev/portico/internal/pgtest"
)

// TestMain stops the PostgreSQL cluster that the tests of both packages,
// service and service_test, share.
func TestMain(m *testing.M) {
	os.Exit(pgtest.Run(m))
}
