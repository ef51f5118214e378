package mapping

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonenc"
)

// EventIDHexLen is the length of a hashed event id: 128 bits in hex.
const EventIDHexLen = 32

// idHasher writes the canonical form of a record and hashes it. The form is
// type-tagged and length-prefixed, with map entries sorted by key, so two
// records hash alike exactly when their identifying parts are equal,
// whatever the order of their attributes.
type idHasher struct {
	buf   []byte
	pairs [][]keyValue // sorting space, one per nesting level
}

type keyValue struct {
	k string
	v pcommon.Value
}

// appendID appends the record's 128-bit id as hex: a SHA-256 of the
// resource attributes, scope, event type, timestamp, body and attributes,
// and for a span event its span's trace and span ids, so that alike events
// of two spans are told apart.
func (h *idHasher) appendID(dst []byte, ev *Event, eventType string) []byte {
	h.buf = h.buf[:0]
	h.writeMap(ev.resource.Attributes(), 0)
	sc := ev.scope
	h.writeString(sc.Name())
	h.writeString(sc.Version())
	h.writeMap(sc.Attributes(), 0)
	h.writeString(eventType)
	h.buf = binary.BigEndian.AppendUint64(h.buf, uint64(ev.Timestamp))
	h.writeValue(ev.Body(), 0)
	h.writeMap(ev.Attributes(), 0)
	if ev.IsSpanEvent() {
		tid, sid := ev.span.TraceID(), ev.span.SpanID()
		h.buf = append(h.buf, 't')
		h.buf = append(h.buf, tid[:]...)
		h.buf = append(h.buf, sid[:]...)
	}
	sum := sha256.Sum256(h.buf)
	return hex.AppendEncode(dst, sum[:EventIDHexLen/2])
}

func (h *idHasher) writeString(s string) {
	h.buf = binary.AppendUvarint(h.buf, uint64(len(s)))
	h.buf = append(h.buf, s...)
}

func (h *idHasher) writeValue(v pcommon.Value, depth int) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		h.buf = append(h.buf, 's')
		h.writeString(v.Str())
	case pcommon.ValueTypeInt:
		h.buf = append(h.buf, 'i')
		h.buf = binary.BigEndian.AppendUint64(h.buf, uint64(v.Int()))
	case pcommon.ValueTypeDouble:
		h.buf = append(h.buf, 'd')
		h.buf = binary.BigEndian.AppendUint64(h.buf, math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		h.buf = append(h.buf, 'b', 0)
		if v.Bool() {
			h.buf[len(h.buf)-1] = 1
		}
	case pcommon.ValueTypeBytes:
		h.buf = append(h.buf, 'y')
		h.buf = binary.AppendUvarint(h.buf, uint64(v.Bytes().Len()))
		h.buf = append(h.buf, v.Bytes().AsRaw()...)
	case pcommon.ValueTypeMap:
		h.buf = append(h.buf, 'm')
		h.writeMap(v.Map(), depth)
	case pcommon.ValueTypeSlice:
		h.buf = append(h.buf, 'l')
		if depth >= jsonenc.MaxDepth {
			h.buf = append(h.buf, 'x') // as deep as the payload goes
			return
		}
		h.buf = binary.AppendUvarint(h.buf, uint64(v.Slice().Len()))
		for _, e := range v.Slice().All() {
			h.writeValue(e, depth+1)
		}
	default:
		h.buf = append(h.buf, 'n')
	}
}

// writeMap writes a map's entries in key order.
func (h *idHasher) writeMap(m pcommon.Map, depth int) {
	if depth >= jsonenc.MaxDepth {
		h.buf = append(h.buf, 'x')
		return
	}
	for len(h.pairs) <= depth {
		h.pairs = append(h.pairs, nil)
	}
	pairs := h.pairs[depth][:0]
	for k, v := range m.All() {
		pairs = append(pairs, keyValue{k, v})
	}
	slices.SortFunc(pairs, func(a, b keyValue) int { return cmp.Compare(a.k, b.k) })
	h.pairs[depth] = pairs
	h.buf = binary.AppendUvarint(h.buf, uint64(len(pairs)))
	for _, p := range pairs {
		h.writeString(p.k)
		h.writeValue(p.v, depth+1)
	}
	clear(pairs) // drop the references to the batch
}
