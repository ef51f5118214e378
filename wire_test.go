package greptimeeventsexporter

import (
	"strings"
	"testing"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

var testHeader = &greptimev1.RequestHeader{
	Dbname: "public",
	Authorization: &greptimev1.AuthHeader{AuthScheme: &greptimev1.AuthHeader_Basic{
		Basic: &greptimev1.Basic{Username: "exporter", Password: "s3cret"},
	}},
}

// encodeForTest encodes a group the way the exporter does, in one request,
// and decodes its RowInsertRequest with the generated types.
func encodeForTest(t *testing.T, g *group, payload PayloadConfig) (*greptimev1.RowInsertRequest, int) {
	t.Helper()
	ge := newGroupEncoder(g, encodeHeader(testHeader), payload, 1<<30)
	c, ok := ge.nextChunk()
	require.True(t, ok)
	defer c.req.release()
	_, more := ge.nextChunk()
	require.False(t, more, "one request")

	var req greptimev1.GreptimeRequest
	require.NoError(t, proto.Unmarshal(c.req.bytes(), &req))
	inserts := req.GetRowInserts().GetInserts()
	require.Len(t, inserts, 1)
	return inserts[0], c.nulled
}

// straightforwardRequest builds a group's request with the generated types,
// one message per row and value: the encoding the wire writer must match.
func straightforwardRequest(g *group, payload PayloadConfig) *greptimev1.GreptimeRequest {
	s := g.schema
	var rows []*greptimev1.Row
	var cv converter
	for i := range g.records {
		r := &g.records[i]
		base := []*greptimev1.Value{
			{ValueData: &greptimev1.Value_StringValue{StringValue: g.eventType}},
			{ValueData: &greptimev1.Value_StringValue{StringValue: string(appendPayload(nil, r, payload))}},
			{ValueData: &greptimev1.Value_TimestampNanosecondValue{TimestampNanosecondValue: r.timestamp}},
		}
		if s.eventID != nil {
			var id string
			if s.eventID.src != nil {
				if c, _ := cv.convert(readSource(*s.eventID.src, r), ColumnTypeString); c.kind == cellString {
					id = string(c.appendText(nil))
				}
			}
			if id == "" {
				id = string(new(idHasher).appendID(nil, r, g.eventType))
			}
			base = append(base, &greptimev1.Value{ValueData: &greptimev1.Value_StringValue{StringValue: id}})
		}
		extras := make([]*greptimev1.Value, len(s.columns))
		for c, col := range s.columns {
			cell, _ := cv.convert(readSource(col.src, r), col.typ)
			extras[c] = protoValue(cell)
		}
		var elems []*greptimev1.Value // the expanding column's values, one per row
		if s.expand >= 0 {
			col := s.columns[s.expand]
			f := readSource(col.src, r)
			switch {
			case f.kind == fieldValue && f.v.Type() == pcommon.ValueTypeSlice && f.v.Slice().Len() > 0:
				for _, e := range f.v.Slice().All() {
					cell, _ := cv.convert(field{kind: fieldValue, v: e}, col.typ)
					elems = append(elems, protoValue(cell))
				}
			case f.kind == fieldValue && f.v.Type() == pcommon.ValueTypeSlice:
				elems = []*greptimev1.Value{{}}
			default:
				elems = []*greptimev1.Value{extras[s.expand]}
			}
		} else {
			elems = []*greptimev1.Value{nil}
		}
		for _, e := range elems {
			values := append([]*greptimev1.Value{}, base...)
			for c := range extras {
				if c == s.expand {
					values = append(values, e)
				} else {
					values = append(values, extras[c])
				}
			}
			rows = append(rows, &greptimev1.Row{Values: values})
		}
	}
	return &greptimev1.GreptimeRequest{
		Header: testHeader,
		Request: &greptimev1.GreptimeRequest_RowInserts{RowInserts: &greptimev1.RowInsertRequests{
			Inserts: []*greptimev1.RowInsertRequest{{TableName: s.table, Rows: &greptimev1.Rows{Schema: s.schema, Rows: rows}}},
		}},
	}
}

func protoValue(c cell) *greptimev1.Value {
	switch c.kind {
	case cellString:
		return &greptimev1.Value{ValueData: &greptimev1.Value_StringValue{StringValue: string(c.appendText(nil))}}
	case cellInt64:
		return &greptimev1.Value{ValueData: &greptimev1.Value_I64Value{I64Value: c.i}}
	case cellFloat64:
		return &greptimev1.Value{ValueData: &greptimev1.Value_F64Value{F64Value: c.f}}
	case cellBool:
		return &greptimev1.Value{ValueData: &greptimev1.Value_BoolValue{BoolValue: c.i != 0}}
	case cellTimestamp:
		return &greptimev1.Value{ValueData: &greptimev1.Value_TimestampNanosecondValue{TimestampNanosecondValue: c.i}}
	default:
		return &greptimev1.Value{}
	}
}

// TestWireMatchesStraightforwardEncoding: the bytes the exporter sends decode,
// with the generated types, to the request built message by message, and
// are byte for byte what the generated code would send.
func TestWireMatchesStraightforwardEncoding(t *testing.T) {
	golden := goldenConfigs()
	tests := []struct {
		name   string
		cfg    *Config
		logs   plog.Logs
		wantGr int
	}{
		{name: "golden defaults", cfg: golden["defaults"], logs: goldenLogs(), wantGr: 4},
		{name: "golden per-type tables and columns", cfg: golden["per_type_tables_and_columns"], logs: goldenLogs(), wantGr: 4},
		{name: "benchmark input", cfg: benchConfig("127.0.0.1:1"), logs: benchLogs(50), wantGr: 5},
		{name: "negative and zero values", cfg: golden["per_type_tables_and_columns"], logs: edgeValueLogs(), wantGr: 1},
		{name: "event ids", cfg: eventIDConfig(), logs: goldenLogs(), wantGr: 4},
		{name: "payload lengths across varint boundaries", cfg: defaultConfig(), logs: varyingPayloadLogs(), wantGr: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			groups, _ := buildGroups(tt.logs, newMapping(tt.cfg), exportTime)
			require.Len(t, groups, tt.wantGr)
			for _, g := range groups {
				want := straightforwardRequest(g, tt.cfg.Payload)
				ge := newGroupEncoder(g, encodeHeader(testHeader), tt.cfg.Payload, 1<<30)
				c, ok := ge.nextChunk()
				require.True(t, ok)

				var got greptimev1.GreptimeRequest
				require.NoError(t, proto.Unmarshal(c.req.bytes(), &got))
				assert.Empty(t, cmp.Diff(want, &got, protocmp.Transform()), "group %q", g.eventType)
				wantBytes, err := proto.MarshalOptions{Deterministic: true}.Marshal(want)
				require.NoError(t, err)
				assert.Equal(t, wantBytes, c.req.bytes(), "group %q", g.eventType)
				c.req.release()
			}
		})
	}
}

func TestRequestsAreSplitAtMaxRequestBytes(t *testing.T) {
	cfg := benchConfig("127.0.0.1:1")
	groups, _ := buildGroups(benchLogs(500), newMapping(cfg), exportTime)
	g := groups[0] // 100 records of about 400 bytes
	const maxBytes = 8 << 10

	ge := newGroupEncoder(g, encodeHeader(testHeader), cfg.Payload, maxBytes)
	var timestamps []int64
	requests := 0
	for c, ok := ge.nextChunk(); ok; c, ok = ge.nextChunk() {
		requests++
		assert.LessOrEqual(t, len(c.req.bytes()), maxBytes)
		var req greptimev1.GreptimeRequest
		require.NoError(t, proto.Unmarshal(c.req.bytes(), &req))
		rows := req.GetRowInserts().GetInserts()[0].GetRows().GetRows()
		require.Len(t, rows, len(c.records))
		assert.Equal(t, len(rows), c.rows)
		for i, row := range rows {
			ts := row.Values[2].GetTimestampNanosecondValue()
			assert.Equal(t, c.records[i].timestamp, ts)
			timestamps = append(timestamps, ts)
		}
		c.req.release()
	}
	assert.Greater(t, requests, 1)
	require.Len(t, timestamps, len(g.records), "every record once")
	for i, r := range g.records {
		assert.Equal(t, r.timestamp, timestamps[i], "in order")
	}
	assert.Empty(t, ge.tooLarge)
}

func TestRecordTooLargeForAnyRequestIsDroppedAlone(t *testing.T) {
	ld := logsOfTypes("a", "a", "a")
	huge := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1)
	huge.Body().SetStr(strings.Repeat("x", 4096))
	groups, _ := buildGroups(ld, newMapping(defaultConfig()), exportTime)
	require.Len(t, groups, 1)
	g := groups[0]

	ge := newGroupEncoder(g, encodeHeader(testHeader), defaultConfig().Payload, 2048)
	var sent []int64
	for c, ok := ge.nextChunk(); ok; c, ok = ge.nextChunk() {
		for _, r := range c.records {
			sent = append(sent, r.timestamp)
		}
		c.req.release()
	}

	require.Len(t, ge.tooLarge, 1)
	assert.ErrorIs(t, ge.tooLarge[0].err, errRecordTooLarge)
	assert.Contains(t, ge.tooLarge[0].err.Error(), "limit 2048")
	assert.Equal(t, []int64{1_700_000_000_000_000_000, 1_700_000_000_000_000_002}, sent, "the others are sent")
	assert.Len(t, g.records, 2, "a retry of the group would not carry it either")
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

// edgeValueLogs has values whose encodings are easy to get wrong: zero,
// negative numbers, false, empty strings and timestamps before 1970.
func edgeValueLogs() plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for i, ts := range []int64{1, 1 << 62, 0} {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetEventName("order.placed")
		lr.SetTimestamp(pcommon.Timestamp(ts))
		body := lr.Body().SetEmptyMap()
		body.PutInt("total_cents", []int64{0, -1, -1 << 63}[i])
		items := body.PutEmptySlice("items")
		items.AppendEmpty().SetStr("")
		items.AppendEmpty().SetBool(false)
		items.AppendEmpty().SetDouble(-0.5)
	}
	return ld
}

// eventIDConfig has event ids hashed for every type but one, which takes
// them from an attribute.
func eventIDConfig() *Config {
	cfg := goldenConfigs()["per_type_tables_and_columns"]
	cfg.EventID = EventIDConfig{Enabled: true}
	login := cfg.Events["user.login"]
	login.EventID = &EventIDConfig{Enabled: true, Source: "attributes.user.id"}
	cfg.Events["user.login"] = login
	return cfg
}

// varyingPayloadLogs has payloads whose lengths go up and down across the
// sizes where their length prefixes grow a byte (128, 16384, 2097152).
func varyingPayloadLogs() plog.Logs {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, n := range []int{10, 100, 120, 130, 20, 16_370, 16_400, 50, 3 << 20, 5, 200_000, 116} {
		lr := records.AppendEmpty()
		lr.SetEventName("sized")
		lr.SetTimestamp(pcommon.Timestamp(n))
		lr.Body().SetStr(strings.Repeat("x", n))
	}
	return ld
}
