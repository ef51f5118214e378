package jsonb

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"math"
	"slices"
	"strings"
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
	// object last, and order their sort keys, one for one; keys holds the
	// repairs of keys that are not UTF-8.
	ents  []entry
	order []sortKey
	keys  []byte

	// members holds the objects composed with Object, and gen tells the
	// builders of the current composition from those of an earlier one.
	members []member
	gen     uint32
}

// entry is one member of an object being written: its key, and its value as
// a pcommon value or as a composed member.
type entry struct {
	key string // the key, when it is valid UTF-8
	// fixed and fixedEnd bound the key's repair in keys when it is not
	// (fixed is -1 when it is).
	fixed, fixedEnd int
	val             pcommon.Value
	mem             int // index of a composed member in members, or -1 for val
}

// sortKey is what an entry is sorted by: the first 8 bytes of its key, big
// endian and zero padded, which order most keys alone, and its index in
// ents, to reach the whole key when they do not.
type sortKey struct {
	prefix uint64
	i      int
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
		e.addEntry(k, v, -1)
	}
	e.writeEntries(base, depth)
	e.release(base, keysBase)
}

// addEntry adds the entry of a member with key k and value v or composed
// member mem. A key that is not UTF-8 is repaired as jsonenc repairs it,
// since the repaired key is the one GreptimeDB sorts and stores.
func (e *Encoder) addEntry(k string, v pcommon.Value, mem int) {
	en := entry{key: k, fixed: -1, val: v, mem: mem}
	var prefix uint64
	if validUTF8(k) {
		prefix = keyPrefix(k)
	} else {
		en.key, en.fixed = "", len(e.keys)
		e.keys = appendValidUTF8(e.keys, k)
		en.fixedEnd = len(e.keys)
		prefix = keyPrefix(e.keys[en.fixed:])
	}
	e.order = append(e.order, sortKey{prefix: prefix, i: len(e.ents)})
	e.ents = append(e.ents, en)
}

// keyPrefix is the first 8 bytes of k, big endian, padded with zeros. Keys
// whose prefixes differ are ordered as their prefixes: where they first
// differ either both have a byte, or the shorter key has none (a zero here)
// and the longer one a byte that differs from it, so is greater.
func keyPrefix[K ~string | ~[]byte](k K) uint64 {
	if len(k) >= 8 {
		return uint64(k[0])<<56 | uint64(k[1])<<48 | uint64(k[2])<<40 | uint64(k[3])<<32 |
			uint64(k[4])<<24 | uint64(k[5])<<16 | uint64(k[6])<<8 | uint64(k[7])
	}
	var p uint64
	for i := range len(k) {
		p |= uint64(k[i]) << (56 - 8*i)
	}
	return p
}

// compare orders two entries by key, bytewise.
func (e *Encoder) compare(a, b sortKey) int {
	if a.prefix != b.prefix {
		if a.prefix < b.prefix {
			return -1
		}
		return 1
	}
	ea, eb := &e.ents[a.i], &e.ents[b.i]
	switch {
	case ea.fixed < 0 && eb.fixed < 0:
		return strings.Compare(ea.key, eb.key)
	case ea.fixed < 0:
		return compareText(ea.key, e.keys[eb.fixed:eb.fixedEnd])
	case eb.fixed < 0:
		return compareText(e.keys[ea.fixed:ea.fixedEnd], eb.key)
	default:
		return bytes.Compare(e.keys[ea.fixed:ea.fixedEnd], e.keys[eb.fixed:eb.fixedEnd])
	}
}

// compareText compares a string with bytes, bytewise.
func compareText[A, B ~string | ~[]byte](a A, b B) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return cmp.Compare(a[i], b[i])
		}
	}
	return cmp.Compare(len(a), len(b))
}

// appendKey appends an entry's key and returns its JEntry.
func (e *Encoder) appendKey(en *entry) uint32 {
	start := len(e.buf)
	if en.fixed < 0 {
		e.buf = append(e.buf, en.key...)
	} else {
		e.buf = append(e.buf, e.keys[en.fixed:en.fixedEnd]...)
	}
	return jentry(jString, len(e.buf)-start)
}

// sortKeys sorts order by key, keeping entries with the same key in
// order. Objects are small, mostly: insertion sort on the 16-byte sort keys
// moves little and calls nothing; a large object takes a merge sort.
func (e *Encoder) sortKeys(order []sortKey) {
	if len(order) > 24 {
		slices.SortStableFunc(order, e.compare)
		return
	}
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && e.compare(order[j], order[j-1]) < 0; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
}

// release drops the entries and repaired keys of an object once it is
// written, clearing the entries so that they do not keep pdata alive.
func (e *Encoder) release(base, keysBase int) {
	clear(e.ents[base:])
	e.ents, e.order, e.keys = e.ents[:base], e.order[:base], e.keys[:keysBase]
}

// writeEntries writes the object whose members are ents[base:]. The crate
// keeps an object's members in a BTreeMap<String, Value>
// (src/value.rs:25), which its parser fills in text order with insert, so
// a later duplicate key replaces an earlier one (src/parser.rs:384-385), and
// the encoder writes them in key order, compared bytewise: the header, a
// JEntry per key, a JEntry per value, the keys, then the values
// (src/ser.rs:80-105).
func (e *Encoder) writeEntries(base, depth int) {
	order := e.order[base:]
	e.sortKeys(order)
	n := 0
	for i := range order {
		if i+1 < len(order) && e.compare(order[i], order[i+1]) == 0 {
			continue // a later member has the same key, and wins
		}
		order[n] = order[i]
		n++
	}

	var at int
	e.buf, at = beginContainer(e.buf, objectHeader, n, 2*n)
	for _, o := range order[:n] {
		putUint32(e.buf, at, e.appendKey(&e.ents[o.i]))
		at += 4
	}
	for k := range n {
		// Index afresh each time: a nested object may grow the slices.
		en := &e.ents[e.order[base+k].i]
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
// strings most keys and values are: eight bytes at a time, then byte by
// byte, handing over at the first byte that is not ASCII.
func validUTF8(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if load8(s, i)&0x8080808080808080 != 0 {
			return utf8.ValidString(s[i:])
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return utf8.ValidString(s[i:])
		}
	}
	return true
}

// load8 reads the 8 bytes of s at i as one word (the compiler makes it
// one load after one bounds check).
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
