// Command load measures the otelcol-greptime-events distribution under
// sustained OTLP load, on this machine:
//
//	make load               # both paths, highest lossless rate, CPU and peak RSS
//	make load-backpressure  # GreptimeDB down while the load goes on: RSS over time
//
// Two paths run through the same distribution, in the same run:
//
//   - ours: OTLP/gRPC -> collector (examples/collector.yaml: otlp receiver,
//     memory_limiter, greptime_events) -> internal/greptimetest in count-only
//     mode (it checks each request's header and counts the rows per table
//     from the wire bytes, storing nothing);
//   - the peer: the same collector configuration with the pipeline's exporter
//     swapped for the collector's own OTLP/gRPC exporter (peer.yaml: no
//     compression, the same queue and retry settings) -> an OTLP server in this
//     process that counts the log records from the wire bytes and discards them.
//
// The load is OTLP/gRPC ExportLogsServiceRequests of -batch records, built
// once with the OpenTelemetry Go SDK and replayed at a fixed rate by -workers
// concurrent callers, so that the generator costs almost nothing on a 2-core
// machine. The generator and both servers run in this process, the collector
// in its own: its CPU time (utime+stime from /proc/<pid>/stat) and peak RSS
// (VmHWM from /proc/<pid>/status) are its own.
//
// Both exporters get the same sending queue, deeper than greptime_events'
// default for this test (-queue, 65536 items, 128 requests of 512; the
// default 2048 items hold only four such requests, and a scheduling hiccup of
// a few milliseconds fills them at these rates). For each path a stepped
// search (-step long; the rate doubles from -start-rate until a step fails,
// then bisects three times) finds the highest rate that is sustained: every
// event the collector accepted arrived at the server, none was refused, the
// exporter counted no enqueue or send failure (the collector's own metrics),
// the queue stayed at most half full, the last events arrived within 7 s of
// the end (a partial batch waits for flush_timeout, 5 s) and the generator
// kept its schedule (at most 1 s late). A fresh collector then runs
// -duration at that rate (10% slower if it fails); its numbers make the
// table, with the peer also at our rate for a same-load comparison of CPU per
// event. A step that fails while other processes used more than a quarter of
// a core is repeated (twice at most) once the machine is quiet: this machine
// is shared with builds and tests.
//
// Besides its table, make load draws every run it measured (search steps and
// final runs) into a chart, -chart (bin/load.png): events per second that
// arrived and collector CPU per event against the rate offered, for both paths.
//
// Ctrl-C stops everything it started.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// options are the driver's flags.
type options struct {
	collector  string
	config     string
	mode       string
	duration   time.Duration
	step       time.Duration
	startRate  float64
	maxRate    float64
	batch      int
	workers    int
	distinct   int
	queue      int
	rate       float64
	batchMin   int
	bpRate     float64
	bpUp       time.Duration
	bpQueueMiB int
	chart      string
}

func main() {
	var o options
	flag.StringVar(&o.collector, "collector", "_build/otelcol-greptime-events", "the otelcol-greptime-events binary (make build)")
	flag.StringVar(&o.config, "config", "examples/collector.yaml", "the collector configuration both paths start from")
	flag.StringVar(&o.mode, "mode", "load", "load: both paths at their highest lossless rate; backpressure: GreptimeDB down under load, RSS over time")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "load: the final run of each path; backpressure: how long GreptimeDB stays down")
	flag.DurationVar(&o.step, "step", 10*time.Second, "load: each step of the search for the highest lossless rate")
	flag.Float64Var(&o.startRate, "start-rate", 10000, "load: the first rate tried, events/s")
	flag.Float64Var(&o.maxRate, "max-rate", 640000, "load: the highest rate tried, events/s")
	flag.IntVar(&o.batch, "batch", 512, "log records per OTLP request (the OpenTelemetry SDK's default export batch)")
	flag.IntVar(&o.workers, "workers", 8, "concurrent OTLP calls of the generator")
	flag.IntVar(&o.distinct, "distinct", 16, "distinct requests the generator cycles through")
	flag.IntVar(&o.queue, "queue", 65536, "load: sending_queue queue_size (items) of both paths' exporters")
	flag.Float64Var(&o.rate, "rate", 0, "load: skip the search and run both paths at this rate, events/s")
	flag.IntVar(&o.batchMin, "batch-min", 0, "load: sending_queue batch min_size (items) of both paths' exporters (0: 100, greptime_events' default)")
	flag.Float64Var(&o.bpRate, "bp-rate", 10000, "backpressure: the load, events/s")
	flag.DurationVar(&o.bpUp, "bp-up", 5*time.Second, "backpressure: how long GreptimeDB is up before it goes down")
	flag.IntVar(&o.bpQueueMiB, "bp-queue-mib", 32, "backpressure: queue_size of the bytes-sizer run, MiB")
	flag.StringVar(&o.chart, "chart", "bin/load.png", "load: the chart of every run measured (events/s and collector CPU per event of both paths against the rate), PNG or, for a name ending in .svg, SVG; empty: no chart")
	flag.Parse()

	os.Exit(runMode(o))
}

// runMode runs the mode o names and returns the process's exit code: 130 when
// interrupted, 1 on an error.
func runMode(o options) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch o.mode {
	case "load":
		err = runLoad(ctx, os.Stdout, o)
	case "backpressure":
		err = runBackpressure(ctx, os.Stdout, o)
	default:
		err = fmt.Errorf("unknown -mode %q (load, backpressure)", o.mode)
	}
	switch {
	case err == nil:
		return 0
	case ctx.Err() != nil:
		fmt.Fprintln(os.Stderr, "load: interrupted; everything it started is stopped")
		return 130
	default:
		fmt.Fprintln(os.Stderr, "load:", err)
		return 1
	}
}

// printMachine prints what the numbers were measured on.
func printMachine(w io.Writer, o options) {
	fmt.Fprintf(w, "machine    %s\n", machine())
	fmt.Fprintf(w, "collector  %s (pid of its own; CPU from /proc/<pid>/stat at %g ticks/s, peak RSS = VmHWM)\n", o.collector, clockTicks)
	fmt.Fprintf(w, "load       OTLP/gRPC, %d records per request (built with the OpenTelemetry Go SDK, %d distinct requests replayed), %d concurrent calls\n",
		o.batch, o.distinct, o.workers)
	fmt.Fprintln(w, "           records: 5 event types (EventName), map body of 5 keys, 5 attributes, trace and span ids, service.name/host.name")
}

// machine describes the CPU, its count, the kernel and Go.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := "unknown kernel"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = "Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%s, %d CPUs, %s, driver built with %s", model, runtime.NumCPU(), kernel, runtime.Version())
}
