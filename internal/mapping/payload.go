package mapping

import (
	"encoding/hex"
	"strconv"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

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
	lr := ev.lr
	if p.Body && lr.Body().Type() != pcommon.ValueTypeEmpty {
		key("body")
		buf = jsonenc.AppendValue(buf, lr.Body(), 1)
	}
	if p.Attributes && lr.Attributes().Len() > 0 {
		key("attributes")
		buf = jsonenc.AppendMap(buf, lr.Attributes(), 1)
	}
	if res := ev.rl.Resource().Attributes(); p.Resource && res.Len() > 0 {
		key("resource")
		buf = jsonenc.AppendMap(buf, res, 1)
	}
	if sc := ev.sl.Scope(); p.Scope && (sc.Name() != "" || sc.Version() != "" || sc.Attributes().Len() > 0) {
		key("scope")
		buf = appendScope(buf, sc)
	}
	if p.Severity && (lr.SeverityText() != "" || lr.SeverityNumber() != plog.SeverityNumberUnspecified) {
		key("severity")
		buf = append(buf, `{"text":`...)
		buf = jsonenc.AppendString(buf, lr.SeverityText())
		buf = append(buf, `,"number":`...)
		buf = strconv.AppendInt(buf, int64(lr.SeverityNumber()), 10)
		buf = append(buf, '}')
	}
	if tid := lr.TraceID(); p.Trace && !tid.IsEmpty() {
		key("trace")
		buf = append(buf, `{"trace_id":"`...)
		buf = hex.AppendEncode(buf, tid[:])
		buf = append(buf, '"')
		if sid := lr.SpanID(); !sid.IsEmpty() {
			buf = append(buf, `,"span_id":"`...)
			buf = hex.AppendEncode(buf, sid[:])
			buf = append(buf, '"')
		}
		buf = append(buf, `,"flags":`...)
		buf = strconv.AppendUint(buf, uint64(lr.Flags()), 10)
		buf = append(buf, '}')
	}
	return append(buf, '}')
}

// appendPayloadJSONB appends the event's payload as JSONB: the document
// GreptimeDB makes of the JSON text AppendPayload writes (the jsonb
// package's promise), written from the values themselves.
func (w *Writer) appendPayloadJSONB(dst []byte, ev *Event, p Payload) []byte {
	o := w.conv.enc.Object()
	lr := ev.lr
	if p.Body && lr.Body().Type() != pcommon.ValueTypeEmpty {
		o.PutValue("body", lr.Body())
	}
	if p.Attributes && lr.Attributes().Len() > 0 {
		o.PutMap("attributes", lr.Attributes())
	}
	if res := ev.rl.Resource().Attributes(); p.Resource && res.Len() > 0 {
		o.PutMap("resource", res)
	}
	if sc := ev.sl.Scope(); p.Scope && (sc.Name() != "" || sc.Version() != "" || sc.Attributes().Len() > 0) {
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
	if p.Severity && (lr.SeverityText() != "" || lr.SeverityNumber() != plog.SeverityNumberUnspecified) {
		so := o.PutObject("severity")
		so.PutStr("text", lr.SeverityText())
		so.PutInt("number", int64(lr.SeverityNumber()))
	}
	if tid := lr.TraceID(); p.Trace && !tid.IsEmpty() {
		to := o.PutObject("trace")
		to.PutStr("trace_id", w.hexID(0, tid[:]))
		if sid := lr.SpanID(); !sid.IsEmpty() {
			to.PutStr("span_id", w.hexID(1, sid[:]))
		}
		to.PutUint("flags", uint64(lr.Flags()))
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
