package mapping

import (
	"encoding/json"
	"math"
	"testing"
	"unicode/utf8"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/protobuf/proto"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonb"
)

// The fuzz targets feed arbitrary input through the mapping and the writer.
// Whatever comes in, nothing panics and every request decodes as a
// GreptimeRequest whose strings are UTF-8 and whose JSON values parse, or
// the record is dropped with a reason. `make test` runs each briefly, `make
// fuzz` for longer; seeds live in testdata/fuzz (FuzzMapping's are the
// exporter's bad-input records, kept in step by its TestFuzzCorpus).

// fuzzSpec maps every kind of extra column, so conversions get fuzzed too,
// writing JSON as enc says.
func fuzzSpec(enc Encoding) Spec {
	spec := defaultSpec()
	spec.Encoding = enc
	spec.Payload = Payload{Body: true, Attributes: true, Resource: true, Scope: true, Severity: true, Trace: true}
	spec.Other.Options.EventID = true
	spec.Other.Columns = []Column{
		{Name: "s", Source: "attributes.s", Tag: true},
		{Name: "i", Source: "attributes.i", Type: TypeInt64},
		{Name: "f", Source: "body.f", Type: TypeFloat64},
		{Name: "b", Source: "attributes.b", Type: TypeBool},
		{Name: "t", Source: "attributes.t", Type: TypeTimestamp},
		{Name: "j", Source: "body", Type: TypeJSON},
		{Name: "e", Source: "attributes.list", Type: TypeString, Expand: true},
		{Name: "trace", Source: "trace_id"},
	}
	return spec
}

// FuzzMapping decodes the input as an OTLP logs request, as a collector
// receives it, and maps and writes it.
func FuzzMapping(f *testing.F) {
	for _, ld := range []plog.Logs{sampleLogs(), manyLogs(3), varyingPayloadLogs()} {
		b, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	header := mustHeader(f, testHeader)
	f.Fuzz(func(t *testing.T, data []byte) {
		ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(data)
		if err != nil {
			return
		}
		checkMapping(t, ld, header, 64<<10)
	})
}

// FuzzRecord builds a record from fuzzed fields: names, keys, values,
// numbers and timestamps of any bytes and bit patterns.
func FuzzRecord(f *testing.F) {
	f.Add("user.login", "event.name", "k", "v", "body", int64(7), 1.5, uint64(1_700_000_000_000_000_000), uint8(3))
	f.Add("", "", "", "", "", int64(0), 0.0, uint64(0), uint8(0))
	f.Add("bad\xffname\x00\n", "key\xfe", "\x80", "\xc3\x28", "\"\\\u2028", int64(math.MinInt64), math.NaN(), uint64(math.MaxUint64), uint8(200))
	f.Add("x", "event.name", "k", "v", "b", int64(-1), math.Inf(1), uint64(1<<63), uint8(100))
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
		lr.SetTraceID(pcommon.TraceID{byte(i), depth})
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

		checkMapping(t, ld, header, 64<<10)
	})
}

// unbounded is a request size no fuzzed record reaches.
const unbounded = 1 << 30

// checkMapping maps and writes ld, with JSON as text and as JSONB, checks
// every request and every drop under maxBytes, and that every JSONB value is
// GreptimeDB's parse of the text. The two are compared without a size limit:
// text escapes what JSONB stores raw (an invalid byte is six bytes of
// "\ufffd" in text, three in JSONB), so near maxBytes one may fit where the
// other is rightly dropped as too large.
func checkMapping(t *testing.T, ld plog.Logs, header []byte, maxBytes int) {
	textMapping := mustCompile(t, fuzzSpec(EncodingJSON))
	binaryMapping := mustCompile(t, fuzzSpec(EncodingJSONB))
	checkEncoding(t, ld, textMapping, header, maxBytes)
	checkEncoding(t, ld, binaryMapping, header, maxBytes)
	text := checkEncoding(t, ld, textMapping, header, unbounded)
	binary := checkEncoding(t, ld, binaryMapping, header, unbounded)
	if len(text) != len(binary) {
		t.Fatalf("%d inserts as text, %d as JSONB", len(text), len(binary))
	}
	for i := range text {
		assertSameInsert(t, text[i], binary[i])
	}
}

// checkEncoding maps and writes ld with m, checks every request and every
// drop, and returns the inserts.
func checkEncoding(t *testing.T, ld plog.Logs, m *Mapping, header []byte, maxBytes int) []*greptimev1.RowInsertRequest {
	var (
		gr Grouper
		w  Writer
	)
	groups, dropped := gr.GroupLogs(ld, m, exportTime, atHome)
	w.Start()
	defer w.Finish(true)
	requests, tooLarge := w.Pack(groups, header, maxBytes)
	accounted := dropped.Filtered + len(dropped.Unstorable) + len(tooLarge)
	var out []*greptimev1.RowInsertRequest
	for _, inserts := range requests {
		b := requestBytes(t, header, inserts)
		if len(b) > maxBytes {
			t.Fatalf("request of %d bytes exceeds %d", len(b), maxBytes)
		}
		rows := 0
		for _, in := range inserts {
			accounted += len(in.Events)
			rows += in.Rows
		}
		out = append(out, checkRequest(t, b, rows)...)
	}
	if accounted != ld.LogRecordCount() {
		t.Fatalf("%d records in, %d sent or dropped", ld.LogRecordCount(), accounted)
	}
	return out
}

// checkRequest decodes a request and checks what GreptimeDB checks: rows as
// long as the schema, values of the column's type, JSON that parses, JSONB
// that decodes, a time index in every row. It returns the inserts.
func checkRequest(t *testing.T, b []byte, wantRows int) []*greptimev1.RowInsertRequest {
	var req greptimev1.GreptimeRequest
	if err := proto.Unmarshal(b, &req); err != nil { // fails on invalid UTF-8 in strings too
		t.Fatalf("request does not decode: %v", err)
	}
	rowCount := 0
	for _, ins := range req.GetRowInserts().GetInserts() {
		rowCount += len(ins.GetRows().GetRows())
		schema := ins.GetRows().GetSchema()
		for _, row := range ins.GetRows().GetRows() {
			if len(row.GetValues()) != len(schema) {
				t.Fatalf("row of %d values for %d columns", len(row.GetValues()), len(schema))
			}
			for i, v := range row.GetValues() {
				col := schema[i]
				if d, ok := v.GetValueData().(*greptimev1.Value_BinaryValue); ok {
					if _, err := jsonb.Decode(d.BinaryValue); err != nil {
						t.Fatalf("column %q: JSONB that does not decode: %v", col.GetColumnName(), err)
					}
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
	if rowCount != wantRows {
		t.Fatalf("%d rows, want %d", rowCount, wantRows)
	}
	return req.GetRowInserts().GetInserts()
}
