//go:build !linux

package otelcol

import "os/exec"

// stopWithParent does nothing where the kernel has no parent-death signal:
// Stop and the callers' cleanups are what end the collector there.
func stopWithParent(*exec.Cmd) {}
