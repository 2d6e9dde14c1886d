package app_test

import (
	"os/exec"
	"syscall"
)

// killWithTest makes the kernel send SIGKILL to the child when the test
// process dies, so a test binary killed by its timeout leaves no `ordo
// dev` running.
func killWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
