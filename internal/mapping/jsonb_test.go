package mapping

import (
	"bytes"
	"math"
	"testing"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/protobuf/proto"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonb"
)

// JSON written as JSONB must be exactly what GreptimeDB would have stored
// for the JSON text: jsonb 0.4.4's parse of it
// (src/operator/src/req_convert/common.rs:40-52, GreptimeDB v1.3). So the
// tests map each batch both ways and compare every JSON value.

// everyValueLogs has records whose body and attributes hold every pdata
// value type, empty and nested ones, duplicate keys, and text that needs
// escaping or repair.
func everyValueLogs() plog.Logs {
	ld := sampleLogs()
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
	lr.SetEventName("every.value")
	lr.SetTimestamp(1)
	lr.SetSeverityText("WARN")
	lr.SetSeverityNumber(plog.SeverityNumberWarn)
	lr.SetTraceID(pcommon.TraceID{1, 2, 3})
	lr.SetFlags(1)
	fill := func(m pcommon.Map) {
		m.PutStr("str", "café \"quoted\"\n\x00 bad\xff")
		m.PutStr("", "empty key")
		m.PutInt("int", math.MinInt64)
		m.PutInt("positive", 7)
		m.PutDouble("double", 2.5)
		m.PutDouble("integral", 3)
		m.PutDouble("huge", 1e300)
		m.PutDouble("tiny", 5e-324)
		m.PutDouble("nan", math.NaN())
		m.PutDouble("inf", math.Inf(-1))
		m.PutBool("bool", false)
		m.PutEmptyBytes("bytes").FromRaw([]byte{0, 0xff})
		m.PutEmpty("empty")
		m.PutEmptyMap("empty_map")
		m.PutEmptySlice("empty_slice")
		nested := m.PutEmptyMap("map")
		nested.PutStr("z", "last")
		nested.PutStr("a", "first")
		list := m.PutEmptySlice("list")
		list.AppendEmpty().SetInt(-1)
		list.AppendEmpty().SetEmptyMap().PutDouble("x", 0.1)
	}
	fill(lr.Attributes())
	fill(lr.Body().SetEmptyMap())
	deep := lr.Attributes().PutEmptyMap("deep")
	for range 70 {
		deep = deep.PutEmptyMap("d")
	}
	return ld
}

// withDuplicateKeys is a batch whose record's attributes and body hold a
// key twice, as a map decoded from the wire can: pdata keeps both.
func withDuplicateKeys(t *testing.T) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Attributes().PutStr("dupA", "first")
	lr.Attributes().PutInt("dupB", 2)
	lr.Attributes().PutStr("other", "x")
	body := lr.Body().SetEmptyMap()
	body.PutEmptyMap("dupA").PutStr("in", "map")
	body.PutStr("dupB", "then a string")
	b, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	// Rename dupB to dupA on the wire: same length, still valid protobuf.
	b = bytes.ReplaceAll(b, []byte("dupB"), []byte("dupA"))
	out, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(b)
	require.NoError(t, err)
	return out
}

// jsonSpec maps every payload part, and a JSON column of each kind of source.
func jsonSpec(enc Encoding) Spec {
	spec := defaultSpec()
	spec.Encoding = enc
	spec.Payload = Payload{Body: true, Attributes: true, Resource: true, Scope: true, Severity: true, Trace: true}
	spec.Other.Columns = []Column{
		{Name: "j_body", Source: "body", Type: TypeJSON},
		{Name: "j_attr", Source: "attributes.str", Type: TypeJSON},
		{Name: "j_int", Source: "severity_number", Type: TypeJSON},
		{Name: "j_scope", Source: "scope.name", Type: TypeJSON},
		{Name: "j_trace", Source: "trace_id", Type: TypeJSON},
		{Name: "s", Source: "attributes.str"},
	}
	return spec
}

// assertJSONBIsTheParseOfTheText maps ld both ways and checks that every
// JSON value written as JSONB is jsonb.Parse of the value written as text,
// under a Binary column with the JSON extension, and that every other value
// is the same.
func assertJSONBIsTheParseOfTheText(t *testing.T, ld plog.Logs) {
	t.Helper()
	assertSameInserts(t, mapLogs(t, jsonSpec(EncodingJSON), ld, 8<<20).rowInserts(), mapLogs(t, jsonSpec(EncodingJSONB), ld, 8<<20).rowInserts())
}

func assertSameInserts(t *testing.T, text, binary []*greptimev1.RowInsertRequest) {
	t.Helper()
	require.Len(t, binary, len(text))
	for i := range text {
		assertSameInsert(t, text[i], binary[i])
	}
}

func assertSameInsert(t *testing.T, text, binary *greptimev1.RowInsertRequest) {
	t.Helper()
	require.Equal(t, len(text.Rows.Schema), len(binary.Rows.Schema))
	for c, tc := range text.Rows.Schema {
		bc := binary.Rows.Schema[c]
		if tc.Datatype == greptimev1.ColumnDataType_JSON {
			assert.Equal(t, greptimev1.ColumnDataType_BINARY, bc.Datatype, tc.ColumnName)
			assert.True(t, proto.Equal(jsonExtension, bc.DatatypeExtension), tc.ColumnName)
		} else {
			assert.True(t, proto.Equal(tc, bc), tc.ColumnName)
		}
	}
	require.Len(t, binary.Rows.Rows, len(text.Rows.Rows))
	for r, trow := range text.Rows.Rows {
		for c, tv := range trow.Values {
			bv := binary.Rows.Rows[r].Values[c]
			if text.Rows.Schema[c].Datatype != greptimev1.ColumnDataType_JSON || tv.GetValueData() == nil {
				assert.True(t, proto.Equal(tv, bv), "row %d column %s", r, text.Rows.Schema[c].ColumnName)
				continue
			}
			want, err := jsonb.Parse([]byte(tv.GetStringValue()))
			require.NoError(t, err, "GreptimeDB parses the text %q", tv.GetStringValue())
			assert.Equal(t, want, bv.GetBinaryValue(), "row %d column %s: %s", r, text.Rows.Schema[c].ColumnName, tv.GetStringValue())
		}
	}
}

func TestJSONBIsGreptimeDBsParseOfTheText(t *testing.T) {
	assertJSONBIsTheParseOfTheText(t, sampleLogs())
	assertJSONBIsTheParseOfTheText(t, everyValueLogs())
	assertJSONBIsTheParseOfTheText(t, manyLogs(20))
	assertJSONBIsTheParseOfTheText(t, varyingPayloadLogs())
}

func TestJSONBOfDeadLettersAndTheCatalog(t *testing.T) {
	ld := everyValueLogs()
	ev := *eventOf(ld, 3)
	ev.Timestamp = 9
	ev.Rejection = &Rejection{Database: "shop", Table: "orders", Message: "bad"}
	row := Event{Timestamp: 7, Catalog: &CatalogRow{Table: "orders", Type: "a", Collector: "c", Events: 3, PayloadKeys: []string{"body.x", "attributes.y\x00"}}}
	payload := Payload{Body: true, Attributes: true, Scope: true}
	var inserts [2][]*greptimev1.RowInsertRequest
	for i, enc := range []Encoding{EncodingJSON, EncodingJSONB} {
		dl, err := DeadLetterLayout("events_rejected", defaultOptions, payload, enc)
		require.NoError(t, err)
		catalog, err := CatalogLayout("event_types", enc)
		require.NoError(t, err)
		short := ev
		short.Rejection = &Rejection{Table: "orders", Message: "too large", Payload: dl.TruncatedPayload(&ev, 12345)}
		var w Writer
		w.Start()
		header := mustHeader(t, testHeader)
		requests, tooLarge := w.Pack([]*Group{
			{Database: "public", Type: "a", Layout: dl, Events: []Event{ev, short}},
			{Database: "public", Layout: catalog, Events: []Event{row}},
		}, header, 1<<20)
		require.Empty(t, tooLarge)
		require.Len(t, requests, 1)
		var req greptimev1.GreptimeRequest
		require.NoError(t, proto.Unmarshal(requestBytes(t, header, requests[0]), &req))
		w.Finish(true)
		inserts[i] = req.GetRowInserts().GetInserts()
	}
	require.Len(t, inserts[1], 2)
	assertSameInsert(t, inserts[0][0], inserts[1][0])
	assertSameInsert(t, inserts[0][1], inserts[1][1])
}

// TestDuplicateKeysResolveAsGreptimeDBsParser: a map with a key twice is
// written as text with both, which GreptimeDB's parser resolves to the
// last; the JSONB holds the last.
func TestDuplicateKeysResolveAsGreptimeDBsParser(t *testing.T) {
	ld := withDuplicateKeys(t)
	attrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	n := 0
	for k := range attrs.All() {
		if k == "dupA" {
			n++
		}
	}
	require.Equal(t, 2, n, "pdata keeps both")
	assertJSONBIsTheParseOfTheText(t, ld)
}

// TestWriterAllocatesNothingPerRecordWithJSONB: the JSONB payload costs no
// allocation per record once the writer's buffers have grown.
func TestWriterAllocatesNothingPerRecordWithJSONB(t *testing.T) {
	spec := jsonSpec(EncodingJSONB)
	m := mustCompile(t, spec)
	ld := manyLogs(100)
	var (
		gr Grouper
		w  Writer
	)
	header := mustHeader(t, testHeader)
	run := func() {
		groups, _ := gr.GroupLogs(ld, m, exportTime, atHome)
		w.Start()
		w.Pack(groups, header, 8<<20)
		w.Finish(true)
		gr.Reset()
	}
	run()
	// A few per batch, none per record. The race detector's sync.Pool
	// drops a quarter of what is put back, at random, so a batch may
	// allocate a pooled buffer anew: the bound leaves room for that, and is
	// still far below one per record.
	assert.Less(t, testing.AllocsPerRun(20, run), float64(ld.LogRecordCount())/10, "a few per batch, none per record")
}
