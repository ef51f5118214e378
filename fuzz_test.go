package greptimeeventsexporter

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
	"github.com/greptime-events/greptimeeventsexporter/internal/metadatatest"
)

// TestFuzzCorpus keeps the seed corpus of the mapping's FuzzMapping, the bad
// OTLP input of badRecords, in step with them; `go test -run TestFuzzCorpus
// -update` rewrites it.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("internal", "mapping", "testdata", "fuzz", "FuzzMapping")
	for _, tt := range badRecords {
		ld := plog.NewLogs()
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		tt.make(lr)
		b, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
		require.NoError(t, err)
		if len(b) > 64<<10 {
			continue // the huge ones are built in TestBadInput, not stored
		}
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		path := filepath.Join(dir, strings.NewReplacer(" ", "_", ",", "").Replace(tt.name))
		if *update {
			require.NoError(t, os.MkdirAll(dir, 0o755))
			require.NoError(t, os.WriteFile(path, []byte(want), 0o600))
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err, "run: go test -run TestFuzzCorpus -update")
		assert.Equal(t, want, string(got))
	}
}

// FuzzPush sends fuzzed records through the whole exporter to a real
// server: tenants, event names, attribute keys and values, bodies and
// timestamps of any bytes, where a record's data reaches the request header,
// the type, the extra columns, the payload, the event id, the dead letters
// and the catalog; the same data goes through the exporter of a traces
// pipeline as span events and their span. Whatever comes in, nothing
// panics, and every record is accounted for: written, dead-lettered, or
// counted as dropped.
func FuzzPush(f *testing.F) {
	f.Add("team_a", "user.login", "user", "ada", "body", int64(1), 1.5, uint64(1_700_000_000_000_000_000))
	f.Add("team_\xff", "bad\xffname", "k\xfe", "\x80", "\"\\\u2028", int64(math.MinInt64), math.NaN(), uint64(math.MaxUint64))
	f.Add("Team_B", "", "", "", "", int64(0), 0.0, uint64(0))
	f.Add("team_missing", "x", "user", "\xc3\x28", "b", int64(-1), math.Inf(1), uint64(1<<63))
	f.Add("team-a", "event.name", "event.name", "override", "b", int64(7), math.Copysign(0, -1), uint64(1))

	srv, err := greptimetest.Start(greptimetest.Config{Databases: []string{"public", "team_a", "team_b"}})
	require.NoError(f, err)
	f.Cleanup(srv.Stop)
	cfg := fuzzPushConfig(srv.Addr())
	require.NoError(f, cfg.Validate())
	exp, tel := startFuzzLogsExporter(f, cfg)
	traces, traceTel := startFuzzTracesExporter(f, cfg)

	f.Fuzz(func(t *testing.T, tenant, eventName, attrKey, value, body string, i int64, d float64, ts uint64) {
		ld := fuzzedLogs(tenant, eventName, attrKey, value, body, i, d, ts)
		assertEveryRecordAccountedFor(t, tel, int64(ld.LogRecordCount()), "every record written, dead-lettered or dropped",
			func() error { return exp.ConsumeLogs(context.Background(), ld) })

		td := fuzzedSpanEvents(ld.ResourceLogs().At(0).Resource(), eventName, attrKey, value, body, i, d, ts)
		assertEveryRecordAccountedFor(t, traceTel, 2, "every span event written, dead-lettered or dropped",
			func() error { return traces.ConsumeTraces(context.Background(), td) })
	})
}

// fuzzPushConfig is FuzzPush's exporter of the server at addr: every place
// a record's data can reach is on (tenants, extra columns of each type,
// every payload part, event ids, dead letters, the catalog), and no queue
// or retries, so that each push is accounted for when it returns.
func fuzzPushConfig(addr string) *Config {
	cfg := defaultConfig()
	cfg.ClientConfig.Endpoint = addr
	cfg.ClientConfig.TLS.Insecure = true
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	cfg.Payload = PayloadConfig{Body: true, Attributes: true, Resource: true, Scope: true, Severity: true, Trace: true, Span: true, SpanAttributes: true}
	cfg.Tenants = configoptional.Some(TenantsConfig{From: "resource.tenant", DatabasePattern: "team_.+"})
	cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
	cfg.EventCatalog = configoptional.Some(EventCatalogConfig{Table: "event_types", Interval: time.Hour, MaxPayloadKeys: 8})
	cfg.EventID = EventIDConfig{Enabled: true}
	cfg.Events = map[string]EventConfig{"*": {Columns: []ColumnConfig{
		{Name: "s", Source: "attributes.user", SemanticType: "tag"},
		{Name: "i", Source: "attributes.i", Type: ColumnTypeInt64},
		{Name: "t", Source: "attributes.user", Type: ColumnTypeTimestamp},
		{Name: "j", Source: "body", Type: ColumnTypeJSON},
		{Name: "span", Source: "span.name", SemanticType: "tag"},
		{Name: "span_user", Source: "span.attributes.user", Type: ColumnTypeJSON},
	}}}
	return cfg
}

// startFuzzLogsExporter starts a logs exporter of cfg, shut down with its
// telemetry when the fuzz target ends.
func startFuzzLogsExporter(f *testing.F, cfg *Config) (exporter.Logs, *componenttest.Telemetry) {
	f.Helper()
	tel := componenttest.NewTelemetry()
	f.Cleanup(func() { require.NoError(f, tel.Shutdown(context.Background())) })
	exp, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg)
	require.NoError(f, err)
	require.NoError(f, exp.Start(context.Background(), componenttest.NewNopHost()))
	f.Cleanup(func() { require.NoError(f, exp.Shutdown(context.Background())) })
	return exp, tel
}

// startFuzzTracesExporter starts a traces exporter of cfg, shut down with
// its telemetry when the fuzz target ends.
func startFuzzTracesExporter(f *testing.F, cfg *Config) (exporter.Traces, *componenttest.Telemetry) {
	f.Helper()
	tel := componenttest.NewTelemetry()
	f.Cleanup(func() { require.NoError(f, tel.Shutdown(context.Background())) })
	traces, err := NewFactory().CreateTraces(context.Background(), metadatatest.NewSettings(tel), cfg)
	require.NoError(f, err)
	require.NoError(f, traces.Start(context.Background(), componenttest.NewNopHost()))
	f.Cleanup(func() { require.NoError(f, traces.Shutdown(context.Background())) })
	return traces, tel
}

// fuzzedLogs is two log records of the fuzzed data under one resource and
// scope: tenant and data in the resource, data in the scope's name, and in
// each record's event name, timestamp, severity, attributes and body.
func fuzzedLogs(tenant, eventName, attrKey, value, body string, i int64, d float64, ts uint64) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("tenant", tenant)
	rl.Resource().Attributes().PutStr(attrKey, value)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(value)
	for range 2 {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetEventName(eventName)
		lr.SetTimestamp(pcommon.Timestamp(ts))
		lr.SetSeverityText(value)
		lr.Attributes().PutStr(attrKey, value)
		lr.Attributes().PutStr("user", value)
		lr.Attributes().PutInt("i", i)
		lr.Attributes().PutDouble("d", d)
		bm := lr.Body().SetEmptyMap()
		bm.PutStr(attrKey, body)
		bm.PutEmptySlice("list").AppendEmpty().SetStr(value)
	}
	return ld
}

// fuzzedSpanEvents is one span of the fuzzed data, with a copy of resource,
// and two span events of it: data in the scope's name, the span's name,
// trace id, start, status message and attributes, and each event's name and
// attributes.
func fuzzedSpanEvents(resource pcommon.Resource, eventName, attrKey, value, body string, i int64, d float64, ts uint64) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	resource.CopyTo(rs.Resource())
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(value)
	span := ss.Spans().AppendEmpty()
	span.SetName(value)
	span.SetTraceID(pcommon.TraceID{byte(i)})
	span.SetStartTimestamp(pcommon.Timestamp(ts))
	span.Status().SetMessage(body)
	span.Attributes().PutStr("user", value)
	span.Attributes().PutStr(attrKey, body)
	for range 2 {
		se := span.Events().AppendEmpty()
		se.SetName(eventName)
		se.Attributes().PutStr(attrKey, value)
		se.Attributes().PutStr("user", value)
		se.Attributes().PutInt("i", i)
		se.Attributes().PutDouble("d", d)
	}
	return td
}

// assertEveryRecordAccountedFor runs push, which may fail only permanently
// (the server is healthy), and checks that the exporter's counters grew by
// want: each record written, dead-lettered or dropped.
func assertEveryRecordAccountedFor(t *testing.T, tel *componenttest.Telemetry, want int64, msg string, push func() error) {
	t.Helper()
	before := accounted(tel)
	if err := push(); err != nil {
		require.True(t, consumererror.IsPermanent(err), "a retryable error from a healthy server: %v", err)
	}
	assert.Equal(t, want, accounted(tel)-before, msg)
}

// accounted is how many records the exporter wrote, dead-lettered or
// dropped so far, from its counters.
func accounted(tel *componenttest.Telemetry) int64 {
	var n int64
	for _, name := range []string{
		"otelcol_exporter_greptime_events_rows_inserted",
		"otelcol_exporter_greptime_events_records_dead_lettered",
		"otelcol_exporter_greptime_events_records_dropped",
	} {
		m, err := tel.GetMetric(name)
		if err != nil {
			continue
		}
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			n += dp.Value
		}
	}
	return n
}
