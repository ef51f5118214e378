package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"fmt"
	"math"
	"sync"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The exporter writes each GreptimeRequest straight into protobuf wire
// bytes, in the field order the generated code uses, instead of building one
// generated message per row and value: the rows of a batch cost a few
// appends into a pooled buffer. wire_test.go decodes the bytes with the
// generated types and compares them with the straightforward encoding.

// Field numbers of the greptime.v1 messages the exporter writes.
const (
	fieldRequestHeader     protowire.Number = 1  // GreptimeRequest.header
	fieldRequestRowInserts protowire.Number = 6  // GreptimeRequest.row_inserts
	fieldInserts           protowire.Number = 1  // RowInsertRequests.inserts
	fieldTableName         protowire.Number = 1  // RowInsertRequest.table_name
	fieldRows              protowire.Number = 2  // RowInsertRequest.rows
	fieldSchema            protowire.Number = 1  // Rows.schema
	fieldRow               protowire.Number = 2  // Rows.rows
	fieldValues            protowire.Number = 1  // Row.values
	fieldI64               protowire.Number = 4  // Value.i64_value
	fieldF64               protowire.Number = 10 // Value.f64_value
	fieldBool              protowire.Number = 11 // Value.bool_value
	fieldString            protowire.Number = 13 // Value.string_value
	fieldTimestampNanos    protowire.Number = 19 // Value.timestamp_nanosecond_value
)

// handleMethod is GreptimeDB's unary insert (and query) call.
const handleMethod = "/greptime.v1.GreptimeDatabase/Handle"

// maxVarintLen is the most bytes a varint length prefix takes.
const maxVarintLen = 10

// appendMessageField appends a length-delimited field holding a message.
func appendMessageField(dst []byte, num protowire.Number, msg proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		// Only invalid UTF-8 in a string field fails, and configuration
		// strings were validated as identifiers or come from YAML text.
		panic(fmt.Sprintf("marshal %T: %v", msg, err))
	}
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	return protowire.AppendBytes(dst, b)
}

// encodeHeader is the GreptimeRequest.header field, the same in every request.
func encodeHeader(h *greptimev1.RequestHeader) []byte {
	return appendMessageField(nil, fieldRequestHeader, h)
}

// encodeTableName is the RowInsertRequest.table_name field.
func encodeTableName(table string) []byte {
	return protowire.AppendString(protowire.AppendTag(nil, fieldTableName, protowire.BytesType), table)
}

// encodeSchema is the Rows.schema fields of a table layout.
func encodeSchema(schema []*greptimev1.ColumnSchema) []byte {
	var b []byte
	for _, c := range schema {
		b = appendMessageField(b, fieldSchema, c)
	}
	return b
}

// encodedRequest is a GreptimeRequest in wire form, in a pooled buffer.
type encodedRequest struct {
	buf   *[]byte
	start int // the request is (*buf)[start:]
}

// bytes is the request's wire form.
func (r *encodedRequest) bytes() []byte { return (*r.buf)[r.start:] }

// release returns the buffer for reuse; the request must not be used after.
func (r *encodedRequest) release() {
	if r.buf != nil {
		putBuffer(r.buf)
		r.buf = nil
	}
}

// maxPooledBuffer keeps rare huge requests from pinning memory in the pool.
const maxPooledBuffer = 16 << 20

var bufferPool = sync.Pool{New: func() any { return new([]byte) }}

func getBuffer() *[]byte { return bufferPool.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) > maxPooledBuffer {
		return
	}
	*b = (*b)[:0]
	bufferPool.Put(b)
}

// writeFraming writes the request's framing right before the rows, which
// start at b[reserve:], and returns where the request starts.
func writeFraming(b []byte, reserve int, header, tableField, schema []byte) int {
	rowsLen := len(b) - reserve
	rowsMsg := len(schema) + rowsLen
	insertMsg := len(tableField) + 1 + protowire.SizeVarint(uint64(rowsMsg)) + rowsMsg
	insertsMsg := 1 + protowire.SizeVarint(uint64(insertMsg)) + insertMsg

	var prefix [3 * (1 + maxVarintLen)]byte
	p := protowire.AppendTag(prefix[:0], fieldRequestRowInserts, protowire.BytesType)
	p = protowire.AppendVarint(p, uint64(insertsMsg))
	p = protowire.AppendTag(p, fieldInserts, protowire.BytesType)
	p = protowire.AppendVarint(p, uint64(insertMsg))
	lenHeader := len(p)
	p = protowire.AppendTag(p, fieldRows, protowire.BytesType)
	p = protowire.AppendVarint(p, uint64(rowsMsg))

	start := reserve - len(header) - len(p) - len(tableField) - len(schema)
	at := start
	at += copy(b[at:], header)
	at += copy(b[at:], p[:lenHeader])
	at += copy(b[at:], tableField)
	at += copy(b[at:], p[lenHeader:])
	copy(b[at:], schema)
	return start
}

// A Row.values entry is a length-delimited Value holding one oneof field.

func stringValueSize(n int) int {
	inner := 1 + protowire.SizeVarint(uint64(n)) + n
	return 1 + protowire.SizeVarint(uint64(inner)) + inner
}

func appendStringValue(b []byte, s string) []byte {
	b = protowire.AppendTag(b, fieldValues, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(1+protowire.SizeVarint(uint64(len(s)))+len(s)))
	b = protowire.AppendTag(b, fieldString, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendStringBytesValue(b, s []byte) []byte {
	b = protowire.AppendTag(b, fieldValues, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(1+protowire.SizeVarint(uint64(len(s)))+len(s)))
	b = protowire.AppendTag(b, fieldString, protowire.BytesType)
	return protowire.AppendBytes(b, s)
}

func timestampValueSize(ns int64) int {
	inner := 2 + protowire.SizeVarint(uint64(ns)) // field 19 takes a two-byte tag
	return 1 + protowire.SizeVarint(uint64(inner)) + inner
}

func appendTimestampValue(b []byte, ns int64) []byte {
	b = protowire.AppendTag(b, fieldValues, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(2+protowire.SizeVarint(uint64(ns))))
	b = protowire.AppendTag(b, fieldTimestampNanos, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(ns))
}

// cellValueSize is the size of appendCellValue's output.
func cellValueSize(c *cell) int {
	var inner int
	switch c.kind {
	case cellString:
		n := c.textLen()
		inner = 1 + protowire.SizeVarint(uint64(n)) + n
	case cellInt64:
		inner = 1 + protowire.SizeVarint(uint64(c.i))
	case cellFloat64:
		inner = 1 + 8
	case cellBool:
		inner = 1 + 1
	case cellTimestamp:
		inner = 2 + protowire.SizeVarint(uint64(c.i))
	}
	return 1 + protowire.SizeVarint(uint64(inner)) + inner
}

// appendCellValue appends a cell as a Row.values entry; null is an empty Value.
func appendCellValue(b []byte, c *cell) []byte {
	b = protowire.AppendTag(b, fieldValues, protowire.BytesType)
	switch c.kind {
	case cellString:
		n := c.textLen()
		b = protowire.AppendVarint(b, uint64(1+protowire.SizeVarint(uint64(n))+n))
		b = protowire.AppendTag(b, fieldString, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(n))
		return c.appendText(b)
	case cellInt64:
		b = protowire.AppendVarint(b, uint64(1+protowire.SizeVarint(uint64(c.i))))
		b = protowire.AppendTag(b, fieldI64, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(c.i))
	case cellFloat64:
		b = protowire.AppendVarint(b, 1+8)
		b = protowire.AppendTag(b, fieldF64, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, math.Float64bits(c.f))
	case cellBool:
		b = protowire.AppendVarint(b, 1+1)
		b = protowire.AppendTag(b, fieldBool, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(c.i))
	case cellTimestamp:
		b = protowire.AppendVarint(b, uint64(2+protowire.SizeVarint(uint64(c.i))))
		b = protowire.AppendTag(b, fieldTimestampNanos, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(c.i))
	default:
		return protowire.AppendVarint(b, 0)
	}
}

// wireCodec sends encodedRequests as they are and handles every other
// message, such as the GreptimeResponse, with gRPC's proto codec.
type wireCodec struct {
	proto encoding.CodecV2
}

func newWireCodec() wireCodec {
	return wireCodec{proto: encoding.GetCodecV2("proto")}
}

func (c wireCodec) Marshal(v any) (mem.BufferSlice, error) {
	if r, ok := v.(*encodedRequest); ok {
		// gRPC may still read the bytes after the call failed, so the buffer
		// goes back to the pool only after a successful call (see send).
		return mem.BufferSlice{mem.SliceBuffer(r.bytes())}, nil
	}
	return c.proto.Marshal(v)
}

func (c wireCodec) Unmarshal(data mem.BufferSlice, v any) error { return c.proto.Unmarshal(data, v) }

// Name is "proto": the bytes are ordinary protobuf, sent as application/grpc+proto.
func (wireCodec) Name() string { return "proto" }
