package jsonb

import (
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

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
// A payload puts one or two dozen: the pcommon values and maps, rarer than
// strings, are kept aside (putVals, putMaps) so that a member fills 64
// bytes, not 104.
type member struct {
	key string
	str string // a string
	// An int's bits, a uint, a bool's 0 or 1, or the index of a value in
	// putVals or of a map in putMaps.
	num  uint64
	next int32 // the next member of the same object, or -1
	// An object's members, -1 when it has none, and their count.
	first, last, n int32
	kind           memberKind
}

// Object starts composing a new object and returns its builder. Builders
// from before stop working: the Encoder keeps one composition at a time.
func (e *Encoder) Object() ObjectBuilder {
	e.gen++
	// Let go of the pdata of the last composition.
	clear(e.members)
	clear(e.putVals)
	clear(e.putMaps)
	e.putVals, e.putMaps = e.putVals[:0], e.putMaps[:0]
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
	e.writeObject(int32(o.idx), 0)
	return e.done()
}

// PutValue puts v under key, as jsonenc.AppendValue writes it.
func (o ObjectBuilder) PutValue(key string, v pcommon.Value) {
	if m := o.add(key, kindValue); m != nil {
		m.num = uint64(len(o.e.putVals))
		o.e.putVals = append(o.e.putVals, v)
	}
}

// PutMap puts m under key, as jsonenc.AppendMap writes it.
func (o ObjectBuilder) PutMap(key string, m pcommon.Map) {
	if mem := o.add(key, kindMap); mem != nil {
		mem.num = uint64(len(o.e.putMaps))
		o.e.putMaps = append(o.e.putMaps, m)
	}
}

// PutStr puts s under key, as jsonenc.AppendString writes it.
func (o ObjectBuilder) PutStr(key, s string) {
	if m := o.add(key, kindStr); m != nil {
		m.str = s
	}
}

// PutInt puts i under key, written in decimal.
func (o ObjectBuilder) PutInt(key string, i int64) {
	if m := o.add(key, kindInt); m != nil {
		m.num = uint64(i)
	}
}

// PutUint puts u under key, written in decimal.
func (o ObjectBuilder) PutUint(key string, u uint64) {
	if m := o.add(key, kindUint); m != nil {
		m.num = u
	}
}

// PutBool puts b under key.
func (o ObjectBuilder) PutBool(key string, b bool) {
	if m := o.add(key, kindBool); m != nil && b {
		m.num = 1
	}
}

// PutNull puts null under key.
func (o ObjectBuilder) PutNull(key string) {
	o.add(key, kindNull)
}

// PutObject puts an empty object under key and returns its builder.
func (o ObjectBuilder) PutObject(key string) ObjectBuilder {
	if o.add(key, kindObject) == nil {
		return ObjectBuilder{}
	}
	return ObjectBuilder{e: o.e, gen: o.gen, idx: len(o.e.members) - 1}
}

func (o ObjectBuilder) valid() bool {
	return o.e != nil && o.gen == o.e.gen && o.idx < len(o.e.members)
}

// add links a new member of kind under key as the last member of o's
// object, and returns it for its value to be set, or nil when o is not
// valid. It writes the fields in place: a member made on the stack, then
// appended, is copied in 16-byte loads that wait on the 8-byte stores that
// made it (they cannot be forwarded), which made add take 2.5 times as long
// in BenchmarkEncodeBatch.
func (o ObjectBuilder) add(key string, kind memberKind) *member {
	if !o.valid() {
		return nil
	}
	e := o.e
	i := int32(len(e.members))
	e.members = slices.Grow(e.members, 1)[:i+1]
	m := &e.members[i]
	m.key, m.str, m.num, m.kind = key, "", 0, kind
	m.next, m.first, m.last, m.n = -1, -1, -1, 0
	parent := &e.members[o.idx]
	if parent.last < 0 {
		parent.first = i
	} else {
		e.members[parent.last].next = i
	}
	parent.last = i
	parent.n++
	return m
}

// writeObject writes the composed object at members[idx] as an object
// container in place, as writeMap does a pcommon map.
func (e *Encoder) writeObject(idx int32, depth int) {
	base, from, start := len(e.mems), len(e.order), len(e.buf)
	first, count := e.members[idx].first, int(e.members[idx].n)
	// Gather the members, following the shape of their keys (layout.go),
	// as writeMap does.
	var sh *shape
	for i, j := first, 0; i >= 0; i, j = e.members[i].next, j+1 {
		e.mems = append(e.mems, i)
		if k := e.members[i].key; j == 0 || sh != nil && !sh.keyIs(j, k) {
			sh = e.shapes.follow(sh, count, j, k)
		}
	}
	var order []int32
	if sh != nil {
		order = e.useShape(sh)
	} else {
		keys := e.keyList[:0]
		for i := first; i >= 0; i = e.members[i].next {
			keys = append(keys, e.members[i].key)
		}
		e.keyList = keys
		order = e.layout(keys)
		clear(keys) // so as not to keep the caller's strings alive
	}
	at := start + 4 + 4*len(order)
	for _, i := range order {
		putUint32(e.buf, at, e.member(int(e.mems[base+int(i)]), depth+1))
		at += 4
	}
	e.mems, e.order = e.mems[:base], e.order[:from]
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
		return e.value(e.putVals[m.num], depth)
	case kindMap:
		return e.mapValue(e.putMaps[m.num], depth)
	case kindObject:
		start := len(e.buf)
		e.writeObject(int32(i), depth)
		return jentry(jContainer, len(e.buf)-start)
	default:
		return jNull
	}
}
