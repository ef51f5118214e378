package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// recoveryTimeout bounds the wait for the queue to drain once GreptimeDB is back.
const recoveryTimeout = 60 * time.Second

// sample is one second of a backpressure run.
type sample struct {
	t         time.Duration
	phase     string
	mem       memory
	heap      float64 // the Go heap in use (otelcol_process_runtime_heap_alloc_bytes)
	queue     float64 // otelcol_exporter_queue_size: items or bytes, per the sizer
	capacity  float64 // otelcol_exporter_queue_capacity
	accepted  int64   // events the collector accepted so far
	refused   int64   // events it refused so far
	enqFailed float64 // otelcol_exporter_enqueue_failed_log_records so far
	sndFailed float64 // otelcol_exporter_send_failed_log_records so far
	delivered int64   // events that arrived at GreptimeDB so far
}

// variant is one sending-queue configuration of a backpressure run.
type variant struct {
	label string
	unit  string
	set   []string
}

// runBackpressure is make load-backpressure: for the default items sizer and
// for the bytes sizer, GreptimeDB goes down under a steady load and comes back;
// the collector's RSS, queue and counters are sampled every second.
func runBackpressure(ctx context.Context, w io.Writer, o options) error {
	began := time.Now()
	fmt.Fprintln(w, "make load-backpressure: otelcol-greptime-events with GreptimeDB down while the load goes on")
	fmt.Fprintln(w)
	printMachine(w, o)
	reqs, err := buildRequests(ctx, o.distinct, o.batch)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "greptime-events-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	telemetry, _, err := overlays(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "run        %.0f events/s; GreptimeDB (internal/greptimetest, count-only) up for %s, down for %s, then up again until the queue is empty\n\n",
		o.bpRate, o.bpUp, o.duration)

	queueBytes := o.bpQueueMiB << 20
	variants := []variant{
		{label: "items sizer (the default): sending_queue queue_size 2048 items", unit: "items"},
		{label: fmt.Sprintf("bytes sizer: sending_queue sizer bytes, queue_size %d (%d MiB)", queueBytes, o.bpQueueMiB), unit: "bytes", set: []string{
			"exporters::greptime_events::sending_queue::sizer=bytes",
			fmt.Sprintf("exporters::greptime_events::sending_queue::queue_size=%d", queueBytes),
		}},
	}
	type outcome struct {
		v       variant
		samples []sample
		drained time.Duration
	}
	var outcomes []outcome
	for _, v := range variants {
		fmt.Fprintf(w, "%s\n", v.label)
		samples, drained, err := backpressureRun(ctx, o, reqs, []string{o.config, telemetry}, v)
		if err != nil {
			return err
		}
		printSeries(w, v, samples)
		outcomes = append(outcomes, outcome{v, samples, drained})
		fmt.Fprintln(w)
	}

	fmt.Fprintln(w, "Summary (RSS in MiB; refused = events the receiver answered with an error because the queue was full):")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "queue\tcapacity\tRSS before\tpeak RSS down\tVmHWM\tpeak heap down\tqueue max\trefused\tenqueue failed\tsend failed\tdrained after\t")
	for _, oc := range outcomes {
		var before, peak sample
		for _, s := range oc.samples {
			if s.phase == "up" {
				before = s
			}
			if s.phase == "down" && s.mem.rss > peak.mem.rss {
				peak = s
			}
		}
		last := oc.samples[len(oc.samples)-1]
		maxQueue, maxHeap := 0.0, 0.0
		for _, s := range oc.samples {
			maxQueue = max(maxQueue, s.queue)
			if s.phase == "down" {
				maxHeap = max(maxHeap, s.heap)
			}
		}
		drained := "not within " + recoveryTimeout.String()
		if oc.drained > 0 {
			drained = oc.drained.Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%.0f %s\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\t%d\t%.0f\t%.0f\t%s\t\n", oc.v.unit, last.capacity, oc.v.unit,
			mib(before.mem.rss), mib(peak.mem.rss), mib(last.mem.hwm), maxHeap/(1<<20), maxQueue, last.refused, last.enqFailed, last.sndFailed, drained)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nmake load-backpressure took %s.\n", time.Since(began).Round(time.Second))
	return nil
}

// backpressureRun runs one variant: GreptimeDB up for o.bpUp, down for
// o.duration under the load, then up again (the load stopped) until the queue
// is empty. It returns a sample per second and how long the queue took to
// drain after GreptimeDB came back (0 if it did not within recoveryTimeout).
func backpressureRun(ctx context.Context, o options, reqs [][]byte, configs []string, v variant) ([]sample, time.Duration, error) {
	gs, err := startGreptimeSink("")
	if err != nil {
		return nil, 0, err
	}
	addr := gs.endpoint()
	sinkUp := true
	defer func() {
		if sinkUp {
			gs.stop()
		}
	}()
	p := &path{
		name: "greptime_events", sink: gs, configs: configs,
		env: func(a string) []string { return []string{"GREPTIMEDB_ENDPOINT=" + a} },
	}
	r, err := startRun(o, p, reqs, v.set...)
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = r.stop() }()

	var delivered0 int64 // what earlier sinks on this address counted
	take := func(t time.Duration, phase string) (sample, error) {
		s := sample{t: t, phase: phase, accepted: r.gen.accepted.Load(), refused: r.gen.refused.Load()}
		var err error
		if s.mem, err = readMemory(r.col.Pid()); err != nil {
			return s, err
		}
		m, err := scrape(ctx, r.col.metricsAddr)
		if err != nil {
			return s, err
		}
		s.queue, s.capacity, s.heap = m[metricQueueSize], m[metricQueueCapacity], m[metricHeapAlloc]
		s.enqFailed, s.sndFailed = m[metricEnqueueFailed], m[metricSendFailed]
		s.delivered = delivered0
		if sinkUp {
			s.delivered += gs.delivered()
		}
		return s, nil
	}

	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	genDone := make(chan struct{})
	go func() {
		defer close(genDone)
		r.gen.run(genCtx, o.bpRate, o.bpUp+o.duration, 0)
	}()

	var samples []sample
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	phase := "up"
	for phase != "recovered" {
		select {
		case <-ctx.Done():
			stopGen()
			<-genDone
			return nil, 0, ctx.Err()
		case <-tick.C:
		}
		t := time.Since(start).Round(100 * time.Millisecond)
		switch {
		case phase == "up" && t >= o.bpUp:
			delivered0 += gs.delivered()
			gs.stop()
			sinkUp = false
			phase = "down"
		case phase == "down" && t >= o.bpUp+o.duration:
			stopGen()
			<-genDone
			if gs, err = startGreptimeSink(addr); err != nil {
				return samples, 0, fmt.Errorf("GreptimeDB back on %s: %w", addr, err)
			}
			sinkUp = true
			phase = "up again"
		}
		s, err := take(t, phase)
		if err != nil {
			return samples, 0, err
		}
		samples = append(samples, s)
		if phase == "up again" {
			if s.queue == 0 {
				phase = "recovered"
			} else if t >= o.bpUp+o.duration+recoveryTimeout {
				break
			}
		}
	}
	var drained time.Duration
	if phase == "recovered" {
		drained = samples[len(samples)-1].t - o.bpUp - o.duration
	}
	return samples, drained, nil
}

// printSeries prints the samples as a table with an RSS bar per second.
func printSeries(w io.Writer, v variant, samples []sample) {
	var peak int64
	for _, s := range samples {
		peak = max(peak, s.mem.rss)
	}
	const width = 40
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "t\tGreptimeDB\tRSS MiB\theap MiB\tqueue %s\taccepted\trefused\tsend failed\tarrived\t \t\n", v.unit)
	for _, s := range samples {
		bar := strings.Repeat("#", int(float64(s.mem.rss)/float64(peak)*width+0.5))
		fmt.Fprintf(tw, "%.0fs\t%s\t%.1f\t%.1f\t%.0f\t%d\t%d\t%.0f\t%d\t \t%s\n", s.t.Seconds(), s.phase, mib(s.mem.rss), s.heap/(1<<20), s.queue,
			s.accepted, s.refused, s.sndFailed, s.delivered, bar)
	}
	_ = tw.Flush()
}
