package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"google.golang.org/protobuf/encoding/protowire"
)

var errRecordTooLarge = errors.New("record is larger than max_request_bytes on its own")

// The encoder cuts a group into requests and writes each record's rows
// straight into protobuf wire bytes (see wire.go for the primitives).

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
				err:    fmt.Errorf("%w: %d bytes, limit %d", errRecordTooLarge, size, ge.maxBytes),
				record: ge.g.records[ge.next], size: size})
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
