package greptimeeventsexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"

	"github.com/greptime-events/greptimeeventsexporter/internal/mapping"
	"github.com/greptime-events/greptimeeventsexporter/internal/metadata"
	"github.com/greptime-events/greptimeeventsexporter/internal/wire"
)

// The benchmarks measure this exporter and its peer, the collector's OTLP
// exporter, on the same batches, per log record. `make bench` runs them
// together and prints the push/peer ratio.

var benchBatchSizes = []int{100, 1000}

// measure is where a benchmark's counters stood when measuring started.
type measure struct {
	mem runtime.MemStats
	cpu time.Duration
}

// reportPerRecord adds wall ns, CPU ns, bytes and allocations per record to
// the result. CPU time is the whole process's, user and system: concurrent
// calls spend CPU in parallel, which wall time hides. CPU time and
// allocations count the whole process, so for the push benchmarks they
// include the loopback server's share, the same for both exporters.
func reportPerRecord(b *testing.B, records int, before measure) {
	cpu := processCPU() - before.cpu
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	n := float64(b.N * records)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/record")
	b.ReportMetric(float64(after.TotalAlloc-before.mem.TotalAlloc)/n, "B/record")
	b.ReportMetric(float64(after.Mallocs-before.mem.Mallocs)/n, "allocs/record")
}

func startMeasuring(b *testing.B) measure {
	var m measure
	runtime.GC()
	runtime.ReadMemStats(&m.mem)
	m.cpu = processCPU()
	b.ResetTimer()
	return m
}

// processCPU is the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMapping is records to events to grouped request bytes, no I/O.
func BenchmarkMapping(b *testing.B) {
	for _, size := range benchBatchSizes {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			cfg := benchConfig("127.0.0.1:1")
			m, err := compileMapping(cfg)
			require.NoError(b, err)
			header, err := wire.EncodeHeader(&greptimev1.RequestHeader{Dbname: cfg.Database})
			require.NoError(b, err)
			ld := benchLogs(size)
			now := time.Now()
			t := newTenants(cfg)
			var st pushState
			before := startMeasuring(b)
			for range b.N {
				groups, _ := st.groupLogs(context.Background(), ld, m, t, now)
				st.writer.Start()
				st.writer.Pack(groups, header, cfg.MaxRequestBytes)
				st.writer.Finish(true)
				st.done()
			}
			reportPerRecord(b, size, before)
		})
	}
}

// BenchmarkPush is this exporter's whole push and its peer's, the
// collector's otlp exporter, on the same batches and terms: through
// exporterhelper (queue and retry off, no compression) to a loopback server
// that discards requests. Both run in one benchmark, alternating under
// -count, so that a change in the machine's load hits both; the peer runs
// first, so that benchstat -col /exporter compares this exporter to it.
func BenchmarkPush(b *testing.B) {
	endpoint, received := startDiscardServer(b)
	for _, size := range benchBatchSizes {
		b.Run(fmt.Sprintf("exporter=otlp/batch=%d", size), func(b *testing.B) {
			factory := otlpexporter.NewFactory()
			benchmarkExporter(b, size, received, func() (exporter.Logs, error) {
				cfg := factory.CreateDefaultConfig().(*otlpexporter.Config)
				cfg.ClientConfig.Endpoint = endpoint
				cfg.ClientConfig.TLS.Insecure = true
				cfg.ClientConfig.Compression = configcompression.Type("none")
				cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
				cfg.RetryConfig.Enabled = false
				return factory.CreateLogs(context.Background(), exportertest.NewNopSettings(factory.Type()), cfg)
			})
		})
		b.Run(fmt.Sprintf("exporter=greptime_events/batch=%d", size), func(b *testing.B) {
			benchmarkExporter(b, size, received, func() (exporter.Logs, error) {
				return NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), benchConfig(endpoint))
			})
		})
		// payload_encoding: json, the text GreptimeDB parses per row.
		b.Run(fmt.Sprintf("exporter=greptime_events_json/batch=%d", size), func(b *testing.B) {
			benchmarkExporter(b, size, received, func() (exporter.Logs, error) {
				cfg := benchConfig(endpoint)
				cfg.PayloadEncoding = PayloadEncodingJSON
				return NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
			})
		})
	}
}

// benchmarkExporter pushes the same batch over and over. Besides the
// measures of reportPerRecord it reports wire-B/record, the request bytes
// the server received per record: what the encoding puts on the wire.
func benchmarkExporter(b *testing.B, size int, received *atomic.Int64, create func() (exporter.Logs, error)) {
	exp, err := create()
	require.NoError(b, err)
	require.NoError(b, exp.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(b, exp.Shutdown(context.Background())) }()
	ld := benchLogs(size)
	ld.MarkReadOnly()
	ctx := context.Background()
	require.NoError(b, exp.ConsumeLogs(ctx, ld)) // connect, and write each layout's first call, before measuring
	before := startMeasuring(b)
	bytesBefore := received.Load()
	for range b.N {
		if err := exp.ConsumeLogs(ctx, ld); err != nil {
			b.Fatal(err)
		}
	}
	reportPerRecord(b, size, before)
	b.ReportMetric(float64(received.Load()-bytesBefore)/float64(b.N*size), "wire-B/record")
}

// startDiscardServer serves every unary method on loopback by reading the
// request's bytes and answering with an empty message, which both a
// GreptimeResponse and an ExportLogsServiceResponse accept. It counts the
// request bytes it reads.
func startDiscardServer(b *testing.B) (endpoint string, received *atomic.Int64) {
	received = new(atomic.Int64)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	srv := grpc.NewServer(
		grpc.ForceServerCodecV2(discardCodec{}),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			var req discarded
			if err := stream.RecvMsg(&req); err != nil {
				return err
			}
			received.Add(int64(req.n))
			return stream.SendMsg(&discarded{})
		}),
	)
	go func() { _ = srv.Serve(lis) }()
	b.Cleanup(srv.Stop)
	return lis.Addr().String(), received
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
	m, err := compileMapping(benchConfig("127.0.0.1:1"))
	require.NoError(b, err)
	var gr mapping.Grouper
	groups, _ := gr.GroupLogs(benchLogs(100), m, time.Now(), newTenants(defaultConfig()).databaseOf(context.Background()))
	var events []mapping.Event
	for _, g := range groups {
		events = append(events, g.Events...)
	}
	b.Run("encoder=writer", func(b *testing.B) {
		var buf []byte
		before := startMeasuring(b)
		for range b.N {
			for i := range events {
				buf = mapping.AppendPayload(buf[:0], &events[i], mapping.Payload{Body: true, Attributes: true})
			}
		}
		reportPerRecord(b, len(events), before)
	})
	b.Run("encoder=encoding_json", func(b *testing.B) {
		before := startMeasuring(b)
		for range b.N {
			for i := range events {
				ev := &events[i]
				if _, err := json.Marshal(map[string]any{"body": ev.Body().AsRaw(), "attributes": ev.Attributes().AsRaw()}); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportPerRecord(b, len(events), before)
	})
}
