package greptimeeventsexporter

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net"
	"testing"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/proto"

	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
	"github.com/greptime-events/greptimeeventsexporter/internal/mapping"
	"github.com/greptime-events/greptimeeventsexporter/internal/metadatatest"
	"github.com/greptime-events/greptimeeventsexporter/internal/wire"
)

// The tests' shared pieces: the harness that starts a server and an
// exporter, the fixtures, the mapping helper, and the metric assertions.

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// exportTime stands in for the clock in mapping tests.
var exportTime = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func defaultConfig() *Config { return createDefaultConfig().(*Config) }

// setup says how a test's server and exporter start.
type setup struct {
	// server configures the greptimetest server.
	server greptimetest.Config
	// configure changes the exporter's config after the harness's defaults.
	configure func(*Config)
	// queue keeps the sending queue and retries of the default config; without
	// it both are off, so that errors surface from ConsumeLogs.
	queue bool
	// lateServer leaves the server to h.startServer, on the address the
	// exporter already dials.
	lateServer bool
	// ownServers: the test starts its servers, and configure sets the endpoint.
	ownServers bool
	// traces makes the exporter of a traces pipeline, h.traces, instead of
	// h.exp.
	traces bool
}

// harness is an exporter built by the factory, dialling a greptimetest server
// over loopback, with its logs and telemetry observed.
type harness struct {
	t      *testing.T
	srvCfg greptimetest.Config
	srv    *greptimetest.Server
	exp    exporter.Logs
	traces exporter.Traces
	logs   *observer.ObservedLogs
	tel    *componenttest.Telemetry
	cfg    *Config
}

// newHarness starts a server (unless late) and an exporter; the test's
// cleanup shuts both down.
func newHarness(t *testing.T, s setup) *harness {
	t.Helper()
	h := &harness{t: t, srvCfg: s.server, tel: componenttest.NewTelemetry()}
	if h.srvCfg.Addr == "" {
		h.srvCfg.Addr = unusedAddr(t)
	}
	if !s.lateServer && !s.ownServers {
		h.startServer()
	}

	cfg := defaultConfig()
	cfg.ClientConfig.Endpoint = h.srvCfg.Addr
	cfg.ClientConfig.TLS.Insecure = true
	if !s.queue {
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
		cfg.RetryConfig.Enabled = false
	}
	if s.configure != nil {
		s.configure(cfg)
	}
	require.NoError(t, cfg.Validate())
	h.cfg = cfg

	t.Cleanup(func() { require.NoError(t, h.tel.Shutdown(context.Background())) })
	core, logs := observer.New(zapcore.DebugLevel)
	h.logs = logs
	set := metadatatest.NewSettings(h.tel)
	set.Logger = zap.New(core)
	if s.traces {
		exp, err := NewFactory().CreateTraces(context.Background(), set, cfg)
		require.NoError(t, err)
		require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
		h.traces = exp
	} else {
		exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
		require.NoError(t, err)
		require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
		h.exp = exp
	}
	t.Cleanup(h.shutdown)
	return h
}

// startServer starts the server on the harness's address.
func (h *harness) startServer() {
	srv, err := greptimetest.Start(h.srvCfg)
	require.NoError(h.t, err)
	h.t.Cleanup(srv.Stop)
	h.srv = srv
}

// shutdown shuts the exporter down, once.
func (h *harness) shutdown() {
	if h.exp != nil {
		require.NoError(h.t, h.exp.Shutdown(context.Background()))
		h.exp = nil
	}
	if h.traces != nil {
		require.NoError(h.t, h.traces.Shutdown(context.Background()))
		h.traces = nil
	}
}

// unusedAddr is a loopback address nothing listens on.
func unusedAddr(t testing.TB) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())
	return addr
}

// Metric assertions, through the generated metadatatest helpers. A nil or
// empty want asserts that nothing was counted: the metric does not exist.

type counts = map[string]int64

func assertRecordsDropped(t *testing.T, tel *componenttest.Telemetry, byReason counts) {
	t.Helper()
	assertCounter(t, tel, "otelcol_exporter_greptime_events_records_dropped", "reason", byReason,
		metadatatest.AssertEqualExporterGreptimeEventsRecordsDropped)
}

func assertDeadLettered(t *testing.T, tel *componenttest.Telemetry, byTable counts) {
	t.Helper()
	assertCounter(t, tel, "otelcol_exporter_greptime_events_records_dead_lettered", "table", byTable,
		metadatatest.AssertEqualExporterGreptimeEventsRecordsDeadLettered)
}

func assertRowsInserted(t *testing.T, tel *componenttest.Telemetry, byTable counts) {
	t.Helper()
	assertCounter(t, tel, "otelcol_exporter_greptime_events_rows_inserted", "table", byTable,
		metadatatest.AssertEqualExporterGreptimeEventsRowsInserted)
}

func assertValuesNulled(t *testing.T, tel *componenttest.Telemetry, byTable counts) {
	t.Helper()
	assertCounter(t, tel, "otelcol_exporter_greptime_events_values_nulled", "table", byTable,
		metadatatest.AssertEqualExporterGreptimeEventsValuesNulled)
}

// assertCounter asserts a counter's points, by the value of key, with the
// generated assertion; an empty want asserts that the metric does not exist.
func assertCounter(t *testing.T, tel *componenttest.Telemetry, name, key string, want counts,
	generated func(*testing.T, *componenttest.Telemetry, []metricdata.DataPoint[int64], ...metricdatatest.Option),
) {
	t.Helper()
	if len(want) == 0 {
		_, err := tel.GetMetric(name)
		require.Error(t, err, "%s was counted", name)
		return
	}
	generated(t, tel, points(key, want, "logs"), metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

// points are counter data points of an exporter of signal's pipeline, one
// per value of key.
func points(key string, want counts, signal string) []metricdata.DataPoint[int64] {
	var dps []metricdata.DataPoint[int64]
	for v, n := range want {
		dps = append(dps, metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.String(key, v), attribute.String("signal", signal)), Value: n})
	}
	return dps
}

// counted is a counter's total by the value of one attribute; the test
// fails if the metric does not exist.
func counted(t *testing.T, tel *componenttest.Telemetry, name, key string) counts {
	t.Helper()
	m, err := tel.GetMetric(name)
	require.NoError(t, err)
	sums := counts{}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		v, _ := dp.Attributes.Value(attribute.Key(key))
		sums[v.AsString()] += dp.Value
	}
	return sums
}

// callCounts is how many calls insert_duration observed, by outcome; the
// test fails if there were none.
func callCounts(t *testing.T, tel *componenttest.Telemetry) map[string]uint64 {
	t.Helper()
	m, err := tel.GetMetric("otelcol_exporter_greptime_events_insert_duration")
	require.NoError(t, err)
	out := map[string]uint64{}
	for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
		outcome, _ := dp.Attributes.Value("outcome")
		out[outcome.AsString()] += dp.Count
	}
	return out
}

// testHeader is a request header with credentials.
var testHeader = &greptimev1.RequestHeader{
	Dbname: "public",
	Authorization: &greptimev1.AuthHeader{AuthScheme: &greptimev1.AuthHeader_Basic{
		Basic: &greptimev1.Basic{Username: "exporter", Password: "s3cret"},
	}},
}

// rowInsertsOf maps ld with cfg's mapping as a push does (every record in
// database public), writes every group into requests of at most
// cfg.MaxRequestBytes and returns their inserts, decoded by the generated
// types; it fails the test on any record not written.
func rowInsertsOf(t testing.TB, cfg *Config, ld plog.Logs) []*greptimev1.RowInsertRequest {
	t.Helper()
	m, err := compileMapping(cfg)
	require.NoError(t, err)
	var (
		gr mapping.Grouper
		w  mapping.Writer
	)
	groups, dropped := gr.GroupLogs(ld, m, exportTime, newTenants(cfg).databaseOf(context.Background()))
	require.Equal(t, mapping.Drops{}, dropped)
	header, err := wire.EncodeHeader(testHeader)
	require.NoError(t, err)
	w.Start()
	defer w.Finish(true)
	requests, tooLarge := w.Pack(groups, header, cfg.MaxRequestBytes)
	require.Empty(t, tooLarge)
	var out []*greptimev1.RowInsertRequest
	for _, inserts := range requests {
		ws := make([]wire.Insert, len(inserts))
		for i, in := range inserts {
			ws[i] = in.Insert
		}
		data, err := wire.NewCodec().Marshal(wire.NewRequest(header, ws))
		require.NoError(t, err)
		var req greptimev1.GreptimeRequest
		require.NoError(t, proto.Unmarshal(data.Materialize(), &req))
		out = append(out, req.GetRowInserts().GetInserts()...)
	}
	return out
}

// cellOf is a proto value as a plain Go value, nil for null.
func cellOf(v *greptimev1.Value) any {
	switch d := v.GetValueData().(type) {
	case *greptimev1.Value_StringValue:
		return d.StringValue
	case *greptimev1.Value_I64Value:
		return d.I64Value
	case *greptimev1.Value_F64Value:
		return d.F64Value
	case *greptimev1.Value_BoolValue:
		return d.BoolValue
	case *greptimev1.Value_TimestampNanosecondValue:
		return d.TimestampNanosecondValue
	default:
		return nil
	}
}

// Fixtures.

// logsOfTypes is a batch with one record per event type given.
func logsOfTypes(types ...string) plog.Logs {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i, eventType := range types {
		lr := records.AppendEmpty()
		lr.SetEventName(eventType)
		lr.SetTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + i))
		lr.Body().SetStr(eventType + " happened")
	}
	return ld
}

// goldenLogs is a batch of realistic events from two services.
func goldenLogs() plog.Logs {
	ld := plog.NewLogs()
	ts := pcommon.Timestamp(1_764_158_400_000_000_000) // 2025-11-26T12:00:00Z

	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "auth")
	rl.Resource().Attributes().PutStr("host.name", "auth-1")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("auth/events")
	for i, user := range []string{"alice", "bob"} {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetEventName("user.login")
		lr.SetTimestamp(ts + pcommon.Timestamp(i))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		lr.Attributes().PutStr("user.id", user)
		lr.Attributes().PutBool("success", i == 0)
		body := lr.Body().SetEmptyMap()
		body.PutDouble("latency_ms", 12.5+float64(i))
		body.PutStr("method", "password")
	}
	lr := sl.LogRecords().AppendEmpty()
	lr.Attributes().PutStr("event.name", "session.expired")
	lr.SetObservedTimestamp(ts + 10)
	lr.Body().SetStr("session ended after 30m")
	lr.SetTraceID(pcommon.TraceID{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	lr.SetSpanID(pcommon.SpanID{0xbb, 1, 2, 3, 4, 5, 6, 7})

	rl = ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "shop")
	sl = rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("shop/orders")
	sl.Scope().SetVersion("2.0.1")
	lr = sl.LogRecords().AppendEmpty()
	lr.SetEventName("order.placed")
	lr.SetTimestamp(ts + 20)
	body := lr.Body().SetEmptyMap()
	body.PutInt("total_cents", 4599)
	items := body.PutEmptySlice("items")
	items.AppendEmpty().SetEmptyMap().PutStr("sku", "A-1")
	items.AppendEmpty().SetEmptyMap().PutStr("sku", "B-2")
	body.PutEmptyMap("shipping").PutStr("country", "NZ")
	lr.Attributes().PutEmptyBytes("signature").FromRaw([]byte{0xde, 0xad, 0xbe, 0xef})
	lr.Attributes().PutDouble("ratio", math.NaN())
	lr = sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(ts + 30)
	lr.Body().SetStr("plain log line with \"quotes\", a tab\tand bad UTF-8 \xff")
	return ld
}

// goldenConfigs are the configurations of the golden tests, by name.
func goldenConfigs() map[string]*Config {
	perType := defaultConfig()
	perType.Payload = PayloadConfig{Body: true, Attributes: true, Resource: true, Scope: true, Severity: true, Trace: true}
	perType.Events = map[string]EventConfig{
		"user.login": {Table: "logins", Columns: []ColumnConfig{
			{Name: "user_id", Source: "attributes.user.id", SemanticType: "tag"},
			{Name: "success", Source: "attributes.success", Type: ColumnTypeBool},
			{Name: "latency_ms", Source: "body.latency_ms", Type: ColumnTypeFloat64},
		}},
		"order.placed": {Table: "orders", Columns: []ColumnConfig{
			{Name: "item", Source: "body.items", Type: ColumnTypeJSON, Expand: true},
			{Name: "total_cents", Source: "body.total_cents", Type: ColumnTypeInt64},
		}},
		"*": {Columns: []ColumnConfig{
			{Name: "service", Source: "resource.service.name", SemanticType: "tag"},
			{Name: "severity", Source: "severity_number", Type: ColumnTypeInt64},
			{Name: "trace_id", Source: "trace_id"},
			{Name: "scope", Source: "scope.name"},
		}},
	}
	return map[string]*Config{"defaults": defaultConfig(), "per_type_tables_and_columns": perType}
}

// benchEventTypes are the five event types of the benchmarks' fixed input;
// the first has two extra columns configured.
var benchEventTypes = []string{"user.login", "order.placed", "deploy.finished", "cache.evicted", "job.failed"}

// benchConfig maps the benchmarks' input, with two extra columns for the first type.
func benchConfig(endpoint string) *Config {
	cfg := defaultConfig()
	cfg.ClientConfig.Endpoint = endpoint
	cfg.ClientConfig.TLS.Insecure = true
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	cfg.Events = map[string]EventConfig{benchEventTypes[0]: {Columns: []ColumnConfig{
		{Name: "user_id", Source: "attributes.user.id", SemanticType: "tag"},
		{Name: "latency_ms", Source: "body.latency_ms", Type: ColumnTypeFloat64},
	}}}
	return cfg
}

// benchLogs is the benchmarks' fixed input: n records with an event name
// from five types, a map body of five keys (strings, an int, a bool, a
// nested map), five attributes, resource attributes, trace and span ids and
// timestamps.
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
