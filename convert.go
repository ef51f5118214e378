package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// fieldKind says what a field read from a record holds.
type fieldKind uint8

const (
	fieldAbsent fieldKind = iota
	fieldValue            // an attribute, resource attribute or body value
	fieldStr              // a string record field (scope name, severity text, ids)
	fieldInt              // an integer record field (severity number)
)

// field is the value an extra column's source reads from a record.
type field struct {
	kind fieldKind
	v    pcommon.Value
	s    string
	i    int64
}

// readSource reads an extra column's source from a record.
func readSource(src source, r *recordRef) field {
	var (
		v  pcommon.Value
		ok bool
	)
	switch src.kind {
	case sourceAttribute:
		v, ok = r.lr.Attributes().Get(src.key)
	case sourceResource:
		v, ok = r.rl.Resource().Attributes().Get(src.key)
	case sourceBodyKey:
		if body := r.lr.Body(); body.Type() == pcommon.ValueTypeMap {
			v, ok = body.Map().Get(src.key)
		}
	case sourceBody:
		v, ok = r.lr.Body(), true
	case sourceScopeName:
		return strField(r.sl.Scope().Name())
	case sourceScopeVersion:
		return strField(r.sl.Scope().Version())
	case sourceSeverityText:
		return strField(r.lr.SeverityText())
	case sourceSeverityNumber:
		if n := r.lr.SeverityNumber(); n != 0 {
			return field{kind: fieldInt, i: int64(n)}
		}
	case sourceTraceID:
		if id := r.lr.TraceID(); !id.IsEmpty() {
			return field{kind: fieldStr, s: string(appendHex(nil, id[:]))}
		}
	case sourceSpanID:
		if id := r.lr.SpanID(); !id.IsEmpty() {
			return field{kind: fieldStr, s: string(appendHex(nil, id[:]))}
		}
	}
	if !ok || v.Type() == pcommon.ValueTypeEmpty {
		return field{}
	}
	return field{kind: fieldValue, v: v}
}

func strField(s string) field {
	if s == "" {
		return field{}
	}
	return field{kind: fieldStr, s: s}
}

// cellKind says what a cell of an extra column holds.
type cellKind uint8

const (
	cellNull cellKind = iota
	cellString
	cellJSON // JSON text in s
	cellInt64
	cellFloat64
	cellBool
	cellTimestamp // nanoseconds in i
)

// cell is an extra-column value converted to its column's type.
type cell struct {
	kind cellKind
	s    string
	i    int64
	f    float64
}

// convert converts a field to a column type where that loses nothing: ints
// to floats, any scalar to a string, maps and slices to JSON text for string
// and json columns, strings that spell a number, bool or RFC 3339 time.
// Anything else becomes null with ok false, so the caller can count it; an
// absent field is null with ok true.
func convert(f field, typ ColumnType) (c cell, ok bool) {
	if f.kind == fieldAbsent {
		return cell{}, true
	}
	// Fold the fixed record fields into the value types they match.
	vt := pcommon.ValueTypeStr
	switch f.kind {
	case fieldInt:
		vt = pcommon.ValueTypeInt
	case fieldValue:
		vt = f.v.Type()
		switch vt {
		case pcommon.ValueTypeStr:
			f.s = f.v.Str()
		case pcommon.ValueTypeInt:
			f.i = f.v.Int()
		}
	}
	switch typ {
	case ColumnTypeJSON:
		if vt == pcommon.ValueTypeStr {
			return cell{kind: cellJSON, s: string(appendJSONString(nil, f.s))}, true
		}
		if vt == pcommon.ValueTypeInt {
			return cell{kind: cellJSON, s: strconv.FormatInt(f.i, 10)}, true
		}
		return cell{kind: cellJSON, s: string(appendJSONValue(nil, f.v, 0))}, true
	case ColumnTypeString:
		switch vt {
		case pcommon.ValueTypeStr:
			return cell{kind: cellString, s: strings.ToValidUTF8(f.s, "\uFFFD")}, true
		case pcommon.ValueTypeInt:
			return cell{kind: cellString, s: strconv.FormatInt(f.i, 10)}, true
		case pcommon.ValueTypeDouble:
			return cell{kind: cellString, s: strconv.FormatFloat(f.v.Double(), 'g', -1, 64)}, true
		case pcommon.ValueTypeBool:
			return cell{kind: cellString, s: strconv.FormatBool(f.v.Bool())}, true
		case pcommon.ValueTypeBytes:
			return cell{kind: cellString, s: base64.StdEncoding.EncodeToString(f.v.Bytes().AsRaw())}, true
		default: // maps and slices
			return cell{kind: cellString, s: string(appendJSONValue(nil, f.v, 0))}, true
		}
	case ColumnTypeInt64:
		switch vt {
		case pcommon.ValueTypeInt:
			return cell{kind: cellInt64, i: f.i}, true
		case pcommon.ValueTypeDouble:
			if d := f.v.Double(); d == math.Trunc(d) && d >= math.MinInt64 && d < math.MaxInt64 {
				return cell{kind: cellInt64, i: int64(d)}, true
			}
		case pcommon.ValueTypeStr:
			if i, err := strconv.ParseInt(f.s, 10, 64); err == nil {
				return cell{kind: cellInt64, i: i}, true
			}
		}
	case ColumnTypeFloat64:
		switch vt {
		case pcommon.ValueTypeDouble:
			return cell{kind: cellFloat64, f: f.v.Double()}, true
		case pcommon.ValueTypeInt:
			return cell{kind: cellFloat64, f: float64(f.i)}, true
		case pcommon.ValueTypeStr:
			if d, err := strconv.ParseFloat(f.s, 64); err == nil {
				return cell{kind: cellFloat64, f: d}, true
			}
		}
	case ColumnTypeBool:
		switch {
		case vt == pcommon.ValueTypeBool:
			return cell{kind: cellBool, i: boolInt(f.v.Bool())}, true
		case vt == pcommon.ValueTypeStr && (f.s == "true" || f.s == "false"):
			return cell{kind: cellBool, i: boolInt(f.s == "true")}, true
		}
	case ColumnTypeTimestamp:
		switch vt {
		case pcommon.ValueTypeInt:
			return cell{kind: cellTimestamp, i: f.i}, true
		case pcommon.ValueTypeStr:
			if t, err := time.Parse(time.RFC3339Nano, f.s); err == nil && t.Year() >= 1678 && t.Year() <= 2261 {
				return cell{kind: cellTimestamp, i: t.UnixNano()}, true
			}
		}
	}
	return cell{}, false
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// protoValue is the cell as a greptime-proto Value; null is a Value without data.
func (c cell) protoValue() *greptimev1.Value {
	switch c.kind {
	case cellString, cellJSON:
		return &greptimev1.Value{ValueData: &greptimev1.Value_StringValue{StringValue: c.s}}
	case cellInt64:
		return &greptimev1.Value{ValueData: &greptimev1.Value_I64Value{I64Value: c.i}}
	case cellFloat64:
		return &greptimev1.Value{ValueData: &greptimev1.Value_F64Value{F64Value: c.f}}
	case cellBool:
		return &greptimev1.Value{ValueData: &greptimev1.Value_BoolValue{BoolValue: c.i != 0}}
	case cellTimestamp:
		return &greptimev1.Value{ValueData: &greptimev1.Value_TimestampNanosecondValue{TimestampNanosecondValue: c.i}}
	default:
		return &greptimev1.Value{}
	}
}

func appendInt(buf []byte, i int64) []byte { return strconv.AppendInt(buf, i, 10) }

func appendHex(buf, b []byte) []byte {
	for _, c := range b {
		buf = append(buf, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return buf
}
