package otelcol

import (
	"os/exec"
	"syscall"
)

// stopWithParent asks the kernel to send the collector SIGTERM when the
// process that started it dies, so that a killed demo or test binary leaves
// no collector behind.
func stopWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
