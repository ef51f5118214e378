package greptimeeventsexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/protobuf/proto"

	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
	"github.com/greptime-events/greptimeeventsexporter/internal/metadatatest"

	"github.com/greptime-events/greptimeeventsexporter/internal/wire"
)

// The fuzz targets feed arbitrary input through the mapping and the wire
// encoder. Whatever comes in, nothing panics and every request decodes as a
// GreptimeRequest whose strings are UTF-8 and whose JSON values parse, or the
// record is dropped with a reason. `make test` runs each briefly, `make fuzz`
// for longer; seeds live in testdata/fuzz.

// fuzzConfig maps every kind of extra column, so conversions get fuzzed too.
func fuzzConfig() *Config {
	cfg := defaultConfig()
	cfg.Payload = PayloadConfig{Body: true, Attributes: true, Resource: true, Scope: true, Severity: true, Trace: true}
	cfg.Events = map[string]EventConfig{"*": {Columns: []ColumnConfig{
		{Name: "s", Source: "attributes.s", SemanticType: "tag"},
		{Name: "i", Source: "attributes.i", Type: ColumnTypeInt64},
		{Name: "f", Source: "body.f", Type: ColumnTypeFloat64},
		{Name: "b", Source: "attributes.b", Type: ColumnTypeBool},
		{Name: "t", Source: "attributes.t", Type: ColumnTypeTimestamp},
		{Name: "j", Source: "body", Type: ColumnTypeJSON},
		{Name: "e", Source: "attributes.list", Type: ColumnTypeString, Expand: true},
		{Name: "trace", Source: "trace_id"},
	}}}
	return cfg
}

// FuzzMapping decodes the input as an OTLP logs request, as a collector
// receives it, and maps and encodes it.
func FuzzMapping(f *testing.F) {
	for _, ld := range []plog.Logs{goldenLogs(), benchLogs(3), edgeValueLogs(), badInputSeed()} {
		b, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	m := mustMapping(f, fuzzConfig())
	header := mustHeader(f, testHeader)
	f.Fuzz(func(t *testing.T, data []byte) {
		ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(data)
		if err != nil {
			return
		}
		checkMapping(t, ld, m, header, 64<<10)
	})
}

// FuzzRecord builds a record from fuzzed fields: names, keys, values,
// numbers and timestamps of any bytes and bit patterns.
func FuzzRecord(f *testing.F) {
	f.Add("user.login", "event.name", "k", "v", "body", int64(7), 1.5, uint64(1_700_000_000_000_000_000), uint8(3))
	f.Add("", "", "", "", "", int64(0), 0.0, uint64(0), uint8(0))
	f.Add("bad\xffname\x00\n", "key\xfe", "\x80", "\xc3\x28", "\"\\\u2028", int64(math.MinInt64), math.NaN(), uint64(math.MaxUint64), uint8(200))
	f.Add("x", "event.name", "k", "v", "b", int64(-1), math.Inf(1), uint64(1<<63), uint8(100))
	m := mustMapping(f, fuzzConfig())
	header := mustHeader(f, testHeader)
	f.Fuzz(func(t *testing.T, eventName, attrKey, key, value, body string, i int64, d float64, ts uint64, depth uint8) {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr(key, value)
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(value)
		lr := sl.LogRecords().AppendEmpty()
		lr.SetEventName(eventName)
		lr.SetTimestamp(pcommon.Timestamp(ts))
		lr.SetObservedTimestamp(pcommon.Timestamp(ts / 2))
		lr.SetSeverityText(value)
		lr.SetSeverityNumber(plog.SeverityNumber(i % 32))
		lr.SetTraceID(pcommon.TraceID{byte(i), byte(depth)})
		attrs := lr.Attributes()
		attrs.PutStr(attrKey, eventName)
		attrs.PutStr("s", value)
		attrs.PutInt("i", i)
		attrs.PutStr("t", value)
		attrs.PutDouble("b", d)
		attrs.PutEmptyBytes(key).FromRaw([]byte(value))
		list := attrs.PutEmptySlice("list")
		list.AppendEmpty().SetStr(value)
		list.AppendEmpty().SetDouble(d)
		list.AppendEmpty().SetEmptyMap().PutStr(key, body)
		bm := lr.Body().SetEmptyMap()
		bm.PutDouble("f", d)
		bm.PutStr(key, body)
		nested := bm
		for range int(depth) {
			nested = nested.PutEmptyMap(key)
		}
		nested.PutInt("deepest", i)

		checkMapping(t, ld, m, header, 64<<10)
	})
}

// checkMapping maps and writes ld and checks every request and every drop.
func checkMapping(t *testing.T, ld plog.Logs, m *mapping, header []byte, maxBytes int) {
	var (
		gr grouper
		w  writer
	)
	groups, dropped := gr.group(ld, m, exportTime, "")
	w.start(m.payload)
	defer w.finish(true)
	requests, tooLarge := w.pack(groups, header, maxBytes)
	accounted := dropped.filtered + len(dropped.invalid) + len(tooLarge)
	for _, inserts := range requests {
		b := wire.NewRequest(header, wireInserts(inserts)).AppendTo(nil)
		if len(b) > maxBytes {
			t.Fatalf("request of %d bytes exceeds %d", len(b), maxBytes)
		}
		rows := 0
		for _, in := range inserts {
			accounted += len(in.events)
			rows += in.rows
		}
		checkRequest(t, b, rows)
	}
	if accounted != ld.LogRecordCount() {
		t.Fatalf("%d records in, %d sent or dropped", ld.LogRecordCount(), accounted)
	}
}

// checkRequest decodes a request and checks what GreptimeDB checks: rows as
// long as the schema, values of the column's type, JSON that parses.
func checkRequest(t *testing.T, b []byte, wantRows int) {
	var req greptimev1.GreptimeRequest
	if err := proto.Unmarshal(b, &req); err != nil { // fails on invalid UTF-8 in strings too
		t.Fatalf("request does not decode: %v", err)
	}
	rowCount := 0
	for _, ins := range req.GetRowInserts().GetInserts() {
		rowCount += len(ins.GetRows().GetRows())
		checkInsert(t, ins)
	}
	if rowCount != wantRows {
		t.Fatalf("%d rows, want %d", rowCount, wantRows)
	}
}

// checkInsert checks one insert: rows as long as the schema, values of the
// column's type, JSON that parses, a time index in every row.
func checkInsert(t *testing.T, ins *greptimev1.RowInsertRequest) {
	schema := ins.GetRows().GetSchema()
	for _, row := range ins.GetRows().GetRows() {
		if len(row.GetValues()) != len(schema) {
			t.Fatalf("row of %d values for %d columns", len(row.GetValues()), len(schema))
		}
		for i, v := range row.GetValues() {
			col := schema[i]
			if v.GetValueData() == nil {
				continue
			}
			if s, ok := v.GetValueData().(*greptimev1.Value_StringValue); ok {
				if !utf8.ValidString(s.StringValue) {
					t.Fatalf("column %q: invalid UTF-8", col.GetColumnName())
				}
				if col.GetDatatype() == greptimev1.ColumnDataType_JSON && !json.Valid([]byte(s.StringValue)) {
					t.Fatalf("column %q: invalid JSON %q", col.GetColumnName(), s.StringValue)
				}
			}
		}
		if row.GetValues()[2].GetValueData() == nil {
			t.Fatal("null time index")
		}
	}
}

// TestFuzzCorpus keeps testdata/fuzz/FuzzMapping, the seed corpus of bad OTLP
// input, in step with badRecords; `go test -run TestFuzzCorpus -update`
// rewrites it.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzMapping")
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
// and the catalog. Whatever comes in, nothing panics, and every record is
// accounted for: written, dead-lettered, or counted as dropped.
func FuzzPush(f *testing.F) {
	f.Add("team_a", "user.login", "user", "ada", "body", int64(1), 1.5, uint64(1_700_000_000_000_000_000))
	f.Add("team_\xff", "bad\xffname", "k\xfe", "\x80", "\"\\\u2028", int64(math.MinInt64), math.NaN(), uint64(math.MaxUint64))
	f.Add("Team_B", "", "", "", "", int64(0), 0.0, uint64(0))
	f.Add("team_missing", "x", "user", "\xc3\x28", "b", int64(-1), math.Inf(1), uint64(1<<63))
	f.Add("team-a", "event.name", "event.name", "override", "b", int64(7), -0.0, uint64(1))

	srv, err := greptimetest.Start(greptimetest.Config{Databases: []string{"public", "team_a", "team_b"}})
	require.NoError(f, err)
	f.Cleanup(srv.Stop)
	tel := componenttest.NewTelemetry()
	f.Cleanup(func() { require.NoError(f, tel.Shutdown(context.Background())) })
	cfg := defaultConfig()
	cfg.ClientConfig.Endpoint = srv.Addr()
	cfg.ClientConfig.TLS.Insecure = true
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	cfg.Payload = PayloadConfig{Body: true, Attributes: true, Resource: true, Scope: true, Severity: true, Trace: true}
	cfg.Tenants = configoptional.Some(TenantsConfig{From: "resource.tenant", DatabasePattern: "team_.+"})
	cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
	cfg.EventCatalog = configoptional.Some(EventCatalogConfig{Table: "event_types", Interval: time.Hour, MaxPayloadKeys: 8})
	cfg.EventID = EventIDConfig{Enabled: true}
	cfg.Events = map[string]EventConfig{"*": {Columns: []ColumnConfig{
		{Name: "s", Source: "attributes.user", SemanticType: "tag"},
		{Name: "i", Source: "attributes.i", Type: ColumnTypeInt64},
		{Name: "t", Source: "attributes.user", Type: ColumnTypeTimestamp},
		{Name: "j", Source: "body", Type: ColumnTypeJSON},
	}}}
	require.NoError(f, cfg.Validate())
	exp, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg)
	require.NoError(f, err)
	require.NoError(f, exp.Start(context.Background(), componenttest.NewNopHost()))
	f.Cleanup(func() { require.NoError(f, exp.Shutdown(context.Background())) })

	f.Fuzz(func(t *testing.T, tenant, eventName, attrKey, value, body string, i int64, d float64, ts uint64) {
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
		before := accounted(tel)

		err := exp.ConsumeLogs(context.Background(), ld)
		if err != nil {
			require.True(t, consumererror.IsPermanent(err), "a retryable error from a healthy server: %v", err)
		}
		assert.Equal(t, int64(ld.LogRecordCount()), accounted(tel)-before, "every record written, dead-lettered or dropped")
	})
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
