package jsonenc

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestAppendJSONValue(t *testing.T) {
	tests := []struct {
		name  string
		value func() pcommon.Value
		want  string
	}{
		{name: "empty", value: pcommon.NewValueEmpty, want: `null`},
		{name: "string", value: func() pcommon.Value { return pcommon.NewValueStr("plain") }, want: `"plain"`},
		{name: "escapes", value: func() pcommon.Value { return pcommon.NewValueStr("q\" b\\ n\n r\r t\t \x01 \x1f <&>") },
			want: `"q\" b\\ n\n r\r t\t \u0001 \u001f <&>"`},
		{name: "invalid UTF-8 becomes U+FFFD", value: func() pcommon.Value { return pcommon.NewValueStr("a\xffb\xc3") }, want: `"a\ufffdb\ufffd"`},
		{name: "multi-byte UTF-8 kept", value: func() pcommon.Value { return pcommon.NewValueStr("héllo 世界 🎉") }, want: `"héllo 世界 🎉"`},
		{name: "int", value: func() pcommon.Value { return pcommon.NewValueInt(math.MinInt64) }, want: `-9223372036854775808`},
		{name: "double", value: func() pcommon.Value { return pcommon.NewValueDouble(12.5) }, want: `12.5`},
		{name: "tiny double", value: func() pcommon.Value { return pcommon.NewValueDouble(1e-7) }, want: `1e-07`},
		{name: "huge double", value: func() pcommon.Value { return pcommon.NewValueDouble(1e21) }, want: `1e+21`},
		{name: "NaN", value: func() pcommon.Value { return pcommon.NewValueDouble(math.NaN()) }, want: `null`},
		{name: "+Inf", value: func() pcommon.Value { return pcommon.NewValueDouble(math.Inf(1)) }, want: `null`},
		{name: "-Inf", value: func() pcommon.Value { return pcommon.NewValueDouble(math.Inf(-1)) }, want: `null`},
		{name: "bool", value: func() pcommon.Value { return pcommon.NewValueBool(true) }, want: `true`},
		{name: "bytes as base64", value: func() pcommon.Value {
			v := pcommon.NewValueBytes()
			v.Bytes().FromRaw([]byte{0, 1, 2, 0xff})
			return v
		}, want: `"AAEC/w=="`},
		{name: "map", value: func() pcommon.Value {
			v := pcommon.NewValueMap()
			v.Map().PutStr("k\xff", "v")
			v.Map().PutEmptyMap("nested").PutInt("n", 1)
			v.Map().PutEmpty("empty")
			return v
		}, want: `{"k\ufffd":"v","nested":{"n":1},"empty":null}`},
		{name: "slice", value: func() pcommon.Value {
			v := pcommon.NewValueSlice()
			require.NoError(t, v.Slice().FromRaw([]any{1, "two", 3.5, false, nil, []any{}}))
			return v
		}, want: `[1,"two",3.5,false,null,[]]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendValue(nil, tt.value(), 0)
			assert.Equal(t, tt.want, string(got))
			assert.True(t, json.Valid(got), "output must be valid JSON")
		})
	}
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "abc", "\x00\x7f", "tab\tnew\nline", `"quoted" \back\`, "日本語", "\u2028\u2029", "emoji 🎉"} {
		var decoded string
		require.NoError(t, json.Unmarshal(AppendString(nil, s), &decoded))
		assert.Equal(t, s, decoded)
	}
}

func TestAppendJSONDepthIsBounded(t *testing.T) {
	v := pcommon.NewValueMap()
	m := v.Map()
	for range 10_000 {
		m = m.PutEmptyMap("d")
	}
	s := pcommon.NewValueSlice()
	sl := s.Slice()
	for range 10_000 {
		sl = sl.AppendEmpty().SetEmptySlice()
	}

	for _, deep := range []pcommon.Value{v, s} {
		got := AppendValue(nil, deep, 0)

		require.True(t, json.Valid(got))
		assert.Equal(t, MaxDepth, strings.Count(string(got), "{")+strings.Count(string(got), "["))
		assert.Contains(t, string(got), DepthMarker)
	}
}

func TestNeedsEscape8(t *testing.T) {
	for c := range 256 {
		for pos := range 8 {
			b := []byte("abcdefgh")
			b[pos] = byte(c)
			want := c < 0x20 || c == '"' || c == '\\' || c >= 0x80
			assert.Equal(t, want, needsEscape8(load8(string(b), 0)), "byte %#x at %d", c, pos)
		}
	}
}

func TestNeedsEscape(t *testing.T) {
	for n := range 20 {
		plain := strings.Repeat("p", n)
		assert.False(t, needsEscape(plain), "%q", plain)
		for pos := range n {
			for _, c := range []byte{0, 0x1f, '"', '\\', 0x80, 0xff} {
				b := []byte(plain)
				b[pos] = c
				assert.True(t, needsEscape(string(b)), "%q", b)
			}
		}
	}
}

// benchStrings are the keys and values of a typical event: short keys, a
// sentence, an address, a user agent.
var benchStrings = []string{"message", "user checked out their basket", "status", "ok", "latency_ms", "cached",
	"client", "ip", "203.0.113.7", "agent", "Mozilla/5.0", "user.id", "user-0042", "http.method", "POST",
	"http.route", "/api/checkout", "http.status_code", "region", "eu-west-1"}

func BenchmarkAppendString(b *testing.B) {
	var buf []byte
	for range b.N {
		buf = buf[:0]
		for _, s := range benchStrings {
			buf = AppendString(buf, s)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(benchStrings)), "ns/string")
}

// FuzzJSON writes arbitrary strings as JSON keys and values: the output is
// always valid JSON, and valid UTF-8 comes back unchanged.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{"", "plain", "\x00\x1f\"\\", "\xff\xfe", "héllo 世界", "\u2028\u2029", "a\xc3"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		v := pcommon.NewValueMap()
		v.Map().PutStr(key, value)
		v.Map().PutEmptySlice("list").AppendEmpty().SetStr(value)
		out := AppendValue(nil, v, 0)
		var decoded map[string]any
		if err := json.Unmarshal(out, &decoded); err != nil {
			t.Fatalf("invalid JSON %q: %v", out, err)
		}
		if key != "list" && utf8.ValidString(key) && utf8.ValidString(value) && decoded[key] != value {
			t.Fatalf("%q: got %q, want %q", key, decoded[key], value)
		}
	})
}
