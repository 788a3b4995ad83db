package main

import (
	"os/exec"
	"syscall"
)

// orphanSafe has the kernel stop the server if the simulator dies first.
func orphanSafe(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
