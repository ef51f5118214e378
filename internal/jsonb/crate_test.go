package jsonb

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The vectors of the crate's own tests at v0.4.4: tests/it/encode.rs,
// tests/it/decode.rs and tests/it/parser.rs.

// encodeVectors are tests/it/encode.rs: a value and its document. text,
// when set, is JSON text that parses to the value, and value, when set, a
// pcommon value the Encoder writes as it. (A positive Int64 has neither:
// parsed text makes positive integers unsigned, and so does the Encoder.)
var encodeVectors = []struct {
	name  string
	tree  any
	doc   string
	text  string
	value func() pcommon.Value
}{
	{"null", nil, "\x20\x00\x00\x00\x00\x00\x00\x00", "null", pcommon.NewValueEmpty},
	{"true", true, "\x20\x00\x00\x00\x40\x00\x00\x00", "true", func() pcommon.Value { return pcommon.NewValueBool(true) }},
	{"false", false, "\x20\x00\x00\x00\x30\x00\x00\x00", "false", func() pcommon.Value { return pcommon.NewValueBool(false) }},
	{"string", "asd", "\x20\x00\x00\x00\x10\x00\x00\x03\x61\x73\x64", `"asd"`, func() pcommon.Value { return pcommon.NewValueStr("asd") }},
	{"string cjk", "测试", "\x20\x00\x00\x00\x10\x00\x00\x06\xE6\xB5\x8B\xE8\xAF\x95", `"测试"`, func() pcommon.Value { return pcommon.NewValueStr("测试") }},

	{"int64 0", int64(0), "\x20\x00\x00\x00\x20\x00\x00\x01\x00", "0", func() pcommon.Value { return pcommon.NewValueInt(0) }},
	{"int64 -100", int64(-100), "\x20\x00\x00\x00\x20\x00\x00\x02\x40\x9C", "-100", func() pcommon.Value { return pcommon.NewValueInt(-100) }},
	{"int64 i8 min", int64(math.MinInt8), "\x20\x00\x00\x00\x20\x00\x00\x02\x40\x80", "-128", func() pcommon.Value { return pcommon.NewValueInt(math.MinInt8) }},
	{"int64 i8 max", int64(math.MaxInt8), "\x20\x00\x00\x00\x20\x00\x00\x02\x40\x7F", "", nil},
	{"int64 i16 min", int64(math.MinInt16), "\x20\x00\x00\x00\x20\x00\x00\x03\x40\x80\x00", "-32768", func() pcommon.Value { return pcommon.NewValueInt(math.MinInt16) }},
	{"int64 i16 max", int64(math.MaxInt16), "\x20\x00\x00\x00\x20\x00\x00\x03\x40\x7F\xFF", "", nil},
	{"int64 i32 min", int64(math.MinInt32), "\x20\x00\x00\x00\x20\x00\x00\x05\x40\x80\x00\x00\x00", "-2147483648", func() pcommon.Value { return pcommon.NewValueInt(math.MinInt32) }},
	{"int64 i32 max", int64(math.MaxInt32), "\x20\x00\x00\x00\x20\x00\x00\x05\x40\x7F\xFF\xFF\xFF", "", nil},
	{"int64 min", int64(math.MinInt64), "\x20\x00\x00\x00\x20\x00\x00\x09\x40\x80\x00\x00\x00\x00\x00\x00\x00", "-9223372036854775808", func() pcommon.Value { return pcommon.NewValueInt(math.MinInt64) }},
	{"int64 max", int64(math.MaxInt64), "\x20\x00\x00\x00\x20\x00\x00\x09\x40\x7F\xFF\xFF\xFF\xFF\xFF\xFF\xFF", "", nil},

	{"uint64 0", uint64(0), "\x20\x00\x00\x00\x20\x00\x00\x01\x00", "0", func() pcommon.Value { return pcommon.NewValueInt(0) }},
	{"uint64 100", uint64(100), "\x20\x00\x00\x00\x20\x00\x00\x02\x50\x64", "100", func() pcommon.Value { return pcommon.NewValueInt(100) }},
	{"uint64 u8 max", uint64(math.MaxUint8), "\x20\x00\x00\x00\x20\x00\x00\x02\x50\xFF", "255", func() pcommon.Value { return pcommon.NewValueInt(math.MaxUint8) }},
	{"uint64 u16 max", uint64(math.MaxUint16), "\x20\x00\x00\x00\x20\x00\x00\x03\x50\xFF\xFF", "65535", func() pcommon.Value { return pcommon.NewValueInt(math.MaxUint16) }},
	{"uint64 u32 max", uint64(math.MaxUint32), "\x20\x00\x00\x00\x20\x00\x00\x05\x50\xFF\xFF\xFF\xFF", "4294967295", func() pcommon.Value { return pcommon.NewValueInt(math.MaxUint32) }},
	{"uint64 max", uint64(math.MaxUint64), "\x20\x00\x00\x00\x20\x00\x00\x09\x50\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", "18446744073709551615", nil},

	{"float64 inf", math.Inf(1), "\x20\x00\x00\x00\x20\x00\x00\x01\x20", "1e400", nil},
	{"float64 -inf", math.Inf(-1), "\x20\x00\x00\x00\x20\x00\x00\x01\x30", "-1e400", nil},
	{"float64 0.0123", 0.0123, "\x20\x00\x00\x00\x20\x00\x00\x09\x60\x3F\x89\x30\xBE\x0D\xED\x28\x8D", "0.0123", func() pcommon.Value { return pcommon.NewValueDouble(0.0123) }},
	{"float64 1.2e308", 1.2e308, "\x20\x00\x00\x00\x20\x00\x00\x09\x60\x7F\xE5\x5C\x57\x6D\x81\x57\x26", "1.2e308", func() pcommon.Value { return pcommon.NewValueDouble(1.2e308) }},

	{"array", []any{false, true}, "\x80\x00\x00\x02\x30\x00\x00\x00\x40\x00\x00\x00", "[false,true]", func() pcommon.Value {
		v := pcommon.NewValueSlice()
		v.Slice().AppendEmpty().SetBool(false)
		v.Slice().AppendEmpty().SetBool(true)
		return v
	}},
	{"object", Object{{"asd", "adf"}}, "\x40\x00\x00\x01\x10\x00\x00\x03\x10\x00\x00\x03\x61\x73\x64\x61\x64\x66", `{"asd":"adf"}`, func() pcommon.Value {
		v := pcommon.NewValueMap()
		v.Map().PutStr("asd", "adf")
		return v
	}},
}

func TestCrateEncodeVectors(t *testing.T) {
	for _, tc := range encodeVectors {
		t.Run(tc.name, func(t *testing.T) {
			if got := document(tc.tree); string(got) != tc.doc {
				t.Errorf("tree: got % x, want % x", got, tc.doc)
			}
			if tc.text != "" {
				got, err := Parse([]byte(tc.text))
				if err != nil || string(got) != tc.doc {
					t.Errorf("Parse(%q) = % x, %v; want % x", tc.text, got, err, tc.doc)
				}
			}
			if tc.value != nil {
				var e Encoder
				if got := e.AppendValue(nil, tc.value()); string(got) != tc.doc {
					t.Errorf("Encoder: got % x, want % x", got, tc.doc)
				}
			}
		})
	}
}

// decodeVectors are tests/it/decode.rs, with the text ToJSON renders.
var decodeVectors = []struct {
	doc  string
	want any
	text string
}{
	{"\x20\x00\x00\x00\x00\x00\x00\x00", nil, "null"},
	{"\x20\x00\x00\x00\x40\x00\x00\x00", true, "true"},
	{"\x20\x00\x00\x00\x30\x00\x00\x00", false, "false"},
	{"\x20\x00\x00\x00\x10\x00\x00\x03\x61\x73\x64", "asd", `"asd"`},
	{"\x20\x00\x00\x00\x10\x00\x00\x06\xE6\xB5\x8B\xE8\xAF\x95", "测试", `"测试"`},
	{"\x20\x00\x00\x00\x10\x00\x00\x01\x0A", "\n", `"\n"`},
	// Zero is stored without a sign, and decodes unsigned.
	{"\x20\x00\x00\x00\x20\x00\x00\x01\x00", uint64(0), "0"},
	{"\x20\x00\x00\x00\x20\x00\x00\x02\x40\x9C", int64(-100), "-100"},
	{"\x20\x00\x00\x00\x20\x00\x00\x02\x40\x80", int64(math.MinInt8), "-128"},
	{"\x20\x00\x00\x00\x20\x00\x00\x02\x40\x7F", int64(math.MaxInt8), "127"},
	{"\x20\x00\x00\x00\x20\x00\x00\x03\x40\x80\x00", int64(math.MinInt16), "-32768"},
	{"\x20\x00\x00\x00\x20\x00\x00\x03\x40\x7F\xFF", int64(math.MaxInt16), "32767"},
	{"\x20\x00\x00\x00\x20\x00\x00\x05\x40\x80\x00\x00\x00", int64(math.MinInt32), "-2147483648"},
	{"\x20\x00\x00\x00\x20\x00\x00\x05\x40\x7F\xFF\xFF\xFF", int64(math.MaxInt32), "2147483647"},
	{"\x20\x00\x00\x00\x20\x00\x00\x09\x40\x80\x00\x00\x00\x00\x00\x00\x00", int64(math.MinInt64), "-9223372036854775808"},
	{"\x20\x00\x00\x00\x20\x00\x00\x09\x40\x7F\xFF\xFF\xFF\xFF\xFF\xFF\xFF", int64(math.MaxInt64), "9223372036854775807"},
	{"\x20\x00\x00\x00\x20\x00\x00\x02\x50\x64", uint64(100), "100"},
	{"\x20\x00\x00\x00\x20\x00\x00\x02\x50\xFF", uint64(math.MaxUint8), "255"},
	{"\x20\x00\x00\x00\x20\x00\x00\x03\x50\xFF\xFF", uint64(math.MaxUint16), "65535"},
	{"\x20\x00\x00\x00\x20\x00\x00\x05\x50\xFF\xFF\xFF\xFF", uint64(math.MaxUint32), "4294967295"},
	{"\x20\x00\x00\x00\x20\x00\x00\x09\x50\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", uint64(math.MaxUint64), "18446744073709551615"},
	{"\x20\x00\x00\x00\x20\x00\x00\x01\x20", math.Inf(1), "inf"},
	{"\x20\x00\x00\x00\x20\x00\x00\x01\x30", math.Inf(-1), "-inf"},
	{"\x20\x00\x00\x00\x20\x00\x00\x09\x60\x3F\x89\x30\xBE\x0D\xED\x28\x8D", 0.0123, "0.0123"},
	{"\x20\x00\x00\x00\x20\x00\x00\x09\x60\x7F\xE5\x5C\x57\x6D\x81\x57\x26", 1.2e308, "1.2e308"},
	{"\x80\x00\x00\x02\x30\x00\x00\x00\x40\x00\x00\x00", []any{false, true}, "[false,true]"},
	{"\x40\x00\x00\x01\x10\x00\x00\x03\x10\x00\x00\x03\x61\x73\x64\x61\x64\x66", Object{{"asd", "adf"}}, `{"asd":"adf"}`},
}

func TestCrateDecodeVectors(t *testing.T) {
	for _, tc := range decodeVectors {
		got, err := Decode([]byte(tc.doc))
		if err != nil {
			t.Errorf("Decode(% x): %v", tc.doc, err)
			continue
		}
		if err := sameDecoded(got, tc.want); err != nil {
			t.Errorf("Decode(% x): %v", tc.doc, err)
		}
		if text, err := ToJSON([]byte(tc.doc)); err != nil || text != tc.text {
			t.Errorf("ToJSON(% x) = %q, %v; want %q", tc.doc, text, err, tc.text)
		}
	}
}

// test_decode_corrupted: a document short of its last byte.
func TestCrateDecodeCorrupted(t *testing.T) {
	doc, err := Parse([]byte(`{"a": 1, "b": "123"}`))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := Decode(doc[:len(doc)-1]); err == nil {
		t.Fatalf("Decode of a truncated document = %v, want an error", v)
	}
}

// sameDecoded compares value trees exactly: types, float bits, key order.
func sameDecoded(got, want any) error {
	if g, ok := got.(Object); ok {
		w, ok := want.(Object)
		if !ok || len(g) != len(w) {
			return mismatch(got, want)
		}
		for i := range g {
			if g[i].Key != w[i].Key {
				return mismatch(got, want)
			}
			if err := sameDecoded(g[i].Value, w[i].Value); err != nil {
				return err
			}
		}
		return nil
	}
	if g, ok := got.([]any); ok {
		w, ok := want.([]any)
		if !ok || len(g) != len(w) {
			return mismatch(got, want)
		}
		for i := range g {
			if err := sameDecoded(g[i], w[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if g, ok := got.(float64); ok {
		if w, ok := want.(float64); !ok || math.Float64bits(g) != math.Float64bits(w) {
			return mismatch(got, want)
		}
		return nil
	}
	if got != want {
		return mismatch(got, want)
	}
	return nil
}

type mismatchError struct{ got, want any }

func (e mismatchError) Error() string {
	return "got " + describe(e.got) + ", want " + describe(e.want)
}

func mismatch(got, want any) error { return mismatchError{got, want} }

func describe(v any) string {
	var b strings.Builder
	b.WriteString(string(appendText(nil, v)))
	b.WriteString(" (")
	b.WriteString(typeName(v))
	b.WriteString(")")
	return b.String()
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case bool:
		return "bool"
	case string:
		return "string"
	case int64:
		return "int64"
	case uint64:
		return "uint64"
	case float64:
		return "float64"
	case []any:
		return "array"
	case Object:
		return "object"
	}
	return "?"
}

// parserOK are the successful cases of tests/it/parser.rs. The crate
// compares numbers by value across types there; here the tree is the one the
// crate's parser makes, which is what it encodes.
var parserOK = []struct {
	text string
	want any
}{
	{"null", nil},
	{"true", true}, {" true ", true}, {"false", false}, {" false ", false},

	{"-2", int64(-2)}, {"-1234", int64(-1234)}, {" -1234 ", int64(-1234)},
	{"-9223372036854775808", int64(math.MinInt64)},
	{"9223372036854775807", uint64(math.MaxInt64)},
	{"0", uint64(0)}, {"3", uint64(3)}, {"1234", uint64(1234)},
	{"18446744073709551615", uint64(math.MaxUint64)},

	{"100e777777777777777777777777777", math.Inf(1)},
	{"-100e777777777777777777777777777", math.Inf(-1)},
	{"1" + strings.Repeat("0", 309), math.Inf(1)},
	{"1" + strings.Repeat("0", 300) + ".0e9", math.Inf(1)},
	{"1" + strings.Repeat("0", 300) + "e9", math.Inf(1)},
	{"0.0", 0.0}, {"3.0", 3.0}, {"3.1", 3.1}, {"-1.2", -1.2}, {"0.4", 0.4},
	{"2.638344616030823e-256", 2.638344616030823e-256},
	{"3.00", 3.0}, {"0.4e5", 0.4e5}, {"0.4e+5", 0.4e5}, {"0.4e15", 0.4e15}, {"0.4e+15", 0.4e15},
	{"0.4e-01", 0.4e-1}, {" 0.4e-01 ", 0.4e-1}, {"0.4e-001", 0.4e-1}, {"0.4e-0", 0.4},
	{"0.00e00", 0.0}, {"0.00e+00", 0.0}, {"0.00e-00", 0.0},
	{"3.5E-2147483647", 0.0},
	{"0.0100000000000000000001", 0.01},
	// format!("{}", (i64::MIN as f64) - 1.0): Rust prints the float
	// -2^63 as an integer, which the parser then reads as one.
	{"-9223372036854775808", int64(math.MinInt64)},
	// format!("{}", (u64::MAX as f64) + 1.0): 2^64 overflows u64.
	{"18446744073709551616", 18446744073709551616.0},
	// format!("{}", f64::EPSILON)
	{"0.0000000000000002220446049250313", 2.220446049250313e-16},
	{"0.0000000000000000000000000000000000000000000000000123e50", 1.23},
	{"100e-777777777777777777777777777", 0.0},
	{"1010101010101010101010101010101010101010", 1.010_101_010_101_01e39},
	{"0.1010101010101010101010101010101010101010", 0.101_010_101_010_101_01},
	{"0e1000000000000000000000000000000000000000000000", 0.0},
	{"1" + strings.Repeat("0", 308), 1e308},
	{"1" + strings.Repeat("0", 300) + ".0e8", 1e308},
	{"1" + strings.Repeat("0", 300) + "e8", 1e308},
	{"1" + strings.Repeat("0", 318) + "e-10", 1e308},

	{`"abc"`, "abc"}, {`"n"`, "n"}, {`"\""`, `"`}, {`"\\"`, `\`}, {`"/"`, "/"},
	{`"\b"`, "\b"}, {`"\f"`, "\f"}, {`"\n"`, "\n"}, {`"\r"`, "\r"}, {`"\t"`, "\t"},
	{`"\u000b"`, "\x0b"}, {`"\u000B"`, "\x0b"}, {"\"\u03a3\"", "\u03a3"},
	{`""`, ""}, {`"foo"`, "foo"}, {` "foo" `, "foo"},
	{`"\u12ab"`, "\u12ab"}, {`"\uAB12"`, "\uab12"}, {`"\uD83C\uDF95"`, "\U0001F395"},
	{`"\u5b57"`, "字"}, {`"\u0000"`, "\x00"},
	{`"\uDEAD"`, `\uDEAD`},
	{`"\uDC00\uD800"`, `\uDC00\uD800`},
	{`"\uD800\uDA00"`, `\uD800\uDA00`},
	{`"\uD803\uDC0B"`, "𐰋"}, {`"\uD83D\uDC8E"`, "💎"},
	{`"\\\uD83D\\\uDC8E"`, `\\uD83D\\uDC8E`},
	{`"\"ab\"\uD803\uDC0B测试"`, `"ab"𐰋测试`},
	{`"⚠\u{fe0f}"`, "⚠\ufe0f"},

	{"[]", []any{}}, {"[ ]", []any{}}, {"[null]", []any{nil}}, {" [ null ]", []any{nil}},
	{"[true]", []any{true}}, {"[3,1]", []any{uint64(3), uint64(1)}},
	{"[[3], [1, 2]]", []any{[]any{uint64(3)}, []any{uint64(1), uint64(2)}}},
	{"[1]", []any{uint64(1)}}, {"[1, 2]", []any{uint64(1), uint64(2)}},
	{"[1, 2, 3]", []any{uint64(1), uint64(2), uint64(3)}},
	{"[1, [2, 3]]", []any{uint64(1), []any{uint64(2), uint64(3)}}},

	{`{}`, Object{}}, {`{ }`, Object{}},
	{`{"a":3}`, Object{{"a", uint64(3)}}}, {`{ "a" : 3 }`, Object{{"a", uint64(3)}}},
	{`{"a":3,"b":4}`, Object{{"a", uint64(3)}, {"b", uint64(4)}}},
	{` { "a" : 3 , "b" : 4 } `, Object{{"a", uint64(3)}, {"b", uint64(4)}}},
	{`{"a": {"b": 3, "c": 4}}`, Object{{"a", Object{{"b", uint64(3)}, {"c", uint64(4)}}}}},
	{`{"c":null}`, Object{{"c", nil}}},
	// The escapes written out as text, read as whitespace.
	{`{\t\n\r "d":  5}`, Object{{"d", uint64(5)}}},
	{`{ \x0C "d":  5}`, Object{{"d", uint64(5)}}},
}

func TestCrateParserOK(t *testing.T) {
	for _, tc := range parserOK {
		got, err := Parse([]byte(tc.text))
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.text, err)
			continue
		}
		if want := document(tc.want); !bytes.Equal(got, want) {
			t.Errorf("Parse(%q) = % x, want % x", tc.text, got, want)
		}
		tree, err := parseValue([]byte(tc.text))
		if err != nil {
			t.Fatal(err)
		}
		if err := sameDecoded(tree, tc.want); err != nil {
			t.Errorf("parseValue(%q): %v", tc.text, err)
		}
	}
}

// parserErrors are the failing cases of tests/it/parser.rs.
var parserErrors = []string{
	"n", "nul", "nulla",
	"t", "truz", "f", "faz", "truea", "falsea",
	"+", ".", "-", "00", "0x80", `\0`, ".0", "0.", "1.", "1.a", "1.e1", "1e", "1e+", "1a",
	`"`, `"lol`, `"lol"a`,
	"[", "[ ", "[1", "[1,", "[1,]", "[1 2]", "[]a",
	"{", "{ ", "{1", `{ "a"`, `{"a"`, `{"a" `, `{"a" 1`, `{"a":`, `{"a":1`, `{"a":1 1`, `{"a":1,`, "{}a",
}

func TestCrateParserErrors(t *testing.T) {
	for _, text := range parserErrors {
		if got, err := Parse([]byte(text)); err == nil {
			t.Errorf("Parse(%q) = % x, want an error", text, got)
		}
	}
}
