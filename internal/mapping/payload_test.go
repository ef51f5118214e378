package mapping

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestPayload(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("shop")
	sl.Scope().SetVersion("1.2.0")
	lr := sl.LogRecords().AppendEmpty()
	lr.Body().SetEmptyMap().PutStr("msg", "paid")
	lr.Attributes().PutInt("order", 7)
	lr.SetSeverityText("INFO")
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	lr.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
	ev := eventOf(ld, 0)

	tests := []struct {
		name    string
		payload Payload
		want    string
	}{
		{name: "default: body and attributes", payload: Payload{Body: true, Attributes: true},
			want: `{"body":{"msg":"paid"},"attributes":{"order":7}}`},
		{name: "nothing", want: `{}`},
		{name: "resource", payload: Payload{Resource: true}, want: `{"resource":{"service.name":"checkout"}}`},
		{name: "scope", payload: Payload{Scope: true}, want: `{"scope":{"name":"shop","version":"1.2.0"}}`},
		{name: "severity", payload: Payload{Severity: true}, want: `{"severity":{"text":"INFO","number":9}}`},
		{name: "trace", payload: Payload{Trace: true},
			want: `{"trace":{"trace_id":"0102030405060708090a0b0c0d0e0f10","span_id":"0102030405060708","flags":1}}`},
		{name: "every part", payload: Payload{Body: true, Attributes: true, Resource: true, Scope: true, Severity: true, Trace: true},
			want: `{"body":{"msg":"paid"},"attributes":{"order":7},"resource":{"service.name":"checkout"},` +
				`"scope":{"name":"shop","version":"1.2.0"},"severity":{"text":"INFO","number":9},` +
				`"trace":{"trace_id":"0102030405060708090a0b0c0d0e0f10","span_id":"0102030405060708","flags":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendPayload(nil, ev, tt.payload)
			assert.Equal(t, tt.want, string(got))
			assert.True(t, json.Valid(got))
		})
	}

	t.Run("empty parts are left out", func(t *testing.T) {
		empty := &Event{resource: pcommon.NewResource(), scope: pcommon.NewInstrumentationScope(), lr: plog.NewLogRecord()}
		spanEvent := &Event{resource: pcommon.NewResource(), scope: pcommon.NewInstrumentationScope(), span: ptrace.NewSpan(), se: ptrace.NewSpanEvent()}
		all := Payload{Body: true, Attributes: true, Resource: true, Scope: true, Severity: true, Trace: true, Span: true, SpanAttributes: true}
		assert.Equal(t, `{}`, string(AppendPayload(nil, empty, all)))
		assert.JSONEq(t, `{"span":{"name":"","kind":"SPAN_KIND_UNSPECIFIED","status_code":"STATUS_CODE_UNSET"}}`,
			string(AppendPayload(nil, spanEvent, all)), "a span always has a kind and a status")
	})
}
