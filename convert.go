package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"encoding/base64"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// fieldKind says what a field read from a record holds.
type fieldKind uint8

const (
	fieldAbsent fieldKind = iota
	fieldValue            // an attribute, resource attribute or body value
	fieldStr              // a string record field (scope name, severity text)
	fieldInt              // an integer record field (severity number)
	fieldID               // a trace or span id, written as hex
)

// field is the value an extra column's source reads from a record.
type field struct {
	kind fieldKind
	v    pcommon.Value
	s    string
	i    int64
	id   [16]byte
	idN  int // bytes of id in use: 16 for a trace id, 8 for a span id
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
	case sourceConstant:
		return strField(src.key)
	case sourceSeverityNumber:
		if n := r.lr.SeverityNumber(); n != 0 {
			return field{kind: fieldInt, i: int64(n)}
		}
	case sourceTraceID:
		if id := r.lr.TraceID(); !id.IsEmpty() {
			f := field{kind: fieldID, idN: len(id)}
			copy(f.id[:], id[:])
			return f
		}
	case sourceSpanID:
		if id := r.lr.SpanID(); !id.IsEmpty() {
			f := field{kind: fieldID, idN: len(id)}
			copy(f.id[:], id[:])
			return f
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
	cellInt64
	cellFloat64
	cellBool
	cellTimestamp // nanoseconds in i
)

// cell is an extra-column value converted to its column's type. Text is
// either borrowed from the record (s) or written into the converter's
// scratch buffer (b); it is valid until the converter is reset.
type cell struct {
	kind cellKind
	s    string
	b    []byte
	i    int64
	f    float64
}

// textLen is the length of a string cell's text.
func (c *cell) textLen() int { return len(c.s) + len(c.b) }

// appendText appends a string cell's text.
func (c *cell) appendText(dst []byte) []byte {
	if c.b != nil {
		return append(dst, c.b...)
	}
	return append(dst, c.s...)
}

// converter converts fields to column types, writing any text it has to make
// (numbers, JSON, hex ids) into a scratch buffer it reuses between rows.
type converter struct {
	scratch []byte
}

// reset makes the scratch buffer reusable; cells converted before are invalid.
func (cv *converter) reset() { cv.scratch = cv.scratch[:0] }

// text appends text made by fn to the scratch buffer as a string cell.
func (cv *converter) text(fn func([]byte) []byte) cell {
	start := len(cv.scratch)
	cv.scratch = fn(cv.scratch)
	return cell{kind: cellString, b: cv.scratch[start:len(cv.scratch):len(cv.scratch)]}
}

// convert converts a field to a column type where that loses nothing: ints
// to floats, any scalar to a string, maps and slices to JSON text for string
// and json columns, strings that spell a number, bool or RFC 3339 time.
// Anything else becomes null with ok false, so the caller can count it; an
// absent field is null with ok true. A json column holds the field as JSON:
// a string becomes a JSON string.
func (cv *converter) convert(f field, typ ColumnType) (c cell, ok bool) {
	if f.kind == fieldAbsent {
		return cell{}, true
	}
	vt := pcommon.ValueTypeStr
	switch f.kind {
	case fieldInt:
		vt = pcommon.ValueTypeInt
	case fieldID:
		return cv.convertID(f, typ)
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
		switch vt {
		case pcommon.ValueTypeStr:
			return cv.text(func(b []byte) []byte { return appendJSONString(b, f.s) }), true
		case pcommon.ValueTypeInt:
			return cv.text(func(b []byte) []byte { return strconv.AppendInt(b, f.i, 10) }), true
		}
		return cv.text(func(b []byte) []byte { return appendJSONValue(b, f.v, 0) }), true
	case ColumnTypeString:
		switch vt {
		case pcommon.ValueTypeStr:
			if !utf8.ValidString(f.s) {
				return cv.text(func(b []byte) []byte { return appendValidUTF8(b, f.s) }), true
			}
			return cell{kind: cellString, s: f.s}, true
		case pcommon.ValueTypeInt:
			return cv.text(func(b []byte) []byte { return strconv.AppendInt(b, f.i, 10) }), true
		case pcommon.ValueTypeDouble:
			return cv.text(func(b []byte) []byte { return strconv.AppendFloat(b, f.v.Double(), 'g', -1, 64) }), true
		case pcommon.ValueTypeBool:
			return cv.text(func(b []byte) []byte { return strconv.AppendBool(b, f.v.Bool()) }), true
		case pcommon.ValueTypeBytes:
			return cv.text(func(b []byte) []byte { return base64.StdEncoding.AppendEncode(b, f.v.Bytes().AsRaw()) }), true
		default: // maps and slices
			return cv.text(func(b []byte) []byte { return appendJSONValue(b, f.v, 0) }), true
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

// convertID writes a trace or span id as hex text, the only lossless form.
func (cv *converter) convertID(f field, typ ColumnType) (cell, bool) {
	id := f.id[:f.idN]
	switch typ {
	case ColumnTypeString:
		return cv.text(func(b []byte) []byte { return appendHex(b, id) }), true
	case ColumnTypeJSON:
		return cv.text(func(b []byte) []byte {
			b = append(b, '"')
			return append(appendHex(b, id), '"')
		}), true
	}
	return cell{}, false
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// appendValidUTF8 appends s with each invalid byte sequence replaced by U+FFFD.
func appendValidUTF8(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

func appendInt(buf []byte, i int64) []byte { return strconv.AppendInt(buf, i, 10) }

func appendHex(buf, b []byte) []byte {
	for _, c := range b {
		buf = append(buf, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return buf
}
