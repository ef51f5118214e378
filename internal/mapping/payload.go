package mapping

import (
	"encoding/hex"
	"strconv"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonenc"
)

// AppendPayload appends the event's payload as JSON text: an object with the
// parts p chooses of its record, each under its own key; empty parts are
// left out.
func AppendPayload(buf []byte, ev *Event, p Payload) []byte {
	buf = append(buf, '{')
	n := 0
	key := func(k string) {
		if n > 0 {
			buf = append(buf, ',')
		}
		n++
		buf = append(buf, '"')
		buf = append(buf, k...)
		buf = append(buf, '"', ':')
	}
	if body := ev.Body(); p.Body && body.Type() != pcommon.ValueTypeEmpty {
		key("body")
		buf = jsonenc.AppendValue(buf, body, 1)
	}
	if attrs := ev.Attributes(); p.Attributes && attrs.Len() > 0 {
		key("attributes")
		buf = jsonenc.AppendMap(buf, attrs, 1)
	}
	if res := ev.resource.Attributes(); p.Resource && res.Len() > 0 {
		key("resource")
		buf = jsonenc.AppendMap(buf, res, 1)
	}
	if sc := ev.scope; p.Scope && (sc.Name() != "" || sc.Version() != "" || sc.Attributes().Len() > 0) {
		key("scope")
		buf = appendScope(buf, sc)
	}
	if lr := ev.lr; p.Severity && !ev.IsSpanEvent() && (lr.SeverityText() != "" || lr.SeverityNumber() != plog.SeverityNumberUnspecified) {
		key("severity")
		buf = append(buf, `{"text":`...)
		buf = jsonenc.AppendString(buf, lr.SeverityText())
		buf = append(buf, `,"number":`...)
		buf = strconv.AppendInt(buf, int64(lr.SeverityNumber()), 10)
		buf = append(buf, '}')
	}
	if tid, sid, flags := ev.traceContext(); p.Trace && !tid.IsEmpty() {
		key("trace")
		buf = append(buf, `{"trace_id":"`...)
		buf = hex.AppendEncode(buf, tid[:])
		buf = append(buf, '"')
		if !sid.IsEmpty() {
			buf = append(buf, `,"span_id":"`...)
			buf = hex.AppendEncode(buf, sid[:])
			buf = append(buf, '"')
		}
		buf = append(buf, `,"flags":`...)
		buf = strconv.AppendUint(buf, uint64(flags), 10)
		buf = append(buf, '}')
	}
	if p.Span && ev.IsSpanEvent() {
		key("span")
		buf = appendSpan(buf, ev.span, p.SpanAttributes)
	}
	return append(buf, '}')
}

// traceContext is the event's trace id, span id and trace flags: a log
// record's, or its span's.
func (ev *Event) traceContext() (pcommon.TraceID, pcommon.SpanID, uint32) {
	if ev.IsSpanEvent() {
		return ev.span.TraceID(), ev.span.SpanID(), ev.span.Flags()
	}
	return ev.lr.TraceID(), ev.lr.SpanID(), uint32(ev.lr.Flags())
}

// appendSpan appends a span as the payload's span part: its name, kind,
// status code, and, when set, status message and parent span id, with its
// attributes when attributes is set and it has any.
func appendSpan(buf []byte, span ptrace.Span, attributes bool) []byte {
	buf = append(buf, `{"name":`...)
	buf = jsonenc.AppendString(buf, span.Name())
	buf = append(buf, `,"kind":"`...)
	buf = append(buf, SpanKindName(span.Kind())...)
	buf = append(buf, `","status_code":"`...)
	buf = append(buf, StatusCodeName(span.Status().Code())...)
	buf = append(buf, '"')
	if msg := span.Status().Message(); msg != "" {
		buf = append(buf, `,"status_message":`...)
		buf = jsonenc.AppendString(buf, msg)
	}
	if pid := span.ParentSpanID(); !pid.IsEmpty() {
		buf = append(buf, `,"parent_span_id":"`...)
		buf = hex.AppendEncode(buf, pid[:])
		buf = append(buf, '"')
	}
	if attrs := span.Attributes(); attributes && attrs.Len() > 0 {
		buf = append(buf, `,"attributes":`...)
		buf = jsonenc.AppendMap(buf, attrs, 2)
	}
	return append(buf, '}')
}

// appendPayloadJSONB appends the event's payload as JSONB: the document
// GreptimeDB makes of the JSON text AppendPayload writes (the jsonb
// package's promise), written from the values themselves.
func (w *Writer) appendPayloadJSONB(dst []byte, ev *Event, p Payload) []byte {
	o := w.conv.enc.Object()
	if body := ev.Body(); p.Body && body.Type() != pcommon.ValueTypeEmpty {
		o.PutValue("body", body)
	}
	if attrs := ev.Attributes(); p.Attributes && attrs.Len() > 0 {
		o.PutMap("attributes", attrs)
	}
	if res := ev.resource.Attributes(); p.Resource && res.Len() > 0 {
		o.PutMap("resource", res)
	}
	if sc := ev.scope; p.Scope && (sc.Name() != "" || sc.Version() != "" || sc.Attributes().Len() > 0) {
		so := o.PutObject("scope")
		if sc.Name() != "" {
			so.PutStr("name", sc.Name())
		}
		if sc.Version() != "" {
			so.PutStr("version", sc.Version())
		}
		if sc.Attributes().Len() > 0 {
			so.PutMap("attributes", sc.Attributes())
		}
	}
	if lr := ev.lr; p.Severity && !ev.IsSpanEvent() && (lr.SeverityText() != "" || lr.SeverityNumber() != plog.SeverityNumberUnspecified) {
		so := o.PutObject("severity")
		so.PutStr("text", lr.SeverityText())
		so.PutInt("number", int64(lr.SeverityNumber()))
	}
	if tid, sid, flags := ev.traceContext(); p.Trace && !tid.IsEmpty() {
		to := o.PutObject("trace")
		to.PutStr("trace_id", w.hexID(0, tid[:]))
		if !sid.IsEmpty() {
			to.PutStr("span_id", w.hexID(1, sid[:]))
		}
		to.PutUint("flags", uint64(flags))
	}
	if p.Span && ev.IsSpanEvent() {
		span := ev.span
		so := o.PutObject("span")
		so.PutStr("name", span.Name())
		so.PutStr("kind", SpanKindName(span.Kind()))
		so.PutStr("status_code", StatusCodeName(span.Status().Code()))
		if msg := span.Status().Message(); msg != "" {
			so.PutStr("status_message", msg)
		}
		if pid := span.ParentSpanID(); !pid.IsEmpty() {
			so.PutStr("parent_span_id", w.hexID(2, pid[:]))
		}
		if attrs := span.Attributes(); p.SpanAttributes && attrs.Len() > 0 {
			so.PutMap("attributes", attrs)
		}
	}
	return o.AppendTo(dst)
}

// hexID is id in hex, in the writer's i-th id array: the object builder
// holds the string until AppendTo, and the writer keeps the array.
func (w *Writer) hexID(i int, id []byte) string {
	n := hex.Encode(w.hexIDs[i][:], id)
	return unsafe.String(&w.hexIDs[i][0], n)
}

func appendScope(buf []byte, sc pcommon.InstrumentationScope) []byte {
	buf = append(buf, '{')
	sep := func() {
		if buf[len(buf)-1] != '{' {
			buf = append(buf, ',')
		}
	}
	if sc.Name() != "" {
		buf = append(buf, `"name":`...)
		buf = jsonenc.AppendString(buf, sc.Name())
	}
	if sc.Version() != "" {
		sep()
		buf = append(buf, `"version":`...)
		buf = jsonenc.AppendString(buf, sc.Version())
	}
	if sc.Attributes().Len() > 0 {
		sep()
		buf = append(buf, `"attributes":`...)
		buf = jsonenc.AppendMap(buf, sc.Attributes(), 2)
	}
	return append(buf, '}')
}
