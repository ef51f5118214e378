package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/events"
	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/otelcol"
	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/store"
	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// telemetrygenPkg is the contrib load generator, pinned by the tool directive in go.mod.
const telemetrygenPkg = "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen"

// Paths of the programs under test, set by TestMain.
var (
	// otelcolBin is the otelcol-greptime-events distribution ($OTELCOL_BIN, else built by `make build`).
	otelcolBin string
	// telemetrygenBin is telemetrygen ($TELEMETRYGEN_BIN, else built into a temporary directory).
	telemetrygenBin string
)

// repoRoot is the exporter's repository, the parent of this module.
const repoRoot = ".."

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "greptime-events-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if err := locatePrograms(tmp); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if code := m.Run(); code != 0 {
		return code
	}
	// The collectors are child processes; what must not leak here are the
	// stand-in servers, SDK exporters and SQL connections of the tests.
	if err := goleak.Find(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: goroutines leaked:", err)
		return 1
	}
	return 0
}

// locatePrograms takes the collector and telemetrygen from the environment
// (the Makefile builds them once per run) or builds them.
func locatePrograms(tmp string) error {
	otelcolBin = os.Getenv("OTELCOL_BIN")
	if otelcolBin == "" {
		fmt.Fprintln(os.Stderr, "e2e: OTELCOL_BIN is not set; building the distribution with `make build`")
		if err := run(exec.Command("make", "-C", repoRoot, "build")); err != nil {
			return err
		}
		otelcolBin = filepath.Join(repoRoot, "_build", "otelcol-greptime-events")
	}
	telemetrygenBin = os.Getenv("TELEMETRYGEN_BIN")
	if telemetrygenBin == "" {
		telemetrygenBin = filepath.Join(tmp, "telemetrygen")
		if err := run(exec.Command("go", "build", "-o", telemetrygenBin, telemetrygenPkg)); err != nil {
			return err
		}
	}
	for _, p := range []string{otelcolBin, telemetrygenBin} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("program under test: %w", err)
		}
	}
	return nil
}

func run(cmd *exec.Cmd) error {
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	return nil
}

// example returns the path of a file in examples/.
func example(name string) string { return filepath.Join(repoRoot, "examples", name) }

// startStandIn starts the in-memory GreptimeDB stand-in on a free loopback port; the test stops it.
func startStandIn(t *testing.T) *greptimetest.Server {
	t.Helper()
	return startStandInAt(t, "127.0.0.1:0")
}

// startStandInAt starts the stand-in on addr; the test stops it.
func startStandInAt(t *testing.T, addr string) *greptimetest.Server {
	t.Helper()
	srv, err := greptimetest.Start(greptimetest.Config{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// standInReader reads the event tables of the stand-in's "public" database.
func standInReader(srv *greptimetest.Server) store.StandIn {
	return store.StandIn{Server: srv, Database: "public"}
}

// launch describes one collector process of a test.
type launch struct {
	// config is the example configuration, a file name in examples/.
	config string
	// greptimeDB is the GreptimeDB gRPC address the example's exporter writes to.
	greptimeDB string
	// set are --set overrides on top of the test defaults.
	set []string
	// env is added to the collector's environment.
	env []string
}

// collector is a running collector and the addresses of its OTLP receiver.
type collector struct {
	*otelcol.Collector
	grpcAddr, httpAddr string
}

// startCollector runs the built collector with an example configuration, its
// OTLP receiver on free ports, its own metrics off (their port 8888 would
// clash between parallel tests) and a 100ms batch flush so tests do not wait
// the default 5s. The collector is stopped when the test ends; if the test
// failed, its output goes to the test log.
func startCollector(t *testing.T, l launch) *collector {
	t.Helper()
	grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
	set := append([]string{
		"receivers::otlp::protocols::grpc::endpoint=" + grpcAddr,
		"receivers::otlp::protocols::http::endpoint=" + httpAddr,
		"service::telemetry::metrics::level=none",
		"exporters::greptime_events::sending_queue::batch::flush_timeout=100ms",
	}, l.set...)
	c, err := otelcol.Start(otelcol.Options{
		Binary:    otelcolBin,
		Configs:   []string{example(l.config)},
		Set:       set,
		Env:       append([]string{"GREPTIMEDB_ENDPOINT=" + l.greptimeDB}, l.env...),
		ReadyAddr: grpcAddr,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop the collector: %v", err)
		}
		if t.Failed() {
			t.Logf("collector pid %d output:\n%s", c.Pid(), c.Output())
		}
	})
	return &collector{Collector: c, grpcAddr: grpcAddr, httpAddr: httpAddr}
}

// addr is the collector's OTLP receiver address for protocol p.
func (c *collector) addr(p events.Protocol) string {
	if p == events.HTTP {
		return c.httpAddr
	}
	return c.grpcAddr
}

// stop shuts the collector down, which drains its queue: after it, no more rows arrive.
func (c *collector) stop(t *testing.T) {
	t.Helper()
	if err := c.Stop(); err != nil {
		t.Fatalf("stop the collector: %v", err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := otelcol.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// waitUntil polls done every `every` until it reports true, and fails the
// test after timeout with what done last said of the state.
func waitUntil(t *testing.T, timeout, every time.Duration, done func(ctx context.Context) (ok bool, state string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		ok, state := done(ctx)
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after %s: %s", timeout, state)
		case <-tick.C:
		}
	}
}

// waitForRows polls table until it holds at least n rows and returns them;
// it fails the test after timeout.
func waitForRows(t *testing.T, r store.Reader, table string, n int, timeout time.Duration) []store.Row {
	t.Helper()
	var rows []store.Row
	waitUntil(t, timeout, 100*time.Millisecond, func(ctx context.Context) (bool, string) {
		var err error
		if rows, err = r.Rows(ctx, table); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		return len(rows) >= n, fmt.Sprintf("table %q holds %d rows, want %d", table, len(rows), n)
	})
	return rows
}

// readRows reads every row of table.
func readRows(t *testing.T, r store.Reader, table string) []store.Row {
	t.Helper()
	rows, err := r.Rows(t.Context(), table)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// reportDiff fails the test with one line per difference events.Diff found.
func reportDiff(t *testing.T, problems []string) {
	t.Helper()
	const limit = 20
	for i, p := range problems {
		if i == limit {
			t.Errorf("... and %d more differences", len(problems)-limit)
			break
		}
		t.Error(p)
	}
}
