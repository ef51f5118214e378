package greptimeeventsexporter

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"google.golang.org/grpc/codes"

	"github.com/greptime-events/greptimeeventsexporter/internal/metadatatest"
)

// The exporter of a traces pipeline: each span event is an event, mapped
// and written as a log record is; spans are not written.

// spanTraces is a batch of spans, the i-th with the span events named by
// events[i] (none for an empty list), all of one resource.
func spanTraces(events ...[]string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("checkout/http")
	for i, names := range events {
		span := ss.Spans().AppendEmpty()
		span.SetName("POST /checkout")
		span.SetKind(ptrace.SpanKindServer)
		span.SetTraceID(pcommon.TraceID{0xaa, byte(i)})
		span.SetSpanID(pcommon.SpanID{0xbb, byte(i)})
		span.SetStartTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + i*1000))
		for j, name := range names {
			se := span.Events().AppendEmpty()
			se.SetName(name)
			se.SetTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + i*1000 + j + 1))
			if name == "exception" {
				se.Attributes().PutStr("exception.type", "PaymentError")
				se.Attributes().PutStr("exception.message", "card declined")
			}
		}
	}
	return td
}

func TestSpanEventsAreWrittenAsEvents(t *testing.T) {
	h := newHarness(t, setup{traces: true, configure: func(cfg *Config) {
		cfg.Events = map[string]EventConfig{"exception": {Table: "exceptions", Columns: []ColumnConfig{
			{Name: "trace_id", Source: "trace_id"},
			{Name: "span_name", Source: "span.name"},
			{Name: "exception_type", Source: "attributes.exception.type", SemanticType: "tag"},
		}}}
	}})

	td := spanTraces([]string{"exception", "message"}, nil, []string{"message"})
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), td))
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), spanTraces([]string{"exception"}, []string{"message"})))

	exceptions, ok := h.srv.Table("public", "exceptions")
	require.True(t, ok)
	require.Len(t, exceptions.Rows, 2)
	row := exceptions.Rows[0]
	assert.Equal(t, "exception", row["type"])
	assert.Equal(t, int64(1_700_000_000_000_000_001), row["timestamp"], "the span event's own time")
	assert.Equal(t, "aa000000000000000000000000000000", row["trace_id"])
	assert.Equal(t, "POST /checkout", row["span_name"])
	assert.Equal(t, "PaymentError", row["exception_type"])
	assert.Equal(t, map[string]any{
		"attributes": map[string]any{"exception.type": "PaymentError", "exception.message": "card declined"},
		"span":       map[string]any{"name": "POST /checkout", "kind": "SPAN_KIND_SERVER", "status_code": "STATUS_CODE_UNSET"},
	}, row["payload"])

	events, ok := h.srv.Table("public", "events")
	require.True(t, ok)
	assert.Equal(t, map[string]int{"message": 3}, countByType(events))
	assert.Len(t, h.srv.Calls(), 2+1, "the first push writes each table alone, the second both in one call")

	// exporterhelper counts spans: those with span events to write, not the
	// span without any.
	assert.Equal(t, counts{"": 2 + 2}, counted(t, h.tel, "otelcol_exporter_sent_spans", "none"))
	metadatatest.AssertEqualExporterGreptimeEventsRowsInserted(t, h.tel,
		points("table", counts{"exceptions": 2, "events": 3}, "traces"),
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestSpanEventsRetriedAreTheFailedOnes(t *testing.T) {
	h := newHarness(t, setup{traces: true, configure: func(cfg *Config) {
		cfg.Events = map[string]EventConfig{"exception": {Table: "exceptions"}}
	}})
	h.srv.RejectTable("exceptions", codes.Unavailable, "region not ready")

	err := h.traces.ConsumeTraces(context.Background(), spanTraces([]string{"exception", "message"}, []string{"message", "exception"}))

	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	var tracesErr consumererror.Traces
	require.ErrorAs(t, err, &tracesErr)
	failed := tracesErr.Data()
	require.Equal(t, 2, failed.SpanCount(), "each span of a failed event, with only its failed events")
	for _, rs := range failed.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				require.Equal(t, 1, span.Events().Len())
				assert.Equal(t, "exception", span.Events().At(0).Name())
			}
		}
	}
	assert.Equal(t, 2, h.srv.RowCount("public", "events"))

	// The retry writes them, and only them.
	h.srv.Reset()
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), failed))
	assert.Equal(t, 2, h.srv.RowCount("public", "exceptions"))
	assert.Equal(t, 2, h.srv.RowCount("public", "events"))
}

func TestSpanEventsFilteredAndCounted(t *testing.T) {
	h := newHarness(t, setup{traces: true, configure: func(cfg *Config) {
		cfg.Filter.Exclude = []string{"message"}
	}})

	require.NoError(t, h.traces.ConsumeTraces(context.Background(), spanTraces([]string{"exception", "message"}, []string{"message"})))

	events, ok := h.srv.Table("public", "events")
	require.True(t, ok)
	assert.Equal(t, map[string]int{"exception": 1}, countByType(events))
	metadatatest.AssertEqualExporterGreptimeEventsRecordsDropped(t, h.tel,
		points("reason", counts{"filtered": 2}, "traces"),
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	assert.Equal(t, counts{"": 1}, counted(t, h.tel, "otelcol_exporter_sent_spans", "none"),
		"the span whose only event was filtered is not sent")
}

func TestSpanEventsOfTenantsAndDeadLetters(t *testing.T) {
	h := newHarness(t, setup{traces: true, server: tenantServer(), configure: func(cfg *Config) {
		cfg.Tenants = configoptional.Some(TenantsConfig{From: "resource.tenant", Databases: []string{"team_a"}})
		cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
	}})
	td := ptrace.NewTraces()
	for _, tenant := range []string{"team_a", "intruder"} {
		one := spanTraces([]string{"exception"})
		one.ResourceSpans().At(0).Resource().Attributes().PutStr("tenant", tenant)
		one.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	}

	require.NoError(t, h.traces.ConsumeTraces(context.Background(), td))

	assert.Equal(t, 1, h.srv.RowCount("team_a", "events"))
	letters, ok := h.srv.Table("public", "events_rejected")
	require.True(t, ok)
	require.Len(t, letters.Rows, 1)
	assert.Equal(t, "exception", letters.Rows[0]["type"])
	assert.Contains(t, letters.Rows[0]["error_message"], `"intruder"`)
}

func TestSpanEventsInTheCatalog(t *testing.T) {
	h := newHarness(t, setup{traces: true, configure: func(cfg *Config) {
		cfg.EventCatalog = configoptional.Some(EventCatalogConfig{Table: "event_types", Interval: time.Hour, MaxPayloadKeys: 64})
	}})

	require.NoError(t, h.traces.ConsumeTraces(context.Background(), spanTraces([]string{"exception"}, []string{"exception", "message"})))
	h.shutdown() // writes the catalog

	catalog, ok := h.srv.Table("public", "event_types")
	require.True(t, ok)
	byType := map[string]map[string]any{}
	for _, row := range catalog.Rows {
		byType[row["type"].(string)] = row
	}
	require.Contains(t, byType, "exception")
	exception := byType["exception"]
	assert.Equal(t, int64(2), exception["events"])
	assert.True(t, strings.HasSuffix(exception["collector"].(string), "/greptime_events/traces"), exception["collector"])
	assert.Equal(t, []any{"attributes.exception.message", "attributes.exception.type"}, exception["payload_keys"])
	assert.Equal(t, int64(1), byType["message"]["events"])
}
