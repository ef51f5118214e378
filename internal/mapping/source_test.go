package mapping

import (
	"math"
	"testing"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonb"
)

func TestConvert(t *testing.T) {
	str := func(s string) value { return value{kind: valuePdata, v: pcommon.NewValueStr(s)} }
	num := func(i int64) value { return value{kind: valuePdata, v: pcommon.NewValueInt(i)} }
	dbl := func(d float64) value { return value{kind: valuePdata, v: pcommon.NewValueDouble(d)} }
	boolean := func(b bool) value { return value{kind: valuePdata, v: pcommon.NewValueBool(b)} }
	raw := func(v any) value {
		pv := pcommon.NewValueEmpty()
		require.NoError(t, pv.FromRaw(v))
		return value{kind: valuePdata, v: pv}
	}
	null := &greptimev1.Value{}

	tests := []struct {
		name   string
		in     value
		typ    ColumnType
		want   *greptimev1.Value
		wantOK bool
	}{
		{name: "absent is null, not counted", in: value{}, typ: TypeInt64, want: null, wantOK: true},

		{name: "string from string", in: str("a"), typ: TypeString, want: strV("a"), wantOK: true},
		{name: "string from invalid UTF-8", in: str("a\xff"), typ: TypeString, want: strV("a\uFFFD"), wantOK: true},
		{name: "string from int", in: num(-3), typ: TypeString, want: strV("-3"), wantOK: true},
		{name: "string from double", in: dbl(2.5), typ: TypeString, want: strV("2.5"), wantOK: true},
		{name: "string from bool", in: boolean(true), typ: TypeString, want: strV("true"), wantOK: true},
		{name: "string from bytes", in: raw([]byte{1, 2}), typ: TypeString, want: strV("AQI="), wantOK: true},
		{name: "string from map is JSON", in: raw(map[string]any{"a": 1}), typ: TypeString, want: strV(`{"a":1}`), wantOK: true},
		{name: "string from slice is JSON", in: raw([]any{"x", 1}), typ: TypeString, want: strV(`["x",1]`), wantOK: true},
		{name: "string from record field", in: value{kind: valueString, s: "scope"}, typ: TypeString, want: strV("scope"), wantOK: true},
		{name: "string from record field with invalid UTF-8", in: value{kind: valueString, s: "sc\xffope"}, typ: TypeString, want: strV("sc\uFFFDope"), wantOK: true},
		{name: "string from severity number", in: value{kind: valueInt, i: 9}, typ: TypeString, want: strV("9"), wantOK: true},

		{name: "int64 from int", in: num(42), typ: TypeInt64, want: i64V(42), wantOK: true},
		{name: "int64 from integral double", in: dbl(42), typ: TypeInt64, want: i64V(42), wantOK: true},
		{name: "int64 from fractional double", in: dbl(42.5), typ: TypeInt64, want: null},
		{name: "int64 from out-of-range double", in: dbl(1e19), typ: TypeInt64, want: null},
		{name: "int64 from NaN", in: dbl(math.NaN()), typ: TypeInt64, want: null},
		{name: "int64 from numeric string", in: str("-7"), typ: TypeInt64, want: i64V(-7), wantOK: true},
		{name: "int64 from text", in: str("seven"), typ: TypeInt64, want: null},
		{name: "int64 from bool", in: boolean(true), typ: TypeInt64, want: null},
		{name: "int64 from map", in: raw(map[string]any{}), typ: TypeInt64, want: null},
		{name: "int64 from severity number", in: value{kind: valueInt, i: 17}, typ: TypeInt64, want: i64V(17), wantOK: true},

		{name: "float64 from double", in: dbl(0.25), typ: TypeFloat64, want: f64V(0.25), wantOK: true},
		{name: "float64 from int", in: num(3), typ: TypeFloat64, want: f64V(3), wantOK: true},
		{name: "float64 from numeric string", in: str("1.5e3"), typ: TypeFloat64, want: f64V(1500), wantOK: true},
		{name: "float64 from text", in: str("fast"), typ: TypeFloat64, want: null},
		{name: "float64 from bool", in: boolean(false), typ: TypeFloat64, want: null},

		{name: "bool from bool", in: boolean(true), typ: TypeBool, want: boolV(true), wantOK: true},
		{name: "bool from string", in: str("false"), typ: TypeBool, want: boolV(false), wantOK: true},
		{name: "bool from other string", in: str("yes"), typ: TypeBool, want: null},
		{name: "bool from int", in: num(1), typ: TypeBool, want: null},

		{name: "timestamp from int nanoseconds", in: num(1_700_000_000_000_000_000), typ: TypeTimestamp, want: tsV(1_700_000_000_000_000_000), wantOK: true},
		{name: "timestamp from RFC 3339", in: str("2026-11-26T12:00:00.5Z"), typ: TypeTimestamp, want: tsV(1_795_694_400_500_000_000), wantOK: true},
		{name: "timestamp from year 3000", in: str("3000-01-01T00:00:00Z"), typ: TypeTimestamp, want: null},
		{name: "timestamp from text", in: str("yesterday"), typ: TypeTimestamp, want: null},
		{name: "timestamp from double", in: dbl(1.5), typ: TypeTimestamp, want: null},
		{name: "timestamp from a time", in: value{kind: valueTime, i: 42}, typ: TypeTimestamp, want: tsV(42), wantOK: true},

		{name: "json from map", in: raw(map[string]any{"a": []any{1, nil}}), typ: TypeJSON, want: strV(`{"a":[1,null]}`), wantOK: true},
		{name: "json from string is a JSON string", in: str(`{"a":1}`), typ: TypeJSON, want: strV(`"{\"a\":1}"`), wantOK: true},
		{name: "json from int", in: num(5), typ: TypeJSON, want: strV(`5`), wantOK: true},
		{name: "json from NaN is null JSON", in: dbl(math.NaN()), typ: TypeJSON, want: strV(`null`), wantOK: true},
		{name: "json from record string", in: value{kind: valueString, s: "ab"}, typ: TypeJSON, want: strV(`"ab"`), wantOK: true},
		{name: "json from keys", in: value{kind: valueKeys, keys: []string{"a", "b\x00"}}, typ: TypeJSON, want: strV(`["a","b\u0000"]`), wantOK: true},
		{name: "string from trace id", in: value{kind: valueID, id: [16]byte{0xab, 0x01}, idLen: 16}, typ: TypeString, want: strV("ab010000000000000000000000000000"), wantOK: true},
		{name: "json from span id", in: value{kind: valueID, id: [16]byte{0xcd}, idLen: 8}, typ: TypeJSON, want: strV(`"cd00000000000000"`), wantOK: true},
		{name: "int64 from span id", in: value{kind: valueID, id: [16]byte{0xcd}, idLen: 8}, typ: TypeInt64, want: null},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c converter
			b, ok := c.appendCell(nil, tt.in, tt.typ)
			assert.Empty(t, cmp.Diff(tt.want, decodeValue(t, b), protocmp.Transform()))
			assert.Equal(t, tt.wantOK, ok)
			if tt.typ == TypeJSON && tt.in.kind != valueAbsent {
				// As JSONB: what GreptimeDB makes of the text.
				c.binary = true
				b, ok := c.appendCell(nil, tt.in, tt.typ)
				assert.True(t, ok)
				want, err := jsonb.Parse([]byte(tt.want.GetStringValue()))
				require.NoError(t, err)
				assert.Equal(t, want, decodeValue(t, b).GetBinaryValue())
			}
		})
	}
}

func TestReadSource(t *testing.T) {
	ld := sampleLogs()
	login, expired := eventOf(ld, 0), eventOf(ld, 2)

	tests := []struct {
		source string
		ev     *Event
		want   any
	}{
		{source: "attributes.user.id", ev: login, want: "alice"},
		{source: "attributes.missing", ev: login, want: nil},
		{source: "resource.host.name", ev: login, want: "auth-1"},
		{source: "body.method", ev: login, want: "password"},
		{source: "body.method", ev: expired, want: nil}, // the body is not a map
		{source: "body", ev: expired, want: "session ended after 30m"},
		{source: "scope.name", ev: login, want: "auth/events"},
		{source: "scope.version", ev: login, want: nil},
		{source: "severity_text", ev: login, want: "INFO"},
		{source: "severity_number", ev: login, want: "9"},
		{source: "severity_number", ev: expired, want: nil},
		{source: "trace_id", ev: expired, want: "aa0102030405060708090a0b0c0d0e0f"},
		{source: "span_id", ev: expired, want: "bb01020304050607"},
		{source: "trace_id", ev: login, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			assert.Equal(t, tt.want, readAsString(t, tt.source, tt.ev))
		})
	}
}

// readAsString is what a string column of source holds for ev, nil for null.
func readAsString(t *testing.T, source string, ev *Event) any {
	t.Helper()
	src, err := parseSource(source)
	require.NoError(t, err)
	var c converter
	b, ok := c.appendCell(nil, src.read(ev), TypeString)
	require.True(t, ok)
	return cellOf(decodeValue(t, b))
}

func TestCheckSource(t *testing.T) {
	for _, ok := range []string{"attributes.a", "attributes.a.b", "resource.service.name", "body.x", "body", "scope.name", "scope.version",
		"severity_text", "severity_number", "trace_id", "span_id", "span.name", "span.kind", "span.status_code",
		"span.status_message", "span.parent_span_id", "span.attributes.http.route"} {
		assert.NoError(t, CheckSource(ok), ok)
	}
	assert.EqualError(t, CheckSource(""), "must not be empty")
	for _, bad := range []string{"attributes", "attributes.", "span", "span.attributes.", "span.attributes", "span.Name", "Body", "resource"} {
		assert.ErrorContains(t, CheckSource(bad), "is unknown", bad)
	}
}

func strV(s string) *greptimev1.Value {
	return &greptimev1.Value{ValueData: &greptimev1.Value_StringValue{StringValue: s}}
}

func i64V(i int64) *greptimev1.Value {
	return &greptimev1.Value{ValueData: &greptimev1.Value_I64Value{I64Value: i}}
}

func f64V(f float64) *greptimev1.Value {
	return &greptimev1.Value{ValueData: &greptimev1.Value_F64Value{F64Value: f}}
}

func boolV(b bool) *greptimev1.Value {
	return &greptimev1.Value{ValueData: &greptimev1.Value_BoolValue{BoolValue: b}}
}

func tsV(ns int64) *greptimev1.Value {
	return &greptimev1.Value{ValueData: &greptimev1.Value_TimestampNanosecondValue{TimestampNanosecondValue: ns}}
}

// decodeValue decodes one Row.values entry, as appendCell writes it.
func decodeValue(t *testing.T, b []byte) *greptimev1.Value {
	t.Helper()
	var row greptimev1.Row
	require.NoError(t, proto.Unmarshal(b, &row))
	require.Len(t, row.Values, 1)
	return row.Values[0]
}
