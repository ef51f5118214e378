package greptimeeventsexporter

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc/codes"

	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
	"github.com/greptime-events/greptimeeventsexporter/internal/metadata"
	"github.com/greptime-events/greptimeeventsexporter/internal/metadatatest"
)

// harness is an exporter built by the factory, dialling a greptimetest server
// over loopback, with its logs and telemetry observed.
type harness struct {
	srv  *greptimetest.Server
	exp  exporter.Logs
	logs *observer.ObservedLogs
	tel  *componenttest.Telemetry
}

// newHarness starts a server and an exporter. The exporter's queue is off
// and retries are off unless configure turns them on, so errors surface.
func newHarness(t *testing.T, srvCfg greptimetest.Config, configure func(*Config)) *harness {
	t.Helper()
	srv, err := greptimetest.Start(srvCfg)
	require.NoError(t, err)
	t.Cleanup(srv.Stop)

	cfg := defaultConfig()
	cfg.ClientConfig.Endpoint = srv.Addr()
	cfg.ClientConfig.TLS.Insecure = true
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	if configure != nil {
		configure(cfg)
	}
	require.NoError(t, cfg.Validate())

	h := &harness{srv: srv, tel: componenttest.NewTelemetry()}
	t.Cleanup(func() { require.NoError(t, h.tel.Shutdown(context.Background())) })
	core, logs := observer.New(zapcore.DebugLevel)
	h.logs = logs
	set := metadatatest.NewSettings(h.tel)
	set.Logger = zap.New(core)

	h.exp, err = NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, h.exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, h.exp.Shutdown(context.Background())) })
	return h
}

func TestExportRowsSchemasHintsAndAuth(t *testing.T) {
	h := newHarness(t, greptimetest.Config{Users: map[string]string{"exporter": "s3cret"}}, func(cfg *Config) {
		cfg.Username = "exporter"
		cfg.Password = "s3cret"
		cfg.Events = map[string]EventConfig{
			"user.login": {Table: "logins", Columns: []ColumnConfig{
				{Name: "user_id", Source: "attributes.user.id", SemanticType: "tag"},
				{Name: "latency_ms", Source: "body.latency_ms", Type: ColumnTypeFloat64},
			}},
		}
	})

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

	calls := h.srv.Calls()
	require.Len(t, calls, 4, "one call per (table, type)")
	for _, c := range calls {
		assert.Equal(t, codes.OK, c.Code, c.Message)
		assert.Equal(t, "public", c.DB)
		assert.Equal(t, "exporter", c.User)
		assert.Equal(t, map[string]string{"ttl": "90d", "append_mode": "true", "compaction.twcs.time_window": "1d"}, c.Hints)
		assert.Len(t, c.Inserts, 1)
	}

	assert.Equal(t, map[string]int64{"events": 3, "logins": 2}, sumsBy(t, h.tel, "otelcol_exporter_greptime_events_rows_inserted", "table"))
	insertDurations := histogramCounts(t, h.tel, "otelcol_exporter_greptime_events_insert_duration")
	assert.Equal(t, map[string]uint64{"success": 4}, insertDurations)
}

func TestRetryableErrorsAreRetriedAndLandOnce(t *testing.T) {
	tests := []struct {
		name  string
		fault greptimetest.Fault
	}{
		{name: "unavailable", fault: greptimetest.Fault{Code: codes.Unavailable, Message: "frontend restarting"}},
		{name: "storage unavailable", fault: greptimetest.Fault{Code: codes.Unavailable, Status: greptimetest.StatusStorageUnavailable, Message: "object store unreachable"}},
		{name: "rate limited", fault: greptimetest.Fault{Code: codes.ResourceExhausted, Status: greptimetest.StatusRateLimited, Message: "rate limited"}},
		{name: "internal", fault: greptimetest.Fault{Code: codes.Internal, Status: greptimetest.StatusInternal, Message: "Internal error: 1003"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, greptimetest.Config{}, func(cfg *Config) {
				cfg.RetryConfig.Enabled = true
				cfg.RetryConfig.InitialInterval = time.Millisecond
				cfg.RetryConfig.MaxInterval = 5 * time.Millisecond // also the throttle pause
			})
			h.srv.FailNextWith(2, tt.fault)

			require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a", "a", "a")))

			assert.Equal(t, 3, h.srv.RowCount("public", "events"))
			calls := h.srv.Calls()
			require.Len(t, calls, 3)
			assert.Equal(t, tt.fault.Code, calls[0].Code)
			assert.Equal(t, tt.fault.Code, calls[1].Code)
			assert.Equal(t, codes.OK, calls[2].Code)
			assert.Equal(t, map[string]uint64{"retryable": 2, "success": 1}, histogramCounts(t, h.tel, "otelcol_exporter_greptime_events_insert_duration"))
		})
	}
}

func TestPermanentErrorOnOneTableLeavesTheOthers(t *testing.T) {
	h := newHarness(t, greptimetest.Config{}, func(cfg *Config) {
		cfg.Events = map[string]EventConfig{"B": {Table: "table_B"}, "C": {Table: "table_C"}}
		cfg.RetryConfig.Enabled = true
		cfg.RetryConfig.InitialInterval = time.Millisecond
	})
	h.srv.RejectTable("table_B", codes.InvalidArgument, "column payload expect type Json, given: STRING(12)")
	// One more transient failure, on whichever group is sent first: that
	// group alone is retried. If it was table_B's, the retry meets the
	// rejection and the call ends with it; otherwise the call succeeds.
	h.srv.FailNext(1, codes.Unavailable, "frontend restarting")

	err := h.exp.ConsumeLogs(context.Background(), logsOfTypes("A", "B", "A", "C", "B", "C", "A"))
	if err != nil {
		assert.True(t, consumererror.IsPermanent(err))
		assert.Contains(t, err.Error(), `insert into "table_B"`)
	}

	assert.Equal(t, 3, h.srv.RowCount("public", "events"))
	assert.Equal(t, 2, h.srv.RowCount("public", "table_C"))
	assert.Zero(t, h.srv.RowCount("public", "table_B"))
	okCalls := 0
	for _, c := range h.srv.Calls() {
		if c.Code == codes.OK {
			okCalls++
		}
	}
	assert.Equal(t, 2, okCalls, "each accepted group was written exactly once")

	assert.Equal(t, map[string]int64{"rejected": 2}, sumsBy(t, h.tel, "otelcol_exporter_greptime_events_records_dropped", "reason"))
	rejected := h.logs.FilterMessage("GreptimeDB rejected events permanently; dropping them").All()
	require.Len(t, rejected, 1, "logged once")
	fields := rejected[0].ContextMap()
	assert.Equal(t, "table_B", fields["table"])
	assert.Equal(t, "B", fields["type"])
	assert.EqualValues(t, 2, fields["rows"])
	assert.Contains(t, fields["error"], "column payload expect type Json")
}

func TestPermanentErrorAloneIsReturnedAsPermanent(t *testing.T) {
	h := newHarness(t, greptimetest.Config{}, nil)
	h.srv.RejectTable("events", codes.InvalidArgument, "no")

	err := h.exp.ConsumeLogs(context.Background(), logsOfTypes("a"))

	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
}

func TestPartialFailureReturnsOnlyTheFailedRecords(t *testing.T) {
	h := newHarness(t, greptimetest.Config{}, func(cfg *Config) {
		cfg.Events = map[string]EventConfig{"B": {Table: "table_B"}}
	})
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

// startExporter starts an exporter with the default queue and retries
// against endpoint; the test shuts it down.
func startExporter(t *testing.T, endpoint string, configure func(*Config)) exporter.Logs {
	t.Helper()
	cfg := defaultConfig()
	cfg.ClientConfig.Endpoint = endpoint
	cfg.ClientConfig.TLS.Insecure = true
	configure(cfg)
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	return exp
}

func startServer(t *testing.T) *greptimetest.Server {
	t.Helper()
	srv, err := greptimetest.Start(greptimetest.Config{})
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	return srv
}

func TestShutdownFlushesTheBatcher(t *testing.T) {
	srv := startServer(t)
	exp := startExporter(t, srv.Addr(), func(cfg *Config) {
		batch := cfg.QueueConfig.Get().Batch.Get()
		batch.MinSize = 1000
		batch.FlushTimeout = time.Hour // nothing but shutdown sends these
	})

	for range 5 {
		require.NoError(t, exp.ConsumeLogs(context.Background(), logsOfTypes("a", "b")))
	}
	assert.Empty(t, srv.Calls(), "the batcher holds the events")

	require.NoError(t, exp.Shutdown(context.Background()))

	assert.Equal(t, 10, srv.RowCount("public", "events"))
}

func TestFullQueueReturnsAnErrorInsteadOfBlocking(t *testing.T) {
	// Nothing listens: the only consumer keeps retrying its first request.
	exp := startExporter(t, unusedAddr(t), func(cfg *Config) {
		queue := cfg.QueueConfig.Get()
		queue.QueueSize = 10
		queue.NumConsumers = 1
		queue.Batch = configoptional.None[exporterhelper.BatchConfig]()
		cfg.RetryConfig.InitialInterval = time.Hour
		cfg.RetryConfig.MaxElapsedTime = 0
	})
	defer func() { require.NoError(t, exp.Shutdown(context.Background())) }()

	var full error
	for range 100 {
		if full = exp.ConsumeLogs(context.Background(), logsOfTypes("a")); full != nil {
			break
		}
	}

	require.ErrorIs(t, full, exporterhelper.ErrQueueIsFull)
	assert.False(t, consumererror.IsPermanent(full), "the pipeline may retry or back off")
}

func TestCredentialsNeverAppearInLogs(t *testing.T) {
	const password = "pa55-w0rd-never-logged"
	h := newHarness(t, greptimetest.Config{Users: map[string]string{"exporter": "another-password"}}, func(cfg *Config) {
		cfg.Username = "exporter"
		cfg.Password = password
	})

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
	h := newHarness(t, greptimetest.Config{}, func(cfg *Config) {
		cfg.Filter.Exclude = []string{"noise"}
		cfg.Events = map[string]EventConfig{"*": {Columns: []ColumnConfig{
			{Name: "n", Source: "attributes.n", Type: ColumnTypeInt64},
		}}}
	})
	ld := logsOfTypes("noise", "kept", "noise", "kept")
	records := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	records.At(1).SetTimestamp(pcommon.Timestamp(1 << 63)) // beyond year 2262
	records.At(3).Attributes().PutStr("n", "not a number")

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld))

	assert.Equal(t, 1, h.srv.RowCount("public", "events"))
	assert.Equal(t, map[string]int64{"filtered": 2, "invalid": 1}, sumsBy(t, h.tel, "otelcol_exporter_greptime_events_records_dropped", "reason"))
	assert.Equal(t, map[string]int64{"events": 1}, sumsBy(t, h.tel, "otelcol_exporter_greptime_events_values_nulled", "table"))
	assert.Len(t, h.logs.FilterMessage("Dropped records that cannot be stored (type and error of the first)").All(), 1)
}

func TestGroupsAreSentConcurrentlyWithABound(t *testing.T) {
	h := newHarness(t, greptimetest.Config{}, nil)
	h.srv.SetLatency(50 * time.Millisecond)
	var types []string
	for i := range 3 * maxConcurrentInserts {
		types = append(types, fmt.Sprintf("type-%02d", i))
	}

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes(types...)))

	calls := h.srv.Calls()
	require.Len(t, calls, len(types))
	peak := peakOverlap(calls)
	assert.Greater(t, peak, 1, "groups are sent concurrently")
	assert.LessOrEqual(t, peak, maxConcurrentInserts, "at most maxConcurrentInserts at a time")
	assert.Equal(t, len(types), h.srv.RowCount("public", "events"))
}

// peakOverlap is the most calls the server was handling at one time.
func peakOverlap(calls []greptimetest.Call) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, c := range calls {
		edges = append(edges, edge{c.Time, 1}, edge{c.Time.Add(c.Duration), -1})
	}
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at.Equal(edges[j].at) {
			return edges[i].delta < edges[j].delta
		}
		return edges[i].at.Before(edges[j].at)
	})
	peak, cur := 0, 0
	for _, e := range edges {
		cur += e.delta
		peak = max(peak, cur)
	}
	return peak
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

// sumsBy is a counter's total by the value of one attribute; empty while
// nothing was counted.
func sumsBy(t *testing.T, tel *componenttest.Telemetry, name, key string) map[string]int64 {
	t.Helper()
	sums := map[string]int64{}
	m, err := tel.GetMetric(name)
	if err != nil {
		return sums
	}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		v, _ := dp.Attributes.Value(attribute.Key(key))
		sums[v.AsString()] += dp.Value
	}
	return sums
}

// histogramCounts sums a histogram's observations by its outcome attribute.
func histogramCounts(t *testing.T, tel *componenttest.Telemetry, name string) map[string]uint64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	require.NoError(t, err)
	counts := map[string]uint64{}
	for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
		outcome, _ := dp.Attributes.Value("outcome")
		counts[outcome.AsString()] += dp.Count
	}
	return counts
}

// unusedAddr is a loopback address nothing listens on.
func unusedAddr(t *testing.T) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())
	return addr
}

func TestEachTableGetsItsOwnPolicy(t *testing.T) {
	yearTTL, appendOff := 8760*time.Hour, false
	h := newHarness(t, greptimetest.Config{}, func(cfg *Config) {
		cfg.Events = map[string]EventConfig{
			"audit.login":  {Table: "audit", TTL: &yearTTL, AppendMode: &appendOff},
			"order.placed": {Table: "orders", EventID: &EventIDConfig{Enabled: true}},
		}
	})

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("audit.login", "order.placed", "other")))

	want := map[string]map[string]string{
		"audit":  {"ttl": "365d", "append_mode": "false", "compaction.twcs.time_window": "1d"},
		"orders": {"ttl": "90d", "append_mode": "false", "merge_mode": "last_row", "compaction.twcs.time_window": "1d"},
		"events": {"ttl": "90d", "append_mode": "true", "compaction.twcs.time_window": "1d"},
	}
	for table, hints := range want {
		tb, ok := h.srv.Table("public", table)
		require.True(t, ok, table)
		for k, v := range hints {
			assert.Equal(t, v, tb.Options[k], "%s: %s", table, k)
		}
	}
	for _, c := range h.srv.Calls() {
		assert.Equal(t, want[c.Inserts[0].Table], c.Hints, "hints of the call into %s", c.Inserts[0].Table)
	}
	orders, _ := h.srv.Table("public", "orders")
	_, hasID := orders.Column("event_id")
	assert.True(t, hasID)
	audit, _ := h.srv.Table("public", "audit")
	_, hasID = audit.Column("event_id")
	assert.False(t, hasID)
}

func TestLargeGroupsAreSplitAtMaxRequestBytes(t *testing.T) {
	h := newHarness(t, greptimetest.Config{}, func(cfg *Config) {
		cfg.MaxRequestBytes = 16 << 10
	})
	ld := benchLogs(500) // five types of 100 records, about 40 KiB each
	huge := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(7)
	huge.Body().SetStr(strings.Repeat("x", 32<<10)) // too large for any call

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld))

	calls := h.srv.Calls()
	assert.Greater(t, len(calls), 5, "more than one call per type")
	for _, c := range calls {
		assert.Equal(t, codes.OK, c.Code)
	}
	assert.Equal(t, 499, h.srv.RowCount("public", "events"), "every record but the huge one, once")
	assert.Equal(t, map[string]int64{"invalid": 1}, sumsBy(t, h.tel, "otelcol_exporter_greptime_events_records_dropped", "reason"))
	tooLarge := h.logs.FilterMessage("Dropped records that cannot be stored (type and error of the first)").All()
	require.Len(t, tooLarge, 1)
	assert.Contains(t, tooLarge[0].ContextMap()["error"], "larger than max_request_bytes")
}
