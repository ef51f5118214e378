package greptimeeventsexporter

import (
	"context"
	"strings"
	"testing"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc/codes"

	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// The hints of a layout's first write with the default table options.
var defaultHints = map[string]string{"ttl": "90d", "append_mode": "true", "compaction.twcs.time_window": "1d"}

func TestExportRowsSchemasHintsAndAuth(t *testing.T) {
	h := newHarness(t, setup{server: greptimetest.Config{Users: map[string]string{"exporter": "s3cret"}}, configure: func(cfg *Config) {
		cfg.Username = "exporter"
		cfg.Password = "s3cret"
		cfg.Events = map[string]EventConfig{
			"user.login": {Table: "logins", Columns: []ColumnConfig{
				{Name: "user_id", Source: "attributes.user.id", SemanticType: "tag"},
				{Name: "latency_ms", Source: "body.latency_ms", Type: ColumnTypeFloat64},
			}},
		}
	}})

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), goldenLogs()))

	assert.ElementsMatch(t, []string{"events", "logins"}, h.srv.Tables("public"))
	logins, ok := h.srv.Table("public", "logins")
	require.True(t, ok)
	assert.Equal(t, []greptimetest.Column{
		{Name: "type", Type: greptimev1.ColumnDataType_STRING, Semantic: greptimev1.SemanticType_TAG, Nullable: true},
		{Name: "payload", Type: greptimev1.ColumnDataType_JSON, Semantic: greptimev1.SemanticType_FIELD, Nullable: true},
		{Name: "timestamp", Type: greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, Semantic: greptimev1.SemanticType_TIMESTAMP},
		{Name: "user_id", Type: greptimev1.ColumnDataType_STRING, Semantic: greptimev1.SemanticType_TAG, Nullable: true},
		{Name: "latency_ms", Type: greptimev1.ColumnDataType_FLOAT64, Semantic: greptimev1.SemanticType_FIELD, Nullable: true},
	}, withoutExtensions(logins.Columns))
	assert.Equal(t, []string{"type", "user_id"}, logins.PrimaryKey)
	assert.Equal(t, "timestamp", logins.TimeIndex)
	assert.Equal(t, "90d", logins.Options["ttl"])
	assert.Equal(t, "true", logins.Options["append_mode"])
	assert.Equal(t, "1d", logins.Options["compaction.twcs.time_window"])
	assert.Equal(t, []map[string]any{
		{"type": "user.login", "timestamp": int64(1_764_158_400_000_000_000), "user_id": "alice", "latency_ms": 12.5,
			"payload": map[string]any{"body": map[string]any{"latency_ms": 12.5, "method": "password"}, "attributes": map[string]any{"user.id": "alice", "success": true}}},
		{"type": "user.login", "timestamp": int64(1_764_158_400_000_000_001), "user_id": "bob", "latency_ms": 13.5,
			"payload": map[string]any{"body": map[string]any{"latency_ms": 13.5, "method": "password"}, "attributes": map[string]any{"user.id": "bob", "success": false}}},
	}, logins.Rows)
	events, ok := h.srv.Table("public", "events")
	require.True(t, ok)
	assert.Equal(t, map[string]int{"session.expired": 1, "order.placed": 1, "log": 1}, countByType(events))

	for _, c := range h.srv.Calls() {
		assert.Equal(t, codes.OK, c.Code, c.Message)
		assert.Equal(t, "public", c.DB)
		assert.Equal(t, "exporter", c.User)
	}
	assertRowsInserted(t, h.tel, counts{"events": 3, "logins": 2})
	assert.Equal(t, map[string]uint64{"success": uint64(len(h.srv.Calls()))}, callCounts(t, h.tel))
}

func TestFirstWritesGoAloneThenOneCallPerPush(t *testing.T) {
	h := newHarness(t, setup{configure: func(cfg *Config) {
		cfg.Events = map[string]EventConfig{"B": {Table: "table_B"}, "C": {Table: "table_C"}}
	}})

	// The first push writes each layout in a call of its own, with its hints.
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("A", "B", "A2", "C")))
	calls := h.srv.Calls()
	require.Len(t, calls, 3, "a call per (table, columns) layout")
	var tables []string
	for _, c := range calls {
		tables = append(tables, c.Tables()...)
		assert.Equal(t, defaultHints, c.Hints)
	}
	assert.Equal(t, []string{"events", "events", "table_B", "table_C"}, tables, "types of one layout share its first call")

	// Every later push is one call, without table options.
	for range 3 {
		require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("A", "B", "A2", "C", "B")))
	}
	calls = h.srv.Calls()[3:]
	require.Len(t, calls, 3, "one call per push")
	for _, c := range calls {
		assert.Equal(t, []string{"events", "table_B", "events", "table_C"}, c.Tables())
		assert.Equal(t, map[string]string{"auto_create_table": "false"}, c.Hints)
		assert.Equal(t, 5, c.RowCount())
	}
	assert.Equal(t, 2+3*2, h.srv.RowCount("public", "events"))
	assert.Equal(t, 1+3*2, h.srv.RowCount("public", "table_B"))
}

func TestRetryableErrorsAreRetriedAndLandOnce(t *testing.T) {
	tests := []struct {
		name  string
		fault greptimetest.Fault
	}{
		{name: "unavailable", fault: greptimetest.Fault{Code: codes.Unavailable, Message: "frontend restarting"}},
		{name: "storage unavailable", fault: greptimetest.Fault{Status: greptimetest.StatusStorageUnavailable, Message: "object store unreachable"}},
		{name: "rate limited", fault: greptimetest.Fault{Status: greptimetest.StatusRateLimited, Message: "rate limited"}},
		{name: "region not found during migration", fault: greptimetest.Fault{Status: greptimetest.StatusRegionNotFound, Message: "RegionId 4398046511104(1024, 0) not found"}},
		{name: "internal", fault: greptimetest.Fault{Status: greptimetest.StatusInternal}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{configure: withFastRetries})
			h.srv.FailNextWith(2, tt.fault)

			require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a", "a", "a")))

			assert.Equal(t, 3, h.srv.RowCount("public", "events"))
			calls := h.srv.Calls()
			require.Len(t, calls, 3)
			assert.NotEqual(t, codes.OK, calls[0].Code)
			assert.NotEqual(t, codes.OK, calls[1].Code)
			assert.Equal(t, codes.OK, calls[2].Code)
			assert.Equal(t, map[string]uint64{"retryable": 2, "success": 1}, callCounts(t, h.tel))
		})
	}
}

// withFastRetries turns retries on with intervals short enough for a test.
func withFastRetries(cfg *Config) {
	cfg.RetryConfig.Enabled = true
	cfg.RetryConfig.InitialInterval = time.Millisecond
	cfg.RetryConfig.MaxInterval = 5 * time.Millisecond // also the throttle pause
}

func TestPermanentErrorOnOneTableLeavesTheOthers(t *testing.T) {
	h := newHarness(t, setup{configure: func(cfg *Config) {
		cfg.Events = map[string]EventConfig{"B": {Table: "table_B"}, "C": {Table: "table_C"}}
		withFastRetries(cfg)
	}})
	h.srv.RejectTable("table_B", codes.InvalidArgument, "column payload expect type Json, given: STRING(12)")

	// The push wrote the other groups: it succeeds, and the rejected records
	// are counted as dropped, not the whole batch as failed.
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("A", "B", "A", "C", "B", "C", "A")))

	assert.Equal(t, 3, h.srv.RowCount("public", "events"))
	assert.Equal(t, 2, h.srv.RowCount("public", "table_C"))
	assert.Zero(t, h.srv.RowCount("public", "table_B"))
	assertRecordsDropped(t, h.tel, counts{"rejected": 2})
	rejected := h.logs.FilterMessage("GreptimeDB rejected events permanently; dropping them").All()
	require.Len(t, rejected, 1, "logged once")
	fields := rejected[0].ContextMap()
	assert.Equal(t, "table_B", fields["table"])
	assert.Equal(t, "B", fields["type"])
	assert.EqualValues(t, 2, fields["rows"])
	assert.Contains(t, fields["error"], "column payload expect type Json")
}

func TestRejectedSharedCallIsSentAgainOneInsertAtATime(t *testing.T) {
	h := newHarness(t, setup{configure: func(cfg *Config) {
		cfg.Events = map[string]EventConfig{"B": {Table: "table_B"}}
	}})
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("A", "B"))) // settles both layouts
	// GreptimeDB writes a request's regions independently: a call can fail
	// after some of its inserts were stored. Here all were.
	h.srv.FailNextWith(1, greptimetest.Fault{Status: greptimetest.StatusInvalidArguments, Apply: true,
		Message: "Invalid request to region 4398046511104(1024, 0), reason: column payload expect type Json"})

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("A", "A", "B")))

	calls := h.srv.Calls()[2:]
	require.Len(t, calls, 3, "the combined call, then each insert alone")
	assert.Equal(t, []string{"events", "table_B"}, calls[0].Tables())
	assert.Equal(t, codes.InvalidArgument, calls[0].Code)
	assert.Equal(t, []string{"events"}, calls[1].Tables())
	assert.Equal(t, defaultHints, calls[1].Hints, "sent alone as a first write")
	assert.Equal(t, []string{"table_B"}, calls[2].Tables())
	assert.Equal(t, 1+2*2, h.srv.RowCount("public", "events"), "the inserts the rejected call had stored land twice")
	assert.Equal(t, 1+1*2, h.srv.RowCount("public", "table_B"))
	assertRecordsDropped(t, h.tel, nil)
	assert.Equal(t, counts{"events": 2, "table_B": 1}, counted(t, h.tel, "otelcol_exporter_greptime_events_records_resent", "table"),
		"the duplicates' bound is counted")
	assert.Equal(t, 1, h.logs.FilterMessageSnippet("sending its inserts again one at a time").Len())

	// The layouts are settled again: the next push is one call.
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("A", "B")))
	require.Len(t, h.srv.Calls(), 6)
}

// TestRejectedCallOfOneInsertCountsNoResend: a call of a single insert
// GreptimeDB refuses outright stored nothing of it, so sending it again
// alone duplicates nothing: no warning, no records_resent.
func TestRejectedCallOfOneInsertCountsNoResend(t *testing.T) {
	h := newHarness(t, setup{})
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("A"))) // settles the layout
	h.srv.FailNextWith(1, greptimetest.Fault{Status: greptimetest.StatusInvalidArguments,
		Message: "Invalid request to region 4398046511104(1024, 0), reason: column payload expect type Json"})

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("A", "A")))

	calls := h.srv.Calls()[1:]
	require.Len(t, calls, 2, "the shared call, then the insert alone with its hints")
	assert.Equal(t, map[string]string{"auto_create_table": "false"}, calls[0].Hints)
	assert.Equal(t, defaultHints, calls[1].Hints)
	assert.Equal(t, 1+2, h.srv.RowCount("public", "events"))
	_, err := h.tel.GetMetric("otelcol_exporter_greptime_events_records_resent")
	assert.Error(t, err, "nothing counted as resent")
	assert.Zero(t, h.logs.FilterMessageSnippet("sending its inserts again one at a time").Len())
}

// TestRejectedFirstWriteOfOneInsertCountsNoResend: the very first write of
// a layout, one insert, refused outright: GreptimeDB stored nothing of it,
// and there is no other insert to send again. Its records are dropped and
// counted as rejected; nothing is resent, nothing warns of duplicates.
func TestRejectedFirstWriteOfOneInsertCountsNoResend(t *testing.T) {
	h := newHarness(t, setup{})
	h.srv.FailNextWith(1, greptimetest.Fault{Status: greptimetest.StatusInvalidArguments,
		Message: "Invalid request to region 4398046511104(1024, 0), reason: column payload expect type Json"})

	err := h.exp.ConsumeLogs(context.Background(), logsOfTypes("A", "A"))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "nothing written, nothing to retry")

	calls := h.srv.Calls()
	require.Len(t, calls, 1, "the first write alone, not sent again")
	assert.Equal(t, defaultHints, calls[0].Hints)
	assert.Zero(t, h.srv.RowCount("public", "events"))
	assertRecordsDropped(t, h.tel, counts{"rejected": 2})
	_, err = h.tel.GetMetric("otelcol_exporter_greptime_events_records_resent")
	assert.Error(t, err, "nothing counted as resent")
	assert.Zero(t, h.logs.FilterMessageSnippet("stored twice").Len())
}

// TestRejectedFirstWriteOfSeveralInsertsCountsResent: a first write that
// holds two inserts (two types of one layout) refused as a whole is sent
// again one insert at a time, and that is counted and warned of, since
// GreptimeDB may have stored one of them already.
func TestRejectedFirstWriteOfSeveralInsertsCountsResent(t *testing.T) {
	h := newHarness(t, setup{})
	h.srv.FailNextWith(1, greptimetest.Fault{Status: greptimetest.StatusInvalidArguments,
		Message: "Invalid request to region 4398046511104(1024, 0), reason: column payload expect type Json"})

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("A", "B", "A")))

	calls := h.srv.Calls()
	require.Len(t, calls, 3, "the first write of both types, then each alone")
	assert.Len(t, calls[0].Inserts, 2)
	assert.Len(t, calls[1].Inserts, 1)
	assert.Len(t, calls[2].Inserts, 1)
	assert.Equal(t, 3, h.srv.RowCount("public", "events"))
	assert.Equal(t, counts{"events": 3}, counted(t, h.tel, "otelcol_exporter_greptime_events_records_resent", "table"))
	assert.Equal(t, 1, h.logs.FilterMessageSnippet("stored twice").Len())
}

func TestTableGoneBehindTheExporterComesBackWithItsOptions(t *testing.T) {
	h := newHarness(t, setup{configure: func(cfg *Config) {
		cfg.TTL = 720 * time.Hour
		withFastRetries(cfg) // while the client reconnects
	}})
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a")))
	// The server comes back empty, as after the table was dropped.
	h.srv.Stop()
	h.startServer()

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a", "a")))

	calls := h.srv.Calls()
	require.Len(t, calls, 2)
	assert.Equal(t, codes.InvalidArgument, calls[0].Code, "a shared call creates no table")
	assert.Contains(t, calls[0].Message, "does not exist, and `auto_create_table` hint is disabled")
	assert.Equal(t, codes.OK, calls[1].Code)
	events, ok := h.srv.Table("public", "events")
	require.True(t, ok)
	assert.Len(t, events.Rows, 2)
	assert.Equal(t, "30d", events.Options["ttl"], "created again with its options")
}

func TestUnknownColumnsOnAFirstWriteAreRetried(t *testing.T) {
	// Another collector created the table with other columns at the same
	// moment: GreptimeDB refuses the columns it lacks until the next insert
	// adds them.
	h := newHarness(t, setup{configure: withFastRetries})
	h.srv.FailNextWith(1, greptimetest.Fault{Status: greptimetest.StatusInvalidArguments,
		Message: `Invalid request to region 4398046511104(1024, 0), reason: unknown columns: ["user_id"]`})

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a", "a")))

	assert.Equal(t, 2, h.srv.RowCount("public", "events"))
	assertRecordsDropped(t, h.tel, nil)
}

func TestPermanentErrorAloneIsReturnedAsPermanent(t *testing.T) {
	h := newHarness(t, setup{})
	h.srv.RejectTable("events", codes.InvalidArgument, "no")

	err := h.exp.ConsumeLogs(context.Background(), logsOfTypes("a"))

	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
}

func TestPartialFailureReturnsOnlyTheFailedRecords(t *testing.T) {
	h := newHarness(t, setup{configure: func(cfg *Config) {
		cfg.Events = map[string]EventConfig{"B": {Table: "table_B"}}
	}})
	// Every call into table_B fails transiently.
	h.srv.RejectTable("table_B", codes.Unavailable, "region not ready")

	err := h.exp.ConsumeLogs(context.Background(), logsOfTypes("A", "B", "A", "B"))

	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	var logsErr consumererror.Logs
	require.ErrorAs(t, err, &logsErr)
	failed := logsErr.Data()
	require.Equal(t, 2, failed.LogRecordCount())
	for _, rl := range failed.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				assert.Equal(t, "B", lr.EventName())
			}
		}
	}
	assert.Equal(t, 2, h.srv.RowCount("public", "events"))
}

func TestShutdownFlushesTheBatcher(t *testing.T) {
	h := newHarness(t, setup{queue: true, configure: func(cfg *Config) {
		batch := cfg.QueueConfig.Get().Batch.Get()
		batch.MinSize = 1000
		batch.FlushTimeout = time.Hour // nothing but shutdown sends these
	}})

	for range 5 {
		require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a", "b")))
	}
	assert.Empty(t, h.srv.Calls(), "the batcher holds the events")

	h.shutdown()

	assert.Equal(t, 10, h.srv.RowCount("public", "events"))
}

func TestFullQueueReturnsAnErrorInsteadOfBlocking(t *testing.T) {
	// Nothing listens: the only consumer keeps retrying its first request.
	h := newHarness(t, setup{queue: true, lateServer: true, configure: func(cfg *Config) {
		queue := cfg.QueueConfig.Get()
		queue.QueueSize = 10
		queue.NumConsumers = 1
		queue.Batch = configoptional.None[exporterhelper.BatchConfig]()
		cfg.RetryConfig.InitialInterval = time.Hour
		cfg.RetryConfig.MaxElapsedTime = 0
	}})

	var full error
	for range 100 {
		if full = h.exp.ConsumeLogs(context.Background(), logsOfTypes("a")); full != nil {
			break
		}
	}

	require.ErrorIs(t, full, exporterhelper.ErrQueueIsFull)
	assert.False(t, consumererror.IsPermanent(full), "the pipeline may retry or back off")
}

func TestCredentialsNeverAppearInLogs(t *testing.T) {
	const password = "pa55-w0rd-never-logged"
	h := newHarness(t, setup{server: greptimetest.Config{Users: map[string]string{"exporter": "another-password"}}, configure: func(cfg *Config) {
		cfg.Username = "exporter"
		cfg.Password = password
	}})

	err := h.exp.ConsumeLogs(context.Background(), logsOfTypes("a"))

	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "wrong credentials are not retried")
	assert.Contains(t, err.Error(), "Username and password does not match")
	assert.NotContains(t, err.Error(), password)
	require.NotEmpty(t, h.logs.All())
	for _, entry := range h.logs.All() {
		enc := zapcore.NewJSONEncoder(zap.NewDevelopmentEncoderConfig())
		buf, encErr := enc.EncodeEntry(entry.Entry, entry.Context)
		require.NoError(t, encErr)
		assert.NotContains(t, buf.String(), password)
	}
}

func TestDropsAreCounted(t *testing.T) {
	h := newHarness(t, setup{configure: func(cfg *Config) {
		cfg.Filter.Exclude = []string{"noise"}
		cfg.Events = map[string]EventConfig{"*": {Columns: []ColumnConfig{
			{Name: "n", Source: "attributes.n", Type: ColumnTypeInt64},
		}}}
	}})
	ld := logsOfTypes("noise", "kept", "noise", "kept")
	records := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	records.At(1).SetTimestamp(pcommon.Timestamp(1 << 63)) // beyond year 2262
	records.At(3).Attributes().PutStr("n", "not a number")

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld))

	assert.Equal(t, 1, h.srv.RowCount("public", "events"))
	assertRecordsDropped(t, h.tel, counts{"filtered": 2, "invalid": 1})
	assertValuesNulled(t, h.tel, counts{"events": 1})
	assert.Len(t, h.logs.FilterMessage("Dropped records that cannot be stored (type and error of the first)").All(), 1)
}

func TestEachTableGetsItsOwnPolicy(t *testing.T) {
	yearTTL, appendOff := 8760*time.Hour, false
	h := newHarness(t, setup{configure: func(cfg *Config) {
		cfg.Events = map[string]EventConfig{
			"audit.login":  {Table: "audit", TTL: &yearTTL, AppendMode: &appendOff},
			"order.placed": {Table: "orders", EventID: &EventIDConfig{Enabled: true}},
		}
	}})

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("audit.login", "order.placed", "other")))

	want := map[string]map[string]string{
		"audit":  {"ttl": "365d", "append_mode": "false", "compaction.twcs.time_window": "1d"},
		"orders": {"ttl": "90d", "append_mode": "false", "merge_mode": "last_row", "compaction.twcs.time_window": "1d"},
		"events": defaultHints,
	}
	for table, hints := range want {
		tb, ok := h.srv.Table("public", table)
		require.True(t, ok, table)
		for k, v := range hints {
			assert.Equal(t, v, tb.Options[k], "%s: %s", table, k)
		}
	}
	calls := h.srv.Calls()
	require.Len(t, calls, 3, "each table's first write alone")
	for _, c := range calls {
		assert.Equal(t, want[c.Inserts[0].Table], c.Hints, "hints of the call into %s", c.Inserts[0].Table)
	}
	orders, _ := h.srv.Table("public", "orders")
	_, hasID := orders.Column("event_id")
	assert.True(t, hasID)
	audit, _ := h.srv.Table("public", "audit")
	_, hasID = audit.Column("event_id")
	assert.False(t, hasID)
}

func TestLargePushesAreSplitAtMaxRequestBytes(t *testing.T) {
	h := newHarness(t, setup{configure: func(cfg *Config) {
		cfg.MaxRequestBytes = 16 << 10
	}})
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("user.login", "order.placed", "deploy.finished", "cache.evicted", "job.failed")))
	settled, before := len(h.srv.Calls()), h.srv.RowCount("public", "events")
	ld := benchLogs(500) // five types of 100 records, about 40 KiB each
	huge := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(7)
	huge.Body().SetStr(strings.Repeat("x", 32<<10)) // too large for any call

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld))

	calls := h.srv.Calls()[settled:]
	assert.Greater(t, len(calls), 5, "more calls than the one a push takes")
	for _, c := range calls {
		assert.Equal(t, codes.OK, c.Code)
	}
	assert.Equal(t, before+499, h.srv.RowCount("public", "events"), "every record but the huge one, once")
	assertRecordsDropped(t, h.tel, counts{"invalid": 1})
	tooLarge := h.logs.FilterMessage("Dropped records that cannot be stored (type and error of the first)").All()
	require.Len(t, tooLarge, 1)
	assert.Contains(t, tooLarge[0].ContextMap()["error"], "record is too large to send")
}

func countByType(tb greptimetest.Table) map[string]int {
	counts := map[string]int{}
	for _, row := range tb.Rows {
		counts[row["type"].(string)]++
	}
	return counts
}

func withoutExtensions(cols []greptimetest.Column) []greptimetest.Column {
	out := make([]greptimetest.Column, len(cols))
	for i, c := range cols {
		c.Extension = nil
		out[i] = c
	}
	return out
}
