package jsonb

import (
	"encoding/base64"
	"math"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonenc"
)

// depthMarker is the string jsonenc writes in place of a value nested
// deeper than jsonenc.MaxDepth: its DepthMarker without the quotes (it holds
// nothing to unescape).
var depthMarker = jsonenc.DepthMarker[1 : len(jsonenc.DepthMarker)-1]

// Encoder writes pdata values as JSONB documents: the bytes GreptimeDB
// stores for the JSON text jsonenc writes of the same values.
//
// The zero Encoder is ready to use. It keeps its scratch space from one call
// to the next, so that once that has grown a call allocates nothing, and the
// layouts of recent objects, which it reuses for objects of the same keys
// (about 100 KiB of them at most, see layout.go). It is meant to be reused
// by one goroutine at a time, for the events of one batch after another.
type Encoder struct {
	buf []byte // the document being written: the caller's dst and what follows

	// The objects being written, innermost last: vals holds the values of
	// maps and mems the indices in members of composed objects, each in
	// the order given; order holds, for each object whose layout was made
	// rather than remembered, the index among its own of each member
	// written, in key order (see layout).
	vals  []pcommon.Value
	mems  []int32
	order []int32
	// valsUsed is the most of vals used since the last call ended: done
	// clears that much, so as not to keep pdata alive.
	valsUsed int

	// Scratch of layout, which is done with it before any value is
	// written: an object's keys, their sort keys, and repaired keys.
	keyList   []string
	sortKeys  []sortKey
	fixed     []byte
	fixedEnds []int
	fixedKeys []string

	shapes shapeCache // recent layouts (layout.go)

	// members holds the objects composed with Object, putVals and putMaps
	// the pcommon values and maps put in them, and gen tells the builders
	// of the current composition from those of an earlier one.
	members []member
	putVals []pcommon.Value
	putMaps []pcommon.Map
	gen     uint32
}

// AppendValue appends v as a document: the bytes GreptimeDB makes of
// jsonenc.AppendValue(nil, v, 0).
func (e *Encoder) AppendValue(dst []byte, v pcommon.Value) []byte {
	e.buf = dst
	switch v.Type() {
	case pcommon.ValueTypeMap:
		e.writeMap(v.Map(), 0)
	case pcommon.ValueTypeSlice:
		e.writeSlice(v.Slice(), 0)
	default:
		var at int
		e.buf, at = beginScalar(e.buf)
		putUint32(e.buf, at, e.value(v, 0))
	}
	return e.done()
}

// AppendMap appends m as a document whose root is an object: the bytes
// GreptimeDB makes of jsonenc.AppendMap(nil, m, 0).
func (e *Encoder) AppendMap(dst []byte, m pcommon.Map) []byte {
	e.buf = dst
	e.writeMap(m, 0)
	return e.done()
}

// AppendString appends s as a document whose root is a string: the bytes
// GreptimeDB makes of jsonenc.AppendString(nil, s).
func (e *Encoder) AppendString(dst []byte, s string) []byte {
	e.buf = dst
	var at int
	e.buf, at = beginScalar(e.buf)
	putUint32(e.buf, at, e.str(s))
	return e.done()
}

// AppendInt appends i as a document whose root is a number: the bytes
// GreptimeDB makes of strconv.AppendInt(nil, i, 10).
func (e *Encoder) AppendInt(dst []byte, i int64) []byte {
	e.buf = dst
	var at int
	e.buf, at = beginScalar(e.buf)
	putUint32(e.buf, at, e.int(i))
	return e.done()
}

// AppendStrings appends ss as a document whose root is an array of
// strings: the bytes GreptimeDB makes of encoding/json's text of ss (of
// "[]" when ss is nil, where encoding/json writes null).
func (e *Encoder) AppendStrings(dst []byte, ss []string) []byte {
	e.buf = dst
	var at int
	e.buf, at = beginContainer(e.buf, arrayHeader, len(ss), len(ss))
	for _, s := range ss {
		putUint32(e.buf, at, e.str(s))
		at += 4
	}
	return e.done()
}

// done ends a call: it returns the document and lets go of the caller's
// buffer.
func (e *Encoder) done() []byte {
	b := e.buf
	e.buf = nil
	clear(e.vals[:e.valsUsed])
	e.valsUsed = 0
	e.shapes.forgetIfFull()
	return b
}

// value appends v's data and returns its JEntry. depth counts the
// containers open around v, as jsonenc's does.
func (e *Encoder) value(v pcommon.Value, depth int) uint32 {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return e.str(v.Str())
	case pcommon.ValueTypeInt:
		return e.int(v.Int())
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return jNull // jsonenc writes null: JSON has no such numbers
		}
		start := len(e.buf)
		e.buf = appendDouble(e.buf, f)
		return jentry(jNumber, len(e.buf)-start)
	case pcommon.ValueTypeBool:
		return boolJEntry(v.Bool())
	case pcommon.ValueTypeBytes:
		start := len(e.buf)
		e.buf = base64.StdEncoding.AppendEncode(e.buf, v.Bytes().AsRaw())
		return jentry(jString, len(e.buf)-start)
	case pcommon.ValueTypeMap:
		return e.mapValue(v.Map(), depth)
	case pcommon.ValueTypeSlice:
		if depth >= jsonenc.MaxDepth {
			return e.str(depthMarker)
		}
		start := len(e.buf)
		e.writeSlice(v.Slice(), depth)
		return jentry(jContainer, len(e.buf)-start)
	default: // empty
		return jNull
	}
}

// mapValue appends m as a member's data, or the depth marker in its place.
func (e *Encoder) mapValue(m pcommon.Map, depth int) uint32 {
	if depth >= jsonenc.MaxDepth {
		return e.str(depthMarker)
	}
	start := len(e.buf)
	e.writeMap(m, depth)
	return jentry(jContainer, len(e.buf)-start)
}

// str appends s, with each byte that is not part of valid UTF-8 replaced by
// U+FFFD as jsonenc does; strings are stored unescaped (src/ser.rs:143-147).
func (e *Encoder) str(s string) uint32 {
	if validUTF8(s) { // the common case: copy it whole
		e.buf = append(e.buf, s...)
		return jentry(jString, len(s))
	}
	start := len(e.buf)
	e.buf = appendValidUTF8(e.buf, s)
	return jentry(jString, len(e.buf)-start)
}

// int appends i: jsonenc writes it in decimal, which the crate reads as an
// unsigned integer when it has no sign and a signed one when it has.
func (e *Encoder) int(i int64) uint32 {
	start := len(e.buf)
	if i < 0 {
		e.buf = appendInt(e.buf, i)
	} else {
		e.buf = appendUint(e.buf, uint64(i))
	}
	return jentry(jNumber, len(e.buf)-start)
}

func boolJEntry(b bool) uint32 {
	if b {
		return jTrue
	}
	return jFalse
}

// writeSlice writes s as an array container in place: the header and the
// JEntries first, each filled in once its element is written.
func (e *Encoder) writeSlice(s pcommon.Slice, depth int) {
	n := s.Len()
	var at int
	e.buf, at = beginContainer(e.buf, arrayHeader, n, n)
	for i := range n {
		putUint32(e.buf, at, e.value(s.At(i), depth+1))
		at += 4
	}
}

// writeMap writes m as an object container in place: its start, which its
// keys decide (layout.go), then each value written, its JEntry filled in.
func (e *Encoder) writeMap(m pcommon.Map, depth int) {
	base, from, start := len(e.vals), len(e.order), len(e.buf)
	count := m.Len()
	// Gather the values, following the shape of their keys (layout.go).
	var sh *shape
	j := 0
	for k, v := range m.All() {
		e.vals = append(e.vals, v)
		if j == 0 || sh != nil && !sh.keyIs(j, k) {
			sh = e.shapes.follow(sh, count, j, k)
		}
		j++
	}
	e.valsUsed = max(e.valsUsed, len(e.vals))
	var order []int32
	if sh != nil {
		order = e.useShape(sh)
	} else {
		keys := e.keyList[:0]
		for k := range m.All() {
			keys = append(keys, k)
		}
		e.keyList = keys
		order = e.layout(keys)
		clear(keys) // so as not to keep pdata alive
	}
	// order stays as it is while the values are written: nested objects
	// append to e.order after it, and add shapes without changing any.
	at := start + 4 + 4*len(order)
	for _, i := range order {
		// Index e.vals afresh each time: a nested object may grow it.
		putUint32(e.buf, at, e.value(e.vals[base+int(i)], depth+1))
		at += 4
	}
	e.vals, e.order = e.vals[:base], e.order[:from]
}

// appendValidUTF8 appends s with each byte that is not part of a valid
// UTF-8 sequence replaced by U+FFFD, as jsonenc.AppendString does (and
// encoding/json): the JSON text then holds \ufffd, which GreptimeDB stores
// as the character itself.
func appendValidUTF8(b []byte, s string) []byte {
	if validUTF8(s) {
		return append(b, s...)
	}
	start := 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = utf8.AppendRune(b, utf8.RuneError)
			start = i + 1
		}
		i += size
	}
	return append(b, s[start:]...)
}

// validUTF8 is utf8.ValidString with a faster start on the short ASCII
// strings most keys and values are: eight bytes at a time, the last word
// overlapping the one before it, or four for a string shorter than a word,
// handing over to utf8.ValidString at a word that is not all ASCII.
func validUTF8(s string) bool {
	const high = 0x8080808080808080
	n := len(s)
	switch {
	case n >= 8:
		i := 0
		for ; i+8 <= n; i += 8 {
			if load8(s, i)&high != 0 {
				return utf8.ValidString(s[i:])
			}
		}
		// The bytes before i are ASCII, so n-8 starts a character.
		if i < n && load8(s, n-8)&high != 0 {
			return utf8.ValidString(s[n-8:])
		}
		return true
	case n >= 4:
		return (load4(s, 0)|load4(s, n-4))&high == 0 || utf8.ValidString(s)
	default:
		for i := range n {
			if s[i] >= utf8.RuneSelf {
				return utf8.ValidString(s)
			}
		}
		return true
	}
}

// load4 reads the 4 bytes of s at i as one word.
func load4(s string, i int) uint64 {
	s = s[i : i+4]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}

// load8 reads the 8 bytes of s at i as one word (the compiler makes it
// one load after one bounds check).
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
