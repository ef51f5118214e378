package greptimeeventsexporter

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestConvert(t *testing.T) {
	str := func(s string) field { return field{kind: fieldValue, v: pcommon.NewValueStr(s)} }
	num := func(i int64) field { return field{kind: fieldValue, v: pcommon.NewValueInt(i)} }
	dbl := func(d float64) field { return field{kind: fieldValue, v: pcommon.NewValueDouble(d)} }
	boolean := func(b bool) field { return field{kind: fieldValue, v: pcommon.NewValueBool(b)} }
	raw := func(v any) field {
		pv := pcommon.NewValueEmpty()
		require.NoError(t, pv.FromRaw(v))
		return field{kind: fieldValue, v: pv}
	}
	null := cell{}

	tests := []struct {
		name   string
		in     field
		typ    ColumnType
		want   cell
		wantOK bool
	}{
		{name: "absent is null, not counted", in: field{}, typ: ColumnTypeInt64, want: null, wantOK: true},

		{name: "string from string", in: str("a"), typ: ColumnTypeString, want: cell{kind: cellString, s: "a"}, wantOK: true},
		{name: "string from invalid UTF-8", in: str("a\xff"), typ: ColumnTypeString, want: cell{kind: cellString, s: "a\uFFFD"}, wantOK: true},
		{name: "string from int", in: num(-3), typ: ColumnTypeString, want: cell{kind: cellString, s: "-3"}, wantOK: true},
		{name: "string from double", in: dbl(2.5), typ: ColumnTypeString, want: cell{kind: cellString, s: "2.5"}, wantOK: true},
		{name: "string from bool", in: boolean(true), typ: ColumnTypeString, want: cell{kind: cellString, s: "true"}, wantOK: true},
		{name: "string from bytes", in: raw([]byte{1, 2}), typ: ColumnTypeString, want: cell{kind: cellString, s: "AQI="}, wantOK: true},
		{name: "string from map is JSON", in: raw(map[string]any{"a": 1}), typ: ColumnTypeString, want: cell{kind: cellString, s: `{"a":1}`}, wantOK: true},
		{name: "string from slice is JSON", in: raw([]any{"x", 1}), typ: ColumnTypeString, want: cell{kind: cellString, s: `["x",1]`}, wantOK: true},
		{name: "string from record field", in: field{kind: fieldStr, s: "scope"}, typ: ColumnTypeString, want: cell{kind: cellString, s: "scope"}, wantOK: true},
		{name: "string from severity number", in: field{kind: fieldInt, i: 9}, typ: ColumnTypeString, want: cell{kind: cellString, s: "9"}, wantOK: true},

		{name: "int64 from int", in: num(42), typ: ColumnTypeInt64, want: cell{kind: cellInt64, i: 42}, wantOK: true},
		{name: "int64 from integral double", in: dbl(42), typ: ColumnTypeInt64, want: cell{kind: cellInt64, i: 42}, wantOK: true},
		{name: "int64 from fractional double", in: dbl(42.5), typ: ColumnTypeInt64, want: null},
		{name: "int64 from out-of-range double", in: dbl(1e19), typ: ColumnTypeInt64, want: null},
		{name: "int64 from NaN", in: dbl(math.NaN()), typ: ColumnTypeInt64, want: null},
		{name: "int64 from numeric string", in: str("-7"), typ: ColumnTypeInt64, want: cell{kind: cellInt64, i: -7}, wantOK: true},
		{name: "int64 from text", in: str("seven"), typ: ColumnTypeInt64, want: null},
		{name: "int64 from bool", in: boolean(true), typ: ColumnTypeInt64, want: null},
		{name: "int64 from map", in: raw(map[string]any{}), typ: ColumnTypeInt64, want: null},
		{name: "int64 from severity number", in: field{kind: fieldInt, i: 17}, typ: ColumnTypeInt64, want: cell{kind: cellInt64, i: 17}, wantOK: true},

		{name: "float64 from double", in: dbl(0.25), typ: ColumnTypeFloat64, want: cell{kind: cellFloat64, f: 0.25}, wantOK: true},
		{name: "float64 from int", in: num(3), typ: ColumnTypeFloat64, want: cell{kind: cellFloat64, f: 3}, wantOK: true},
		{name: "float64 from numeric string", in: str("1.5e3"), typ: ColumnTypeFloat64, want: cell{kind: cellFloat64, f: 1500}, wantOK: true},
		{name: "float64 from text", in: str("fast"), typ: ColumnTypeFloat64, want: null},
		{name: "float64 from bool", in: boolean(false), typ: ColumnTypeFloat64, want: null},

		{name: "bool from bool", in: boolean(true), typ: ColumnTypeBool, want: cell{kind: cellBool, i: 1}, wantOK: true},
		{name: "bool from string", in: str("false"), typ: ColumnTypeBool, want: cell{kind: cellBool, i: 0}, wantOK: true},
		{name: "bool from other string", in: str("yes"), typ: ColumnTypeBool, want: null},
		{name: "bool from int", in: num(1), typ: ColumnTypeBool, want: null},

		{name: "timestamp from int nanoseconds", in: num(1_700_000_000_000_000_000), typ: ColumnTypeTimestamp, want: cell{kind: cellTimestamp, i: 1_700_000_000_000_000_000}, wantOK: true},
		{name: "timestamp from RFC 3339", in: str("2026-11-26T12:00:00.5Z"), typ: ColumnTypeTimestamp, want: cell{kind: cellTimestamp, i: 1_795_694_400_500_000_000}, wantOK: true},
		{name: "timestamp from year 3000", in: str("3000-01-01T00:00:00Z"), typ: ColumnTypeTimestamp, want: null},
		{name: "timestamp from text", in: str("yesterday"), typ: ColumnTypeTimestamp, want: null},
		{name: "timestamp from double", in: dbl(1.5), typ: ColumnTypeTimestamp, want: null},

		{name: "json from map", in: raw(map[string]any{"a": []any{1, nil}}), typ: ColumnTypeJSON, want: cell{kind: cellString, s: `{"a":[1,null]}`}, wantOK: true},
		{name: "json from string is a JSON string", in: str(`{"a":1}`), typ: ColumnTypeJSON, want: cell{kind: cellString, s: `"{\"a\":1}"`}, wantOK: true},
		{name: "json from int", in: num(5), typ: ColumnTypeJSON, want: cell{kind: cellString, s: `5`}, wantOK: true},
		{name: "json from NaN is null JSON", in: dbl(math.NaN()), typ: ColumnTypeJSON, want: cell{kind: cellString, s: `null`}, wantOK: true},
		{name: "json from record string", in: field{kind: fieldStr, s: "ab"}, typ: ColumnTypeJSON, want: cell{kind: cellString, s: `"ab"`}, wantOK: true},
		{name: "string from trace id", in: field{kind: fieldID, id: [16]byte{0xab, 0x01}, idN: 16}, typ: ColumnTypeString, want: cell{kind: cellString, s: "ab010000000000000000000000000000"}, wantOK: true},
		{name: "json from span id", in: field{kind: fieldID, id: [16]byte{0xcd}, idN: 8}, typ: ColumnTypeJSON, want: cell{kind: cellString, s: `"cd00000000000000"`}, wantOK: true},
		{name: "int64 from span id", in: field{kind: fieldID, id: [16]byte{0xcd}, idN: 8}, typ: ColumnTypeInt64, want: null},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cv converter
			got, ok := cv.convert(tt.in, tt.typ)
			assert.Equal(t, plainCell(tt.want), plainCell(got))
			assert.Equal(t, tt.wantOK, ok)
		})
	}
}

func TestReadSource(t *testing.T) {
	ld := goldenLogs()
	rl := ld.ResourceLogs().At(0)
	sl := rl.ScopeLogs().At(0)
	login := &recordRef{rl: rl, sl: sl, lr: sl.LogRecords().At(0)}
	expired := &recordRef{rl: rl, sl: sl, lr: sl.LogRecords().At(2)}

	tests := []struct {
		source string
		r      *recordRef
		want   any
	}{
		{source: "attributes.user.id", r: login, want: "alice"},
		{source: "attributes.missing", r: login, want: nil},
		{source: "resource.host.name", r: login, want: "auth-1"},
		{source: "body.method", r: login, want: "password"},
		{source: "body.method", r: expired, want: nil}, // the body is not a map
		{source: "body", r: expired, want: "session ended after 30m"},
		{source: "scope.name", r: login, want: "auth/events"},
		{source: "scope.version", r: login, want: nil},
		{source: "severity_text", r: login, want: "INFO"},
		{source: "severity_number", r: login, want: "9"},
		{source: "severity_number", r: expired, want: nil},
		{source: "trace_id", r: expired, want: "aa0102030405060708090a0b0c0d0e0f"},
		{source: "span_id", r: expired, want: "bb01020304050607"},
		{source: "trace_id", r: login, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			src, err := parseSource(tt.source)
			require.NoError(t, err)
			var cv converter
			c, ok := cv.convert(readSource(src, tt.r), ColumnTypeString)
			require.True(t, ok)
			var want cell
			if tt.want != nil {
				want = cell{kind: cellString, s: tt.want.(string)}
			}
			assert.Equal(t, plainCell(want), plainCell(c))
		})
	}
}

// plainCell is a cell with its text in s, wherever the converter put it.
func plainCell(c cell) cell {
	if c.kind == cellString {
		c.s = string(c.appendText(nil))
		c.b = nil
	}
	return c
}
