package mapping

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/greptime-events/greptimeeventsexporter/internal/wire"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// Writing groups as row inserts: each event becomes one row (or one per
// element of an expanding column) written straight into protobuf wire
// bytes, each column from its source, and inserts are packed into requests
// of at most a limit. The payload and the JSON columns go as JSONB in
// binary values, or, with EncodingJSON, as JSON text in string values,
// which GreptimeDB parses into JSONB (src/operator/src/req_convert/common.rs:42-50).

// ErrTooLarge is the reason of a record whose rows are larger than a request.
var ErrTooLarge = errors.New("record is too large to send")

// Insert is events of one group written as one RowInsertRequest.
type Insert struct {
	wire.Insert
	Group  *Group
	Events []Event
	Rows   int
	// Nulled counts the values written as null after a lossy conversion.
	Nulled int
}

// Writer writes groups into inserts in a pooled buffer, and keeps the
// scratch space one push reuses. A Writer is used by one goroutine at a
// time, between Start and Finish.
type Writer struct {
	buf *wire.Buffer

	typeValue []byte // the current group's type, as a Row value
	payload   []byte // the current event's payload
	cells     []byte // its values but the payload and the expanded one
	expanded  []byte // the expanding column's value in the current row
	conv      converter
	ids       idHasher
	id        []byte
	hexIDs    [3][32]byte // the trace, span and parent span ids of a JSONB payload
	// inserts and requests hold what Pack returns, reused from push to
	// push; between Start and Finish they only grow, so earlier results
	// stay valid.
	inserts  []Insert
	requests [][]Insert
}

// Start readies the writer for a push: a buffer from the pool.
func (w *Writer) Start() {
	w.buf = wire.GetBuffer()
	clear(w.inserts)
	clear(w.requests)
	w.inserts, w.requests = w.inserts[:0], w.requests[:0]
}

// Finish ends a push. It hands the buffer back when release is true: when
// no call that read it failed (gRPC may still read the bytes of a failed
// call).
func (w *Writer) Finish(release bool) {
	if release {
		w.buf.Release()
	}
	w.buf = nil
}

// Pack writes groups into inserts and packs them, in order, into requests
// of at most limit bytes: each element of the result is the inserts of one
// request. A group too large for the room left in a request is cut at a
// record boundary and continues in the next. A record too large for a
// request of its own is taken out of its group's events and returned in
// tooLarge. header is the requests' (from wire.EncodeHeader).
func (w *Writer) Pack(groups []*Group, header []byte, limit int) (requests [][]Insert, tooLarge []Unstorable) {
	maxBytes := limit - wire.RequestOverhead(header) // for the inserts
	firstRequest := len(w.requests)
	current := len(w.inserts) // where the current request's inserts start in w.inserts
	used := 0                 // bytes of the current request's inserts
	for _, g := range groups {
		w.typeValue = wire.AppendString(w.typeValue[:0], g.Type)
		w.conv.binary = g.Layout.encoding == EncodingJSONB
		next := 0 // index in g.Events of the next event to write
		for next < len(g.Events) {
			mark := w.buf.BeginInsert(g.Layout.wire)
			in := Insert{Group: g}
			first := next
			for next < len(g.Events) {
				eventMark := len(w.buf.B)
				// Past stop the event cannot fit: an array expanded into
				// rows that each carry the payload, which holds the array,
				// grows with its square, so its rows stop there.
				stop := mark + maxBytes - used
				rows, nulled := w.appendEvent(&g.Events[next], g, stop)
				// len(B)-mark bounds the insert's size: BeginInsert left
				// room for the most its framing can take.
				if used+len(w.buf.B)-mark <= maxBytes {
					in.Rows += rows
					in.Nulled += nulled
					next++
					continue
				}
				eventBytes, cut := len(w.buf.B)-eventMark, len(w.buf.B) > stop
				w.buf.B = w.buf.B[:eventMark]
				if next > first || len(w.inserts) > current {
					break // the event starts the next request
				}
				took := "take"
				if cut {
					took = "take more than" // its rows stopped at stop
				}
				tooLarge = append(tooLarge, Unstorable{Database: g.Database, Type: g.Type, Event: g.Events[next], Size: eventBytes,
					Err: fmt.Errorf("%w: its rows %s %d bytes, a request at most %d (max_request_bytes, or less where GreptimeDB refused a larger one)", ErrTooLarge, took, eventBytes, limit)})
				// Out of the group, so that a retry of the group does not carry it either.
				g.Events = append(g.Events[:next], g.Events[next+1:]...)
			}
			if next == first {
				w.buf.B = w.buf.B[:mark] // nothing fitted: no insert
			} else {
				in.Insert = w.buf.EndInsert(mark, g.Layout.wire)
				in.Events = g.Events[first:next]
				w.inserts = append(w.inserts, in)
				used += in.Size()
			}
			if next < len(g.Events) && len(w.inserts) > current {
				w.requests = append(w.requests, w.inserts[current:len(w.inserts):len(w.inserts)])
				current, used = len(w.inserts), 0
			}
		}
	}
	if len(w.inserts) > current {
		w.requests = append(w.requests, w.inserts[current:len(w.inserts):len(w.inserts)])
	}
	return w.requests[firstRequest:len(w.requests):len(w.requests)], tooLarge
}

// hole is where the payload or the expanded value goes among a row's cells.
type hole struct {
	at      int // offset in cells
	payload bool
}

// appendEvent appends the rows of one event: one row, or one per element
// of the expanding column's array, which stop once the buffer has passed
// stop (the event is too large then, whatever follows).
func (w *Writer) appendEvent(ev *Event, g *Group, stop int) (rows, nulled int) {
	l := g.Layout
	w.cells = w.cells[:0]
	var holes [2]hole
	n := 0
	var ok bool
	for i := range l.columns {
		c := &l.columns[i]
		switch {
		case i == l.expand:
			holes[n] = hole{at: len(w.cells)}
			n++
		case c.src.kind == sourceType:
			w.cells = append(w.cells, w.typeValue...)
		case c.src.kind == sourcePayload:
			holes[n] = hole{at: len(w.cells), payload: true}
			n++
			switch r := ev.Rejection; {
			case r != nil && r.Payload != nil:
				w.payload = append(w.payload[:0], r.Payload...)
			case w.conv.binary:
				w.payload = w.appendPayloadJSONB(w.payload[:0], ev, l.payload)
			default:
				w.payload = AppendPayload(w.payload[:0], ev, l.payload)
			}
		case c.src.kind == sourceTimestamp:
			w.cells = wire.AppendTimestamp(w.cells, ev.Timestamp)
		case c.src.kind == sourceEventID:
			w.cells = wire.AppendStringBytes(w.cells, w.eventID(ev, g))
		default:
			if w.cells, ok = w.conv.appendCell(w.cells, c.src.read(ev), c.typ); !ok {
				nulled++
			}
		}
	}
	if l.expand < 0 {
		w.appendRow(holes[:n])
		return 1, nulled
	}
	col := &l.columns[l.expand]
	elems := col.src.read(ev)
	if elems.kind != valuePdata || elems.v.Type() != pcommon.ValueTypeSlice || elems.v.Slice().Len() == 0 {
		// Not an array: the value itself is the only element (null when
		// absent or an empty array).
		if elems.kind == valuePdata && elems.v.Type() == pcommon.ValueTypeSlice {
			elems = value{}
		}
		if w.expanded, ok = w.conv.appendCell(w.expanded[:0], elems, col.typ); !ok {
			nulled++
		}
		w.appendRow(holes[:n])
		return 1, nulled
	}
	for _, elem := range elems.v.Slice().All() {
		if w.expanded, ok = w.conv.appendCell(w.expanded[:0], value{kind: valuePdata, v: elem}, col.typ); !ok {
			nulled++
		}
		w.appendRow(holes[:n])
		rows++
		if len(w.buf.B) > stop {
			break // too large already: the caller takes the event out
		}
	}
	return rows, nulled
}

// appendRow appends one Row: the cells, with the payload and the expanded
// value in their holes, which are in column order.
func (w *Writer) appendRow(holes []hole) {
	size := len(w.cells)
	for _, h := range holes {
		switch {
		case h.payload && w.conv.binary:
			size += wire.BinarySize(len(w.payload))
		case h.payload:
			size += wire.StringSize(len(w.payload))
		default:
			size += len(w.expanded)
		}
	}
	b := wire.AppendRowPrefix(w.buf.B, size)
	from := 0
	for _, h := range holes {
		b = append(b, w.cells[from:h.at]...)
		switch {
		case h.payload && w.conv.binary:
			b = wire.AppendBinary(b, w.payload)
		case h.payload:
			b = wire.AppendStringBytes(b, w.payload)
		default:
			b = append(b, w.expanded...)
		}
		from = h.at
	}
	b = append(b, w.cells[from:]...)
	w.buf.B = b
}

// eventID is the event's id: from the layout's source, or the hash of the
// record when there is none or the record lacks it.
func (w *Writer) eventID(ev *Event, g *Group) []byte {
	if src := g.Layout.idSource; src != nil {
		if text, ok := appendText(w.id[:0], src.read(ev)); ok {
			w.id = text
			return text
		}
	}
	w.id = w.ids.appendID(w.id[:0], ev, g.Type)
	return w.id
}
