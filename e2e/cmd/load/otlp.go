package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/greptime-events/greptimeeventsexporter/internal/protowalk"
)

// exportMethod is OTLP/gRPC's logs call.
const exportMethod = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"

// Field numbers of the OTLP messages the load driver walks.
const (
	fieldResourceLogs   protowire.Number = 1 // ExportLogsServiceRequest.resource_logs
	fieldScopeLogs      protowire.Number = 2 // ResourceLogs.scope_logs
	fieldLogRecords     protowire.Number = 2 // ScopeLogs.log_records
	fieldPartialSuccess protowire.Number = 1 // ExportLogsServiceResponse.partial_success
	fieldRejected       protowire.Number = 1 // ExportLogsPartialSuccess.rejected_log_records
)

// raw is a gRPC message kept as its wire bytes.
type raw struct{ b []byte }

// rawCodec sends and receives raw messages without encoding or decoding them.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.(*raw).b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	v.(*raw).b = data.Materialize()
	return nil
}

// Name is "proto": the bytes are ordinary protobuf.
func (rawCodec) Name() string { return "proto" }

// countLogRecords counts the log records of an ExportLogsServiceRequest by
// walking its wire bytes: resource_logs / scope_logs / log_records.
func countLogRecords(b []byte) (int64, error) {
	var n int64
	err := protowalk.Fields(b, func(num protowire.Number, rl []byte) error {
		if num != fieldResourceLogs {
			return nil
		}
		return protowalk.Fields(rl, func(num protowire.Number, sl []byte) error {
			if num != fieldScopeLogs {
				return nil
			}
			return protowalk.Fields(sl, func(num protowire.Number, _ []byte) error {
				if num == fieldLogRecords {
					n++
				}
				return nil
			})
		})
	})
	return n, err
}

// rejectedLogRecords reads partial_success.rejected_log_records from an ExportLogsServiceResponse.
func rejectedLogRecords(b []byte) int64 {
	var rejected int64
	_ = protowalk.Fields(b, func(num protowire.Number, ps []byte) error {
		if num != fieldPartialSuccess {
			return nil
		}
		for len(ps) > 0 {
			num, typ, n := protowire.ConsumeTag(ps)
			if n < 0 {
				return nil
			}
			ps = ps[n:]
			if num == fieldRejected && typ == protowire.VarintType {
				v, n := protowire.ConsumeVarint(ps)
				if n < 0 {
					return nil
				}
				rejected = int64(v)
			}
			if n = protowire.ConsumeFieldValue(num, typ, ps); n < 0 {
				return nil
			}
			ps = ps[n:]
		}
		return nil
	})
	return rejected
}

// otlpSink is an OTLP/gRPC logs server that counts the log records it
// receives, walking the wire bytes instead of decoding them, and throws them
// away: the peer's "GreptimeDB OTLP endpoint", costing as little as possible.
// With capture set it keeps every request's bytes instead (to build the load).
type otlpSink struct {
	lis     net.Listener
	srv     *grpc.Server
	done    chan struct{}
	records atomic.Int64
	calls   atomic.Int64

	capture  bool
	mu       sync.Mutex
	captured [][]byte
}

func startOTLPSink(capture bool) (*otlpSink, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("OTLP sink: listen: %w", err)
	}
	s := &otlpSink{lis: lis, done: make(chan struct{}), capture: capture}
	s.srv = grpc.NewServer(
		grpc.ForceServerCodecV2(rawCodec{}),
		grpc.MaxRecvMsgSize(64<<20),
		grpc.UnknownServiceHandler(s.handle),
	)
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(lis) // returns when stop closes the listener
	}()
	return s, nil
}

func (s *otlpSink) addr() string { return s.lis.Addr().String() }

func (s *otlpSink) stop() {
	s.srv.Stop()
	<-s.done
}

func (s *otlpSink) handle(_ any, stream grpc.ServerStream) error {
	if m, _ := grpc.MethodFromServerStream(stream); m != exportMethod {
		return status.Errorf(codes.Unimplemented, "OTLP sink: only %s is served, not %s", exportMethod, m)
	}
	var req raw
	if err := stream.RecvMsg(&req); err != nil {
		return err
	}
	n, err := countLogRecords(req.b)
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "OTLP sink: malformed ExportLogsServiceRequest: %v", err)
	}
	if s.capture {
		s.mu.Lock()
		s.captured = append(s.captured, req.b)
		s.mu.Unlock()
	}
	s.records.Add(n)
	s.calls.Add(1)
	return stream.SendMsg(&raw{}) // an empty ExportLogsServiceResponse: all accepted
}

// eventTypes are the event names of the load, as in the exporter's benchmarks.
var eventTypes = []string{"user.login", "order.placed", "deploy.finished", "cache.evicted", "job.failed"}

// loadRecord is record i of the load, the shape of the exporter's benchmark
// input: an event name from five types, a map body of five keys (strings, an
// int, a bool, a nested map), five attributes, timestamps and severity.
func loadRecord(i int, start time.Time) otellog.Record {
	var r otellog.Record
	r.SetEventName(eventTypes[i%len(eventTypes)])
	r.SetTimestamp(start.Add(time.Duration(i) * time.Millisecond))
	r.SetObservedTimestamp(start.Add(time.Duration(i)*time.Millisecond + time.Microsecond))
	r.SetSeverity(otellog.SeverityInfo)
	r.SetSeverityText("INFO")
	r.SetBody(attribute.MapValue(
		attribute.String("message", "user checked out their basket"),
		attribute.String("status", "ok"),
		attribute.Int("latency_ms", 10+i%90),
		attribute.Bool("cached", i%2 == 0),
		attribute.Map("client", attribute.String("ip", "203.0.113.7"), attribute.String("agent", "Mozilla/5.0")),
	))
	r.AddAttributes(
		attribute.String("user.id", fmt.Sprintf("user-%04d", i%500)),
		attribute.String("http.method", "POST"),
		attribute.String("http.route", "/api/checkout"),
		attribute.Int("http.status_code", 200),
		attribute.String("region", "eu-west-1"),
	)
	return r
}

// buildRequests makes n OTLP/gRPC ExportLogsServiceRequests of perRequest
// records each with the OpenTelemetry Go SDK (LoggerProvider, batch
// processor, otlploggrpc exporter) and returns their wire bytes, captured by
// an in-process sink. The load replays them, so that the generator spends
// almost no CPU of its own on this 2-core machine.
func buildRequests(ctx context.Context, n, perRequest int) ([][]byte, error) {
	sink, err := startOTLPSink(true)
	if err != nil {
		return nil, err
	}
	defer sink.stop()
	exp, err := otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(sink.addr()), otlploggrpc.WithInsecure(),
		otlploggrpc.WithRetry(otlploggrpc.RetryConfig{Enabled: false}))
	if err != nil {
		return nil, err
	}
	provider := sdklog.NewLoggerProvider(
		sdklog.WithResource(resource.NewSchemaless(
			attribute.String("service.name", "checkout"),
			attribute.String("host.name", "checkout-7f9c-2"),
		)),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(exp,
			// Export only on ForceFlush: one request of exactly perRequest records each.
			sdklog.WithExportInterval(time.Hour),
			sdklog.WithExportMaxBatchSize(perRequest+1),
			sdklog.WithMaxQueueSize(perRequest+1),
		)),
	)
	logger := provider.Logger("checkout/events")
	start := time.Now()
	var emitErr error
	for i := range n * perRequest {
		// Each record in its own span, as an instrumented service would log.
		tid := trace.TraceID{byte(i >> 8), byte(i), 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
		sid := trace.SpanID{byte(i >> 8), byte(i), 2, 3, 4, 5, 6, 7}
		sctx := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled,
		}))
		logger.Emit(sctx, loadRecord(i, start))
		if (i+1)%perRequest == 0 {
			if emitErr = provider.ForceFlush(ctx); emitErr != nil {
				break
			}
		}
	}
	if err := errors.Join(emitErr, provider.Shutdown(ctx)); err != nil {
		return nil, fmt.Errorf("build the load with the OpenTelemetry SDK: %w", err)
	}
	sink.mu.Lock()
	reqs := sink.captured
	sink.mu.Unlock()
	if len(reqs) != n {
		return nil, fmt.Errorf("build the load: the SDK sent %d requests, want %d", len(reqs), n)
	}
	for i, b := range reqs {
		c, err := countLogRecords(b)
		if err != nil {
			return nil, fmt.Errorf("build the load: read request %d: %w", i, err)
		}
		if c != int64(perRequest) {
			return nil, fmt.Errorf("build the load: request %d holds %d records, want %d", i, c, perRequest)
		}
	}
	return reqs, nil
}

// generator replays pre-built OTLP requests to a collector at a set rate.
type generator struct {
	conn       *grpc.ClientConn
	reqs       [][]byte
	perRequest int
	workers    int

	// Cumulative counts, readable while a run goes on.
	accepted atomic.Int64 // records in calls the collector accepted
	refused  atomic.Int64 // records in calls it refused (or rejected in a partial success)
	lastErr  atomic.Value // string: the last refusal
}

func newGenerator(endpoint string, reqs [][]byte, perRequest, workers int) (*generator, error) {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	return &generator{conn: conn, reqs: reqs, perRequest: perRequest, workers: workers}, nil
}

func (g *generator) close() { _ = g.conn.Close() }

// genRun is what one run of the generator did.
type genRun struct {
	accepted, refused int64
	elapsed           time.Duration // from the first call's start to the last call's end
	maxLag            time.Duration // how far a call started behind its schedule, at most
}

func (r genRun) offered() int64 { return r.accepted + r.refused }

// run sends requests at rate records/s for d: call k is due at k*perRequest/rate,
// taken by the next free worker. A collector that answers slowly makes the calls
// start late (maxLag): the offered rate was not sustained. Once a call starts
// more than giveUp late (if giveUp > 0), run sends no more.
func (g *generator) run(ctx context.Context, rate float64, d, giveUp time.Duration) genRun {
	interval := time.Duration(float64(time.Second) * float64(g.perRequest) / rate)
	total := int64(d / interval)
	acc0, ref0 := g.accepted.Load(), g.refused.Load()
	var next atomic.Int64
	var maxLag atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range g.workers {
		wg.Go(func() {
			timer := time.NewTimer(time.Hour)
			defer timer.Stop()
			for {
				k := next.Add(1) - 1
				if k >= total {
					return
				}
				due := start.Add(time.Duration(k) * interval)
				if wait := time.Until(due); wait > 0 {
					timer.Reset(wait)
					select {
					case <-ctx.Done():
						return
					case <-timer.C:
					}
				}
				lag := int64(time.Since(due))
				for old := maxLag.Load(); lag > old && !maxLag.CompareAndSwap(old, lag); old = maxLag.Load() {
				}
				if giveUp > 0 && lag > int64(giveUp) {
					next.Store(total) // the others stop too
					return
				}
				g.send(ctx, g.reqs[k%int64(len(g.reqs))])
			}
		})
	}
	wg.Wait()
	return genRun{
		accepted: g.accepted.Load() - acc0,
		refused:  g.refused.Load() - ref0,
		elapsed:  time.Since(start),
		maxLag:   time.Duration(maxLag.Load()),
	}
}

func (g *generator) send(ctx context.Context, body []byte) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var resp raw
	err := g.conn.Invoke(cctx, exportMethod, &raw{b: body}, &resp, grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		if ctx.Err() != nil {
			return // interrupted: not the collector's refusal
		}
		g.refused.Add(int64(g.perRequest))
		g.lastErr.Store(err.Error())
		return
	}
	rejected := rejectedLogRecords(resp.b)
	g.refused.Add(rejected)
	g.accepted.Add(int64(g.perRequest) - rejected)
}

func (g *generator) lastError() string {
	s, _ := g.lastErr.Load().(string)
	return s
}
