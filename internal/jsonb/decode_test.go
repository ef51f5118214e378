package jsonb

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestDecodeMalformed(t *testing.T) {
	tests := []struct {
		name string
		doc  string // hex
	}{
		{"empty", ""},
		{"short header", "200000"},
		{"scalar without its JEntry", "20000000"},
		{"scalar with a short JEntry", "20000000 100000"},
		{"scalar header with a count", "20000001 00000000"},
		{"bad container type 0x60", "60000000 00000000"},
		{"bad container type 0xA0", "a0000000"},
		{"bad container type 0xE0", "e0000000"},
		{"bad container type 0x00", "00000000 00000000"},
		{"string longer than the document", "20000000 10000004 616263"},
		{"trailing byte after a scalar", "20000000 10000001 6162"},
		{"trailing byte after null", "20000000 00000000 00"},
		{"null with data", "20000000 00000001 00"},
		{"true with data", "20000000 40000001 00"},
		{"JEntry type 6", "20000000 60000000"},
		{"JEntry type 7", "20000000 70000000"},
		{"offset JEntry", "20000000 90000001 61"},
		{"invalid UTF-8 string", "20000000 10000001 ff"},
		{"surrogate in a string", "20000000 10000003 eda080"},
		{"empty number", "20000000 20000000"},
		{"bad number tag", "20000000 20000001 70"},
		{"zero with a byte", "20000000 20000002 0000"},
		{"NaN with a byte", "20000000 20000002 1000"},
		{"int of 3 bytes", "20000000 20000004 40010203"},
		{"int of 0 bytes", "20000000 20000001 40"},
		{"uint of 16 bytes", "20000000 20000011 50" + strings.Repeat("00", 16)},
		{"float of 4 bytes", "20000000 20000005 6000000000"},
		{"float of 9 bytes", "20000000 2000000a 60" + strings.Repeat("00", 9)},
		{"array count beyond the document", "80000002 30000000"},
		{"array count of 2^29-1", "9fffffff"},
		{"array with trailing bytes", "80000001 30000000 00"},
		{"array element beyond the end", "80000001 10000002 61"},
		{"object count beyond the document", "40000001 10000001"},
		{"object key not a string", "40000001 20000001 10000001 00 61"},
		{"object key null", "40000001 00000000 00000000"},
		{"object key offset", "40000001 90000001 00000000 61"},
		{"object key invalid UTF-8", "40000001 10000001 00000000 ff"},
		{"object with trailing bytes", "40000001 10000001 00000000 61 00"},
		{"object value beyond the end", "40000001 10000001 10000002 61 62"},
		{"container JEntry longer than the container", "80000001 5000000c 80000001 30000000 00000000"},
		{"container JEntry shorter than the container", "80000001 50000004 80000001 30000000"},
		{"container JEntry of a short container", "80000001 50000003 800000"},
		{"nested container bad header", "80000001 50000004 60000000"},
		{"scalar document inside a container", "80000001 50000008 20000000 00000000 00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := unhex(tc.doc)
			if v, err := Decode(doc); err == nil {
				t.Errorf("Decode(% x) = %v, want an error", doc, v)
			}
			if s, err := ToJSON(doc); err == nil {
				t.Errorf("ToJSON(% x) = %q, want an error", doc, s)
			}
		})
	}
}

func TestDecodeLenient(t *testing.T) {
	// What the crate reads consistently is read too, though it never
	// writes it.
	tests := []struct {
		name string
		doc  string
		want any
	}{
		{"int in more bytes than needed", "20000000 20000009 40 0000000000000005", int64(5)},
		{"positive int stored signed", "20000000 20000002 40 05", int64(5)},
		{"NaN", "20000000 20000001 10", math.NaN()},
		{"float zero", "20000000 20000009 60 0000000000000000", 0.0},
		{"container in a scalar document", "20000000 50000004 80000000", []any{}},
		{"keys out of order, kept in order", "40000002 10000001 10000001 00000000 00000000 62 61", Object{{"b", nil}, {"a", nil}}},
	}
	for _, tc := range tests {
		got, err := Decode(unhex(tc.doc))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if f, ok := tc.want.(float64); ok && math.IsNaN(f) {
			if g, ok := got.(float64); !ok || !math.IsNaN(g) {
				t.Errorf("%s: got %v, want NaN", tc.name, got)
			}
			continue
		}
		if err := sameDecoded(got, tc.want); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// TestNesting: Parse and Decode accept maxNesting containers, not one more.
func TestNesting(t *testing.T) {
	for _, n := range []int{maxNesting, maxNesting + 1} {
		text := strings.Repeat("[", n) + strings.Repeat("]", n)
		if _, err := Parse([]byte(text)); (err == nil) != (n <= maxNesting) {
			t.Errorf("Parse of %d arrays: %v", n, err)
		}
		doc := nestedArrays(n)
		if _, err := Decode(doc); (err == nil) != (n <= maxNesting) {
			t.Errorf("Decode of %d arrays: %v", n, err)
		}
		objects := strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n)
		if _, err := Parse([]byte(objects)); (err == nil) != (n <= maxNesting) {
			t.Errorf("Parse of %d objects: %v", n, err)
		}
	}
}

// nestedArrays writes n arrays, each but the innermost holding the next.
func nestedArrays(n int) []byte {
	v := any([]any{})
	for range n - 1 {
		v = []any{v}
	}
	return document(v)
}

func TestToJSON(t *testing.T) {
	tests := []struct {
		text string // parsed, then rendered
		want string
	}{
		{`{"b":1,"a":[true,false,null],"c":{"d":"e"}}`, `{"a":[true,false,null],"b":1,"c":{"d":"e"}}`},
		{`"\"\\\/\b\f\n\r\t\u0001\u001f\u007f"`, "\"\\\"\\\\/\\b\\f\\n\\r\\t\x01\x1f\x7f\""},
		{`{"k\n":"é测\ud83d\ude00"}`, "{\"k\\n\":\"é测\U0001F600\"}"},
		{`"\uDEAD"`, `"\\uDEAD"`},
		{`-0`, `0`},
		{`-5`, `-5`},
		{`18446744073709551615`, `18446744073709551615`},
		// Floats as ryu prints them.
		{`1.0`, `1.0`},
		{`-0.0`, `-0.0`},
		{`0.0`, `0.0`},
		{`100.0`, `100.0`},
		{`1.5`, `1.5`},
		{`123456.789`, `123456.789`},
		{`1e15`, `1000000000000000.0`},
		{`1e16`, `1e16`},
		{`1.5e16`, `1.5e16`},
		{`1234567890123456.7`, `1234567890123456.8`},
		{`12345678901234567.0`, `1.2345678901234568e16`},
		{`1e21`, `1e21`},
		{`0.001234`, `0.001234`},
		{`0.0001`, `0.0001`},
		{`0.00001`, `0.00001`},
		{`0.000001`, `1e-6`},
		{`1.5e-7`, `1.5e-7`},
		{`5e-324`, `5e-324`},
		{`1.7976931348623157e308`, `1.7976931348623157e308`},
		{`-2.5e-300`, `-2.5e-300`},
		{`1e400`, `inf`},
		{`-1e400`, `-inf`},
		{`9223372036854775808.0`, `9.223372036854776e18`},
	}
	for _, tc := range tests {
		doc, err := Parse([]byte(tc.text))
		if err != nil {
			t.Errorf("Parse(%s): %v", tc.text, err)
			continue
		}
		if got, err := ToJSON(doc); err != nil || got != tc.want {
			t.Errorf("ToJSON of %s = %q, %v; want %q", tc.text, got, err, tc.want)
		}
	}
	if got, _ := ToJSON(document(math.NaN())); got != "NaN" {
		t.Errorf("ToJSON of NaN = %q", got)
	}
}

// TestParseQuirks pins what the crate's parser does beyond JSON.
func TestParseQuirks(t *testing.T) {
	ok := []struct {
		text string
		want any
	}{
		{"\"raw\x01control\ttab\"", "raw\x01control\ttab"},
		{`"\uD800"`, `\uD800`},
		{`"\ud800x"`, `\ud800x`},
		{`"\uD800\u0041"`, `\uD800\u0041`}, // the escape after a lone high surrogate is kept too
		{`"\uD800\uD800\uDC00"`, `\uD800\uD800\uDC00`},
		{`"\u{D83D}\u{DC8E}"`, "💎"},
		{`"\uD83D\u{DC8E}"`, "💎"},
		{`"\uDBFF\uDFFF"`, "\U0010FFFF"},
		{`"\u0000"`, "\x00"},
		{"\\n[\\t1\\r]\\x0C", []any{uint64(1)}},
		{" \f\r\n\t1", uint64(1)},
		{`{"a":1,"a":{"b":2},"a":3}`, Object{{"a", uint64(3)}}},
		{`{"é":1,"z":2,"É":3,"":4}`, Object{{"", uint64(4)}, {"z", uint64(2)}, {"É", uint64(3)}, {"é", uint64(1)}}},
		{`{"\uFFFD":1,"\ufffd":2}`, Object{{"\uFFFD", uint64(2)}}},
	}
	for _, tc := range ok {
		got, err := Parse([]byte(tc.text))
		if want := document(tc.want); err != nil || !bytes.Equal(got, want) {
			t.Errorf("Parse(%q) = % x, %v; want % x", tc.text, got, err, want)
		}
	}
	bad := []string{
		"", " ", "\v1", "1\v", `"\x"`, `"\u12"`, `"\uZZZZ"`, `"\u{12345}"`, `"\u{12"}`, `"\u"`, `"a\`, `"\uD800\u"`,
		"\"\xff\"", "\"\xed\xa0\x80\"", "\"\\n\xff\"", `"\uD800\uZZZZ"`, "\\", "\\x0c1", "NaN", "Infinity", "+1", "01", "-",
		"[1,]", "{,}", `{"a":1,}`, `{1:2}`, `{"a" "b"}`, "nul", "True", "[1 2]",
	}
	for _, text := range bad {
		if got, err := Parse([]byte(text)); err == nil {
			t.Errorf("Parse(%q) = % x, want an error", text, got)
		}
	}
}
