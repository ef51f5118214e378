package jsonb

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonenc"
)

// scalarDoc is a document holding one scalar: the header, the JEntry and
// the data given in hex.
func scalarDoc(jentry uint32, data string) []byte {
	b, at := beginScalar(nil)
	b = append(b, unhex(data)...)
	putUint32(b, at, jentry)
	return b
}

func TestEncodeNumbers(t *testing.T) {
	num := func(data string) []byte { return scalarDoc(jNumber|uint32(len(unhex(data))), data) }
	float := func(f float64) []byte { return document(f) }
	tests := []struct {
		name string
		v    pcommon.Value
		want []byte
	}{
		// Ints: unsigned when not negative, in the fewest bytes.
		{"int 0", pcommon.NewValueInt(0), num("00")},
		{"int 1", pcommon.NewValueInt(1), num("50 01")},
		{"int -1", pcommon.NewValueInt(-1), num("40 ff")},
		{"int 128", pcommon.NewValueInt(128), num("50 80")},
		{"int 256", pcommon.NewValueInt(256), num("50 01 00")},
		{"int -129", pcommon.NewValueInt(-129), num("40 ff 7f")},
		{"int 65536", pcommon.NewValueInt(65536), num("50 00 01 00 00")},
		{"int 4294967296", pcommon.NewValueInt(1 << 32), num("50 00 00 00 01 00 00 00 00")},
		{"int max", pcommon.NewValueInt(math.MaxInt64), num("50 7f ff ff ff ff ff ff ff")},
		{"int min", pcommon.NewValueInt(math.MinInt64), num("40 80 00 00 00 00 00 00 00")},

		// Doubles written without a fraction are read back as integers.
		{"double 0.0", pcommon.NewValueDouble(0), num("00")},
		{"double -0.0", pcommon.NewValueDouble(math.Copysign(0, -1)), num("00")}, // "-0"
		{"double 1.0", pcommon.NewValueDouble(1), num("50 01")},
		{"double -1.0", pcommon.NewValueDouble(-1), num("40 ff")},
		{"double 2^53-1", pcommon.NewValueDouble(1<<53 - 1), num("50 00 1f ff ff ff ff ff ff")},
		{"double 1e19", pcommon.NewValueDouble(1e19), num("50 8a c7 23 04 89 e8 00 00")},
		// 2^63 is written as its shortest digits, "9223372036854776000".
		{"double 2^63", pcommon.NewValueDouble(1 << 63), document(uint64(9223372036854776000))},
		// -2^63 is "-9223372036854776000", below MinInt64: a float.
		{"double -2^63", pcommon.NewValueDouble(-(1 << 63)), float(-(1 << 63))},
		// 2^64 is "18446744073709552000", above MaxUint64: a float.
		{"double 2^64", pcommon.NewValueDouble(1 << 64), float(1 << 64)},
		// The largest double below 2^64 is "18446744073709550000".
		{"double below 2^64", pcommon.NewValueDouble(math.Nextafter(1<<64, 0)), document(uint64(18446744073709550000))},
		{"double 1e20", pcommon.NewValueDouble(1e20), float(1e20)},
		{"double 1e21", pcommon.NewValueDouble(1e21), float(1e21)}, // "1e+21"
		{"double -1e21", pcommon.NewValueDouble(-1e21), float(-1e21)},
		{"double 1e-7", pcommon.NewValueDouble(1e-7), float(1e-7)}, // "1e-07"
		{"double 1e-6", pcommon.NewValueDouble(1e-6), float(1e-6)}, // "0.000001"
		{"double 0.5", pcommon.NewValueDouble(0.5), num("60 3f e0 00 00 00 00 00 00")},
		{"double 5e-324", pcommon.NewValueDouble(5e-324), num("60 00 00 00 00 00 00 00 01")},
		{"double max", pcommon.NewValueDouble(math.MaxFloat64), num("60 7f ef ff ff ff ff ff ff")},
		{"double -max", pcommon.NewValueDouble(-math.MaxFloat64), num("60 ff ef ff ff ff ff ff ff")},

		// JSON has no NaN nor infinities: jsonenc writes null.
		{"double NaN", pcommon.NewValueDouble(math.NaN()), scalarDoc(jNull, "")},
		{"double +Inf", pcommon.NewValueDouble(math.Inf(1)), scalarDoc(jNull, "")},
		{"double -Inf", pcommon.NewValueDouble(math.Inf(-1)), scalarDoc(jNull, "")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e Encoder
			if got := e.AppendValue(nil, tc.v); !bytes.Equal(got, tc.want) {
				t.Errorf("got % x, want % x", got, tc.want)
			}
			checkValue(t, tc.v)
		})
	}
}

// TestParseNumbers pins the classification of number text at the edges.
func TestParseNumbers(t *testing.T) {
	tests := []struct {
		text string
		want any
	}{
		{"9223372036854775807", uint64(math.MaxInt64)},
		{"9223372036854775808", uint64(1 << 63)},
		{"18446744073709551615", uint64(math.MaxUint64)},
		{"18446744073709551616", 18446744073709551616.0},
		{"-9223372036854775808", int64(math.MinInt64)},
		{"-9223372036854775809", -9223372036854775809.0},
		{"-0", uint64(0)},
		{"-0.0", math.Copysign(0, -1)},
		{"0.0", 0.0},
		{"1.0", 1.0},
		{"1e5", 1e5},
		{"1E+21", 1e21},
		{"1e-7", 1e-7},
		{"5e-324", 5e-324},
		{"2e-324", 0.0}, // rounds to zero
		{"1.7976931348623157e308", math.MaxFloat64},
		{"1.7976931348623159e308", math.Inf(1)},
		{"123456789012345678901234567890", 123456789012345678901234567890.0},
	}
	for _, tc := range tests {
		got, err := Parse([]byte(tc.text))
		if want := document(tc.want); err != nil || !bytes.Equal(got, want) {
			t.Errorf("Parse(%s) = % x, %v; want % x", tc.text, got, err, want)
		}
	}
}

func TestEncodeStrings(t *testing.T) {
	tests := []struct {
		name string
		v    pcommon.Value
		want string // the stored string
	}{
		{"empty", pcommon.NewValueStr(""), ""},
		{"plain", pcommon.NewValueStr("hello"), "hello"},
		{"escaped in text, raw here", pcommon.NewValueStr("\"\\\n\r\t\x00\x1f\x7f/"), "\"\\\n\r\t\x00\x1f\x7f/"},
		{"non-ASCII", pcommon.NewValueStr("测试 é \U0001F600 \u2028"), "测试 é \U0001F600 \u2028"},
		{"U+FFFD kept", pcommon.NewValueStr("\uFFFD"), "\uFFFD"},
		{"invalid byte", pcommon.NewValueStr("a\xffb"), "a\uFFFDb"},
		{"surrogate, byte by byte", pcommon.NewValueStr("\xed\xa0\x80"), "\uFFFD\uFFFD\uFFFD"},
		{"truncated sequence", pcommon.NewValueStr("x\xe6\xb5"), "x\uFFFD\uFFFD"},
		{"overlong", pcommon.NewValueStr("\xc0\x80"), "\uFFFD\uFFFD"},
		{"above U+10FFFF", pcommon.NewValueStr("\xf4\x90\x80\x80"), "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"bytes", bytesValue([]byte{0, 1, 2, 0xff}), "AAEC/w=="},
		{"empty bytes", bytesValue(nil), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e Encoder
			want := scalarDoc(jString|uint32(len(tc.want)), "")
			want = append(want, tc.want...)
			if got := e.AppendValue(nil, tc.v); !bytes.Equal(got, want) {
				t.Errorf("got % x, want % x", got, want)
			}
			checkValue(t, tc.v)
		})
	}
}

func bytesValue(b []byte) pcommon.Value {
	v := pcommon.NewValueBytes()
	v.Bytes().FromRaw(b)
	return v
}

func TestEncodeKeys(t *testing.T) {
	tests := []struct {
		name string
		keys []string // the i-th holds i
		want Object
	}{
		{"duplicates: the last wins", []string{"b", "a", "b"}, Object{{"a", uint64(1)}, {"b", uint64(2)}}},
		{"three of a key", []string{"k", "k", "k"}, Object{{"k", uint64(2)}}},
		{"sorted bytewise", []string{"é", "z", "É", "", "a", "B", "测"},
			Object{{"", uint64(3)}, {"B", uint64(5)}, {"a", uint64(4)}, {"z", uint64(1)}, {"É", uint64(2)}, {"é", uint64(0)}, {"测", uint64(6)}}},
		{"prefixes", []string{"ab", "a", "abc", "a\x00"}, Object{{"a", uint64(1)}, {"a\x00", uint64(3)}, {"ab", uint64(0)}, {"abc", uint64(2)}}},
		// Invalid UTF-8 is repaired first, so two keys may become one.
		{"repaired keys collide", []string{"\xff", "x", "\xfe"}, Object{{"x", uint64(1)}, {"\uFFFD", uint64(2)}}},
		{"repaired key meets U+FFFD", []string{"\uFFFD", "\x80"}, Object{{"\uFFFD", uint64(1)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := mapWithDuplicates(t, tc.keys...)
			var e Encoder
			got := e.AppendValue(nil, v)
			if want := document(tc.want); !bytes.Equal(got, want) {
				t.Errorf("got % x, want % x", got, want)
			}
			if m := e.AppendMap(nil, v.Map()); !bytes.Equal(m, got) {
				t.Errorf("AppendMap: got % x, want % x", m, got)
			}
			checkValue(t, v)
		})
	}
}

func TestEncodeEmpty(t *testing.T) {
	emptyIn := func(set func(pcommon.Value)) pcommon.Value {
		v := pcommon.NewValueMap()
		set(v.Map().PutEmpty("v"))
		return v
	}
	tests := []struct {
		name string
		v    pcommon.Value
		want any
	}{
		{"empty value", pcommon.NewValueEmpty(), nil},
		{"empty map", pcommon.NewValueMap(), Object{}},
		{"empty slice", pcommon.NewValueSlice(), []any{}},
		{"empty string", pcommon.NewValueStr(""), ""},
		{"empty value in a map", emptyIn(func(pcommon.Value) {}), Object{{"v", nil}}},
		{"empty map in a map", emptyIn(func(v pcommon.Value) { v.SetEmptyMap() }), Object{{"v", Object{}}}},
		{"empty slice in a map", emptyIn(func(v pcommon.Value) { v.SetEmptySlice() }), Object{{"v", []any{}}}},
		{"empty bytes in a map", emptyIn(func(v pcommon.Value) { v.SetEmptyBytes() }), Object{{"v", ""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e Encoder
			if got, want := e.AppendValue(nil, tc.v), document(tc.want); !bytes.Equal(got, want) {
				t.Errorf("got % x, want % x", got, want)
			}
			checkValue(t, tc.v)
		})
	}
}

func TestDepthMarker(t *testing.T) {
	var s string
	if err := json.Unmarshal([]byte(jsonenc.DepthMarker), &s); err != nil || s != depthMarker {
		t.Fatalf("depthMarker = %q, jsonenc.DepthMarker reads %q (%v)", depthMarker, s, err)
	}
}

// TestEncodeDepth nests n containers around a string: the one at depth
// jsonenc.MaxDepth (the 65th) and beyond become the marker, as in jsonenc.
func TestEncodeDepth(t *testing.T) {
	for _, slices := range []bool{false, true} {
		for _, n := range []int{63, 64, 65, 66, 200} {
			name := "maps " + strconv.Itoa(n)
			if slices {
				name = "slices " + strconv.Itoa(n)
			}
			t.Run(name, func(t *testing.T) {
				v := nested(n, slices, func(v pcommon.Value) { v.SetStr("leaf") })
				checkValue(t, v)
				var e Encoder
				tree, err := Decode(e.AppendValue(nil, v))
				if err != nil {
					t.Fatal(err)
				}
				containers, leaf := 0, tree
				for {
					switch x := leaf.(type) {
					case Object:
						leaf = x[0].Value
					case []any:
						leaf = x[0]
					default:
						if want := min(n, jsonenc.MaxDepth); containers != want {
							t.Errorf("%d containers, want %d", containers, want)
						}
						if want := map[bool]string{true: depthMarker, false: "leaf"}[n > jsonenc.MaxDepth]; leaf != want {
							t.Errorf("leaf %q, want %q", leaf, want)
						}
						return
					}
					containers++
				}
			})
		}
	}
}

// appendPayloadText writes the text the exporter writes today for a payload
// of body, attributes and a scope with name and attributes (inserts.go).
func appendPayloadText(body pcommon.Value, attrs pcommon.Map, scopeName string, scopeAttrs pcommon.Map) []byte {
	b := []byte(`{"body":`)
	b = jsonenc.AppendValue(b, body, 1)
	b = append(b, `,"attributes":`...)
	b = jsonenc.AppendMap(b, attrs, 1)
	b = append(b, `,"scope":{"name":`...)
	b = jsonenc.AppendString(b, scopeName)
	b = append(b, `,"attributes":`...)
	b = jsonenc.AppendMap(b, scopeAttrs, 2)
	b = append(b, `},"severity":{"text":"INFO","number":9},"trace":{"trace_id":"0102","flags":1}}`...)
	return b
}

func appendPayload(e *Encoder, dst []byte, body pcommon.Value, attrs pcommon.Map, scopeName string, scopeAttrs pcommon.Map) []byte {
	o := e.Object()
	// Put out of order: the builder sorts.
	tr := o.PutObject("trace")
	tr.PutUint("flags", 1)
	tr.PutStr("trace_id", "0102")
	o.PutValue("body", body)
	sev := o.PutObject("severity")
	sev.PutInt("number", 9)
	sev.PutStr("text", "INFO")
	sc := o.PutObject("scope")
	sc.PutStr("name", scopeName)
	sc.PutMap("attributes", scopeAttrs)
	o.PutMap("attributes", attrs)
	return o.AppendTo(dst)
}

func TestObjectBuilderPayload(t *testing.T) {
	body := nested(70, false, func(v pcommon.Value) { v.SetDouble(2.5) })
	attrs := mapWithDuplicates(t, "z", "a", "z", "\xff").Map()
	attrs.PutEmptyMap("deep").PutEmptySlice("s").AppendEmpty().SetDouble(1)
	scopeAttrs := nested(63, true, func(v pcommon.Value) { v.SetBool(true) })
	scopeMap := pcommon.NewMap()
	scopeAttrs.CopyTo(scopeMap.PutEmpty("x"))

	want := parseText(t, appendPayloadText(body, attrs, "scope\xff", scopeMap))
	var e Encoder
	got := appendPayload(&e, []byte("x"), body, attrs, "scope\xff", scopeMap)
	if !bytes.Equal(got[1:], want) {
		t.Fatalf("got % x\nwant % x", got[1:], want)
	}
	// A second composition with the same Encoder gives the same bytes.
	if again := appendPayload(&e, nil, body, attrs, "scope\xff", scopeMap); !bytes.Equal(again, want) {
		t.Fatalf("second time: got % x\nwant % x", again, want)
	}
}

func TestObjectBuilderMembers(t *testing.T) {
	var e Encoder
	o := e.Object()
	o.PutStr("s", "first")
	o.PutBool("t", true)
	o.PutBool("f", false)
	o.PutNull("n")
	o.PutInt("i", -5)
	o.PutInt("p", 5)
	o.PutUint("u", math.MaxUint64)
	o.PutStr("s", "second") // the last wins
	o.PutStr("k\xff", "v")
	nested := o.PutObject("o")
	nested.PutObject("empty")
	nested.PutStr("a", "b")
	o.PutValue("v", pcommon.NewValueDouble(math.NaN()))
	o.PutMap("m", pcommon.NewMap())

	text := `{"s":"first","t":true,"f":false,"n":null,"i":-5,"p":5,"u":18446744073709551615,"s":"second",` +
		`"k\ufffd":"v","o":{"empty":{},"a":"b"},"v":null,"m":{}}`
	want := parseText(t, []byte(text))
	if got := o.AppendTo(nil); !bytes.Equal(got, want) {
		t.Fatalf("got % x\nwant % x", got, want)
	}
	// A nested builder appends its own object.
	if got, want := nested.AppendTo(nil), parseText(t, []byte(`{"a":"b","empty":{}}`)); !bytes.Equal(got, want) {
		t.Fatalf("nested: got % x, want % x", got, want)
	}
	// An empty object.
	if got, want := e.Object().AppendTo(nil), parseText(t, []byte(`{}`)); !bytes.Equal(got, want) {
		t.Fatalf("empty: got % x, want % x", got, want)
	}
}

func TestObjectBuilderStale(t *testing.T) {
	var e Encoder
	old := e.Object()
	oldChild := old.PutObject("c")
	o := e.Object()
	o.PutInt("a", 1)
	// Builders from before the last Object, and the zero builder, do nothing.
	old.PutInt("b", 2)
	oldChild.PutInt("c", 3)
	if got := old.PutObject("d"); got != (ObjectBuilder{}) {
		t.Errorf("stale PutObject = %+v, want the zero builder", got)
	}
	var zero ObjectBuilder
	zero.PutStr("z", "z")
	zero.PutObject("z").PutStr("z", "z")
	if got := zero.AppendTo([]byte("dst")); string(got) != "dst" {
		t.Errorf("zero AppendTo = %q", got)
	}
	if got := old.AppendTo(nil); got != nil {
		t.Errorf("stale AppendTo = % x", got)
	}
	if got, want := o.AppendTo(nil), parseText(t, []byte(`{"a":1}`)); !bytes.Equal(got, want) {
		t.Errorf("got % x, want % x", got, want)
	}
}

func TestAppendScalarsAndStrings(t *testing.T) {
	var e Encoder
	for _, s := range []string{"", "abc", "a\xffb", "\"\n", "测试"} {
		want := parseText(t, jsonenc.AppendString(nil, s))
		if got := e.AppendString([]byte("x"), s); !bytes.Equal(got[1:], want) {
			t.Errorf("AppendString(%q) = % x, want % x", s, got[1:], want)
		}
	}
	for _, i := range []int64{0, 1, -1, 255, 256, -128, -129, math.MaxInt64, math.MinInt64} {
		want := parseText(t, strconv.AppendInt(nil, i, 10))
		if got := e.AppendInt(nil, i); !bytes.Equal(got, want) {
			t.Errorf("AppendInt(%d) = % x, want % x", i, got, want)
		}
	}
	for _, ss := range [][]string{nil, {}, {"a"}, {"b", "a", "b"}, {"<&>", "\u2028", "x\xffy", strings.Repeat("long ", 100)}} {
		text, err := json.Marshal(ss)
		if err != nil {
			t.Fatal(err)
		}
		if ss == nil {
			text = []byte("[]") // the exporter's catalog never writes null
		}
		want := parseText(t, text)
		if got := e.AppendStrings(nil, ss); !bytes.Equal(got, want) {
			t.Errorf("AppendStrings(%q) = % x, want % x", ss, got, want)
		}
	}
	// The truncated-payload object of the dead-letter path.
	o := e.Object()
	o.PutBool("truncated", true)
	o.PutInt("record_bytes", 123456)
	o.PutStr("payload_prefix", `{"body":"x`)
	want := parseText(t, []byte(`{"truncated":true,"record_bytes":123456,"payload_prefix":"{\"body\":\"x"}`))
	if got := o.AppendTo(nil); !bytes.Equal(got, want) {
		t.Errorf("truncated payload: got % x, want % x", got, want)
	}
}

func TestEncoderDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	body, attrs, resource := benchPayload()
	var e Encoder
	var buf []byte
	write := func() {
		o := e.Object()
		o.PutValue("body", body)
		o.PutMap("attributes", attrs)
		o.PutMap("resource", resource)
		sc := o.PutObject("scope")
		sc.PutStr("name", "scope")
		buf = o.AppendTo(buf[:0])
		buf = e.AppendValue(buf[:0], body)
		buf = e.AppendMap(buf[:0], attrs)
		buf = e.AppendStrings(buf[:0], []string{"a", "b"})
	}
	write() // grow the scratch space
	if n := testing.AllocsPerRun(100, write); n != 0 {
		t.Fatalf("%v allocations per run, want 0", n)
	}
}

// TestValidUTF8 compares validUTF8 with utf8.ValidString on strings of up
// to four pieces, so that every length up to 28 has invalid and multibyte
// characters at every place, across the words validUTF8 reads.
func TestValidUTF8(t *testing.T) {
	pieces := []string{"a", "é", "\xff", "测", "\U0001F600", "\xed\xa0\x80", "\xc3", "abcdefg"}
	var check func(s string, more int)
	check = func(s string, more int) {
		if got, want := validUTF8(s), utf8.ValidString(s); got != want {
			t.Fatalf("validUTF8(%q) = %v, want %v", s, got, want)
		}
		if more > 0 {
			for _, p := range pieces {
				check(s+p, more-1)
			}
		}
	}
	check("", 4)
}
