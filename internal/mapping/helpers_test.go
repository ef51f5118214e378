package mapping

import (
	"testing"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/protobuf/proto"

	"github.com/greptime-events/greptimeeventsexporter/internal/wire"
)

// The tests' shared pieces: specs, fixtures, and mapping a batch all the way
// to decoded requests. No gRPC here: the writer's bytes are decoded with the
// generated types.

// exportTime stands in for the clock.
var exportTime = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// defaultOptions are the exporter's default table options.
var defaultOptions = Options{TTL: 2160 * time.Hour, AppendMode: true, CompactionTimeWindow: 24 * time.Hour}

// defaultSpec is the spec of the exporter's default configuration, but for
// JSON written as text, which the tests read: jsonb_test.go shows that the
// JSONB of every JSON value is GreptimeDB's parse of that text.
func defaultSpec() Spec {
	return Spec{
		TypeAttributes: []string{"otel.event.name", "event.name"},
		DefaultType:    "log",
		Payload:        Payload{Body: true, Attributes: true, Span: true},
		Encoding:       EncodingJSON,
		Other:          Table{Name: "events", Options: defaultOptions},
	}
}

// withTypes is spec with tables of their own for some types.
func withTypes(spec Spec, types map[string]Table) Spec {
	spec.Types = types
	return spec
}

func mustCompile(t testing.TB, spec Spec) *Mapping {
	t.Helper()
	m, err := Compile(spec)
	require.NoError(t, err)
	return m
}

// atHome sends every event to database public.
func atHome(pcommon.Resource) (string, bool) { return "public", true }

// groupLogs groups ld with spec's mapping.
func groupLogs(t testing.TB, spec Spec, ld plog.Logs) ([]*Group, Drops) {
	var gr Grouper
	return gr.GroupLogs(ld, mustCompile(t, spec), exportTime, atHome)
}

// testHeader is a request header with credentials.
var testHeader = &greptimev1.RequestHeader{
	Dbname: "public",
	Authorization: &greptimev1.AuthHeader{AuthScheme: &greptimev1.AuthHeader_Basic{
		Basic: &greptimev1.Basic{Username: "exporter", Password: "s3cret"},
	}},
}

func mustHeader(t testing.TB, h *greptimev1.RequestHeader) []byte {
	t.Helper()
	b, err := wire.EncodeHeader(h)
	require.NoError(t, err)
	return b
}

// requestBytes is a request's bytes as the codec sends them.
func requestBytes(t testing.TB, header []byte, inserts []Insert) []byte {
	t.Helper()
	ws := make([]wire.Insert, len(inserts))
	for i, in := range inserts {
		ws[i] = in.Insert
	}
	data, err := wire.NewCodec().Marshal(wire.NewRequest(header, ws))
	require.NoError(t, err)
	return data.Materialize()
}

// mapped is a batch mapped and written as the exporter writes it, with the
// requests decoded by the generated types.
type mapped struct {
	groups   []*Group
	dropped  Drops
	inserts  [][]Insert // by request
	requests []*greptimev1.GreptimeRequest
	tooLarge []Unstorable
}

// mapLogs groups ld with spec's mapping, writes every group into requests
// of at most maxBytes, and decodes them; the requests' bytes are checked
// against the limit.
func mapLogs(t testing.TB, spec Spec, ld plog.Logs, maxBytes int) mapped {
	t.Helper()
	return mapBatch(t, maxBytes, func(gr *Grouper) ([]*Group, Drops) {
		return gr.GroupLogs(ld, mustCompile(t, spec), exportTime, atHome)
	})
}

// mapTraces is mapLogs for the span events of td.
func mapTraces(t testing.TB, spec Spec, td ptrace.Traces, maxBytes int) mapped {
	t.Helper()
	return mapBatch(t, maxBytes, func(gr *Grouper) ([]*Group, Drops) {
		return gr.GroupSpanEvents(td, mustCompile(t, spec), exportTime, atHome)
	})
}

func mapBatch(t testing.TB, maxBytes int, group func(*Grouper) ([]*Group, Drops)) mapped {
	t.Helper()
	var (
		gr  Grouper
		w   Writer
		out mapped
	)
	out.groups, out.dropped = group(&gr)
	header := mustHeader(t, testHeader)
	w.Start()
	defer w.Finish(true)
	out.inserts, out.tooLarge = w.Pack(out.groups, header, maxBytes)
	for _, inserts := range out.inserts {
		b := requestBytes(t, header, inserts)
		if len(b) > maxBytes {
			t.Fatalf("request of %d bytes exceeds %d", len(b), maxBytes)
		}
		var req greptimev1.GreptimeRequest
		require.NoError(t, proto.Unmarshal(b, &req))
		out.requests = append(out.requests, &req)
	}
	return out
}

// rowInserts are every request's inserts, in order.
func (m mapped) rowInserts() []*greptimev1.RowInsertRequest {
	var out []*greptimev1.RowInsertRequest
	for _, r := range m.requests {
		out = append(out, r.GetRowInserts().GetInserts()...)
	}
	return out
}

// cellOf is a proto value as a plain Go value, nil for null.
func cellOf(v *greptimev1.Value) any {
	switch d := v.GetValueData().(type) {
	case *greptimev1.Value_StringValue:
		return d.StringValue
	case *greptimev1.Value_I64Value:
		return d.I64Value
	case *greptimev1.Value_F64Value:
		return d.F64Value
	case *greptimev1.Value_BoolValue:
		return d.BoolValue
	case *greptimev1.Value_TimestampNanosecondValue:
		return d.TimestampNanosecondValue
	default:
		return nil
	}
}

func columnNames(schema []*greptimev1.ColumnSchema) []string {
	names := make([]string, len(schema))
	for i, c := range schema {
		names[i] = c.ColumnName
	}
	return names
}

// logsOfTypes is a batch with one record per event type given.
func logsOfTypes(types ...string) plog.Logs {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i, eventType := range types {
		lr := records.AppendEmpty()
		lr.SetEventName(eventType)
		lr.SetTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + i))
		lr.Body().SetStr(eventType + " happened")
	}
	return ld
}

// sampleLogs is a batch of two login events and a session expiry, with a
// resource, a scope, severities and trace context.
func sampleLogs() plog.Logs {
	ld := plog.NewLogs()
	ts := pcommon.Timestamp(1_764_158_400_000_000_000) // 2025-11-26T12:00:00Z
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "auth")
	rl.Resource().Attributes().PutStr("host.name", "auth-1")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("auth/events")
	for i, user := range []string{"alice", "bob"} {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetEventName("user.login")
		lr.SetTimestamp(ts + pcommon.Timestamp(i))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		lr.Attributes().PutStr("user.id", user)
		lr.Attributes().PutBool("success", i == 0)
		body := lr.Body().SetEmptyMap()
		body.PutDouble("latency_ms", 12.5+float64(i))
		body.PutStr("method", "password")
	}
	lr := sl.LogRecords().AppendEmpty()
	lr.Attributes().PutStr("event.name", "session.expired")
	lr.SetObservedTimestamp(ts + 10)
	lr.Body().SetStr("session ended after 30m")
	lr.SetTraceID(pcommon.TraceID{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	lr.SetSpanID(pcommon.SpanID{0xbb, 1, 2, 3, 4, 5, 6, 7})
	return ld
}

// eventOf is the event of the i-th record of ld's first resource and scope.
func eventOf(ld plog.Logs, i int) *Event {
	rl := ld.ResourceLogs().At(0)
	sl := rl.ScopeLogs().At(0)
	return &Event{resource: rl.Resource(), scope: sl.Scope(), lr: sl.LogRecords().At(i)}
}
