package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/otelcol"
	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// The configuration overlays, laid over examples/collector.yaml.
var (
	//go:embed telemetry.yaml
	telemetryYAML []byte
	//go:embed peer.yaml
	peerYAML []byte
)

// overlays writes the embedded overlays into dir and returns their paths.
func overlays(dir string) (telemetry, peer string, err error) {
	telemetry, peer = filepath.Join(dir, "telemetry.yaml"), filepath.Join(dir, "peer.yaml")
	err = errors.Join(os.WriteFile(telemetry, telemetryYAML, 0o600), os.WriteFile(peer, peerYAML, 0o600))
	return telemetry, peer, err
}

// sink is where a path's exporter sends: it counts what arrives.
type sink interface {
	// delivered is how many events (rows, log records) have arrived so far.
	delivered() int64
	// endpoint is its host:port.
	endpoint() string
	stop()
}

// greptimeSink is internal/greptimetest in count-only mode.
type greptimeSink struct{ srv *greptimetest.Server }

func startGreptimeSink(addr string) (*greptimeSink, error) {
	srv, err := greptimetest.Start(greptimetest.Config{Addr: addr, CountOnly: true})
	if err != nil {
		return nil, err
	}
	return &greptimeSink{srv: srv}, nil
}

func (s *greptimeSink) delivered() int64 {
	_, rows := s.srv.Counted()
	return rows
}
func (s *greptimeSink) endpoint() string { return s.srv.Addr() }
func (s *greptimeSink) stop()            { s.srv.Stop() }

func (s *otlpSink) delivered() int64 { return s.records.Load() }
func (s *otlpSink) endpoint() string { return s.addr() }

// path is one way from OTLP into the database: ours or the peer.
type path struct {
	name    string
	sink    sink
	configs []string
	env     func(sinkAddr string) []string
	set     []string
}

// collector is a running collector process of a path, with its addresses.
type collector struct {
	*otelcol.Collector
	grpcAddr    string
	metricsAddr string
}

// startCollector starts the distribution for p with its OTLP receiver and
// its metrics on free loopback ports; extraSet are further --set overrides.
func startCollector(o options, p *path, extraSet ...string) (*collector, error) {
	addrs := make([]string, 3)
	for i := range addrs {
		a, err := otelcol.FreeAddr()
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	grpcAddr, httpAddr, metricsAddr := addrs[0], addrs[1], addrs[2]
	_, metricsPort, _ := net.SplitHostPort(metricsAddr)
	set := append([]string{
		"receivers::otlp::protocols::grpc::endpoint=" + grpcAddr,
		"receivers::otlp::protocols::http::endpoint=" + httpAddr,
	}, p.set...)
	set = append(set, extraSet...)
	c, err := otelcol.Start(otelcol.Options{
		Binary:    o.collector,
		Configs:   p.configs,
		Set:       set,
		Env:       append(p.env(p.sink.endpoint()), "LOAD_METRICS_PORT="+metricsPort),
		ReadyAddr: grpcAddr,
	})
	if err != nil {
		return nil, err
	}
	return &collector{Collector: c, grpcAddr: grpcAddr, metricsAddr: metricsAddr}, nil
}

// commandLine is how to run the collector of p by hand (for the report).
func (p *path) commandLine(o options) string {
	var b strings.Builder
	b.WriteString(o.collector)
	for _, c := range p.configs {
		b.WriteString(" --config " + c)
	}
	for _, s := range p.set {
		b.WriteString(" --set " + s)
	}
	return b.String()
}

// stepResult is one run of the load at a fixed rate against one collector.
type stepResult struct {
	rate      float64       // target events/s
	gen       genRun        // what the generator sent
	delivered int64         // events that arrived at the sink
	drain     time.Duration // from the end of the load until the last event arrived
	cpu       float64       // collector CPU seconds over load and drain
	driverCPU float64       // this process's CPU seconds (generator and sinks) over the same time
	otherCPU  float64       // every other process's CPU seconds over the same time
	mem       memory        // the collector's RSS at the end and its peak so far
	maxQueue  float64       // the exporter's queue size at its largest (sampled once a second)
	capacity  float64       // the exporter's queue capacity
	failure   string        // why the step does not count as sustained; "" if it does

	// The collector's own counts over the step.
	enqueueFailed, sendFailed, receiverRefused float64
}

func (r stepResult) loss() int64 { return r.gen.offered() - r.delivered }

func (r stepResult) cpuPer1000() float64 {
	if r.delivered == 0 {
		return 0
	}
	return r.cpu / float64(r.delivered) * 1000
}

// cores is the collector's average CPU use over the load and the drain.
func (r stepResult) cores() float64 { return r.cpu / (r.gen.elapsed + r.drain).Seconds() }

// drainTimeout bounds the wait for the last events after the load stops: the
// batches in flight, and a partial batch that waits for flush_timeout (5s).
const drainTimeout = 15 * time.Second

// step runs the generator at rate for d against c, waits until everything it
// accepted has arrived at the sink (or drainTimeout), and measures.
func step(ctx context.Context, gen *generator, c *collector, s sink, rate float64, d time.Duration) (stepResult, error) {
	r := stepResult{rate: rate}
	before, err := scrape(ctx, c.metricsAddr)
	if err != nil {
		return r, err
	}
	cpu0, err := cpuSeconds(c.Pid())
	if err != nil {
		return r, err
	}
	self0, _ := cpuSeconds(os.Getpid())
	busy0, _ := machineBusy()
	sink0 := s.delivered()

	// The queue, once a second while the load runs: a queue that keeps
	// growing means the exporter does not keep up, even before it is full.
	sampled := make(chan struct{})
	stopSampling := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
			if m, err := scrape(ctx, c.metricsAddr); err == nil {
				r.maxQueue = max(r.maxQueue, m[metricQueueSize])
				r.capacity = m[metricQueueCapacity]
			}
		}
	}()
	r.gen = gen.run(ctx, rate, d, giveUpLag)
	close(stopSampling)
	<-sampled
	if err := ctx.Err(); err != nil {
		return r, err
	}
	loadEnd := time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for s.delivered()-sink0 < r.gen.accepted && time.Since(loadEnd) < drainTimeout {
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-tick.C:
		}
	}
	r.drain = time.Since(loadEnd)
	r.delivered = s.delivered() - sink0

	cpu1, err := cpuSeconds(c.Pid())
	if err != nil {
		return r, err
	}
	self1, _ := cpuSeconds(os.Getpid())
	busy1, _ := machineBusy()
	r.cpu, r.driverCPU = cpu1-cpu0, self1-self0
	r.otherCPU = max(0, busy1-busy0-r.cpu-r.driverCPU)
	if r.mem, err = readMemory(c.Pid()); err != nil {
		return r, err
	}
	after, err := scrape(ctx, c.metricsAddr)
	if err != nil {
		return r, err
	}
	r.enqueueFailed = after.delta(before, metricEnqueueFailed)
	r.sendFailed = after.delta(before, metricSendFailed)
	r.receiverRefused = after.delta(before, metricReceiverRefused)

	var why []string
	if r.gen.refused > 0 {
		why = append(why, fmt.Sprintf("collector refused %d events (%s)", r.gen.refused, gen.lastError()))
	}
	if r.delivered != r.gen.accepted {
		why = append(why, fmt.Sprintf("%d accepted, %d arrived", r.gen.accepted, r.delivered))
	}
	if r.enqueueFailed > 0 || r.sendFailed > 0 {
		why = append(why, fmt.Sprintf("exporter: %.0f enqueue failed, %.0f send failed", r.enqueueFailed, r.sendFailed))
	}
	if r.capacity > 0 && r.maxQueue > r.capacity*maxQueueShare {
		why = append(why, fmt.Sprintf("the queue held %.0f of %.0f", r.maxQueue, r.capacity))
	}
	if r.drain > maxDrain {
		why = append(why, fmt.Sprintf("the last events arrived %s after the load", r.drain.Round(10*time.Millisecond)))
	}
	if r.gen.maxLag > maxLag {
		why = append(why, fmt.Sprintf("generator fell %s behind schedule", r.gen.maxLag.Round(time.Millisecond)))
	}
	r.failure = strings.Join(why, "; ")
	return r, nil
}

// A step counts as sustained only if, besides losing nothing:
const (
	// the generator kept its schedule (a collector that answers slowly makes it fall behind);
	maxLag = time.Second
	// (beyond giveUpLag the step ends early)
	giveUpLag = 3 * maxLag
	// the exporter's queue stayed at most half full (sampled once a second);
	maxQueueShare = 0.5
	// and the last events arrived soon after the load stopped: a partial batch
	// may wait for flush_timeout (5s), a backlog would take longer.
	maxDrain = 7 * time.Second
)
