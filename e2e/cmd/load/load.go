package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// bisections is how many steps the search spends between the last rate that
// held and the first that did not.
const bisections = 3

// finalAttempts is how many final runs a path gets, each 10% slower than the last.
const finalAttempts = 3

// runLoad is make load: both paths, search, final runs, table.
func runLoad(ctx context.Context, w io.Writer, o options) (err error) {
	began := time.Now()
	fmt.Fprintln(w, "make load: otelcol-greptime-events under sustained OTLP load, greptime_events vs the otlp_grpc exporter")
	fmt.Fprintln(w)
	printMachine(w, o)

	reqs, err := buildRequests(ctx, o.distinct, o.batch)
	if err != nil {
		return err
	}
	ours, peer, cleanup, err := setupPaths(o)
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Fprintf(w, "ours       %s\n", ours.commandLine(o))
	fmt.Fprintf(w, "           -> internal/greptimetest, count-only mode, at %s\n", ours.sink.endpoint())
	fmt.Fprintf(w, "peer       %s\n", peer.commandLine(o))
	fmt.Fprintf(w, "           -> discarding OTLP/gRPC server (counts log records), at %s\n", peer.sink.endpoint())
	fmt.Fprintln(w, "           (both also with e2e/cmd/load/telemetry.yaml and the OTLP receiver on free loopback ports)")
	fmt.Fprintln(w)

	found := map[*path]float64{}
	var runs []measured // every run, for the chart
	chartDone := false
	chart := func() error {
		chartDone = true
		if o.chart == "" || len(runs) == 0 {
			return nil
		}
		info := chartInfo{machine: machine(), duration: o.duration, date: began, commit: gitCommit()}
		if o.rate == 0 {
			info.step = o.step
		}
		err := writeChart(o.chart, info, runs)
		chartNote(w, o.chart, err)
		return err
	}
	// A load that ends in an error still draws the runs it measured.
	defer func() {
		if err != nil && !chartDone && ctx.Err() == nil {
			_ = chart()
		}
	}()
	for _, p := range []*path{ours, peer} {
		if o.rate > 0 {
			found[p] = o.rate // -rate: no search
			continue
		}
		fmt.Fprintf(w, "Search: %s, %s steps, rate doubling from %.0f events/s, then %d bisections\n", p.name, o.step, o.startRate, bisections)
		rate, err := search(ctx, w, o, p, reqs, &runs)
		if err != nil {
			return err
		}
		found[p] = rate
		fmt.Fprintf(w, "  -> %s sustains %.0f events/s with no loss\n\n", p.name, rate)
	}

	type row struct {
		label string
		r     stepResult
	}
	var rows []row
	runFinal := func(label string, p *path, rate float64) error {
		fmt.Fprintf(w, "Final: %s, %s at %.0f events/s, fresh collector\n", label, o.duration, rate)
		r, err := final(ctx, w, o, p, reqs, rate, &runs)
		if err != nil {
			return err
		}
		rows = append(rows, row{label, r})
		return nil
	}
	if err := runFinal("greptime_events (ours)", ours, found[ours]); err != nil {
		return err
	}
	if err := runFinal("otlp_grpc (peer)", peer, found[peer]); err != nil {
		return err
	}
	// The same load for both: the peer also at the rate our final run held.
	if ourRate := rows[0].r.rate; rows[1].r.rate != ourRate {
		if err := runFinal("otlp_grpc (peer) at our rate", peer, ourRate); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "Result (%s runs, fresh collector each; loss = offered - arrived at the server):\n\n", o.duration)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "path\tevents/s\toffered\tarrived\tloss\tCPU s/1k events\tCPU cores\tpeak RSS MiB\tothers' cores\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.0f\t%d\t%d\t%d\t%.4f\t%.2f\t%.1f\t%.2f\t\n", r.label, r.r.rate, r.r.gen.offered(), r.r.delivered, r.r.loss(),
			r.r.cpuPer1000(), r.r.cores(), mib(r.r.mem.hwm), r.r.otherCPU/(r.r.gen.elapsed+r.r.drain).Seconds())
	}
	_ = tw.Flush()
	o1, p1, same := rows[0].r, rows[1].r, rows[len(rows)-1].r
	fmt.Fprintln(w)
	fmt.Fprintf(w, "ours/peer  CPU per event %.2f and peak RSS %.2f at the same rate (%.0f events/s)\n",
		o1.cpuPer1000()/same.cpuPer1000(), mib(o1.mem.hwm)/mib(same.mem.hwm), o1.rate)
	if o.rate == 0 {
		fmt.Fprintf(w, "           sustained rate %.2f; CPU per event %.2f and peak RSS %.2f each at its own rate\n",
			o1.rate/p1.rate, o1.cpuPer1000()/p1.cpuPer1000(), mib(o1.mem.hwm)/mib(p1.mem.hwm))
	}
	if err := chart(); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	fmt.Fprintf(w, "\nmake load took %s.\n", time.Since(began).Round(time.Second))
	return nil
}

// setupPaths starts both sinks and writes the overlays; cleanup stops the sinks.
func setupPaths(o options) (ours, peer *path, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "greptime-events-load-")
	if err != nil {
		return nil, nil, nil, err
	}
	var stops []func()
	cleanup = func() {
		for _, s := range stops {
			s()
		}
		_ = os.RemoveAll(dir)
	}
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	telemetry, peerOverlay, err := overlays(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	gs, err := startGreptimeSink("")
	if err != nil {
		return nil, nil, nil, err
	}
	stops = append(stops, gs.stop)
	ps, err := startOTLPSink(false)
	if err != nil {
		return nil, nil, nil, err
	}
	stops = append(stops, ps.stop)
	ours = &path{
		name: "greptime_events", sink: gs,
		configs: []string{o.config, telemetry},
		set:     queueSet("greptime_events", o),
		env:     func(a string) []string { return []string{"GREPTIMEDB_ENDPOINT=" + a} },
	}
	peer = &path{
		name: "otlp_grpc", sink: ps,
		configs: []string{o.config, telemetry, peerOverlay},
		set:     queueSet("otlp_grpc", o),
		env:     func(a string) []string { return []string{"LOAD_PEER_ENDPOINT=" + a} },
	}
	return ours, peer, cleanup, nil
}

// queueSet are the --set overrides of exporter's sending queue for the load runs.
func queueSet(exporter string, o options) []string {
	set := []string{fmt.Sprintf("exporters::%s::sending_queue::queue_size=%d", exporter, o.queue)}
	if o.batchMin > 0 {
		set = append(set, fmt.Sprintf("exporters::%s::sending_queue::batch::min_size=%d", exporter, o.batchMin))
	}
	return set
}

// run is a collector and a generator feeding it, for the steps of a search.
type run struct {
	col *collector
	gen *generator
}

func startRun(o options, p *path, reqs [][]byte, extraSet ...string) (*run, error) {
	col, err := startCollector(o, p, extraSet...)
	if err != nil {
		return nil, err
	}
	gen, err := newGenerator(col.grpcAddr, reqs, o.batch, o.workers)
	if err != nil {
		return nil, errors.Join(err, col.Stop())
	}
	return &run{col: col, gen: gen}, nil
}

// stop stops the generator and the collector (SIGTERM: it drains its queue).
func (r *run) stop() error {
	r.gen.close()
	return r.col.Stop()
}

// search finds the highest rate p sustains with no loss: the rate doubles
// from o.startRate until a step fails, then bisects between the last rate
// that held and the first that did not. A failed step restarts the collector.
// Every step is added to runs.
func search(ctx context.Context, w io.Writer, o options, p *path, reqs [][]byte, runs *[]measured) (float64, error) {
	r, err := startRun(o, p, reqs)
	if err != nil {
		return 0, err
	}
	defer func() {
		if r != nil {
			_ = r.stop()
		}
	}()
	try := func(rate float64) (bool, error) {
		for attempt := 0; ; attempt++ {
			res, err := step(ctx, r.gen, r.col, p.sink, rate, o.step)
			if err != nil {
				return false, err
			}
			printStep(w, res)
			*runs = append(*runs, measure(p.name, searchStep, res))
			if res.failure == "" {
				return true, nil
			}
			printTail(w, r.col.Output(), 2)
			_ = r.stop() // what it queued is sent or dropped before the next step
			if r, err = startRun(o, p, reqs); err != nil {
				return false, err
			}
			if !noisy(res) || attempt == noisyRetries {
				return false, nil
			}
			if err := waitQuiet(ctx, w); err != nil {
				return false, err
			}
		}
	}

	good, bad := 0.0, 0.0
	for rate := o.startRate; ; rate = math.Min(rate*2, o.maxRate) {
		ok, err := try(rate)
		if err != nil {
			return 0, err
		}
		if !ok {
			bad = rate
			break
		}
		good = rate
		if rate >= o.maxRate {
			return good, nil
		}
	}
	for range bisections {
		mid := math.Round((good+bad)/2/1000) * 1000
		if mid <= good || mid >= bad {
			break
		}
		ok, err := try(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			good = mid
		} else {
			bad = mid
		}
	}
	if good == 0 {
		return 0, fmt.Errorf("%s loses events even at %.0f events/s", p.name, bad)
	}
	return good, nil
}

// final runs p at rate for o.duration on a fresh collector; if that loses
// events, again 10% slower, up to finalAttempts times. Every run is added to runs.
func final(ctx context.Context, w io.Writer, o options, p *path, reqs [][]byte, rate float64, runs *[]measured) (stepResult, error) {
	var res stepResult
	noisyRuns := 0
	for attempt := 0; attempt < finalAttempts; attempt++ {
		r, err := startRun(o, p, reqs)
		if err != nil {
			return res, err
		}
		res, err = step(ctx, r.gen, r.col, p.sink, rate, o.duration)
		stopErr := r.stop()
		if err != nil {
			return res, err
		}
		printStep(w, res)
		*runs = append(*runs, measure(p.name, finalRun, res))
		if res.failure == "" {
			return res, stopErr
		}
		printTail(w, r.col.Output(), 2)
		if noisy(res) && noisyRuns < noisyRetries {
			noisyRuns++
			attempt-- // not the collector's fault: the same rate again
			if err := waitQuiet(ctx, w); err != nil {
				return res, err
			}
			continue
		}
		rate = math.Round(rate*0.9/1000) * 1000
		fmt.Fprintf(w, "  again at %.0f events/s\n", rate)
	}
	return res, fmt.Errorf("%s: no final run without loss (last: %s)", p.name, res.failure)
}

// Other processes on the machine (builds, tests) take CPU from the collector.
const (
	// noisyCores is how much CPU other processes may use during a step
	// before a failure of that step is put down to them.
	noisyCores = 0.25
	// noisyRetries is how often such a step is repeated, once the machine is quiet.
	noisyRetries = 2
	// quietWait bounds the wait for a quiet machine.
	quietWait = 2 * time.Minute
)

// noisy says whether other processes used more than noisyCores during r.
func noisy(r stepResult) bool {
	return r.otherCPU/(r.gen.elapsed+r.drain).Seconds() > noisyCores
}

// waitQuiet waits until the whole machine used less than noisyCores for a
// second (nothing of ours runs then), or quietWait.
func waitQuiet(ctx context.Context, w io.Writer) error {
	fmt.Fprintf(w, "  other processes used more than %.2f cores in that step; waiting for a quiet machine to repeat it\n", noisyCores)
	deadline := time.Now().Add(quietWait)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	prev, err := machineBusy()
	if err != nil {
		return err
	}
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		busy, err := machineBusy()
		if err != nil {
			return err
		}
		if busy-prev < noisyCores {
			return nil
		}
		prev = busy
	}
	fmt.Fprintf(w, "  still busy after %s; repeating anyway\n", quietWait)
	return nil
}

// printStep prints one step's line.
func printStep(w io.Writer, r stepResult) {
	verdict := "ok"
	if r.failure != "" {
		verdict = "NOT SUSTAINED: " + r.failure
	}
	achieved := float64(r.gen.offered()) / r.gen.elapsed.Seconds()
	fmt.Fprintf(w, "  %7.0f events/s (achieved %7.0f): offered %8d, arrived %8d in %5.1fs + %4.2fs drain; collector %.4f CPU s/1k events (%.2f cores), RSS %5.1f MiB, queue max %5.0f; driver %.2f, others %.2f cores  %s\n",
		r.rate, achieved, r.gen.offered(), r.delivered, r.gen.elapsed.Seconds(), r.drain.Seconds(),
		r.cpuPer1000(), r.cores(), mib(r.mem.rss), r.maxQueue,
		r.driverCPU/(r.gen.elapsed+r.drain).Seconds(), r.otherCPU/(r.gen.elapsed+r.drain).Seconds(), verdict)
}

// printTail prints the last n warnings and errors the collector logged, indented.
func printTail(w io.Writer, out string, n int) {
	var lines []string
	for l := range strings.SplitSeq(out, "\n") {
		if strings.Contains(l, "\twarn\t") || strings.Contains(l, "\terror\t") {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for _, l := range lines {
		if len(l) > 300 {
			l = l[:300] + "..."
		}
		fmt.Fprintf(w, "      collector: %s\n", l)
	}
}
