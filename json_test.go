package greptimeeventsexporter

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

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
			got := appendJSONValue(nil, tt.value(), 0)
			assert.Equal(t, tt.want, string(got))
			assert.True(t, json.Valid(got), "output must be valid JSON")
		})
	}
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "abc", "\x00\x7f", "tab\tnew\nline", `"quoted" \back\`, "日本語", "\u2028\u2029", "emoji 🎉"} {
		var decoded string
		require.NoError(t, json.Unmarshal(appendJSONString(nil, s), &decoded))
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
		got := appendJSONValue(nil, deep, 0)

		require.True(t, json.Valid(got))
		assert.Equal(t, maxJSONDepth, strings.Count(string(got), "{")+strings.Count(string(got), "["))
		assert.Contains(t, string(got), depthMarker)
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
