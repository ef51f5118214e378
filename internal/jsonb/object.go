package jsonb

import "go.opentelemetry.io/collector/pdata/pcommon"

// ObjectBuilder composes an object member by member, for documents the
// caller assembles from parts, such as the exporter's payload
// ({"body":…,"attributes":…,"scope":{…}}). Members may be put in any
// order: they are written sorted by key, and of members with the same key
// the one put last is written, as GreptimeDB does with the text
// {"k":1,"k":2}.
//
// A builder holds references, not copies: the strings, values and maps put
// in it are read when the document is appended, and must not change before.
// Its methods do nothing on the zero ObjectBuilder, or on one from before
// its Encoder's last call of Object.
type ObjectBuilder struct {
	e   *Encoder
	gen uint32
	idx int // its object in e.members
}

type memberKind uint8

const (
	kindNull memberKind = iota
	kindBool
	kindInt
	kindUint
	kindStr
	kindValue
	kindMap
	kindObject
)

// member is one member of a composed object, or the root object itself.
type member struct {
	key  string
	kind memberKind
	num  uint64 // an int's bits, a uint, or a bool's 0 or 1
	str  string
	val  pcommon.Value
	m    pcommon.Map

	first, last int // an object's members, -1 when it has none
	next        int // the next member of the same object, or -1
}

// Object starts composing a new object and returns its builder. Builders
// from before stop working: the Encoder keeps one composition at a time.
func (e *Encoder) Object() ObjectBuilder {
	e.gen++
	clear(e.members) // let go of the pdata of the last composition
	e.members = append(e.members[:0], member{kind: kindObject, first: -1, last: -1, next: -1})
	return ObjectBuilder{e: e, gen: e.gen}
}

// AppendTo appends the object composed so far as a document (any builder
// will do, the root's or a nested object's).
func (o ObjectBuilder) AppendTo(dst []byte) []byte {
	if !o.valid() {
		return dst
	}
	e := o.e
	e.buf = dst
	e.writeObject(o.idx, 0)
	return e.done()
}

// PutValue puts v under key, as jsonenc.AppendValue writes it.
func (o ObjectBuilder) PutValue(key string, v pcommon.Value) {
	o.add(member{key: key, kind: kindValue, val: v})
}

// PutMap puts m under key, as jsonenc.AppendMap writes it.
func (o ObjectBuilder) PutMap(key string, m pcommon.Map) {
	o.add(member{key: key, kind: kindMap, m: m})
}

// PutStr puts s under key, as jsonenc.AppendString writes it.
func (o ObjectBuilder) PutStr(key, s string) {
	o.add(member{key: key, kind: kindStr, str: s})
}

// PutInt puts i under key, written in decimal.
func (o ObjectBuilder) PutInt(key string, i int64) {
	o.add(member{key: key, kind: kindInt, num: uint64(i)})
}

// PutUint puts u under key, written in decimal.
func (o ObjectBuilder) PutUint(key string, u uint64) {
	o.add(member{key: key, kind: kindUint, num: u})
}

// PutBool puts b under key.
func (o ObjectBuilder) PutBool(key string, b bool) {
	var n uint64
	if b {
		n = 1
	}
	o.add(member{key: key, kind: kindBool, num: n})
}

// PutNull puts null under key.
func (o ObjectBuilder) PutNull(key string) {
	o.add(member{key: key, kind: kindNull})
}

// PutObject puts an empty object under key and returns its builder.
func (o ObjectBuilder) PutObject(key string) ObjectBuilder {
	i := o.add(member{key: key, kind: kindObject, first: -1, last: -1})
	if i < 0 {
		return ObjectBuilder{}
	}
	return ObjectBuilder{e: o.e, gen: o.gen, idx: i}
}

func (o ObjectBuilder) valid() bool {
	return o.e != nil && o.gen == o.e.gen && o.idx < len(o.e.members)
}

// add links m as the last member of o's object and returns its index, or -1
// when o is not valid.
func (o ObjectBuilder) add(m member) int {
	if !o.valid() {
		return -1
	}
	e := o.e
	i := len(e.members)
	m.next = -1
	e.members = append(e.members, m)
	parent := &e.members[o.idx]
	if parent.last < 0 {
		parent.first = i
	} else {
		e.members[parent.last].next = i
	}
	parent.last = i
	return i
}

// writeObject writes the composed object at members[idx] as an object
// container in place, as writeMap does a pcommon map.
func (e *Encoder) writeObject(idx, depth int) {
	base, keysBase := len(e.ents), len(e.keys)
	for i := e.members[idx].first; i >= 0; i = e.members[i].next {
		e.addEntry(e.members[i].key, pcommon.Value{}, i)
	}
	e.writeEntries(base, depth)
	e.release(base, keysBase)
}

// member appends the value of the composed member at members[i] and
// returns its JEntry. depth counts the containers open around it, so that a
// pcommon value in a nested object is cut where jsonenc would cut it.
func (e *Encoder) member(i, depth int) uint32 {
	m := &e.members[i] // members does not grow while a document is written
	switch m.kind {
	case kindBool:
		return boolJEntry(m.num != 0)
	case kindInt:
		return e.int(int64(m.num))
	case kindUint:
		start := len(e.buf)
		e.buf = appendUint(e.buf, m.num)
		return jentry(jNumber, len(e.buf)-start)
	case kindStr:
		return e.str(m.str)
	case kindValue:
		return e.value(m.val, depth)
	case kindMap:
		return e.mapValue(m.m, depth)
	case kindObject:
		start := len(e.buf)
		e.writeObject(i, depth)
		return jentry(jContainer, len(e.buf)-start)
	default:
		return jNull
	}
}
