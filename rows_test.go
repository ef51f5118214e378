package greptimeeventsexporter

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// groupLogs groups ld with cfg's mapping.
func groupLogs(t testing.TB, cfg *Config, ld plog.Logs) ([]*group, drops) {
	var gr grouper
	return gr.group(ld, mustMapping(t, cfg), exportTime, "")
}

// The reference's test_group_events_by_type: types A, B and C, grouped by type.
func TestGroupEventsByType(t *testing.T) {
	cfg := defaultConfig()
	cfg.Events = map[string]EventConfig{"B": {Table: "table_B"}, "C": {Table: "table_C"}}
	ld := logsOfTypes("A", "B", "A", "C", "B", "C", "A")

	groups, dropped := groupLogs(t, cfg, ld)

	assert.Equal(t, drops{}, dropped)
	require.Len(t, groups, 3)
	sizes := map[string]int{}
	for _, g := range groups {
		sizes[g.eventType] = len(g.events)
	}
	assert.Equal(t, map[string]int{"A": 3, "B": 2, "C": 2}, sizes)
}

// The reference's test_build_row_inserts_request: each group is one
// RowInsertRequest into its type's table, one row per event; the groups of
// a batch travel in one request.
func TestBuildRowInsertsRequest(t *testing.T) {
	cfg := defaultConfig()
	cfg.Events = map[string]EventConfig{"B": {Table: "table_B"}, "C": {Table: "table_C"}}

	m := mapLogs(t, cfg, logsOfTypes("A", "B", "A", "C", "B", "C", "A"))

	require.Len(t, m.requests, 1, "one request for the batch")
	assert.Equal(t, "public", m.requests[0].GetHeader().GetDbname())
	tests := []struct {
		eventType string
		table     string
		rows      int
	}{
		{eventType: "A", table: "events", rows: 3},
		{eventType: "B", table: "table_B", rows: 2},
		{eventType: "C", table: "table_C", rows: 2},
	}
	inserts := m.rowInserts()
	require.Len(t, inserts, len(tests))
	for i, tt := range tests {
		t.Run(tt.eventType, func(t *testing.T) {
			req := inserts[i]
			assert.Equal(t, tt.table, req.TableName)
			assert.Len(t, req.Rows.Rows, tt.rows)
			assert.Equal(t, tt.rows, m.inserts[0][i].rows)
			assert.Zero(t, m.inserts[0][i].nulled)
			assert.Equal(t, []string{"type", "payload", "timestamp"}, columnNames(req.Rows.Schema))
			for _, row := range req.Rows.Rows {
				require.Len(t, row.Values, 3)
				assert.Equal(t, tt.eventType, row.Values[0].GetStringValue())
			}
		})
	}
}

func TestEventType(t *testing.T) {
	tests := []struct {
		name       string
		record     func(plog.LogRecord)
		attributes []string // default: event.name, event.type
		want       string
	}{
		{name: "otel.event.name wins over event.name by default", record: func(lr plog.LogRecord) {
			lr.Attributes().PutStr("event.name", "deprecated")
			lr.Attributes().PutStr("otel.event.name", "stable")
		}, attributes: defaultConfig().EventType.Attributes, want: "stable"},
		{name: "event.name by default when otel.event.name is absent", record: func(lr plog.LogRecord) {
			lr.Attributes().PutStr("event.name", "deprecated")
		}, attributes: defaultConfig().EventType.Attributes, want: "deprecated"},
		{name: "EventName wins over attributes", record: func(lr plog.LogRecord) {
			lr.SetEventName("from.field")
			lr.Attributes().PutStr("event.name", "from.attribute")
		}, want: "from.field"},
		{name: "first configured attribute present", record: func(lr plog.LogRecord) {
			lr.Attributes().PutStr("event.type", "second")
		}, want: "second"},
		{name: "attribute order decides", record: func(lr plog.LogRecord) {
			lr.Attributes().PutStr("event.type", "second")
			lr.Attributes().PutStr("event.name", "first")
		}, want: "first"},
		{name: "empty attribute is skipped", record: func(lr plog.LogRecord) {
			lr.Attributes().PutStr("event.name", "")
			lr.Attributes().PutStr("event.type", "second")
		}, want: "second"},
		{name: "non-string attribute is written as text", record: func(lr plog.LogRecord) {
			lr.Attributes().PutInt("event.name", 42)
		}, want: "42"},
		{name: "default when nothing names a type", record: func(plog.LogRecord) {}, want: "unknown"},
		{name: "invalid UTF-8 is replaced", record: func(lr plog.LogRecord) {
			lr.SetEventName("bad\xffname")
		}, want: "bad\uFFFDname"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.EventType = EventTypeConfig{Attributes: []string{"event.name", "event.type"}, Default: "unknown"}
			if tt.attributes != nil {
				cfg.EventType.Attributes = tt.attributes
			}
			lr := plog.NewLogRecord()
			tt.record(lr)
			assert.Equal(t, tt.want, mustMapping(t, cfg).eventType(lr))
		})
	}
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name         string
		filter       FilterConfig
		wantTypes    []string
		wantFiltered int
	}{
		{name: "no filter keeps all", wantTypes: []string{"a", "b", "c"}},
		{name: "include", filter: FilterConfig{Include: []string{"a", "c"}}, wantTypes: []string{"a", "c"}, wantFiltered: 2},
		{name: "exclude", filter: FilterConfig{Exclude: []string{"a"}}, wantTypes: []string{"b", "c"}, wantFiltered: 2},
		{name: "exclude wins over include", filter: FilterConfig{Include: []string{"a", "b"}, Exclude: []string{"b"}}, wantTypes: []string{"a"}, wantFiltered: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.Filter = tt.filter
			groups, dropped := groupLogs(t, cfg, logsOfTypes("a", "b", "a", "b", "c"))
			var types []string
			for _, g := range groups {
				types = append(types, g.eventType)
			}
			assert.Equal(t, tt.wantTypes, types)
			assert.Equal(t, tt.wantFiltered, dropped.filtered)
		})
	}
}

func TestRecordTimestamp(t *testing.T) {
	tests := []struct {
		name      string
		timestamp uint64
		observed  uint64
		want      int64
		wantErr   bool
	}{
		{name: "timestamp", timestamp: 1_700_000_000_000_000_001, observed: 5, want: 1_700_000_000_000_000_001},
		{name: "observed when timestamp is unset", observed: 1_700_000_000_000_000_002, want: 1_700_000_000_000_000_002},
		{name: "export time when both are unset", want: exportTime.UnixNano()},
		{name: "largest representable", timestamp: math.MaxInt64, want: math.MaxInt64},
		{name: "year 3000 is out of range", timestamp: uint64(math.MaxInt64) + 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			lr.SetTimestamp(pcommon.Timestamp(tt.timestamp))
			lr.SetObservedTimestamp(pcommon.Timestamp(tt.observed))
			got, err := recordTimestamp(lr, exportTime)
			if tt.wantErr {
				assert.ErrorIs(t, err, errTimestampRange)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestInvalidRecordIsDroppedAlone(t *testing.T) {
	ld := logsOfTypes("a", "a", "b")
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1).SetTimestamp(pcommon.Timestamp(math.MaxUint64))

	groups, dropped := groupLogs(t, defaultConfig(), ld)

	require.Len(t, dropped.invalid, 1)
	assert.Equal(t, "a", dropped.invalid[0].eventType)
	assert.ErrorIs(t, dropped.invalid[0].err, errTimestampRange)
	require.Len(t, groups, 2)
	assert.Len(t, groups[0].events, 1)
	assert.Len(t, groups[1].events, 1)
}

func TestPayload(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("shop")
	sl.Scope().SetVersion("1.2.0")
	lr := sl.LogRecords().AppendEmpty()
	lr.Body().SetEmptyMap().PutStr("msg", "paid")
	lr.Attributes().PutInt("order", 7)
	lr.SetSeverityText("INFO")
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	lr.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
	ev := &event{rl: rl, sl: sl, lr: lr}

	tests := []struct {
		name    string
		payload PayloadConfig
		want    string
	}{
		{name: "default: body and attributes", payload: PayloadConfig{Body: true, Attributes: true},
			want: `{"body":{"msg":"paid"},"attributes":{"order":7}}`},
		{name: "nothing", want: `{}`},
		{name: "resource", payload: PayloadConfig{Resource: true}, want: `{"resource":{"service.name":"checkout"}}`},
		{name: "scope", payload: PayloadConfig{Scope: true}, want: `{"scope":{"name":"shop","version":"1.2.0"}}`},
		{name: "severity", payload: PayloadConfig{Severity: true}, want: `{"severity":{"text":"INFO","number":9}}`},
		{name: "trace", payload: PayloadConfig{Trace: true},
			want: `{"trace":{"trace_id":"0102030405060708090a0b0c0d0e0f10","span_id":"0102030405060708","flags":1}}`},
		{name: "every part", payload: PayloadConfig{Body: true, Attributes: true, Resource: true, Scope: true, Severity: true, Trace: true},
			want: `{"body":{"msg":"paid"},"attributes":{"order":7},"resource":{"service.name":"checkout"},` +
				`"scope":{"name":"shop","version":"1.2.0"},"severity":{"text":"INFO","number":9},` +
				`"trace":{"trace_id":"0102030405060708090a0b0c0d0e0f10","span_id":"0102030405060708","flags":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := appendPayload(nil, ev, tt.payload)
			assert.Equal(t, tt.want, string(got))
			assert.True(t, json.Valid(got))
		})
	}

	t.Run("empty parts are left out", func(t *testing.T) {
		empty := &event{rl: plog.NewResourceLogs(), sl: plog.NewScopeLogs(), lr: plog.NewLogRecord()}
		all := PayloadConfig{Body: true, Attributes: true, Resource: true, Scope: true, Severity: true, Trace: true}
		assert.Equal(t, `{}`, string(appendPayload(nil, empty, all)))
	})
}

func TestExpand(t *testing.T) {
	cfg := defaultConfig()
	cfg.Events = map[string]EventConfig{"deploy": {Columns: []ColumnConfig{
		{Name: "service", Source: "attributes.service", SemanticType: "tag"},
		{Name: "host", Source: "attributes.hosts", Expand: true, SemanticType: "tag"},
	}}}
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, hosts := range []any{[]any{"h1", "h2", "h3"}, []any{}, "single", nil, []any{"x", 7}} {
		lr := records.AppendEmpty()
		lr.SetEventName("deploy")
		lr.SetTimestamp(1)
		lr.Attributes().PutStr("service", "api")
		if hosts != nil {
			require.NoError(t, lr.Attributes().PutEmpty("hosts").FromRaw(hosts))
		}
	}
	m := mapLogs(t, cfg, ld)
	require.Len(t, m.rowInserts(), 1)
	req, nulled := m.rowInserts()[0], m.inserts[0][0].nulled

	var hosts []any
	for _, row := range req.Rows.Rows {
		require.Len(t, row.Values, 5)
		assert.Equal(t, "api", row.Values[3].GetStringValue())
		hosts = append(hosts, cellOf(row.Values[4]))
	}
	// An array gives one row per element; an empty array, a missing
	// attribute or a scalar give one row (null or the scalar).
	assert.Equal(t, []any{"h1", "h2", "h3", nil, "single", nil, "x", "7"}, hosts)
	assert.Zero(t, nulled)
}

func TestExtraColumnsNullsAreCounted(t *testing.T) {
	cfg := defaultConfig()
	cfg.Events = map[string]EventConfig{"*": {Columns: []ColumnConfig{
		{Name: "n", Source: "attributes.n", Type: ColumnTypeInt64},
	}}}
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	records.AppendEmpty().Attributes().PutInt("n", 1)
	records.AppendEmpty().Attributes().PutStr("n", "not a number")
	records.AppendEmpty() // absent: null, not counted
	m := mapLogs(t, cfg, ld)
	require.Len(t, m.rowInserts(), 1)
	req, nulled := m.rowInserts()[0], m.inserts[0][0].nulled

	assert.Equal(t, 1, nulled)
	var got []any
	for _, row := range req.Rows.Rows {
		got = append(got, cellOf(row.Values[3]))
	}
	assert.Equal(t, []any{int64(1), nil, nil}, got)
}

func TestGroupLogsKeepResourceAndScope(t *testing.T) {
	ld := plog.NewLogs()
	for r := range 2 {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutInt("resource", int64(r))
		rl.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
		for s := range 2 {
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName("scope")
			sl.Scope().Attributes().PutInt("scope", int64(s))
			for _, eventType := range []string{"a", "b"} {
				lr := sl.LogRecords().AppendEmpty()
				lr.SetEventName(eventType)
				lr.Attributes().PutStr("at", eventType)
			}
		}
	}
	groups, _ := groupLogs(t, defaultConfig(), ld)
	require.Len(t, groups, 2)

	got := plog.NewLogs()
	appendEvents(got, groups[0].events)

	require.Equal(t, 2, got.ResourceLogs().Len())
	assert.Equal(t, 4, got.LogRecordCount())
	for r, rl := range got.ResourceLogs().All() {
		assert.Equal(t, map[string]any{"resource": int64(r)}, rl.Resource().Attributes().AsRaw())
		assert.Equal(t, "https://opentelemetry.io/schemas/1.26.0", rl.SchemaUrl())
		require.Equal(t, 2, rl.ScopeLogs().Len())
		for s, sl := range rl.ScopeLogs().All() {
			assert.Equal(t, map[string]any{"scope": int64(s)}, sl.Scope().Attributes().AsRaw())
			require.Equal(t, 1, sl.LogRecords().Len())
			assert.Equal(t, "a", sl.LogRecords().At(0).EventName())
		}
	}
}

// TestGoldenMapping checks the whole mapping, record to RowInsertRequests,
// against testdata/golden; `go test -run TestGoldenMapping -update` rewrites them.
func TestGoldenMapping(t *testing.T) {
	for name, cfg := range goldenConfigs() {
		t.Run(name, func(t *testing.T) {
			m := mapLogs(t, cfg, goldenLogs())
			assert.Equal(t, drops{}, m.dropped)
			require.Len(t, m.requests, 1)

			got := marshalGolden(t, m.rowInserts())

			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, got, 0o600))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
		})
	}
}

// marshalGolden renders row inserts for review: each table with its schema
// ("name DATATYPE SEMANTIC") and rows, payloads shown as the JSON they hold.
// It first checks that every value's kind matches its column's datatype.
func marshalGolden(t *testing.T, inserts []*greptimev1.RowInsertRequest) []byte {
	type table struct {
		Table  string   `json:"table"`
		Schema []string `json:"schema"`
		Rows   [][]any  `json:"rows"`
	}
	var tables []table
	for _, ins := range inserts {
		tb := table{Table: ins.TableName}
		for _, c := range ins.Rows.Schema {
			tb.Schema = append(tb.Schema, c.ColumnName+" "+c.Datatype.String()+" "+c.SemanticType.String())
		}
		for _, row := range ins.Rows.Rows {
			require.Len(t, row.Values, len(ins.Rows.Schema))
			var values []any
			for i, v := range row.Values {
				assertValueKind(t, ins.Rows.Schema[i], v)
				cell := cellOf(v)
				if s, ok := cell.(string); ok && ins.Rows.Schema[i].Datatype == greptimev1.ColumnDataType_JSON {
					require.True(t, json.Valid([]byte(s)), "JSON column value %q", s)
					cell = json.RawMessage(s)
				}
				values = append(values, cell)
			}
			tb.Rows = append(tb.Rows, values)
		}
		tables = append(tables, tb)
	}
	out, err := json.MarshalIndent(tables, "", "  ")
	require.NoError(t, err)
	return append(out, '\n')
}

// assertValueKind checks a value holds what its column's datatype takes, or null.
func assertValueKind(t *testing.T, col *greptimev1.ColumnSchema, v *greptimev1.Value) {
	var takes []greptimev1.ColumnDataType
	switch v.GetValueData().(type) {
	case nil:
		return
	case *greptimev1.Value_StringValue:
		takes = []greptimev1.ColumnDataType{greptimev1.ColumnDataType_STRING, greptimev1.ColumnDataType_JSON}
	case *greptimev1.Value_I64Value:
		takes = []greptimev1.ColumnDataType{greptimev1.ColumnDataType_INT64}
	case *greptimev1.Value_F64Value:
		takes = []greptimev1.ColumnDataType{greptimev1.ColumnDataType_FLOAT64}
	case *greptimev1.Value_BoolValue:
		takes = []greptimev1.ColumnDataType{greptimev1.ColumnDataType_BOOLEAN}
	case *greptimev1.Value_TimestampNanosecondValue:
		takes = []greptimev1.ColumnDataType{greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND}
	}
	assert.Contains(t, takes, col.Datatype, "value %v of column %q", v, col.ColumnName)
}

func TestFormatHints(t *testing.T) {
	tests := []struct {
		name string
		opts tablePolicy
		want string
	}{
		{name: "defaults", opts: defaultConfig().policyOf(EventConfig{}), want: "ttl=90d, append_mode=true, compaction.twcs.time_window=1d"},
		{name: "no ttl, no window", opts: tablePolicy{TableOptions: TableOptions{AppendMode: false}}, want: "append_mode=false"},
		{name: "mixed units", opts: tablePolicy{TableOptions: TableOptions{TTL: 36*time.Hour + 90*time.Second, AppendMode: true, CompactionTimeWindow: 2*time.Hour + 250*time.Millisecond}},
			want: "ttl=1d 12h 1m 30s, append_mode=true, compaction.twcs.time_window=2h 250ms"},
		{name: "event ids make the table keep the last row", opts: tablePolicy{TableOptions: TableOptions{TTL: 24 * time.Hour, AppendMode: true}, EventID: EventIDConfig{Enabled: true}},
			want: "ttl=1d, append_mode=false, merge_mode=last_row"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, formatHints(tt.opts))
		})
	}
}

func TestFormatHumantime(t *testing.T) {
	tests := map[time.Duration]string{
		0:                          "0s",
		time.Nanosecond:            "1ns",
		1500 * time.Microsecond:    "1ms 500us",
		time.Minute:                "1m",
		2160 * time.Hour:           "90d",
		25*time.Hour + time.Second: "1d 1h 1s",
	}
	for d, want := range tests {
		assert.Equal(t, want, formatHumantime(d), d.String())
	}
}

func TestGroupManyTypes(t *testing.T) {
	var types []string
	for i := range 3 * fewGroups {
		types = append(types, fmt.Sprintf("type-%02d", i))
	}
	ld := logsOfTypes(append(types, types...)...) // each type twice, far apart

	groups, _ := groupLogs(t, defaultConfig(), ld)

	require.Len(t, groups, len(types))
	for i, g := range groups {
		assert.Equal(t, types[i], g.eventType)
		assert.Len(t, g.events, 2)
	}
}
