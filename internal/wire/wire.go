// Package wire writes GreptimeDB's gRPC insert requests (a GreptimeRequest
// carrying RowInsertRequests, greptime-proto v0.15.0) as protobuf wire bytes,
// and sends them as written through a pass-through codec. It knows the
// messages' field numbers and nothing of log records.
//
// Writing the bytes directly, in the field order the generated code uses,
// costs a few appends per value where building one generated message per
// row and value costs several allocations; wire_test.go decodes the output
// with the generated types and compares it with proto.Marshal.
package wire // import "github.com/greptime-events/greptimeeventsexporter/internal/wire"

import (
	"fmt"
	"math"
	"unicode/utf8"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// HandleMethod is GreptimeDB's unary call for inserts (and queries).
const HandleMethod = "/greptime.v1.GreptimeDatabase/Handle"

// Field numbers of the greptime.v1 messages written here.
const (
	fieldRequestHeader     protowire.Number = 1  // GreptimeRequest.header
	fieldRequestRowInserts protowire.Number = 6  // GreptimeRequest.row_inserts
	fieldInserts           protowire.Number = 1  // RowInsertRequests.inserts
	fieldTableName         protowire.Number = 1  // RowInsertRequest.table_name
	fieldRows              protowire.Number = 2  // RowInsertRequest.rows
	fieldColumn            protowire.Number = 1  // Rows.schema
	fieldRow               protowire.Number = 2  // Rows.rows
	fieldValue             protowire.Number = 1  // Row.values
	fieldI64               protowire.Number = 4  // Value.i64_value
	fieldF64               protowire.Number = 10 // Value.f64_value
	fieldBool              protowire.Number = 11 // Value.bool_value
	fieldBinary            protowire.Number = 12 // Value.binary_value
	fieldString            protowire.Number = 13 // Value.string_value
	fieldTimestampNanos    protowire.Number = 19 // Value.timestamp_nanosecond_value
)

// maxVarintLen is the most bytes a varint takes.
const maxVarintLen = 10

// A Row.values entry is a length-delimited Value holding one oneof field.

// StringSize is the size of a string value of n bytes.
func StringSize(n int) int {
	inner := 1 + protowire.SizeVarint(uint64(n)) + n
	return 1 + protowire.SizeVarint(uint64(inner)) + inner
}

// AppendString appends a string value.
func AppendString(b []byte, s string) []byte {
	b = protowire.AppendTag(b, fieldValue, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(1+protowire.SizeVarint(uint64(len(s)))+len(s)))
	b = protowire.AppendTag(b, fieldString, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// AppendStringBytes appends a string value held in a byte slice.
func AppendStringBytes(b, s []byte) []byte { return appendBytesValue(b, fieldString, s) }

// BinarySize is the size of a binary value of n bytes.
func BinarySize(n int) int { return StringSize(n) } // the same framing, another field number below 16

// AppendBinary appends a binary value.
func AppendBinary(b, v []byte) []byte { return appendBytesValue(b, fieldBinary, v) }

// appendBytesValue appends a Value whose field f (a string or binary one,
// below 16) holds v.
func appendBytesValue(b []byte, f protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, fieldValue, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(1+protowire.SizeVarint(uint64(len(v)))+len(v)))
	b = protowire.AppendTag(b, f, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// TimestampSize is the size of a nanosecond timestamp value.
func TimestampSize(ns int64) int {
	inner := 2 + protowire.SizeVarint(uint64(ns)) // field 19 takes a two-byte tag
	return 1 + protowire.SizeVarint(uint64(inner)) + inner
}

// AppendTimestamp appends a nanosecond timestamp value.
func AppendTimestamp(b []byte, ns int64) []byte {
	b = protowire.AppendTag(b, fieldValue, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(2+protowire.SizeVarint(uint64(ns))))
	b = protowire.AppendTag(b, fieldTimestampNanos, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(ns))
}

// AppendInt64 appends an int64 value.
func AppendInt64(b []byte, i int64) []byte {
	b = protowire.AppendTag(b, fieldValue, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(1+protowire.SizeVarint(uint64(i))))
	b = protowire.AppendTag(b, fieldI64, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(i))
}

// AppendFloat64 appends a float64 value.
func AppendFloat64(b []byte, f float64) []byte {
	b = protowire.AppendTag(b, fieldValue, protowire.BytesType)
	b = protowire.AppendVarint(b, 1+8)
	b = protowire.AppendTag(b, fieldF64, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(f))
}

// AppendBool appends a bool value.
func AppendBool(b []byte, v bool) []byte {
	b = protowire.AppendTag(b, fieldValue, protowire.BytesType)
	b = protowire.AppendVarint(b, 1+1)
	b = protowire.AppendTag(b, fieldBool, protowire.VarintType)
	return protowire.AppendVarint(b, protowire.EncodeBool(v))
}

// AppendNull appends a null: a Value with no field set.
func AppendNull(b []byte) []byte {
	b = protowire.AppendTag(b, fieldValue, protowire.BytesType)
	return protowire.AppendVarint(b, 0)
}

// AppendRowPrefix starts a Row whose values take size bytes; the caller
// appends them.
func AppendRowPrefix(b []byte, size int) []byte {
	b = protowire.AppendTag(b, fieldRow, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(size))
}

// appendMessage appends a length-delimited field holding a message. It
// fails where proto.Marshal does: on invalid UTF-8 in a string field, which
// GreptimeDB's decoder would refuse too.
func appendMessage(b []byte, num protowire.Number, msg proto.Message) ([]byte, error) {
	m, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		return b, fmt.Errorf("encode %T: %w", msg, err)
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, m), nil
}

// EncodeHeader is the GreptimeRequest.header field, the same in every
// request of one database and set of credentials. It fails on a dbname or
// credentials that are not valid UTF-8.
func EncodeHeader(h *greptimev1.RequestHeader) ([]byte, error) {
	return appendMessage(nil, fieldRequestHeader, h)
}

// Table is the part of a RowInsertRequest that is the same in every insert
// into one table with one set of columns: its name and the Rows.schema.
type Table struct {
	name    []byte // the table_name field
	columns []byte // the Rows.schema fields
}

// EncodeTable encodes a table's name and columns once, for every insert
// into it. It fails on names that are not valid UTF-8.
func EncodeTable(name string, columns []*greptimev1.ColumnSchema) (Table, error) {
	if !utf8.ValidString(name) {
		return Table{}, fmt.Errorf("table name %q is not valid UTF-8", name)
	}
	t := Table{name: protowire.AppendString(protowire.AppendTag(nil, fieldTableName, protowire.BytesType), name)}
	for _, c := range columns {
		var err error
		if t.columns, err = appendMessage(t.columns, fieldColumn, c); err != nil {
			return Table{}, err
		}
	}
	return t, nil
}

// framingRoom is the most bytes an insert's framing takes besides the
// table name: its inserts tag and length, and the rows tag and length.
const framingRoom = 2 * (1 + maxVarintLen)

// InsertOverhead is the most bytes an insert into t adds to a request
// besides its rows.
func (t Table) InsertOverhead() int { return framingRoom + len(t.name) + len(t.columns) }

// RequestOverhead is the most bytes a request adds besides its inserts.
func RequestOverhead(header []byte) int { return len(header) + 1 + maxVarintLen }
