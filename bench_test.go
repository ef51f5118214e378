package greptimeeventsexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"

	"github.com/greptime-events/greptimeeventsexporter/internal/metadata"
)

// The benchmarks measure this exporter and its peer, the collector's OTLP
// exporter, on the same batches, per log record. `make bench` runs them
// together and prints the push/peer ratio.

var benchBatchSizes = []int{100, 1000}

// benchEventTypes are the five event types of the fixed input; the first has
// two extra columns configured.
var benchEventTypes = []string{"user.login", "order.placed", "deploy.finished", "cache.evicted", "job.failed"}

func benchConfig(endpoint string) *Config {
	cfg := defaultConfig()
	cfg.ClientConfig.Endpoint = endpoint
	cfg.ClientConfig.TLS.Insecure = true
	cfg.ClientConfig.Compression = configcompression.Type("none")
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	cfg.Events = map[string]EventConfig{benchEventTypes[0]: {Columns: []ColumnConfig{
		{Name: "user_id", Source: "attributes.user.id", SemanticType: "tag"},
		{Name: "latency_ms", Source: "body.latency_ms", Type: ColumnTypeFloat64},
	}}}
	return cfg
}

// benchLogs is the fixed input: n records with an event name from five
// types, a map body of five keys (strings, an int, a bool, a nested map),
// five attributes, resource attributes, trace and span ids and timestamps.
func benchLogs(n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	rl.Resource().Attributes().PutStr("host.name", "checkout-7f9c-2")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("checkout/events")
	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for i := range n {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetEventName(benchEventTypes[i%len(benchEventTypes)])
		lr.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(i) * time.Millisecond)))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(i)*time.Millisecond + time.Microsecond)))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		lr.SetTraceID(pcommon.TraceID{byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
		lr.SetSpanID(pcommon.SpanID{byte(i), 1, 2, 3, 4, 5, 6, 7})
		body := lr.Body().SetEmptyMap()
		body.PutStr("message", "user checked out their basket")
		body.PutStr("status", "ok")
		body.PutInt("latency_ms", int64(10+i%90))
		body.PutBool("cached", i%2 == 0)
		nested := body.PutEmptyMap("client")
		nested.PutStr("ip", "203.0.113.7")
		nested.PutStr("agent", "Mozilla/5.0")
		attrs := lr.Attributes()
		attrs.PutStr("user.id", fmt.Sprintf("user-%04d", i%500))
		attrs.PutStr("http.method", "POST")
		attrs.PutStr("http.route", "/api/checkout")
		attrs.PutInt("http.status_code", 200)
		attrs.PutStr("region", "eu-west-1")
	}
	return ld
}

// reportPerRecord adds ns, bytes and allocations per record to the result.
// Allocations count the whole process, so for the push benchmarks they
// include the loopback server's share, the same for both exporters.
func reportPerRecord(b *testing.B, records int, before runtime.MemStats) {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	n := float64(b.N * records)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/record")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/record")
}

func startMeasuring(b *testing.B) runtime.MemStats {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ResetTimer()
	return ms
}

// BenchmarkMapping is records to events to grouped request bytes, no I/O.
func BenchmarkMapping(b *testing.B) {
	for _, size := range benchBatchSizes {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			e, err := newLogsExporter(benchConfig("127.0.0.1:1"), exportertest.NewNopSettings(metadata.Type))
			require.NoError(b, err)
			ld := benchLogs(size)
			now := time.Now()
			before := startMeasuring(b)
			for range b.N {
				gr := grouperPool.Get().(*grouper)
				groups, _ := gr.build(ld, e.mapping, now)
				for _, g := range groups {
					ge := newGroupEncoder(g, e.headerWire, e.mapping.payload, e.cfg.MaxRequestBytes)
					for c, ok := ge.nextChunk(); ok; c, ok = ge.nextChunk() {
						c.req.release()
					}
				}
				gr.release()
			}
			reportPerRecord(b, size, before)
		})
	}
}

// BenchmarkPush is the exporter's whole push, through exporterhelper (queue
// and retry off, no compression), to a loopback server that discards requests.
func BenchmarkPush(b *testing.B) {
	benchmarkExporter(b, func(endpoint string) (exporter.Logs, error) {
		return NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), benchConfig(endpoint))
	})
}

// BenchmarkPeerOTLP is the collector's otlp exporter on the same batches and
// terms, to a loopback server that discards requests the same way.
func BenchmarkPeerOTLP(b *testing.B) {
	factory := otlpexporter.NewFactory()
	benchmarkExporter(b, func(endpoint string) (exporter.Logs, error) {
		cfg := factory.CreateDefaultConfig().(*otlpexporter.Config)
		cfg.ClientConfig.Endpoint = endpoint
		cfg.ClientConfig.TLS.Insecure = true
		cfg.ClientConfig.Compression = configcompression.Type("none")
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		cfg.RetryConfig.Enabled = false
		return factory.CreateLogs(context.Background(), exportertest.NewNopSettings(factory.Type()), cfg)
	})
}

func benchmarkExporter(b *testing.B, create func(endpoint string) (exporter.Logs, error)) {
	endpoint := startDiscardServer(b)
	for _, size := range benchBatchSizes {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			exp, err := create(endpoint)
			require.NoError(b, err)
			require.NoError(b, exp.Start(context.Background(), componenttest.NewNopHost()))
			defer func() { require.NoError(b, exp.Shutdown(context.Background())) }()
			ld := benchLogs(size)
			ld.MarkReadOnly()
			ctx := context.Background()
			require.NoError(b, exp.ConsumeLogs(ctx, ld)) // connect before measuring
			before := startMeasuring(b)
			for range b.N {
				if err := exp.ConsumeLogs(ctx, ld); err != nil {
					b.Fatal(err)
				}
			}
			reportPerRecord(b, size, before)
		})
	}
}

// startDiscardServer serves every unary method on loopback by reading the
// request's bytes and answering with an empty message, which both a
// GreptimeResponse and an ExportLogsServiceResponse accept.
func startDiscardServer(b *testing.B) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	srv := grpc.NewServer(
		grpc.ForceServerCodecV2(discardCodec{}),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			var req discarded
			if err := stream.RecvMsg(&req); err != nil {
				return err
			}
			return stream.SendMsg(&discarded{})
		}),
	)
	go func() { _ = srv.Serve(lis) }()
	b.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// discarded is a message whose bytes were read and thrown away.
type discarded struct{ n int }

// discardCodec reads messages without decoding them.
type discardCodec struct{}

func (discardCodec) Marshal(any) (mem.BufferSlice, error) { return nil, nil }

func (discardCodec) Unmarshal(data mem.BufferSlice, v any) error {
	v.(*discarded).n = data.Len()
	return nil
}

func (discardCodec) Name() string { return "proto" }

// BenchmarkPayload compares the JSON payload writer with the obvious way,
// pcommon's AsRaw and encoding/json, on the records of the fixed input.
func BenchmarkPayload(b *testing.B) {
	ld := benchLogs(100)
	groups, _ := buildGroups(ld, newMapping(benchConfig("127.0.0.1:1")), time.Now())
	var records []recordRef
	for _, g := range groups {
		records = append(records, g.records...)
	}
	b.Run("writer", func(b *testing.B) {
		var buf []byte
		before := startMeasuring(b)
		for range b.N {
			for i := range records {
				buf = appendPayload(buf[:0], &records[i], PayloadConfig{Body: true, Attributes: true})
			}
		}
		reportPerRecord(b, len(records), before)
	})
	b.Run("encoding_json", func(b *testing.B) {
		before := startMeasuring(b)
		for range b.N {
			for i := range records {
				lr := records[i].lr
				if _, err := json.Marshal(map[string]any{"body": lr.Body().AsRaw(), "attributes": lr.Attributes().AsRaw()}); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportPerRecord(b, len(records), before)
	})
}
