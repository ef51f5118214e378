package otelcol

import (
	"os/exec"
	"syscall"
)

// stopWithParent puts the collector in a process group of its own, so that
// Ctrl-C in a terminal reaches only its parent, which stops it with Stop; and
// asks the kernel to send it SIGTERM when the parent dies, so that a killed
// demo or test binary leaves no collector behind.
func stopWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
