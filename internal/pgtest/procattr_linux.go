package pgtest

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// serverProcAttr returns how initdb and postgres run, and the user and
// group that must own the cluster's directory. PostgreSQL refuses to run as
// root, so root runs them as the postgres system user of Debian's package,
// or else as nobody. The kernel sends the server SIGQUIT (immediate
// shutdown) should the thread that started it die; Go sets the signal after
// the credentials, which would otherwise clear it.
func serverProcAttr() (_ *syscall.SysProcAttr, uid, gid int, _ error) {
	sys := &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	if os.Geteuid() != 0 {
		return sys, os.Geteuid(), os.Getegid(), nil
	}
	var (
		u   *user.User
		err error
	)
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if err != nil {
		return nil, 0, 0, fmt.Errorf("pgtest: running as root, and no postgres or nobody user to run the server as: %w", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	sys.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
	return sys, uid, gid, nil
}
