package mapping

import (
	"runtime"
	"strings"
	"testing"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/protobuf/proto"
)

// The reference's test_build_row_inserts_request: each group is one
// RowInsertRequest into its type's table, one row per event; the groups of
// a batch travel in one request.
func TestBuildRowInsertsRequest(t *testing.T) {
	spec := withTypes(defaultSpec(), map[string]Table{"B": {Name: "table_B"}, "C": {Name: "table_C"}})

	m := mapLogs(t, spec, logsOfTypes("A", "B", "A", "C", "B", "C", "A"), 8<<20)

	require.Len(t, m.requests, 1, "one request for the batch")
	assert.Equal(t, "public", m.requests[0].GetHeader().GetDbname())
	tests := []struct {
		eventType string
		table     string
		rows      int
	}{
		{eventType: "A", table: "events", rows: 3},
		{eventType: "B", table: "table_B", rows: 2},
		{eventType: "C", table: "table_C", rows: 2},
	}
	inserts := m.rowInserts()
	require.Len(t, inserts, len(tests))
	for i, tt := range tests {
		t.Run(tt.eventType, func(t *testing.T) {
			req := inserts[i]
			assert.Equal(t, tt.table, req.TableName)
			assert.Len(t, req.Rows.Rows, tt.rows)
			assert.Equal(t, tt.rows, m.inserts[0][i].Rows)
			assert.Zero(t, m.inserts[0][i].Nulled)
			assert.Equal(t, []string{"type", "payload", "timestamp"}, columnNames(req.Rows.Schema))
			for _, row := range req.Rows.Rows {
				require.Len(t, row.Values, 3)
				assert.Equal(t, tt.eventType, row.Values[0].GetStringValue())
			}
		})
	}
}

func TestExpand(t *testing.T) {
	spec := withTypes(defaultSpec(), map[string]Table{"deploy": {Name: "events", Columns: []Column{
		{Name: "service", Source: "attributes.service", Tag: true},
		{Name: "host", Source: "attributes.hosts", Expand: true, Tag: true},
	}}})
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, hosts := range []any{[]any{"h1", "h2", "h3"}, []any{}, "single", nil, []any{"x", 7}} {
		lr := records.AppendEmpty()
		lr.SetEventName("deploy")
		lr.SetTimestamp(1)
		lr.Attributes().PutStr("service", "api")
		if hosts != nil {
			require.NoError(t, lr.Attributes().PutEmpty("hosts").FromRaw(hosts))
		}
	}
	m := mapLogs(t, spec, ld, 8<<20)
	require.Len(t, m.rowInserts(), 1)
	req, nulled := m.rowInserts()[0], m.inserts[0][0].Nulled

	var hosts []any
	for _, row := range req.Rows.Rows {
		require.Len(t, row.Values, 5)
		assert.Equal(t, "api", row.Values[3].GetStringValue())
		hosts = append(hosts, cellOf(row.Values[4]))
	}
	// An array gives one row per element; an empty array, a missing
	// attribute or a scalar give one row (null or the scalar).
	assert.Equal(t, []any{"h1", "h2", "h3", nil, "single", nil, "x", "7"}, hosts)
	assert.Equal(t, 8, m.inserts[0][0].Rows)
	assert.Zero(t, nulled)
}

func TestExtraColumnNullsAreCounted(t *testing.T) {
	spec := defaultSpec()
	spec.Other.Columns = []Column{{Name: "n", Source: "attributes.n", Type: TypeInt64}}
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	records.AppendEmpty().Attributes().PutInt("n", 1)
	records.AppendEmpty().Attributes().PutStr("n", "not a number")
	records.AppendEmpty() // absent: null, not counted
	m := mapLogs(t, spec, ld, 8<<20)
	require.Len(t, m.rowInserts(), 1)
	req, nulled := m.rowInserts()[0], m.inserts[0][0].Nulled

	assert.Equal(t, 1, nulled)
	var got []any
	for _, row := range req.Rows.Rows {
		got = append(got, cellOf(row.Values[3]))
	}
	assert.Equal(t, []any{int64(1), nil, nil}, got)
}

// benchSpec maps the five event types of a realistic batch.
func benchSpec() Spec {
	return withTypes(defaultSpec(), map[string]Table{"user.login": {Name: "events", Options: defaultOptions, Columns: []Column{
		{Name: "user_id", Source: "attributes.user.id", Tag: true},
		{Name: "latency_ms", Source: "body.latency_ms", Type: TypeFloat64},
	}}})
}

// manyLogs is n records of five types, about 400 bytes each.
func manyLogs(n int) plog.Logs {
	types := []string{"user.login", "order.placed", "deploy.finished", "cache.evicted", "job.failed"}
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range n {
		lr := records.AppendEmpty()
		lr.SetEventName(types[i%len(types)])
		lr.SetTimestamp(1_700_000_000_000_000_000 + pcommon.Timestamp(time.Duration(i)*time.Millisecond))
		body := lr.Body().SetEmptyMap()
		body.PutStr("message", strings.Repeat("m", 300))
		body.PutInt("latency_ms", int64(i))
		lr.Attributes().PutStr("user.id", "user")
	}
	return ld
}

func TestPackCutsRequestsAtTheLimit(t *testing.T) {
	m := mapLogs(t, benchSpec(), manyLogs(500), 8<<10)

	assert.Greater(t, len(m.requests), 5, "more requests than groups")
	assert.Empty(t, m.tooLarge)
	// Every record exactly once, each group's in order, whatever request it is in.
	want := map[string][]int64{}
	for _, g := range m.groups {
		for _, ev := range g.Events {
			want[g.Type] = append(want[g.Type], ev.Timestamp)
		}
	}
	got := map[string][]int64{}
	for r, inserts := range m.inserts {
		decoded := m.requests[r].GetRowInserts().GetInserts()
		require.Len(t, decoded, len(inserts))
		for i, in := range inserts {
			rows := decoded[i].GetRows().GetRows()
			require.Len(t, rows, len(in.Events))
			assert.Equal(t, len(rows), in.Rows)
			for j, row := range rows {
				assert.Equal(t, in.Events[j].Timestamp, row.Values[2].GetTimestampNanosecondValue())
				got[in.Group.Type] = append(got[in.Group.Type], row.Values[2].GetTimestampNanosecondValue())
			}
		}
	}
	assert.Equal(t, want, got)
}

func TestRecordTooLargeForAnyRequestIsLeftOutAlone(t *testing.T) {
	ld := logsOfTypes("a", "a", "a")
	huge := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1)
	huge.Body().SetStr(strings.Repeat("x", 4096))

	m := mapLogs(t, defaultSpec(), ld, 2048)

	require.Len(t, m.tooLarge, 1)
	assert.ErrorIs(t, m.tooLarge[0].Err, ErrTooLarge)
	assert.Contains(t, m.tooLarge[0].Err.Error(), "a request at most 2048")
	assert.Equal(t, int64(1_700_000_000_000_000_001), m.tooLarge[0].Event.Timestamp)
	assert.Greater(t, m.tooLarge[0].Size, 4096)
	var sent []int64
	for _, in := range m.rowInserts() {
		for _, row := range in.GetRows().GetRows() {
			sent = append(sent, row.Values[2].GetTimestampNanosecondValue())
		}
	}
	assert.Equal(t, []int64{1_700_000_000_000_000_000, 1_700_000_000_000_000_002}, sent, "the others are sent")
	assert.Len(t, m.groups[0].Events, 2, "a retry of the group would not carry it either")
}

// TestExpandedRowsStopOnceTooLarge: each expanded row carries the payload,
// which holds the array, so an array's rows grow with its square; they stop
// once the event cannot fit, and the record is left out as too large with
// the others sent, without writing hundreds of megabytes first.
func TestExpandedRowsStopOnceTooLarge(t *testing.T) {
	spec := withTypes(defaultSpec(), map[string]Table{"deploy": {Name: "events", Columns: []Column{
		{Name: "host", Source: "attributes.hosts", Expand: true, Tag: true},
	}}})
	ld := logsOfTypes("deploy", "deploy")
	hosts := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().PutEmptySlice("hosts")
	for i := range 16_000 { // about 800 MB of rows, were they all written
		hosts.AppendEmpty().SetInt(int64(i))
	}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m := mapLogs(t, spec, ld, 64<<10)
	runtime.ReadMemStats(&after)

	require.Len(t, m.tooLarge, 1)
	assert.ErrorIs(t, m.tooLarge[0].Err, ErrTooLarge)
	assert.Contains(t, m.tooLarge[0].Err.Error(), "its rows take more than")
	assert.Equal(t, 1, len(m.rowInserts()), "the other record is sent")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(32<<20), "bytes allocated to map the batch")
}

// varyingPayloadLogs has payloads whose lengths go up and down across the
// sizes where their length prefixes grow a byte (128, 16384, 2097152).
func varyingPayloadLogs() plog.Logs {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, n := range []int{10, 100, 120, 130, 20, 16_370, 16_400, 50, 3 << 20, 5, 200_000, 116} {
		lr := records.AppendEmpty()
		lr.SetEventName("sized")
		lr.SetTimestamp(pcommon.Timestamp(n))
		lr.Body().SetStr(strings.Repeat("x", n))
	}
	return ld
}

func TestPayloadsAcrossLengthPrefixSizes(t *testing.T) {
	m := mapLogs(t, defaultSpec(), varyingPayloadLogs(), 64<<20)

	rows := m.rowInserts()[0].GetRows().GetRows()
	require.Len(t, rows, 12)
	for _, row := range rows {
		n := int(row.Values[2].GetTimestampNanosecondValue()) // each record's body length
		assert.Equal(t, `{"body":"`+strings.Repeat("x", n)+`"}`, row.Values[1].GetStringValue())
	}
}

// TestDeadLettersAndTheCatalogAreLayouts: dead letters and catalog rows are
// written by the same writer as events, their columns read from the
// events' Rejection and CatalogRow.
func TestDeadLettersAndTheCatalogAreLayouts(t *testing.T) {
	dl, err := DeadLetterLayout("events_rejected", defaultOptions, Payload{Body: true}, EncodingJSON)
	require.NoError(t, err)
	catalog, err := CatalogLayout("event_types", EncodingJSON)
	require.NoError(t, err)
	ld := logsOfTypes("a")
	letter := *eventOf(ld, 0)
	letter.Timestamp = 5
	letter.Rejection = &Rejection{Database: "shop", Table: "orders", Code: 1004, GRPCCode: "InvalidArgument", Message: "bad"}
	short := letter
	short.Rejection = &Rejection{Table: "orders", Message: "too large", Payload: []byte(`{"truncated":true}`)}
	first, last := exportTime, exportTime.Add(time.Minute)
	row := Event{Timestamp: 7, Catalog: &CatalogRow{Table: "orders", Type: "a", Collector: "host/greptime_events",
		FirstSeen: first, LastSeen: last, Events: 3, PayloadKeys: []string{"body.x", "attributes.\"q\""}}}

	var w Writer
	w.Start()
	defer w.Finish(true)
	header := mustHeader(t, testHeader)
	requests, tooLarge := w.Pack([]*Group{
		{Database: "public", Type: "a", Layout: dl, Events: []Event{letter, short}},
		{Database: "public", Layout: catalog, Events: []Event{row}},
	}, header, 1<<20)
	require.Empty(t, tooLarge)
	require.Len(t, requests, 1)
	var req greptimev1.GreptimeRequest
	require.NoError(t, proto.Unmarshal(requestBytes(t, header, requests[0]), &req))
	inserts := req.GetRowInserts().GetInserts()
	require.Len(t, inserts, 2)

	assert.Equal(t, "events_rejected", inserts[0].TableName)
	assert.Equal(t, []string{"type", "payload", "timestamp", "target_database", "target_table", "error_code", "grpc_code", "error_message"}, columnNames(inserts[0].Rows.Schema))
	var got [][]any
	for _, r := range inserts[0].Rows.Rows {
		var cells []any
		for _, v := range r.Values {
			cells = append(cells, cellOf(v))
		}
		got = append(got, cells)
	}
	assert.Equal(t, [][]any{
		{"a", `{"body":"a happened"}`, int64(5), "shop", "orders", int64(1004), "InvalidArgument", "bad"},
		{"a", `{"truncated":true}`, int64(5), nil, "orders", nil, nil, "too large"},
	}, got)
	assert.Equal(t, "ttl=90d, append_mode=true, compaction.twcs.time_window=1d", dl.Hints())

	assert.Equal(t, "event_types", inserts[1].TableName)
	assert.Equal(t, []string{"table_name", "type", "collector", "started_at", "first_seen", "last_seen", "events", "payload_keys"}, columnNames(inserts[1].Rows.Schema))
	var cells []any
	for _, v := range inserts[1].Rows.Rows[0].Values {
		cells = append(cells, cellOf(v))
	}
	assert.Equal(t, []any{"orders", "a", "host/greptime_events", int64(7), first.UnixNano(), last.UnixNano(), int64(3), `["body.x","attributes.\"q\""]`}, cells)
	assert.Equal(t, "append_mode=false, merge_mode=last_row", catalog.Hints())
}
