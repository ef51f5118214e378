package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"go.opentelemetry.io/collector/pdata/pcommon"
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

var errRecordTooLarge = errors.New("record is larger than max_request_bytes on its own")

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

// rowScratch holds the buffers one goroutine reuses while encoding rows.
type rowScratch struct {
	payload []byte    // the JSON payload of the record being written
	cells   []byte    // the event id and extra-column values of the record, framed
	conv    converter // text made by conversions
	ids     idHasher
	id      []byte
}

var scratchPool = sync.Pool{New: func() any { return new(rowScratch) }}

// chunk is a part of a group that fits one request: its records, encoded.
type chunk struct {
	req     *encodedRequest
	records []recordRef
	rows    int
	nulled  int // extra-column values written as null after a lossy conversion
}

// groupEncoder cuts a group into requests of at most maxBytes, at record
// boundaries so a record's rows always travel together.
type groupEncoder struct {
	g        *group
	header   []byte
	payload  PayloadConfig
	maxBytes int
	next     int             // index of the next record to encode
	typeVal  []byte          // the framed type value, the same in every row
	tooLarge []invalidRecord // records that fit no request
	// lastPayloadLen sizes the room left for the next payload's prefixes.
	lastPayloadLen int
}

func newGroupEncoder(g *group, header []byte, payload PayloadConfig, maxBytes int) *groupEncoder {
	typeVal := appendStringValue(nil, g.eventType)
	return &groupEncoder{g: g, header: header, payload: payload, maxBytes: maxBytes, typeVal: typeVal}
}

// nextChunk encodes the next request of the group; ok is false when every
// record has been encoded (or dropped as too large).
func (ge *groupEncoder) nextChunk() (c chunk, ok bool) {
	s := ge.g.schema
	// Room for the request's framing, written once the rows' size is known.
	reserve := len(ge.header) + 3*(1+maxVarintLen) + len(s.tableWire) + len(s.schemaWire)
	sc := scratchPool.Get().(*rowScratch)
	defer scratchPool.Put(sc)
	buf := getBuffer()
	b := *buf
	if cap(b) < reserve {
		b = make([]byte, 0, 4096+reserve)
	}
	b = b[:reserve]
	first := ge.next
	for ge.next < len(ge.g.records) {
		mark := len(b)
		var rows, nulled int
		b, rows, nulled = ge.appendRecord(b, &ge.g.records[ge.next], sc)
		if size := reserve + len(b) - mark; size > ge.maxBytes {
			b = b[:mark]
			ge.tooLarge = append(ge.tooLarge, invalidRecord{eventType: ge.g.eventType,
				err: fmt.Errorf("%w: %d bytes, limit %d", errRecordTooLarge, size, ge.maxBytes)})
			ge.dropRecord(ge.next)
			continue
		}
		if len(b) > ge.maxBytes && ge.next > first {
			b = b[:mark] // the record starts the next request
			break
		}
		c.rows += rows
		c.nulled += nulled
		ge.next++
	}
	*buf = b
	if ge.next == first { // every remaining record was too large
		putBuffer(buf)
		return chunk{}, false
	}
	c.req = &encodedRequest{buf: buf, start: writeFraming(b, reserve, ge.header, s.tableWire, s.schemaWire)}
	c.records = ge.g.records[first:ge.next]
	return c, true
}

// dropRecord removes a record that fits no request from the group, so a
// retry of the group does not carry it either.
func (ge *groupEncoder) dropRecord(i int) {
	ge.g.records = append(ge.g.records[:i:i], ge.g.records[i+1:]...)
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

// appendRecord appends the rows of one record: one row, or one per element
// of the expanding column's array.
func (ge *groupEncoder) appendRecord(b []byte, r *recordRef, sc *rowScratch) (out []byte, rows, nulled int) {
	s := ge.g.schema
	sc.cells = sc.cells[:0]
	sc.conv.reset()
	if s.eventID != nil {
		sc.cells = appendStringBytesValue(sc.cells, ge.eventID(r, sc))
	}

	// The event id and every extra cell but the expanding one.
	expandAt := -1
	for i, col := range s.columns {
		if i == s.expand {
			expandAt = len(sc.cells)
			continue
		}
		c, ok := sc.conv.convert(readSource(col.src, r), col.typ)
		if !ok {
			nulled++
		}
		sc.cells = appendCellValue(sc.cells, &c)
	}
	if s.expand < 0 {
		return ge.appendSingleRow(b, r, sc), 1, nulled
	}
	sc.payload = appendPayload(sc.payload[:0], r, ge.payload)
	base := len(ge.typeVal) + stringValueSize(len(sc.payload)) + timestampValueSize(r.timestamp)
	col := s.columns[s.expand]
	elems := readSource(col.src, r)
	if elems.kind != fieldValue || elems.v.Type() != pcommon.ValueTypeSlice || elems.v.Slice().Len() == 0 {
		// Not an array: the value itself is the only element (null when absent or empty).
		if elems.kind == fieldValue && elems.v.Type() == pcommon.ValueTypeSlice {
			elems = field{}
		}
		c, ok := sc.conv.convert(elems, col.typ)
		if !ok {
			nulled++
		}
		return ge.appendRow(b, r, sc, base, &c, expandAt), 1, nulled
	}
	for _, elem := range elems.v.Slice().All() {
		c, ok := sc.conv.convert(field{kind: fieldValue, v: elem}, col.typ)
		if !ok {
			nulled++
		}
		b = ge.appendRow(b, r, sc, base, &c, expandAt)
		rows++
	}
	return b, rows, nulled
}

// eventID is the record's event id: from the configured source, or the
// hash of the record when there is none or the record lacks it.
func (ge *groupEncoder) eventID(r *recordRef, sc *rowScratch) []byte {
	if src := ge.g.schema.eventID.src; src != nil {
		if c, _ := sc.conv.convert(readSource(*src, r), ColumnTypeString); c.kind == cellString {
			sc.id = c.appendText(sc.id[:0])
			return sc.id
		}
	}
	sc.id = sc.ids.appendID(sc.id[:0], r, ge.g.eventType)
	return sc.id
}

// appendSingleRow appends the one Row of a record, writing its payload in
// place. The payload's length prefixes come before it and are only known
// after it, so room is left for them as long as the previous row's needed;
// when that guess is wrong the payload is moved to fit.
func (ge *groupEncoder) appendSingleRow(b []byte, r *recordRef, sc *rowScratch) []byte {
	fixed := len(ge.typeVal) + timestampValueSize(r.timestamp) + len(sc.cells)
	header := func(payloadLen int) (rowLen, size int) {
		rowLen = fixed + stringValueSize(payloadLen)
		size = 1 + protowire.SizeVarint(uint64(rowLen)) + len(ge.typeVal) + stringValueSize(payloadLen) - payloadLen
		return rowLen, size
	}
	rowStart := len(b)
	_, guess := header(ge.lastPayloadLen)
	b = slices.Grow(b, guess)[:rowStart+guess]
	b = appendPayload(b, r, ge.payload)
	payloadLen := len(b) - rowStart - guess
	ge.lastPayloadLen = payloadLen
	rowLen, size := header(payloadLen)
	if size != guess {
		end := len(b)
		if size > guess {
			b = slices.Grow(b, size-guess)[:end+size-guess]
		}
		copy(b[rowStart+size:], b[rowStart+guess:end])
		b = b[:rowStart+size+payloadLen]
	}
	h := protowire.AppendTag(b[rowStart:rowStart], fieldRow, protowire.BytesType)
	h = protowire.AppendVarint(h, uint64(rowLen))
	h = append(h, ge.typeVal...)
	h = protowire.AppendTag(h, fieldValues, protowire.BytesType)
	h = protowire.AppendVarint(h, uint64(1+protowire.SizeVarint(uint64(payloadLen))+payloadLen))
	h = protowire.AppendTag(h, fieldString, protowire.BytesType)
	protowire.AppendVarint(h, uint64(payloadLen))
	b = appendTimestampValue(b, r.timestamp)
	return append(b, sc.cells...)
}

// appendRow appends one Row: type, payload, timestamp, then the extra cells
// with expanded (if not nil) inserted at expandAt.
func (ge *groupEncoder) appendRow(b []byte, r *recordRef, sc *rowScratch, base int, expanded *cell, expandAt int) []byte {
	size := base + len(sc.cells)
	if expanded != nil {
		size += cellValueSize(expanded)
	}
	b = protowire.AppendTag(b, fieldRow, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(size))
	b = append(b, ge.typeVal...)
	b = appendStringBytesValue(b, sc.payload)
	b = appendTimestampValue(b, r.timestamp)
	if expanded == nil {
		return append(b, sc.cells...)
	}
	b = append(b, sc.cells[:expandAt]...)
	b = appendCellValue(b, expanded)
	return append(b, sc.cells[expandAt:]...)
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
