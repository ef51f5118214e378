package jsonb

import (
	"bytes"
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonenc"
)

// shapeKeys are key sequences that the shape cache must tell apart: the
// same count and first key with other keys after it, the same keys in
// another order, keys that differ only in the middle, duplicates, keys
// repaired into one, keys that are prefixes of each other.
var shapeKeys = [][]string{
	{"event.name", "a", "b"},
	{"event.name", "a", "c"},
	{"event.name", "b", "a"},
	{"event.name", "a", "b", "c"},
	{"event.name", "a", "a"},
	{"user.1234.id", "x"},
	{"user.1299.id", "x"},
	{"x", "user.1234.id"},
	{"k\xff", "k\xfe", "z"},
	{"k\uFFFD", "k\xfe", "z"},
	{"ab", "a", "abc", "a\x00"},
	{"", "a"},
	{"a", ""},
	{"é", "z", "É", "", "a", "B", "测"},
}

// shapeValue is a map of keys, the i-th key holding v+i, or a nested map
// for every third key.
func shapeValue(t testing.TB, keys []string, v int) pcommon.Value {
	m := mapWithDuplicates(t, keys...)
	i := 0
	for _, mv := range m.Map().All() {
		if i%3 == 2 {
			inner := mv.SetEmptyMap()
			inner.PutInt("n", int64(v+i))
			inner.PutStr("s", strconv.Itoa(v))
		} else {
			mv.SetInt(int64(v + i))
		}
		i++
	}
	return m
}

// TestShapeCache writes maps of the shapes above, interleaved and again,
// with one Encoder: each must be the parse of jsonenc's text, whichever
// shapes were remembered before.
func TestShapeCache(t *testing.T) {
	var e Encoder
	for round := range 4 {
		for i, keys := range shapeKeys {
			for _, j := range []int{i, len(shapeKeys) - 1 - i, i} {
				v := shapeValue(t, shapeKeys[j], round*100+j)
				want := parseText(t, jsonenc.AppendValue(nil, v, 0))
				if got := e.AppendValue(nil, v); !bytes.Equal(got, want) {
					t.Fatalf("round %d, keys %q:\n got % x\nwant % x", round, shapeKeys[j], got, want)
				}
				// The same map as a payload's attributes, its shape guessed
				// within a composed object.
				o := e.Object()
				o.PutMap("attributes", v.Map())
				o.PutStr("k", keys[0])
				text := append([]byte(`{"attributes":`), jsonenc.AppendValue(nil, v, 1)...)
				text = append(append(append(text, `,"k":`...), jsonenc.AppendString(nil, keys[0])...), '}')
				if got, want := o.AppendTo(nil), parseText(t, text); !bytes.Equal(got, want) {
					t.Fatalf("round %d, keys %q in a payload:\n got % x\nwant % x", round, shapeKeys[j], got, want)
				}
			}
		}
	}
	// Every shape of two keys or more was remembered (the nested {n, s}
	// and the payload objects too), and the cache is not full.
	if e.shapes.n < len(shapeKeys) || e.shapes.n == maxShapes {
		t.Errorf("%d shapes remembered, want %d to %d", e.shapes.n, len(shapeKeys), maxShapes-1)
	}
}

// TestShapeCacheFull writes more shapes than the cache holds, in one
// document and across documents, and keys that never repeat.
func TestShapeCacheFull(t *testing.T) {
	many := pcommon.NewValueMap()
	for i := range 3 * maxShapes {
		inner := many.Map().PutEmptyMap("m" + strconv.Itoa(i))
		for j := range 2 + i%5 {
			inner.PutInt("k"+strconv.Itoa(i)+"_"+strconv.Itoa(j), int64(j))
		}
	}
	want := parseText(t, jsonenc.AppendValue(nil, many, 0))
	var e Encoder
	for range 3 {
		if got := e.AppendValue(nil, many); !bytes.Equal(got, want) {
			t.Fatalf("a document of %d shapes:\n got % x\nwant % x", 3*maxShapes, got, want)
		}
	}
	if e.shapes.n > maxShapes {
		t.Fatalf("%d shapes remembered, more than %d", e.shapes.n, maxShapes)
	}

	// Documents of one shape each, more shapes than the cache holds, in a
	// cycle: the cache fills and starts afresh, and writes them right.
	docs := make([]pcommon.Value, 3*maxShapes)
	wants := make([][]byte, len(docs))
	for i := range docs {
		docs[i] = shapeValue(t, []string{"id", "n" + strconv.Itoa(i), "z"}, i)
		wants[i] = parseText(t, jsonenc.AppendValue(nil, docs[i], 0))
	}
	for round := range 3 {
		for i, d := range docs {
			if got := e.AppendValue(nil, d); !bytes.Equal(got, wants[i]) {
				t.Fatalf("round %d, document %d:\n got % x\nwant % x", round, i, got, wants[i])
			}
		}
	}
}

// TestShapeCacheUnique checks that keys seen once are not remembered: a
// map whose keys never repeat leaves room for those that do.
func TestShapeCacheUnique(t *testing.T) {
	var e Encoder
	for i := range 10 * maxShapes {
		v := shapeValue(t, []string{"request." + strconv.Itoa(i), "status"}, i)
		want := parseText(t, jsonenc.AppendValue(nil, v, 0))
		if got := e.AppendValue(nil, v); !bytes.Equal(got, want) {
			t.Fatalf("document %d:\n got % x\nwant % x", i, got, want)
		}
	}
	if e.shapes.n != 0 {
		t.Errorf("%d shapes remembered of keys seen once", e.shapes.n)
	}
}

// TestEncoderDoesNotAllocateCycling checks that a cache that fills and
// starts afresh reuses its memory.
func TestEncoderDoesNotAllocateCycling(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	docs := make([]pcommon.Map, 2*maxShapes)
	for i := range docs {
		docs[i] = shapeValue(t, []string{"id", "n" + strconv.Itoa(i), "z"}, i).Map()
	}
	var e Encoder
	var buf []byte
	write := func() {
		for _, d := range docs {
			buf = e.AppendMap(buf[:0], d)
		}
	}
	write()
	write()
	if n := testing.AllocsPerRun(20, write); n != 0 {
		t.Fatalf("%v allocations per run, want 0", n)
	}
}

// TestShapeCacheHashCollision checks that shapes are told apart by their
// keys when their hashes are the same.
func TestShapeCacheHashCollision(t *testing.T) {
	var c shapeCache
	a, b := []string{"a", "bc"}, []string{"b", "ac"}
	for range 2 { // remembered when seen again
		c.add(a, 42, []int32{0, 1}, []byte("start a"))
	}
	if sh := c.find(a, 42); sh == nil || string(sh.start) != "start a" {
		t.Fatalf("find(a) = %+v", sh)
	}
	if sh := c.find(b, 42); sh != nil {
		t.Fatalf("find(b) = %+v, the shape of a", sh)
	}
	for range 2 {
		c.add(b, 42, []int32{1, 0}, []byte("start b"))
	}
	if sh := c.find(b, 42); sh == nil || string(sh.start) != "start b" {
		t.Fatalf("find(b) = %+v", sh)
	}
	if sh := c.find(a, 42); sh == nil || string(sh.start) != "start a" {
		t.Fatalf("find(a) = %+v", sh)
	}
}
