//go:build !linux

package pgtest

import (
	"errors"
	"os"
	"syscall"
)

// serverProcAttr returns how initdb and postgres run: as the current user,
// who must not be root, since PostgreSQL refuses to run as root.
func serverProcAttr() (_ *syscall.SysProcAttr, uid, gid int, _ error) {
	if os.Geteuid() == 0 {
		return nil, 0, 0, errors.New("pgtest: running the server as another user than root is only implemented on Linux")
	}
	return nil, os.Geteuid(), os.Getegid(), nil
}
