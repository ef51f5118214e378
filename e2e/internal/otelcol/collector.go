// Package otelcol runs the otelcol-greptime-events distribution as a child
// process, for the end-to-end tests and the demo: start it with example
// configurations and overrides, wait until it serves, stop it the way a
// service manager does (SIGTERM, then SIGKILL), and keep what it logged.
package otelcol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// startTimeout bounds how long a collector may take to serve.
	startTimeout = 30 * time.Second
	// stopTimeout bounds a graceful shutdown (draining the sending queue
	// included) before the process is killed.
	stopTimeout = 30 * time.Second
	// pollInterval is how often Start checks whether the collector serves.
	pollInterval = 50 * time.Millisecond
)

// Options say how to start a collector.
type Options struct {
	// Binary is the path of the otelcol-greptime-events executable.
	Binary string
	// Configs are the --config values in order (files or yaml: URIs); later ones override earlier ones.
	Configs []string
	// Set are --set overrides applied after Configs, e.g.
	// "exporters::greptime_events::table=events_test".
	Set []string
	// Env is added to this process's environment (KEY=VALUE), e.g. the
	// GREPTIMEDB_ENDPOINT the example configurations read.
	Env []string
	// ReadyAddr is a TCP address the collector listens on once its pipelines
	// run, such as its OTLP receiver's: receivers start last, so when it
	// accepts connections the exporter is ready too. Start waits for it.
	ReadyAddr string
	// Log, when set, also receives the collector's output as it is written.
	Log io.Writer
}

// Collector is a running collector process.
type Collector struct {
	cmd    *exec.Cmd
	output *syncBuffer
	exited chan struct{} // closed when the process has exited; waitErr is set then
	// waitErr is the process's exit status as exec.Cmd.Wait reports it.
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// Start starts the collector and waits until it accepts connections on
// opts.ReadyAddr. If it exits or does not serve in time, Start kills it and
// returns an error that includes its output.
func Start(opts Options) (*Collector, error) {
	if opts.ReadyAddr == "" {
		return nil, errors.New("otelcol: Options.ReadyAddr is empty")
	}
	out := &syncBuffer{}
	var w io.Writer = out
	if opts.Log != nil {
		w = io.MultiWriter(out, opts.Log)
	}
	cmd := exec.Command(opts.Binary, args(opts.Configs, opts.Set)...)
	cmd.Env = append(os.Environ(), opts.Env...)
	cmd.Stdout, cmd.Stderr = w, w
	stopWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("otelcol: start %s: %w", opts.Binary, err)
	}
	c := &Collector{cmd: cmd, output: out, exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	if err := c.waitReady(opts.ReadyAddr); err != nil {
		_ = c.kill()
		return nil, fmt.Errorf("otelcol: %s %s: %w\n--- collector output ---\n%s",
			opts.Binary, strings.Join(cmd.Args[1:], " "), err, out.String())
	}
	return c, nil
}

// waitReady polls addr until it accepts a connection, the process exits or startTimeout passes.
func (c *Collector) waitReady(addr string) error {
	deadline := time.Now().Add(startTimeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, pollInterval)
		if err == nil {
			return conn.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not serving on %s after %s: %w", addr, startTimeout, err)
		}
		select {
		case <-c.exited:
			return fmt.Errorf("exited before serving on %s: %w", addr, exitError(c.waitErr))
		case <-time.After(pollInterval):
		}
	}
}

// Pid is the collector's process id.
func (c *Collector) Pid() int { return c.cmd.Process.Pid }

// Output returns everything the collector has written to stdout and stderr so far.
func (c *Collector) Output() string { return c.output.String() }

// Stop sends SIGTERM and waits for the collector to shut down, draining its
// queue; after stopTimeout it kills it. It returns an error if the collector
// had to be killed or did not exit with status 0. Stop is idempotent.
func (c *Collector) Stop() error {
	c.stopOnce.Do(func() {
		select {
		case <-c.exited:
			c.stopErr = fmt.Errorf("otelcol: pid %d had exited by itself before Stop: %w", c.Pid(), exitError(c.waitErr))
			return
		default:
		}
		if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			c.stopErr = fmt.Errorf("otelcol: SIGTERM pid %d: %w", c.Pid(), err)
			_ = c.kill()
			return
		}
		select {
		case <-c.exited:
			if c.waitErr != nil {
				c.stopErr = fmt.Errorf("otelcol: pid %d shut down with %w", c.Pid(), c.waitErr)
			}
		case <-time.After(stopTimeout):
			_ = c.kill()
			c.stopErr = fmt.Errorf("otelcol: pid %d did not shut down within %s of SIGTERM; killed", c.Pid(), stopTimeout)
		}
	})
	return c.stopErr
}

// Kill kills the collector with SIGKILL, as a crash, the OOM killer or a
// power cut would: it gets no chance to drain its queue, finish its calls or
// write anything more. Kill returns once the process is gone. It fails if the
// collector had exited or been stopped already; after it, Stop does nothing.
func (c *Collector) Kill() error {
	err := fmt.Errorf("otelcol: pid %d was stopped before Kill", c.Pid())
	c.stopOnce.Do(func() {
		select {
		case <-c.exited:
			err = fmt.Errorf("otelcol: pid %d had exited by itself before Kill: %w", c.Pid(), exitError(c.waitErr))
			return
		default:
		}
		err = c.kill()
	})
	return err
}

// kill kills the process and waits until it is gone.
func (c *Collector) kill() error {
	err := c.cmd.Process.Kill()
	<-c.exited
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// Validate runs `binary validate` on the configuration and returns its
// output; the error is non-nil when validation fails.
func Validate(binary string, configs, set []string) (string, error) {
	cmd := exec.Command(binary, append([]string{"validate"}, args(configs, set)...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func args(configs, set []string) []string {
	var a []string
	for _, c := range configs {
		a = append(a, "--config="+c)
	}
	for _, s := range set {
		a = append(a, "--set="+s)
	}
	return a
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
// Another process may take it before it is used; on a test machine that is rare.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("otelcol: find a free port: %w", err)
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a child's stdout and stderr.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// errExitedZero is how a process that exited with status 0 exited.
var errExitedZero = errors.New("exit status 0")

// exitError is a wait's error, or errExitedZero for a clean exit.
func exitError(err error) error {
	if err == nil {
		return errExitedZero
	}
	return err
}
