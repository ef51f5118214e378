package jsonb

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonenc"
)

// valueGen builds a pcommon value from fuzz input, one byte choosing what
// comes next. An exhausted input reads as zeros.
type valueGen struct {
	t      testing.TB
	data   []byte
	budget int // values left to make, so that an input cannot grow a huge tree
}

// Ops of valueGen.fill, one per kind of value it makes.
const (
	opEmpty = iota
	opStr
	opStrPool
	opInt
	opSmallInt
	opDoubleBits
	opDoublePool
	opIntegralDouble
	opBool
	opBytes
	opSlice
	opMap
	opMapDuplicates
	opDeep
	opCount
)

var stringPool = []string{
	"", "a", "b", "A", "é", "É", "测试", "\xff", "\xfe", "\xed\xa0\x80", "\x00", "\"\\\n\t\x1f\x7f",
	"\uFFFD", "\U0001F600", "\u2028", "a\xffb", "\xc3", "\xf4\x90\x80\x80", "\xc0\x80", "service.name",
	"service.namespace", "(truncated: nested deeper than 64 levels)", `\uD800`, "0", "-0", "1e5",
}

var doublePool = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.5, 1e21, -1e21, 1e20, 1e19, 1e-6, 1e-7, 5e-324, math.MaxFloat64,
	-math.MaxFloat64, math.SmallestNonzeroFloat64, 1 << 53, 1<<53 + 2, 1 << 63, -(1 << 63), 1 << 64,
	math.Nextafter(1<<64, 0), math.Nextafter(-(1 << 63), 0), math.NaN(), math.Inf(1), math.Inf(-1),
	999999999999999999999, 123456789012345678, 0.1, 2.5e-300, 1.7976931348623157e308,
}

func (g *valueGen) byte() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

func (g *valueGen) uint64() uint64 {
	var b [8]byte
	n := copy(b[:], g.data)
	g.data = g.data[n:]
	return binary.LittleEndian.Uint64(b[:])
}

func (g *valueGen) bytes(n int) []byte {
	n = min(n, len(g.data))
	b := g.data[:n]
	g.data = g.data[n:]
	return b
}

// str is raw input bytes, or a string of the pool.
func (g *valueGen) str() string {
	n := g.byte()
	if n&0x80 != 0 {
		return stringPool[int(n&0x7f)%len(stringPool)]
	}
	return string(g.bytes(int(n % 24)))
}

func (g *valueGen) fill(v pcommon.Value) {
	g.budget--
	if g.budget < 0 {
		return // leaves the value empty
	}
	switch g.byte() % opCount {
	case opEmpty:
	case opStr:
		v.SetStr(string(g.bytes(int(g.byte()))))
	case opStrPool:
		v.SetStr(stringPool[int(g.byte())%len(stringPool)])
	case opInt:
		v.SetInt(int64(g.uint64()))
	case opSmallInt:
		v.SetInt(int64(int8(g.byte())))
	case opDoubleBits:
		v.SetDouble(math.Float64frombits(g.uint64()))
	case opDoublePool:
		v.SetDouble(doublePool[int(g.byte())%len(doublePool)])
	case opIntegralDouble:
		// Integral doubles of every size: below and above 2^53, near the
		// limits of int64 and uint64, and beyond.
		f := float64(int64(g.uint64()) >> (g.byte() % 64))
		v.SetDouble(math.Ldexp(f, int(g.byte()%16)))
	case opBool:
		v.SetBool(g.byte()&1 == 1)
	case opBytes:
		v.SetEmptyBytes().FromRaw(g.bytes(int(g.byte() % 16)))
	case opSlice:
		s := v.SetEmptySlice()
		for range g.byte() % 6 {
			g.fill(s.AppendEmpty())
		}
	case opMap:
		m := v.SetEmptyMap()
		for range g.byte() % 6 {
			g.fill(m.PutEmpty(g.str()))
		}
	case opMapDuplicates:
		// Keys from a small pool, so that they repeat.
		keys := make([]string, g.byte()%7)
		for i := range keys {
			if b := g.byte(); b&0x80 != 0 {
				keys[i] = g.str()
			} else {
				keys[i] = stringPool[int(b)%6]
			}
		}
		m := putKeys(g.t, v, keys...)
		for _, mv := range m.All() {
			g.fill(mv)
		}
	case opDeep:
		// Nest maps and slices as the next byte's bits say, around 55 to
		// 70 levels deep, where jsonenc starts cutting.
		bits := g.uint64()
		for i := range 55 + int(g.byte()%16) {
			if bits>>(i%64)&1 == 1 {
				v = v.SetEmptySlice().AppendEmpty()
			} else {
				v = v.SetEmptyMap().PutEmpty(stringPool[i%3])
			}
		}
		g.fill(v)
	}
}

// FuzzEncode checks the Encoder against GreptimeDB's parse of jsonenc's
// text: for a value made from the input, the document the Encoder writes
// must be the one Parse makes of jsonenc.AppendValue's text, byte for byte,
// and must decode to what encoding/json reads in that text. It checks the
// same of a composed payload holding the value.
func FuzzEncode(f *testing.F) {
	for _, seed := range [][]byte{
		{},
		{opStr, 3, 'a', 0xff, 'b'},
		{opStrPool, 7},
		{opInt, 0, 0, 0, 0, 0, 0, 0, 0x80},
		{opSmallInt, 0x80},
		{opDoubleBits, 0, 0, 0, 0, 0, 0, 0xf0, 0x43}, // 2^64
		{opDoublePool, 17},
		{opIntegralDouble, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0},
		{opBool, 1},
		{opBytes, 3, 0, 1, 2},
		{opSlice, 3, opBool, 1, opEmpty, opStrPool, 3},
		{opMap, 3, 0x80 | 3, opInt, 1, 0, 0, 0, 0, 0, 0, 0, 2, 'z', 'a', opStrPool, 11, 0x80 | 1, opDoublePool, 22},
		{opMapDuplicates, 5, 0, 1, 0, 1, 0x80, 0x80 | 7, opSmallInt, 1, opSmallInt, 2, opSmallInt, 3, opSmallInt, 4, opSmallInt, 5},
		{opDeep, 0, 0, 0, 0, 0, 0, 0, 0, 8, opStrPool, 1},                                            // 63 maps
		{opDeep, 0, 0, 0, 0, 0, 0, 0, 0, 9, opMap, 1, 0x80, opBool, 1},                               // 64 maps, then one more
		{opDeep, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 10, opSlice, 1, opSlice, 0},         // slices
		{opDeep, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 15, opMapDuplicates, 2, 0, 0, 1, 1}, // mixed
	} {
		f.Add(seed)
	}
	var e Encoder
	f.Fuzz(func(t *testing.T, data []byte) {
		g := valueGen{t: t, data: data, budget: 300}
		v := pcommon.NewValueEmpty()
		g.fill(v)

		checkValue(t, v)

		// Written again, the value's objects are remembered (the second
		// time) and their layouts reused (the third).
		got := e.AppendValue(nil, v)
		if want := parseText(t, jsonenc.AppendValue(nil, v, 0)); !bytes.Equal(got, want) {
			t.Fatalf("a reused Encoder wrote % x, want % x", got, want)
		}
		for range 2 {
			if again := e.AppendValue(nil, v); !bytes.Equal(got, again) {
				t.Fatalf("a reused Encoder wrote % x, then % x", got, again)
			}
		}

		// The exporter's payload: the body at depth 1, a map's members
		// at depth 1 and 2 (scope attributes).
		attrs := pcommon.NewMap()
		if v.Type() == pcommon.ValueTypeMap {
			attrs = v.Map()
			if want := parseText(t, jsonenc.AppendMap(nil, attrs, 0)); !bytes.Equal(e.AppendMap(nil, attrs), want) {
				t.Fatalf("AppendMap differs from the parse of jsonenc's text")
			}
		}
		want := parseText(t, appendPayloadText(v, attrs, "scope", attrs))
		if got := appendPayload(&e, nil, v, attrs, "scope", attrs); !bytes.Equal(got, want) {
			t.Fatalf("payload:\n got % x\nwant % x", got, want)
		}
	})
}

// FuzzDecode feeds arbitrary bytes to Decode and ToJSON: they may fail,
// never panic, and a document Decode reads, written again from its tree,
// renders as the same text. (Not always as the same tree: a zero stored
// signed, or a NaN with a payload, is written again in the one form the
// crate writes.)
func FuzzDecode(f *testing.F) {
	for _, tc := range decodeVectors {
		f.Add([]byte(tc.doc))
	}
	for _, tc := range encodeVectors {
		f.Add([]byte(tc.doc))
	}
	for _, text := range []string{
		`{"a":[1,-2,3.5,"x",null,true,false,{"b":{}}],"c":"\u00e9"}`,
		`[[[[]]],{},"",0,-0,1e400,18446744073709551615,-9223372036854775808]`,
	} {
		doc, err := Parse([]byte(text))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc)
	}
	f.Add(nestedArrays(50))
	f.Add(unhex("80000001 5000000c 80000001 30000000 00000000"))
	f.Add(unhex("40000001 20000001 10000001 00 61"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		tree, err := Decode(doc)
		text, textErr := ToJSON(doc)
		if (err == nil) != (textErr == nil) {
			t.Fatalf("Decode: %v, ToJSON: %v", err, textErr)
		}
		if err != nil {
			return
		}
		again := document(tree)
		if textAgain, err := ToJSON(again); err != nil || textAgain != text {
			t.Fatalf("written again, % x renders %q, %v; want %q", again, textAgain, err, text)
		}
		if tree2, err := Decode(again); err != nil || !bytes.Equal(document(tree2), again) {
			t.Fatalf("written again, % x does not come back the same: %v", again, err)
		}
	})
}

// FuzzParse feeds arbitrary text to Parse: it may fail, never panic, and
// what it writes decodes to the tree it read.
func FuzzParse(f *testing.F) {
	for _, tc := range parserOK {
		f.Add([]byte(tc.text))
	}
	for _, text := range parserErrors {
		f.Add([]byte(text))
	}
	for _, text := range []string{
		`"\uD800\u0041"`, `"\u{D83D}\u{DC8E}"`, `"\uD83D\u{DC8E}"`, `"\u{12"}`, `"\uD800\u"`, "\"\xed\xa0\x80\"",
		"\\n[\\t1\\r]\\x0C", `{"a":1,"a":{"b":2},"a":3}`, `{"é":1,"z":2,"É":3,"":4}`, "-9223372036854775809",
	} {
		f.Add([]byte(text))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		doc, err := Parse(text)
		if err != nil {
			return
		}
		tree, err := parseValue(text)
		if err != nil {
			t.Fatalf("Parse succeeds, parseValue fails: %v", err)
		}
		decoded, err := Decode(doc)
		if err != nil {
			t.Fatalf("Decode of Parse(%q): %v", text, err)
		}
		if err := sameDecoded(decoded, tree); err != nil {
			t.Fatalf("Decode of Parse(%q): %v", text, err)
		}
		if _, err := ToJSON(doc); err != nil {
			t.Fatalf("ToJSON of Parse(%q): %v", text, err)
		}
	})
}
