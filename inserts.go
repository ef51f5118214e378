package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonenc"
	"github.com/greptime-events/greptimeeventsexporter/internal/wire"
)

// Writing groups as row inserts: each event becomes one row (or one per
// element of an expanding column) written straight into protobuf wire
// bytes, and inserts are packed into requests of at most max_request_bytes.
// The payload goes as JSON text in a string value: GreptimeDB parses a JSON
// column's strings into JSONB and refuses any other kind of value
// (src/operator/src/req_convert/common.rs:42-50).

var errRecordTooLarge = errors.New("record is too large to send")

// insert is the events of one group written as one RowInsertRequest.
type insert struct {
	wire.Insert
	group  *group
	events []event
	rows   int
	nulled int // extra-column values written as null after a lossy conversion
}

// writer writes groups into inserts in a pooled buffer. It holds the
// scratch space one push reuses; a writer is used by one goroutine at a time.
type writer struct {
	buf     *wire.Buffer
	payload PayloadConfig

	typeValue   []byte // the current group's type, as a Row value
	payloadJSON []byte // the current event's payload
	cells       []byte // its event id and extra-column values but the expanding one
	expanded    []byte // the expanding column's value in the current row
	text        []byte // text made by conversions
	ids         idHasher
	id          []byte
	// inserts and requests hold what pack returns, reused from push to
	// push; within a push they only grow, so earlier results stay valid.
	inserts  []insert
	requests [][]insert
}

// start readies the writer for a push: a buffer from the pool.
func (w *writer) start(payload PayloadConfig) {
	w.buf = wire.GetBuffer()
	clear(w.inserts)
	clear(w.requests)
	w.inserts, w.requests = w.inserts[:0], w.requests[:0]
	w.payload = payload
}

// finish hands the buffer back when release is true: when no call that
// read it failed (gRPC may still read the bytes of a failed call).
func (w *writer) finish(release bool) {
	if release {
		w.buf.Release()
	}
	w.buf = nil
}

// pack writes groups into inserts and packs them, in order, into requests
// of at most limit bytes: each element of the result is the inserts of one
// request. A group too large for the room left in a request is cut at a
// record boundary and continues in the next. A record too large for a
// request of its own is removed from its group and returned in tooLarge.
// header is the requests' (from wire.EncodeHeader).
func (w *writer) pack(groups []*group, header []byte, limit int) (requests [][]insert, tooLarge []invalidRecord) {
	maxBytes := limit - wire.RequestOverhead(header) // for the inserts
	firstRequest := len(w.requests)
	current := len(w.inserts) // where the current request's inserts start in w.inserts
	used := 0                 // bytes of the current request's inserts
	for _, g := range groups {
		w.typeValue = wire.AppendString(w.typeValue[:0], g.eventType)
		next := 0 // index in g.events of the next event to write
		for next < len(g.events) {
			mark := w.buf.BeginInsert(g.layout.wire)
			in := insert{group: g}
			first := next
			for next < len(g.events) {
				eventMark := len(w.buf.B)
				rows, nulled := w.appendEvent(&g.events[next], g)
				// len(B)-mark bounds the insert's size: BeginInsert left
				// room for the most its framing can take.
				if used+len(w.buf.B)-mark <= maxBytes {
					in.rows += rows
					in.nulled += nulled
					next++
					continue
				}
				eventBytes := len(w.buf.B) - eventMark
				w.buf.B = w.buf.B[:eventMark]
				if next > first || len(w.inserts) > current {
					break // the event starts the next request
				}
				tooLarge = append(tooLarge, invalidRecord{database: g.database, target: g.database, eventType: g.eventType, event: g.events[next], size: eventBytes,
					err: fmt.Errorf("%w: its rows take %d bytes, a request at most %d (max_request_bytes, or less where GreptimeDB refused a larger one)", errRecordTooLarge, eventBytes, limit)})
				// Out of the group, so a retry of the group does not carry it either.
				g.events = append(g.events[:next], g.events[next+1:]...)
			}
			if next == first {
				w.buf.B = w.buf.B[:mark] // nothing fitted: no insert
			} else {
				in.Insert = w.buf.EndInsert(mark, g.layout.wire)
				in.events = g.events[first:next]
				w.inserts = append(w.inserts, in)
				used += in.Size()
			}
			if next < len(g.events) && len(w.inserts) > current {
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

// appendEvent appends the rows of one event: one row, or one per element
// of the expanding column's array.
func (w *writer) appendEvent(ev *event, g *group) (rows, nulled int) {
	l := g.layout
	w.cells = w.cells[:0]
	if l.eventID != nil {
		w.cells = wire.AppendStringBytes(w.cells, w.eventID(ev, g))
	}
	expandAt := -1
	var ok bool
	for i, col := range l.extra {
		if i == l.expand {
			expandAt = len(w.cells)
			continue
		}
		if w.cells, w.text, ok = appendCell(w.cells, w.text, col.src.read(ev), col.typ); !ok {
			nulled++
		}
	}
	if r := ev.rejection; r != nil && r.payload != nil {
		w.payloadJSON = append(w.payloadJSON[:0], r.payload...)
	} else {
		w.payloadJSON = appendPayload(w.payloadJSON[:0], ev, w.payload)
	}
	if l.expand < 0 {
		w.appendRow(ev, expandAt)
		return 1, nulled
	}
	col := l.extra[l.expand]
	elems := col.src.read(ev)
	if elems.kind != valuePdata || elems.v.Type() != pcommon.ValueTypeSlice || elems.v.Slice().Len() == 0 {
		// Not an array: the value itself is the only element (null when
		// absent or an empty array).
		if elems.kind == valuePdata && elems.v.Type() == pcommon.ValueTypeSlice {
			elems = sourceValue{}
		}
		if w.expanded, w.text, ok = appendCell(w.expanded[:0], w.text, elems, col.typ); !ok {
			nulled++
		}
		w.appendRow(ev, expandAt)
		return 1, nulled
	}
	for _, elem := range elems.v.Slice().All() {
		if w.expanded, w.text, ok = appendCell(w.expanded[:0], w.text, sourceValue{kind: valuePdata, v: elem}, col.typ); !ok {
			nulled++
		}
		w.appendRow(ev, expandAt)
		rows++
	}
	return rows, nulled
}

// appendRow appends one Row: type, payload, timestamp, then the cells, with
// the expanded value inserted at expandAt (when not negative).
func (w *writer) appendRow(ev *event, expandAt int) {
	size := len(w.typeValue) + wire.StringSize(len(w.payloadJSON)) + wire.TimestampSize(ev.timestamp) + len(w.cells)
	if expandAt >= 0 {
		size += len(w.expanded)
	}
	b := wire.AppendRowPrefix(w.buf.B, size)
	b = append(b, w.typeValue...)
	b = wire.AppendStringBytes(b, w.payloadJSON)
	b = wire.AppendTimestamp(b, ev.timestamp)
	if expandAt < 0 {
		w.buf.B = append(b, w.cells...)
		return
	}
	b = append(b, w.cells[:expandAt]...)
	b = append(b, w.expanded...)
	w.buf.B = append(b, w.cells[expandAt:]...)
}

// eventID is the event's id: from the configured source, or the hash of the
// record when there is none or the record lacks it.
func (w *writer) eventID(ev *event, g *group) []byte {
	if src := g.layout.eventID.src; src != nil {
		if text, ok := appendText(w.id[:0], src.read(ev)); ok {
			w.id = text
			return text
		}
	}
	w.id = w.ids.appendID(w.id[:0], ev, g.eventType)
	return w.id
}

// appendPayload writes the event's JSON payload: an object with the
// configured parts of its record, each under its own key; empty parts are
// left out.
func appendPayload(buf []byte, ev *event, p PayloadConfig) []byte {
	buf = append(buf, '{')
	n := 0
	key := func(k string) {
		if n > 0 {
			buf = append(buf, ',')
		}
		n++
		buf = append(buf, '"')
		buf = append(buf, k...)
		buf = append(buf, '"', ':')
	}
	lr := ev.lr
	if p.Body && lr.Body().Type() != pcommon.ValueTypeEmpty {
		key("body")
		buf = jsonenc.AppendValue(buf, lr.Body(), 1)
	}
	if p.Attributes && lr.Attributes().Len() > 0 {
		key("attributes")
		buf = jsonenc.AppendMap(buf, lr.Attributes(), 1)
	}
	if res := ev.rl.Resource().Attributes(); p.Resource && res.Len() > 0 {
		key("resource")
		buf = jsonenc.AppendMap(buf, res, 1)
	}
	if sc := ev.sl.Scope(); p.Scope && (sc.Name() != "" || sc.Version() != "" || sc.Attributes().Len() > 0) {
		key("scope")
		buf = appendScope(buf, sc)
	}
	if p.Severity && (lr.SeverityText() != "" || lr.SeverityNumber() != plog.SeverityNumberUnspecified) {
		key("severity")
		buf = append(buf, `{"text":`...)
		buf = jsonenc.AppendString(buf, lr.SeverityText())
		buf = append(buf, `,"number":`...)
		buf = strconv.AppendInt(buf, int64(lr.SeverityNumber()), 10)
		buf = append(buf, '}')
	}
	if tid := lr.TraceID(); p.Trace && !tid.IsEmpty() {
		key("trace")
		buf = append(buf, `{"trace_id":"`...)
		buf = hex.AppendEncode(buf, tid[:])
		buf = append(buf, '"')
		if sid := lr.SpanID(); !sid.IsEmpty() {
			buf = append(buf, `,"span_id":"`...)
			buf = hex.AppendEncode(buf, sid[:])
			buf = append(buf, '"')
		}
		buf = append(buf, `,"flags":`...)
		buf = strconv.AppendUint(buf, uint64(lr.Flags()), 10)
		buf = append(buf, '}')
	}
	return append(buf, '}')
}

func appendScope(buf []byte, sc pcommon.InstrumentationScope) []byte {
	buf = append(buf, '{')
	sep := func() {
		if buf[len(buf)-1] != '{' {
			buf = append(buf, ',')
		}
	}
	if sc.Name() != "" {
		buf = append(buf, `"name":`...)
		buf = jsonenc.AppendString(buf, sc.Name())
	}
	if sc.Version() != "" {
		sep()
		buf = append(buf, `"version":`...)
		buf = jsonenc.AppendString(buf, sc.Version())
	}
	if sc.Attributes().Len() > 0 {
		sep()
		buf = append(buf, `"attributes":`...)
		buf = jsonenc.AppendMap(buf, sc.Attributes(), 2)
	}
	return append(buf, '}')
}
