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
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonb"
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
	sourceSpanName
	sourceSpanKind
	sourceSpanStatusCode
	sourceSpanStatusMessage
	sourceParentSpanID
	sourceSpanAttribute

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
	key  string // for attributes.<key>, resource.<key>, body.<key> and span.attributes.<key>
}

var fixedSources = map[string]sourceKind{
	"body":            sourceBody,
	"scope.name":      sourceScopeName,
	"scope.version":   sourceScopeVersion,
	"severity_text":   sourceSeverityText,
	"severity_number": sourceSeverityNumber,
	"trace_id":        sourceTraceID,
	"span_id":         sourceSpanID,
	// A span event's span; GreptimeDB's trace tables write the same
	// values (src/servers/src/otlp/trace/span.rs:206-243).
	"span.name":           sourceSpanName,
	"span.kind":           sourceSpanKind,
	"span.status_code":    sourceSpanStatusCode,
	"span.status_message": sourceSpanStatusMessage,
	"span.parent_span_id": sourceParentSpanID,
}

// spanAttributes prefixes the key of a span attribute source.
const spanAttributes = "span.attributes."

var keyedSources = map[string]sourceKind{
	"attributes": sourceAttribute,
	"resource":   sourceResource,
	"body":       sourceBodyKey,
}

func parseSource(s string) (source, error) {
	if kind, ok := fixedSources[s]; ok {
		return source{kind: kind}, nil
	}
	if key, ok := strings.CutPrefix(s, spanAttributes); ok && key != "" {
		return source{kind: sourceSpanAttribute, key: key}, nil
	}
	prefix, key, found := strings.Cut(s, ".")
	if kind, ok := keyedSources[prefix]; ok && found && key != "" {
		return source{kind: kind, key: key}, nil
	}
	if s == "" {
		return source{}, fmt.Errorf("must not be empty")
	}
	return source{}, fmt.Errorf("%q is unknown (attributes.<key>, resource.<key>, body.<key>, body, scope.name, scope.version, severity_text, severity_number, trace_id, span_id, span.name, span.kind, span.status_code, span.status_message, span.parent_span_id, span.attributes.<key>)", s)
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

// read reads src from an event. A log record has no span: the span
// sources read nothing from it, as the severity sources read nothing from a
// span event.
func (src source) read(ev *Event) value {
	var (
		v  pcommon.Value
		ok bool
	)
	switch src.kind {
	case sourceAttribute:
		v, ok = ev.Attributes().Get(src.key)
	case sourceResource:
		v, ok = ev.resource.Attributes().Get(src.key)
	case sourceBodyKey:
		if body := ev.Body(); body.Type() == pcommon.ValueTypeMap {
			v, ok = body.Map().Get(src.key)
		}
	case sourceBody:
		v, ok = ev.Body(), true
	case sourceScopeName:
		return stringValue(ev.scope.Name())
	case sourceScopeVersion:
		return stringValue(ev.scope.Version())
	case sourceSeverityText:
		if !ev.IsSpanEvent() {
			return stringValue(ev.lr.SeverityText())
		}
	case sourceSeverityNumber:
		if !ev.IsSpanEvent() && ev.lr.SeverityNumber() != plog.SeverityNumberUnspecified {
			return value{kind: valueInt, i: int64(ev.lr.SeverityNumber())}
		}
	case sourceTraceID:
		return ev.traceIDValue()
	case sourceSpanID:
		return ev.spanIDValue()
	case sourceSpanName, sourceSpanKind, sourceSpanStatusCode, sourceSpanStatusMessage, sourceParentSpanID:
		if ev.IsSpanEvent() {
			return readSpan(ev.span, src.kind)
		}
	case sourceSpanAttribute:
		if ev.IsSpanEvent() {
			v, ok = ev.span.Attributes().Get(src.key)
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

// readSpan reads a span's field.
func readSpan(span ptrace.Span, kind sourceKind) value {
	switch kind {
	case sourceSpanName:
		return stringValue(span.Name())
	case sourceSpanKind:
		return stringValue(SpanKindName(span.Kind()))
	case sourceSpanStatusCode:
		return stringValue(StatusCodeName(span.Status().Code()))
	case sourceSpanStatusMessage:
		return stringValue(span.Status().Message())
	case sourceParentSpanID:
		id := span.ParentSpanID()
		return idValue(id[:])
	}
	return value{}
}

// SpanKindName is a span kind as OTLP's protobuf names it, and GreptimeDB's
// trace tables write it (as_str_name, src/servers/src/otlp/trace/span.rs:213).
func SpanKindName(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindInternal:
		return "SPAN_KIND_INTERNAL"
	case ptrace.SpanKindServer:
		return "SPAN_KIND_SERVER"
	case ptrace.SpanKindClient:
		return "SPAN_KIND_CLIENT"
	case ptrace.SpanKindProducer:
		return "SPAN_KIND_PRODUCER"
	case ptrace.SpanKindConsumer:
		return "SPAN_KIND_CONSUMER"
	}
	return "SPAN_KIND_UNSPECIFIED"
}

// StatusCodeName is a span status code as OTLP's protobuf names it, and
// GreptimeDB's trace tables write it (src/servers/src/otlp/trace/span.rs:245-249).
func StatusCodeName(c ptrace.StatusCode) string {
	switch c {
	case ptrace.StatusCodeOk:
		return "STATUS_CODE_OK"
	case ptrace.StatusCodeError:
		return "STATUS_CODE_ERROR"
	}
	return "STATUS_CODE_UNSET"
}

// traceIDValue is the event's trace id: a log record's, or its span's;
// nothing when it has none.
func (ev *Event) traceIDValue() value {
	var id pcommon.TraceID
	switch {
	case ev.IsSpanEvent():
		id = ev.span.TraceID()
	case ev.lr != plog.LogRecord{}:
		id = ev.lr.TraceID()
	}
	return idValue(id[:])
}

// spanIDValue is the event's span id: a log record's, or its span's;
// nothing when it has none.
func (ev *Event) spanIDValue() value {
	var id pcommon.SpanID
	switch {
	case ev.IsSpanEvent():
		id = ev.span.SpanID()
	case ev.lr != plog.LogRecord{}:
		id = ev.lr.SpanID()
	}
	return idValue(id[:])
}

// idValue is a trace or span id's value, copied; nothing for all zeros.
func idValue(id []byte) value {
	f := value{kind: valueID, idLen: len(id)}
	if copy(f.id[:], id); f.id == [16]byte{} {
		return value{}
	}
	return f
}

func stringValue(s string) value {
	if s == "" {
		return value{}
	}
	return value{kind: valueString, s: s}
}

// converter turns values read from events into Row values: the scratch
// space of the conversions, and the JSONB encoder of JSON columns. A
// converter is used by one goroutine at a time.
type converter struct {
	text   []byte // text made by conversions
	doc    []byte // a JSONB document
	binary bool   // JSON columns take JSONB (EncodingJSONB), else JSON text
	enc    jsonb.Encoder
}

// appendCell appends f converted to typ as a Row value, where that loses
// nothing: ints to floats, any scalar to a string, maps and slices to JSON
// text for string columns, strings that spell a number, bool or RFC 3339
// time. Anything else is written as null with ok false, so that the caller
// can count it; an absent value is null with ok true. A json column holds
// the value as JSON (a string becomes a JSON string), as text or JSONB.
func (c *converter) appendCell(b []byte, f value, typ ColumnType) (out []byte, ok bool) {
	switch f.kind {
	case valueAbsent:
		return wire.AppendNull(b), true
	case valueID:
		switch typ {
		case TypeString:
			c.text = hex.AppendEncode(c.text[:0], f.id[:f.idLen])
			return wire.AppendStringBytes(b, c.text), true
		case TypeJSON:
			return c.jsonCell(b, f), true
		}
		return wire.AppendNull(b), false
	case valueTime:
		if typ == TypeTimestamp {
			return wire.AppendTimestamp(b, f.i), true
		}
		return wire.AppendNull(b), false
	case valueKeys:
		if typ == TypeJSON {
			return c.jsonCell(b, f), true
		}
		return wire.AppendNull(b), false
	}
	vt := f.valueType()
	switch typ {
	case TypeJSON:
		return c.jsonCell(b, f), true
	case TypeString:
		if vt == pcommon.ValueTypeStr && utf8.ValidString(f.s) {
			return wire.AppendString(b, f.s), true // no copy of the text
		}
		c.text, _ = appendText(c.text[:0], f)
		return wire.AppendStringBytes(b, c.text), true
	case TypeInt64:
		switch vt {
		case pcommon.ValueTypeInt:
			return wire.AppendInt64(b, f.i), true
		case pcommon.ValueTypeDouble:
			if d := f.v.Double(); d == math.Trunc(d) && d >= math.MinInt64 && d < math.MaxInt64 {
				return wire.AppendInt64(b, int64(d)), true
			}
		case pcommon.ValueTypeStr:
			if i, err := strconv.ParseInt(f.s, 10, 64); err == nil {
				return wire.AppendInt64(b, i), true
			}
		}
	case TypeFloat64:
		switch vt {
		case pcommon.ValueTypeDouble:
			return wire.AppendFloat64(b, f.v.Double()), true
		case pcommon.ValueTypeInt:
			return wire.AppendFloat64(b, float64(f.i)), true
		case pcommon.ValueTypeStr:
			if d, err := strconv.ParseFloat(f.s, 64); err == nil {
				return wire.AppendFloat64(b, d), true
			}
		}
	case TypeBool:
		switch {
		case vt == pcommon.ValueTypeBool:
			return wire.AppendBool(b, f.v.Bool()), true
		case vt == pcommon.ValueTypeStr && (f.s == "true" || f.s == "false"):
			return wire.AppendBool(b, f.s == "true"), true
		}
	case TypeTimestamp:
		switch vt {
		case pcommon.ValueTypeInt:
			return wire.AppendTimestamp(b, f.i), true
		case pcommon.ValueTypeStr:
			// GreptimeDB's nanosecond timestamps are int64 (src/common/time/src/timestamp.rs:46-49):
			// years 1678 to 2261 whole.
			if t, err := time.Parse(time.RFC3339Nano, f.s); err == nil && t.Year() >= 1678 && t.Year() <= 2261 {
				return wire.AppendTimestamp(b, t.UnixNano()), true
			}
		}
	}
	return wire.AppendNull(b), false
}

// jsonCell appends f, which is not absent, as a JSON column's value: its
// JSON text in a string value, or the JSONB GreptimeDB makes of that text
// in a binary value.
func (c *converter) jsonCell(b []byte, f value) []byte {
	if !c.binary {
		c.text = appendJSON(c.text[:0], f)
		return wire.AppendStringBytes(b, c.text)
	}
	switch f.kind {
	case valueID:
		c.text = hex.AppendEncode(c.text[:0], f.id[:f.idLen])
		c.doc = c.enc.AppendString(c.doc[:0], string(c.text))
	case valueKeys:
		c.doc = c.enc.AppendStrings(c.doc[:0], f.keys)
	case valueString:
		c.doc = c.enc.AppendString(c.doc[:0], f.s)
	case valueInt:
		c.doc = c.enc.AppendInt(c.doc[:0], f.i)
	default:
		c.doc = c.enc.AppendValue(c.doc[:0], f.v)
	}
	return wire.AppendBinary(b, c.doc)
}

// appendJSON appends f, which is not absent, as JSON text.
func appendJSON(dst []byte, f value) []byte {
	switch f.kind {
	case valueID:
		return append(hex.AppendEncode(append(dst, '"'), f.id[:f.idLen]), '"')
	case valueKeys:
		dst = append(dst, '[')
		for i, k := range f.keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonenc.AppendString(dst, k)
		}
		return append(dst, ']')
	case valueString:
		return jsonenc.AppendString(dst, f.s)
	case valueInt:
		return strconv.AppendInt(dst, f.i, 10)
	}
	return jsonenc.AppendValue(dst, f.v, 0)
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
