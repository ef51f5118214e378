package jsonb

import (
	"bytes"
	"encoding/base64"
	"math"
	"slices"
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
// to the next, so that once that has grown a call allocates nothing; it is
// meant to be reused by one goroutine at a time.
type Encoder struct {
	buf []byte // the document being written: the caller's dst and what follows

	// ents holds the members of the objects being written, innermost
	// object last; keys holds their keys, repaired where not UTF-8.
	ents []entry
	keys []byte

	// members holds the objects composed with Object, and gen tells the
	// builders of the current composition from those of an earlier one.
	members []member
	gen     uint32
}

// entry is one member of an object being written: its key, and its value as
// a pcommon value or as a composed member.
type entry struct {
	key, keyEnd int // the key is keys[key:keyEnd]
	val         pcommon.Value
	mem         int // index of a composed member in members, or -1 for val
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
// strings: the bytes GreptimeDB makes of encoding/json's text of ss.
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
// U+FFFD as jsonenc does; strings are stored unescaped (src/ser.rs:154-158).
func (e *Encoder) str(s string) uint32 {
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

// writeMap writes m as an object container in place.
func (e *Encoder) writeMap(m pcommon.Map, depth int) {
	base, keysBase := len(e.ents), len(e.keys)
	for k, v := range m.All() {
		key, keyEnd := e.addKey(k)
		e.ents = append(e.ents, entry{key: key, keyEnd: keyEnd, val: v, mem: -1})
	}
	e.writeEntries(base, depth)
	e.release(base, keysBase)
}

// addKey stores a member's key, repaired as jsonenc repairs it, since the
// repaired key is the one GreptimeDB sorts and stores.
func (e *Encoder) addKey(k string) (int, int) {
	start := len(e.keys)
	e.keys = appendValidUTF8(e.keys, k)
	return start, len(e.keys)
}

// release drops the entries and keys of an object once it is written,
// clearing the entries so that they do not keep pdata alive.
func (e *Encoder) release(base, keysBase int) {
	clear(e.ents[base:])
	e.ents, e.keys = e.ents[:base], e.keys[:keysBase]
}

// writeEntries writes the object whose members are ents[base:]. The crate
// keeps an object's members in a BTreeMap<String, Value>
// (src/value.rs:25), which its parser fills in text order with insert, so
// a later duplicate key replaces an earlier one (src/parser.rs:384-385), and
// the encoder writes them in key order, compared bytewise: the header, a
// JEntry per key, a JEntry per value, the keys, then the values
// (src/ser.rs:80-105).
func (e *Encoder) writeEntries(base, depth int) {
	keys := e.keys
	key := func(en *entry) []byte { return keys[en.key:en.keyEnd] }
	ents := e.ents[base:]
	slices.SortStableFunc(ents, func(a, b entry) int { return bytes.Compare(key(&a), key(&b)) })
	n := 0
	for i := range ents {
		if i+1 < len(ents) && bytes.Equal(key(&ents[i]), key(&ents[i+1])) {
			continue // a later member has the same key, and wins
		}
		ents[n] = ents[i]
		n++
	}

	var at int
	e.buf, at = beginContainer(e.buf, objectHeader, n, 2*n)
	for i := range n {
		en := &e.ents[base+i]
		e.buf = append(e.buf, e.keys[en.key:en.keyEnd]...)
		putUint32(e.buf, at, jentry(jString, en.keyEnd-en.key))
		at += 4
	}
	for i := range n {
		// Index e.ents afresh each time: a nested object may grow it.
		en := e.ents[base+i]
		var je uint32
		if en.mem < 0 {
			je = e.value(en.val, depth+1)
		} else {
			je = e.member(en.mem, depth+1)
		}
		putUint32(e.buf, at, je)
		at += 4
	}
}

// appendValidUTF8 appends s with each byte that is not part of a valid
// UTF-8 sequence replaced by U+FFFD, as jsonenc.AppendString does (and
// encoding/json): the JSON text then holds \ufffd, which GreptimeDB stores
// as the character itself.
func appendValidUTF8(b []byte, s string) []byte {
	if utf8.ValidString(s) {
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
