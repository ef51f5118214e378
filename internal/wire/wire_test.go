package wire

import (
	"math"
	"strings"
	"testing"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

var testHeader = &greptimev1.RequestHeader{Dbname: "public", Authorization: &greptimev1.AuthHeader{
	AuthScheme: &greptimev1.AuthHeader_Basic{Basic: &greptimev1.Basic{Username: "u", Password: "p"}},
}}

var testColumns = []*greptimev1.ColumnSchema{
	{ColumnName: "s", Datatype: greptimev1.ColumnDataType_STRING, SemanticType: greptimev1.SemanticType_TAG},
	{ColumnName: "ts", Datatype: greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, SemanticType: greptimev1.SemanticType_TIMESTAMP},
	{ColumnName: "i", Datatype: greptimev1.ColumnDataType_INT64, SemanticType: greptimev1.SemanticType_FIELD},
	{ColumnName: "f", Datatype: greptimev1.ColumnDataType_FLOAT64, SemanticType: greptimev1.SemanticType_FIELD},
	{ColumnName: "b", Datatype: greptimev1.ColumnDataType_BOOLEAN, SemanticType: greptimev1.SemanticType_FIELD},
	{ColumnName: "n", Datatype: greptimev1.ColumnDataType_JSON, SemanticType: greptimev1.SemanticType_FIELD},
}

// testRow is one row of testColumns.
type testRow struct {
	s  string
	ts int64
	i  int64
	f  float64
	b  bool
}

func (r testRow) appendTo(b []byte) []byte {
	var vals []byte
	vals = AppendStringBytes(vals, []byte(r.s))
	vals = AppendTimestamp(vals, r.ts)
	vals = AppendInt64(vals, r.i)
	vals = AppendFloat64(vals, r.f)
	vals = AppendBool(vals, r.b)
	vals = AppendNull(vals)
	return append(AppendRowPrefix(b, len(vals)), vals...)
}

func (r testRow) message() *greptimev1.Row {
	return &greptimev1.Row{Values: []*greptimev1.Value{
		{ValueData: &greptimev1.Value_StringValue{StringValue: r.s}},
		{ValueData: &greptimev1.Value_TimestampNanosecondValue{TimestampNanosecondValue: r.ts}},
		{ValueData: &greptimev1.Value_I64Value{I64Value: r.i}},
		{ValueData: &greptimev1.Value_F64Value{F64Value: r.f}},
		{ValueData: &greptimev1.Value_BoolValue{BoolValue: r.b}},
		{},
	}}
}

// testRows crosses the varint boundaries of every length prefix: values,
// rows, inserts and the request.
func testRows() [][]testRow {
	return [][]testRow{
		{{s: "", ts: 0, i: 0}},
		{{s: "a", ts: 1, i: -1, f: math.Inf(-1), b: true}, {s: strings.Repeat("x", 127), ts: math.MaxInt64, i: math.MinInt64, f: 0.5}},
		{{s: strings.Repeat("y", 128), ts: 1 << 62, i: math.MaxInt64}, {s: strings.Repeat("z", 16383)}, {s: strings.Repeat("w", 16384), b: true}},
		{},
	}
}

func mustHeader(t *testing.T, h *greptimev1.RequestHeader) []byte {
	t.Helper()
	b, err := EncodeHeader(h)
	require.NoError(t, err)
	return b
}

func mustTable(t *testing.T, name string, columns []*greptimev1.ColumnSchema) Table {
	t.Helper()
	table, err := EncodeTable(name, columns)
	require.NoError(t, err)
	return table
}

// TestInvalidUTF8IsAnErrorNotAPanic: a dbname can come from a record (a
// tenant); GreptimeDB's decoder refuses strings that are not UTF-8, and so
// does the encoder, with an error.
func TestInvalidUTF8IsAnErrorNotAPanic(t *testing.T) {
	_, err := EncodeHeader(&greptimev1.RequestHeader{Dbname: "team_\xff"})
	assert.ErrorContains(t, err, "invalid UTF-8")
	_, err = EncodeTable("t\xff", testColumns)
	assert.ErrorContains(t, err, "not valid UTF-8")
	_, err = EncodeTable("t", []*greptimev1.ColumnSchema{{ColumnName: "c\xfe"}})
	assert.ErrorContains(t, err, "invalid UTF-8")
}

func TestRequestMatchesTheGeneratedEncoding(t *testing.T) {
	header := mustHeader(t, testHeader)
	buf := GetBuffer()
	defer buf.Release()

	want := &greptimev1.RowInsertRequests{}
	var inserts []Insert
	for i, rows := range testRows() {
		name := strings.Repeat("t", 1+i*70) // table names of 1 to 211 bytes
		table := mustTable(t, name, testColumns)
		mark := buf.BeginInsert(table)
		msg := &greptimev1.RowInsertRequest{TableName: name, Rows: &greptimev1.Rows{Schema: testColumns}}
		for _, r := range rows {
			buf.B = r.appendTo(buf.B)
			msg.Rows.Rows = append(msg.Rows.Rows, r.message())
		}
		in := buf.EndInsert(mark, table)
		assert.LessOrEqual(t, in.Size(), table.InsertOverhead()+len(buf.B)-mark)
		inserts = append(inserts, in)
		want.Inserts = append(want.Inserts, msg)
	}
	wantReq := &greptimev1.GreptimeRequest{Header: testHeader, Request: &greptimev1.GreptimeRequest_RowInserts{RowInserts: want}}

	got := requestBytes(t, NewRequest(header, inserts))

	wantBytes, err := proto.MarshalOptions{Deterministic: true}.Marshal(wantReq)
	require.NoError(t, err)
	assert.Equal(t, wantBytes, got, "byte for byte what proto.Marshal writes")
	assert.LessOrEqual(t, len(got)-sumSizes(inserts), RequestOverhead(header))
	var decoded greptimev1.GreptimeRequest
	require.NoError(t, proto.Unmarshal(got, &decoded))
	assert.Empty(t, cmpDiff(wantReq, &decoded))

	// One insert alone, as a rejected call is split: the same bytes, framed anew.
	alone := requestBytes(t, NewRequest(header, inserts[2:3]))
	require.NoError(t, proto.Unmarshal(alone, &decoded))
	assert.Empty(t, cmpDiff(&greptimev1.GreptimeRequest{Header: testHeader, Request: &greptimev1.GreptimeRequest_RowInserts{
		RowInserts: &greptimev1.RowInsertRequests{Inserts: want.Inserts[2:3]},
	}}, &decoded))
}

func TestDiscardedInsertLeavesNothing(t *testing.T) {
	buf := GetBuffer()
	defer buf.Release()
	table := mustTable(t, "t", testColumns)
	mark := buf.BeginInsert(table)
	buf.B = testRow{s: "gone"}.appendTo(buf.B)
	buf.B = buf.B[:mark] // every record turned out too large
	mark = buf.BeginInsert(table)
	buf.B = testRow{s: "kept"}.appendTo(buf.B)
	in := buf.EndInsert(mark, table)

	var decoded greptimev1.GreptimeRequest
	require.NoError(t, proto.Unmarshal(requestBytes(t, NewRequest(nil, []Insert{in})), &decoded))
	require.Len(t, decoded.GetRowInserts().GetInserts(), 1)
	assert.Equal(t, "kept", decoded.GetRowInserts().GetInserts()[0].GetRows().GetRows()[0].GetValues()[0].GetStringValue())
}

func TestCodecSendsRequestsAsWritten(t *testing.T) {
	buf := GetBuffer()
	defer buf.Release()
	table := mustTable(t, "t", testColumns)
	mark := buf.BeginInsert(table)
	buf.B = testRow{s: "x", ts: 5}.appendTo(buf.B)
	req := NewRequest(mustHeader(t, testHeader), []Insert{buf.EndInsert(mark, table)})

	out, err := NewCodec().Marshal(req)
	require.NoError(t, err)
	require.Len(t, out, 2, "the header and the insert, not copied into one")
	assert.Equal(t, append(append([]byte(nil), req.prefix...), req.inserts[0].bytes()...), out.Materialize())

	// Anything else goes through gRPC's proto codec.
	resp := &greptimev1.GreptimeResponse{Response: &greptimev1.GreptimeResponse_AffectedRows{AffectedRows: &greptimev1.AffectedRows{Value: 3}}}
	out, err = NewCodec().Marshal(resp)
	require.NoError(t, err)
	var back greptimev1.GreptimeResponse
	require.NoError(t, NewCodec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(out.Materialize())}, &back))
	assert.Equal(t, uint32(3), back.GetAffectedRows().GetValue())
}

// requestBytes is a request's bytes as the codec sends them.
func requestBytes(t *testing.T, r *Request) []byte {
	t.Helper()
	out, err := NewCodec().Marshal(r)
	require.NoError(t, err)
	return out.Materialize()
}

func sumSizes(inserts []Insert) int {
	n := 0
	for _, in := range inserts {
		n += in.Size()
	}
	return n
}

func cmpDiff(want, got proto.Message) string { return cmp.Diff(want, got, protocmp.Transform()) }

func TestValueSizes(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 128, 16381, 16382, 16383, 16384} {
		s := strings.Repeat("s", n)
		assert.Len(t, AppendString(nil, s), StringSize(n), "string of %d", n)
		assert.Equal(t, AppendString(nil, s), AppendStringBytes(nil, []byte(s)))
		b := AppendBinary(nil, []byte(s))
		assert.Len(t, b, BinarySize(n), "binary of %d", n)
		var row greptimev1.Row // b is a Row.values entry: a Row of one value
		require.NoError(t, proto.Unmarshal(b, &row))
		assert.Equal(t, s, string(row.GetValues()[0].GetBinaryValue()))
	}
	for _, ns := range []int64{0, 1, 127, 128, 1 << 62, math.MaxInt64, -1} {
		assert.Len(t, AppendTimestamp(nil, ns), TimestampSize(ns), "timestamp %d", ns)
	}
}
