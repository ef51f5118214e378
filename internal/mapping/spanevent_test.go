package mapping

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// spanStart is when the fixture's first span starts.
var spanStart = time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC)

// exceptionTraces is a batch of three spans: a server span that failed,
// with an exception event, an event typed by its event.name attribute and
// one with neither name nor time; a span without events; and a client span
// whose only event has no time, nor has the span.
func exceptionTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("checkout/http")
	ss.Scope().SetVersion("1.2.0")

	server := ss.Spans().AppendEmpty()
	server.SetName("POST /checkout")
	server.SetKind(ptrace.SpanKindServer)
	server.SetTraceID(pcommon.TraceID{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	server.SetSpanID(pcommon.SpanID{0xbb, 1, 2, 3, 4, 5, 6, 7})
	server.SetParentSpanID(pcommon.SpanID{0xcc, 1, 2, 3, 4, 5, 6, 7})
	server.SetFlags(1)
	server.SetStartTimestamp(pcommon.NewTimestampFromTime(spanStart))
	server.SetEndTimestamp(pcommon.NewTimestampFromTime(spanStart.Add(time.Second)))
	server.Status().SetCode(ptrace.StatusCodeError)
	server.Status().SetMessage("payment declined")
	server.Attributes().PutStr("http.route", "/checkout")
	server.Attributes().PutInt("http.response.status_code", 502)
	exception := server.Events().AppendEmpty()
	exception.SetName("exception")
	exception.SetTimestamp(pcommon.NewTimestampFromTime(spanStart.Add(time.Millisecond)))
	exception.Attributes().PutStr("exception.type", "PaymentError")
	exception.Attributes().PutStr("exception.message", "card declined")
	exception.Attributes().PutStr("exception.stacktrace", "PaymentError: card declined\n\tat charge (pay.js:42)")
	named := server.Events().AppendEmpty()
	named.SetTimestamp(pcommon.NewTimestampFromTime(spanStart.Add(2 * time.Millisecond)))
	named.Attributes().PutStr("event.name", "retry.scheduled")
	server.Events().AppendEmpty() // no name, no time

	ss.Spans().AppendEmpty().SetName("no events")

	client := ss.Spans().AppendEmpty()
	client.SetName("charge")
	client.SetKind(ptrace.SpanKindClient)
	client.SetTraceID(pcommon.TraceID{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	client.SetSpanID(pcommon.SpanID{0xdd, 1, 2, 3, 4, 5, 6, 7})
	client.Status().SetCode(ptrace.StatusCodeOk)
	client.Events().AppendEmpty().SetName("message")
	return td
}

func groupSpanEvents(t testing.TB, spec Spec, td ptrace.Traces) ([]*Group, Drops) {
	var gr Grouper
	return gr.GroupSpanEvents(td, mustCompile(t, spec), exportTime, atHome)
}

func TestGroupSpanEvents(t *testing.T) {
	groups, dropped := groupSpanEvents(t, defaultSpec(), exceptionTraces())

	assert.Equal(t, Drops{}, dropped)
	type got struct {
		eventType string
		times     []time.Time
	}
	var gots []got
	for _, g := range groups {
		assert.Equal(t, "public", g.Database)
		gg := got{eventType: g.Type}
		for _, ev := range g.Events {
			assert.True(t, ev.IsSpanEvent())
			gg.times = append(gg.times, time.Unix(0, ev.Timestamp).UTC())
		}
		gots = append(gots, gg)
	}
	assert.Equal(t, []got{
		{eventType: "exception", times: []time.Time{spanStart.Add(time.Millisecond)}},
		{eventType: "retry.scheduled", times: []time.Time{spanStart.Add(2 * time.Millisecond)}},
		{eventType: "log", times: []time.Time{spanStart}},      // no name: the default type; no time: the span's start
		{eventType: "message", times: []time.Time{exportTime}}, // neither it nor its span has a time
	}, gots, "a type per span event; the span without events adds none")
}

func TestSpanEventsFilteredDeniedAndUnstorable(t *testing.T) {
	td := exceptionTraces()
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Events().At(1).SetTimestamp(pcommon.Timestamp(1 << 63))
	spec := defaultSpec()
	spec.Exclude = []string{"message"}

	groups, dropped := groupSpanEvents(t, spec, td)

	assert.Equal(t, 1, dropped.Filtered)
	require.Len(t, dropped.Unstorable, 1)
	assert.Equal(t, "retry.scheduled", dropped.Unstorable[0].Type)
	assert.ErrorIs(t, dropped.Unstorable[0].Err, ErrTimestampRange)
	require.Len(t, groups, 2)
	assert.Equal(t, "exception", groups[0].Type)
	assert.Equal(t, "log", groups[1].Type)

	var gr Grouper
	_, dropped = gr.GroupSpanEvents(exceptionTraces(), mustCompile(t, defaultSpec()), exportTime,
		func(pcommon.Resource) (string, bool) { return "intruder", false })
	assert.Len(t, dropped.Denied, 4)
	for _, d := range dropped.Denied {
		assert.Equal(t, "intruder", d.Database)
		assert.ErrorIs(t, d.Err, ErrNotAllowed)
	}
}

func TestReadSpanEventSource(t *testing.T) {
	groups, _ := groupSpanEvents(t, defaultSpec(), exceptionTraces())
	exception, message := &groups[0].Events[0], &groups[3].Events[0]
	login := eventOf(sampleLogs(), 0)

	tests := []struct {
		source string
		ev     *Event
		want   any
	}{
		{source: "attributes.exception.type", ev: exception, want: "PaymentError"},
		{source: "resource.service.name", ev: exception, want: "checkout"},
		{source: "scope.name", ev: exception, want: "checkout/http"},
		{source: "scope.version", ev: exception, want: "1.2.0"},
		{source: "trace_id", ev: exception, want: "aa0102030405060708090a0b0c0d0e0f"},
		{source: "span_id", ev: exception, want: "bb01020304050607"},
		{source: "span.name", ev: exception, want: "POST /checkout"},
		{source: "span.kind", ev: exception, want: "SPAN_KIND_SERVER"},
		{source: "span.status_code", ev: exception, want: "STATUS_CODE_ERROR"},
		{source: "span.status_message", ev: exception, want: "payment declined"},
		{source: "span.parent_span_id", ev: exception, want: "cc01020304050607"},
		{source: "span.attributes.http.route", ev: exception, want: "/checkout"},
		{source: "span.attributes.http.response.status_code", ev: exception, want: "502"},
		{source: "span.attributes.missing", ev: exception, want: nil},
		{source: "span.kind", ev: message, want: "SPAN_KIND_CLIENT"},
		{source: "span.status_code", ev: message, want: "STATUS_CODE_OK"},
		{source: "span.status_message", ev: message, want: nil},
		{source: "span.parent_span_id", ev: message, want: nil},
		{source: "trace_id", ev: message, want: "aa0102030405060708090a0b0c0d0e0f"},
		// What a span event does not have, and a log record's span.
		{source: "body", ev: exception, want: nil},
		{source: "body.x", ev: exception, want: nil},
		{source: "severity_text", ev: exception, want: nil},
		{source: "severity_number", ev: exception, want: nil},
		{source: "span.name", ev: login, want: nil},
		{source: "span.kind", ev: login, want: nil},
		{source: "span.attributes.http.route", ev: login, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			assert.Equal(t, tt.want, readAsString(t, tt.source, tt.ev))
		})
	}
}

// TestSpanEventPayload pins the payload of an exception event, as
// docs and the README show it, and checks JSONB against its text.
func TestSpanEventPayload(t *testing.T) {
	groups, _ := groupSpanEvents(t, defaultSpec(), exceptionTraces())
	exception := &groups[0].Events[0]

	assert.JSONEq(t, `{
		"attributes": {
			"exception.type": "PaymentError",
			"exception.message": "card declined",
			"exception.stacktrace": "PaymentError: card declined\n\tat charge (pay.js:42)"
		},
		"span": {
			"name": "POST /checkout",
			"kind": "SPAN_KIND_SERVER",
			"status_code": "STATUS_CODE_ERROR",
			"status_message": "payment declined",
			"parent_span_id": "cc01020304050607"
		}
	}`, string(AppendPayload(nil, exception, defaultSpec().Payload)))

	all := Payload{Body: true, Attributes: true, Resource: true, Scope: true, Severity: true, Trace: true, Span: true, SpanAttributes: true}
	assert.JSONEq(t, `{
		"attributes": {
			"exception.type": "PaymentError",
			"exception.message": "card declined",
			"exception.stacktrace": "PaymentError: card declined\n\tat charge (pay.js:42)"
		},
		"resource": {"service.name": "checkout"},
		"scope": {"name": "checkout/http", "version": "1.2.0"},
		"trace": {"trace_id": "aa0102030405060708090a0b0c0d0e0f", "span_id": "bb01020304050607", "flags": 1},
		"span": {
			"name": "POST /checkout",
			"kind": "SPAN_KIND_SERVER",
			"status_code": "STATUS_CODE_ERROR",
			"status_message": "payment declined",
			"parent_span_id": "cc01020304050607",
			"attributes": {"http.route": "/checkout", "http.response.status_code": 502}
		}
	}`, string(AppendPayload(nil, exception, all)))

	for _, p := range []Payload{defaultSpec().Payload, all} {
		text, binary := jsonSpec(EncodingJSON), jsonSpec(EncodingJSONB)
		text.Payload, binary.Payload = p, p
		assertSameInserts(t, mapTraces(t, text, exceptionTraces(), 8<<20).rowInserts(), mapTraces(t, binary, exceptionTraces(), 8<<20).rowInserts())
	}
}

func TestAppendTracesKeepsOnlyTheFailedEvents(t *testing.T) {
	td := exceptionTraces()
	groups, _ := groupSpanEvents(t, defaultSpec(), td)
	// The failed events: the server span's third (no time) and the client's.
	failed := append(append([]Event(nil), groups[2].Events...), groups[3].Events...)

	got := ptrace.NewTraces()
	AppendTraces(got, td, failed)

	require.Equal(t, 1, got.ResourceSpans().Len())
	rs := got.ResourceSpans().At(0)
	assert.Equal(t, map[string]any{"service.name": "checkout"}, rs.Resource().Attributes().AsRaw())
	assert.Equal(t, "https://opentelemetry.io/schemas/1.26.0", rs.SchemaUrl())
	require.Equal(t, 1, rs.ScopeSpans().Len())
	ss := rs.ScopeSpans().At(0)
	assert.Equal(t, "checkout/http", ss.Scope().Name())
	require.Equal(t, 2, ss.Spans().Len(), "the spans of the failed events, not the span without events")

	server, client := ss.Spans().At(0), ss.Spans().At(1)
	want := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	assert.Equal(t, want.Name(), server.Name())
	assert.Equal(t, want.SpanID(), server.SpanID())
	assert.Equal(t, want.Attributes().AsRaw(), server.Attributes().AsRaw())
	assert.Equal(t, want.Status().Message(), server.Status().Message())
	require.Equal(t, 1, server.Events().Len(), "only the failed event of the span")
	assert.Equal(t, pcommon.NewTimestampFromTime(spanStart), server.Events().At(0).Timestamp(), "the time it was given, kept for a retry")
	require.Equal(t, 1, client.Events().Len())
	assert.Equal(t, "message", client.Events().At(0).Name())
	assert.Equal(t, pcommon.NewTimestampFromTime(exportTime), client.Events().At(0).Timestamp())

	// The retry maps to the same rows.
	again, _ := groupSpanEvents(t, defaultSpec(), got)
	require.Len(t, again, 2)
	assert.Equal(t, groups[2].Events[0].Timestamp, again[0].Events[0].Timestamp)
	assert.Equal(t, groups[3].Events[0].Timestamp, again[1].Events[0].Timestamp)
}

// spanEventIDs are the event ids written for the span events of td.
func spanEventIDs(t *testing.T, td ptrace.Traces) []string {
	t.Helper()
	spec := defaultSpec()
	spec.Other.Options.EventID = true
	var ids []string
	for _, req := range mapTraces(t, spec, td, 8<<20).rowInserts() {
		require.Equal(t, columnEventID, req.Rows.Schema[3].ColumnName)
		for _, row := range req.Rows.Rows {
			ids = append(ids, row.Values[3].GetStringValue())
		}
	}
	return ids
}

func TestSpanEventIDs(t *testing.T) {
	ids := spanEventIDs(t, exceptionTraces())
	require.Len(t, ids, 4)
	assert.Equal(t, ids, spanEventIDs(t, exceptionTraces()), "the same span events, exported again")
	// Pinned, as a log record's is: a replay after an upgrade collapses into the rows written before it.
	assert.Equal(t, "22c0b32b284f65f37de579505c177b15", ids[0])

	// The same event in another span is another event.
	td := exceptionTraces()
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SetSpanID(pcommon.SpanID{0xee})
	assert.NotEqual(t, ids[0], spanEventIDs(t, td)[0])
	td = exceptionTraces()
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SetTraceID(pcommon.TraceID{0xee})
	assert.NotEqual(t, ids[0], spanEventIDs(t, td)[0])
	// What is not the event's does not change it.
	td = exceptionTraces()
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SetName("renamed")
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("more", "x")
	assert.Equal(t, ids[0], spanEventIDs(t, td)[0])
}
