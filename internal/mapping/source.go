package mapping

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonenc"
	"github.com/greptime-events/greptimeeventsexporter/internal/wire"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// Where a column's value comes from (a source), and how a value becomes a
// Row value of the column's type (a conversion).

// sourceKind says which part of an event a column reads.
type sourceKind uint8

const (
	// The sources of extra columns, which the configuration names.
	sourceAttribute sourceKind = iota
	sourceResource
	sourceBodyKey
	sourceBody
	sourceScopeName
	sourceScopeVersion
	sourceSeverityText
	sourceSeverityNumber
	sourceTraceID
	sourceSpanID

	// The base columns, written by the writer itself.
	sourceType
	sourcePayload
	sourceTimestamp
	sourceEventID

	// The dead-letter columns, which read the event's rejection.
	sourceTargetDatabase
	sourceTargetTable
	sourceErrorCode
	sourceGRPCCode
	sourceErrorMessage

	// The event catalog's columns, which read the event's catalog row.
	sourceCatalogTable
	sourceCatalogType
	sourceCatalogCollector
	sourceCatalogFirstSeen
	sourceCatalogLastSeen
	sourceCatalogEvents
	sourceCatalogPayloadKeys
)

// source is a parsed Column.Source.
type source struct {
	kind sourceKind
	key  string // for attributes.<key>, resource.<key> and body.<key>
}

var fixedSources = map[string]sourceKind{
	"body":            sourceBody,
	"scope.name":      sourceScopeName,
	"scope.version":   sourceScopeVersion,
	"severity_text":   sourceSeverityText,
	"severity_number": sourceSeverityNumber,
	"trace_id":        sourceTraceID,
	"span_id":         sourceSpanID,
}

var keyedSources = map[string]sourceKind{
	"attributes": sourceAttribute,
	"resource":   sourceResource,
	"body":       sourceBodyKey,
}

func parseSource(s string) (source, error) {
	if kind, ok := fixedSources[s]; ok {
		return source{kind: kind}, nil
	}
	prefix, key, found := strings.Cut(s, ".")
	if kind, ok := keyedSources[prefix]; ok && found && key != "" {
		return source{kind: kind, key: key}, nil
	}
	if s == "" {
		return source{}, fmt.Errorf("must not be empty")
	}
	return source{}, fmt.Errorf("%q is unknown (attributes.<key>, resource.<key>, body.<key>, body, scope.name, scope.version, severity_text, severity_number, trace_id, span_id)", s)
}

// valueKind says what a value read from an event holds.
type valueKind uint8

const (
	valueAbsent valueKind = iota
	valuePdata            // an attribute, resource attribute or body value
	valueString           // a string field (scope name, severity text, a rejection's)
	valueInt              // an integer field (severity number, an error code)
	valueID               // a trace or span id, written as hex
	valueTime             // a time, in nanoseconds since the epoch
	valueKeys             // a list of keys, written as a JSON array
)

// value is what a column's source reads from an event.
type value struct {
	kind  valueKind
	v     pcommon.Value
	s     string
	i     int64
	id    [16]byte
	idLen int // bytes of id in use: 16 for a trace id, 8 for a span id
	keys  []string
}

// read reads src from an event.
func (src source) read(ev *Event) value {
	var (
		v  pcommon.Value
		ok bool
	)
	switch src.kind {
	case sourceAttribute:
		v, ok = ev.lr.Attributes().Get(src.key)
	case sourceResource:
		v, ok = ev.rl.Resource().Attributes().Get(src.key)
	case sourceBodyKey:
		if body := ev.lr.Body(); body.Type() == pcommon.ValueTypeMap {
			v, ok = body.Map().Get(src.key)
		}
	case sourceBody:
		v, ok = ev.lr.Body(), true
	case sourceScopeName:
		return stringValue(ev.sl.Scope().Name())
	case sourceScopeVersion:
		return stringValue(ev.sl.Scope().Version())
	case sourceSeverityText:
		return stringValue(ev.lr.SeverityText())
	case sourceSeverityNumber:
		if n := ev.lr.SeverityNumber(); n != plog.SeverityNumberUnspecified {
			return value{kind: valueInt, i: int64(n)}
		}
	case sourceTraceID:
		if id := ev.lr.TraceID(); !id.IsEmpty() {
			f := value{kind: valueID, idLen: len(id)}
			copy(f.id[:], id[:])
			return f
		}
	case sourceSpanID:
		if id := ev.lr.SpanID(); !id.IsEmpty() {
			f := value{kind: valueID, idLen: len(id)}
			copy(f.id[:], id[:])
			return f
		}
	case sourceTargetDatabase, sourceTargetTable, sourceErrorCode, sourceGRPCCode, sourceErrorMessage:
		return ev.Rejection.read(src.kind)
	case sourceCatalogTable, sourceCatalogType, sourceCatalogCollector, sourceCatalogFirstSeen,
		sourceCatalogLastSeen, sourceCatalogEvents, sourceCatalogPayloadKeys:
		return ev.Catalog.read(src.kind)
	}
	if !ok || v.Type() == pcommon.ValueTypeEmpty {
		return value{}
	}
	return value{kind: valuePdata, v: v}
}

func stringValue(s string) value {
	if s == "" {
		return value{}
	}
	return value{kind: valueString, s: s}
}

// appendCell appends f converted to typ as a Row value, where that loses
// nothing: ints to floats, any scalar to a string, maps and slices to JSON
// text for string and json columns, strings that spell a number, bool or
// RFC 3339 time. Anything else is written as null with ok false, so the
// caller can count it; an absent value is null with ok true. A json column
// holds the value as JSON: a string becomes a JSON string. text is scratch
// space for the conversions that make text; it is returned grown.
func appendCell(b, text []byte, f value, typ ColumnType) (out, textOut []byte, ok bool) {
	switch f.kind {
	case valueAbsent:
		return wire.AppendNull(b), text, true
	case valueID:
		switch typ {
		case TypeString:
			return textCell(b, hex.AppendEncode(text[:0], f.id[:f.idLen]))
		case TypeJSON:
			return textCell(b, append(hex.AppendEncode(append(text[:0], '"'), f.id[:f.idLen]), '"'))
		}
		return wire.AppendNull(b), text, false
	case valueTime:
		if typ == TypeTimestamp {
			return wire.AppendTimestamp(b, f.i), text, true
		}
		return wire.AppendNull(b), text, false
	case valueKeys:
		if typ == TypeJSON {
			text = append(text[:0], '[')
			for i, k := range f.keys {
				if i > 0 {
					text = append(text, ',')
				}
				text = jsonenc.AppendString(text, k)
			}
			return textCell(b, append(text, ']'))
		}
		return wire.AppendNull(b), text, false
	}
	vt := f.valueType()
	switch typ {
	case TypeJSON:
		switch vt {
		case pcommon.ValueTypeStr:
			return textCell(b, jsonenc.AppendString(text[:0], f.s))
		case pcommon.ValueTypeInt:
			return textCell(b, strconv.AppendInt(text[:0], f.i, 10))
		}
		return textCell(b, jsonenc.AppendValue(text[:0], f.v, 0))
	case TypeString:
		if vt == pcommon.ValueTypeStr && utf8.ValidString(f.s) {
			return wire.AppendString(b, f.s), text, true // no copy of the text
		}
		text, _ = appendText(text[:0], f)
		return textCell(b, text)
	case TypeInt64:
		switch vt {
		case pcommon.ValueTypeInt:
			return wire.AppendInt64(b, f.i), text, true
		case pcommon.ValueTypeDouble:
			if d := f.v.Double(); d == math.Trunc(d) && d >= math.MinInt64 && d < math.MaxInt64 {
				return wire.AppendInt64(b, int64(d)), text, true
			}
		case pcommon.ValueTypeStr:
			if i, err := strconv.ParseInt(f.s, 10, 64); err == nil {
				return wire.AppendInt64(b, i), text, true
			}
		}
	case TypeFloat64:
		switch vt {
		case pcommon.ValueTypeDouble:
			return wire.AppendFloat64(b, f.v.Double()), text, true
		case pcommon.ValueTypeInt:
			return wire.AppendFloat64(b, float64(f.i)), text, true
		case pcommon.ValueTypeStr:
			if d, err := strconv.ParseFloat(f.s, 64); err == nil {
				return wire.AppendFloat64(b, d), text, true
			}
		}
	case TypeBool:
		switch {
		case vt == pcommon.ValueTypeBool:
			return wire.AppendBool(b, f.v.Bool()), text, true
		case vt == pcommon.ValueTypeStr && (f.s == "true" || f.s == "false"):
			return wire.AppendBool(b, f.s == "true"), text, true
		}
	case TypeTimestamp:
		switch vt {
		case pcommon.ValueTypeInt:
			return wire.AppendTimestamp(b, f.i), text, true
		case pcommon.ValueTypeStr:
			// GreptimeDB's nanosecond timestamps are int64 (src/common/time/src/timestamp.rs:46-49):
			// years 1678 to 2261 whole.
			if t, err := time.Parse(time.RFC3339Nano, f.s); err == nil && t.Year() >= 1678 && t.Year() <= 2261 {
				return wire.AppendTimestamp(b, t.UnixNano()), text, true
			}
		}
	}
	return wire.AppendNull(b), text, false
}

// valueType is the pdata type of a value that is not an id, a time or keys,
// with its string or integer moved to s or i.
func (f *value) valueType() pcommon.ValueType {
	switch f.kind {
	case valueInt:
		return pcommon.ValueTypeInt
	case valuePdata:
		vt := f.v.Type()
		switch vt {
		case pcommon.ValueTypeStr:
			f.s = f.v.Str()
		case pcommon.ValueTypeInt:
			f.i = f.v.Int()
		}
		return vt
	}
	return pcommon.ValueTypeStr
}

// appendText appends f as a string column holds it: text as it is (invalid
// UTF-8 replaced), numbers and bools in Go's notation, bytes in base64,
// maps and slices as JSON, ids in hex. ok is false for an absent value, and
// for the catalog's times and keys, which no string column reads.
func appendText(dst []byte, f value) (out []byte, ok bool) {
	switch f.kind {
	case valueAbsent, valueKeys, valueTime:
		return dst, false
	case valueID:
		return hex.AppendEncode(dst, f.id[:f.idLen]), true
	}
	switch f.valueType() {
	case pcommon.ValueTypeStr:
		return appendValidUTF8(dst, f.s), true
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, f.i, 10), true
	case pcommon.ValueTypeDouble:
		return strconv.AppendFloat(dst, f.v.Double(), 'g', -1, 64), true
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, f.v.Bool()), true
	case pcommon.ValueTypeBytes:
		return base64.StdEncoding.AppendEncode(dst, f.v.Bytes().AsRaw()), true
	default: // maps and slices
		return jsonenc.AppendValue(dst, f.v, 0), true
	}
}

// textCell appends text as a string value; text stays the caller's scratch.
func textCell(b, text []byte) (out, textOut []byte, ok bool) {
	return wire.AppendStringBytes(b, text), text, true
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
