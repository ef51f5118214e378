package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// appendPayload writes the record's JSON payload: an object with the
// configured parts, each under its own key; empty parts are left out.
func appendPayload(buf []byte, r *recordRef, p PayloadConfig) []byte {
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
	lr := r.lr
	if p.Body && lr.Body().Type() != pcommon.ValueTypeEmpty {
		key("body")
		buf = appendJSONValue(buf, lr.Body(), 1)
	}
	if p.Attributes && lr.Attributes().Len() > 0 {
		key("attributes")
		buf = appendJSONMap(buf, lr.Attributes(), 1)
	}
	if res := r.rl.Resource().Attributes(); p.Resource && res.Len() > 0 {
		key("resource")
		buf = appendJSONMap(buf, res, 1)
	}
	if sc := r.sl.Scope(); p.Scope && (sc.Name() != "" || sc.Version() != "" || sc.Attributes().Len() > 0) {
		key("scope")
		buf = appendScope(buf, sc)
	}
	if p.Severity && (lr.SeverityText() != "" || lr.SeverityNumber() != plog.SeverityNumberUnspecified) {
		key("severity")
		buf = append(buf, `{"text":`...)
		buf = appendJSONString(buf, lr.SeverityText())
		buf = append(buf, `,"number":`...)
		buf = appendInt(buf, int64(lr.SeverityNumber()))
		buf = append(buf, '}')
	}
	if tid := lr.TraceID(); p.Trace && !tid.IsEmpty() {
		key("trace")
		buf = append(buf, `{"trace_id":"`...)
		buf = appendHex(buf, tid[:])
		buf = append(buf, '"')
		if sid := lr.SpanID(); !sid.IsEmpty() {
			buf = append(buf, `,"span_id":"`...)
			buf = appendHex(buf, sid[:])
			buf = append(buf, '"')
		}
		buf = append(buf, `,"flags":`...)
		buf = appendInt(buf, int64(lr.Flags()))
		buf = append(buf, '}')
	}
	return append(buf, '}')
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
		buf = appendJSONString(buf, sc.Name())
	}
	if sc.Version() != "" {
		sep()
		buf = append(buf, `"version":`...)
		buf = appendJSONString(buf, sc.Version())
	}
	if sc.Attributes().Len() > 0 {
		sep()
		buf = append(buf, `"attributes":`...)
		buf = appendJSONMap(buf, sc.Attributes(), 2)
	}
	return append(buf, '}')
}
