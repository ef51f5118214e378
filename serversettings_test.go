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
	"google.golang.org/grpc/codes"

	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
	"github.com/greptime-events/greptimeeventsexporter/internal/mapping"
)

// Server settings the exporter cannot see: a frontend that creates no
// tables, size limits, and timeouts.

// baseEventsTable creates table "events" in public with the base columns
// only, through a server on st that creates tables, as an operator would.
func baseEventsTable(t *testing.T, st *greptimetest.Store) {
	t.Helper()
	srv, err := greptimetest.Start(greptimetest.Config{Store: st})
	require.NoError(t, err)
	defer srv.Stop()
	insertOneRow(t, srv.Addr(), "events", []*greptimev1.ColumnSchema{
		{ColumnName: "type", Datatype: greptimev1.ColumnDataType_STRING, SemanticType: greptimev1.SemanticType_TAG},
		{ColumnName: "payload", Datatype: greptimev1.ColumnDataType_JSON, SemanticType: greptimev1.SemanticType_FIELD},
		{ColumnName: "timestamp", Datatype: greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, SemanticType: greptimev1.SemanticType_TIMESTAMP},
	}, []*greptimev1.Value{
		{ValueData: &greptimev1.Value_StringValue{StringValue: "before"}},
		{ValueData: &greptimev1.Value_StringValue{StringValue: "{}"}},
		{ValueData: &greptimev1.Value_TimestampNanosecondValue{TimestampNanosecondValue: 1}},
	})
}

// deadLetterTable creates dead-letter table name in public, with one seed
// row, through a server on st that creates tables, as an operator would.
func deadLetterTable(t *testing.T, st *greptimetest.Store, name string) {
	t.Helper()
	dl, err := mapping.DeadLetterLayout(name, mapping.Options{}, mapping.Payload{}, mapping.EncodingJSONB)
	require.NoError(t, err)
	schema := dl.Schema()
	creator, err := greptimetest.Start(greptimetest.Config{Store: st})
	require.NoError(t, err)
	defer creator.Stop()
	seed := make([]*greptimev1.Value, len(schema))
	seed[0] = &greptimev1.Value{ValueData: &greptimev1.Value_StringValue{StringValue: "seed"}}
	seed[2] = &greptimev1.Value{ValueData: &greptimev1.Value_TimestampNanosecondValue{TimestampNanosecondValue: 1}}
	for i := range seed {
		if seed[i] == nil {
			seed[i] = &greptimev1.Value{}
		}
	}
	insertOneRow(t, creator.Addr(), name, schema, seed)
}

// TestFrontendThatCreatesNoTables: a frontend with auto_create_table =
// false (src/frontend/src/frontend.rs:45-51) creates and alters no table,
// whatever the hints. A first write into a missing table is dead-lettered,
// or dropped, and the log gives the CREATE TABLE the config needs; a first
// write of new columns meets "unknown columns" every time: it is tried
// again briefly, as for a race, then rejected with the ALTER TABLE.
func TestFrontendThatCreatesNoTables(t *testing.T) {
	t.Run("missing table", func(t *testing.T) {
		h := newHarness(t, setup{server: greptimetest.Config{DisableAutoCreateTable: true}})

		err := h.exp.ConsumeLogs(context.Background(), logsOfTypes("a", "b"))
		require.Error(t, err)
		assert.True(t, consumererror.IsPermanent(err))

		assert.Len(t, h.srv.Calls(), 1, "refused at once, not retried")
		assertRecordsDropped(t, h.tel, counts{"rejected": 2})
		logged := h.logs.FilterMessage("GreptimeDB rejected events permanently; dropping them").All()
		require.Len(t, logged, 1)
		assert.Contains(t, logged[0].ContextMap()["error"], "auto-create table is disabled by frontend config")
		assert.Equal(t, `CREATE TABLE IF NOT EXISTS "events" ("type" STRING NULL, "payload" JSON NULL, "timestamp" TIMESTAMP(9) NOT NULL, `+
			`TIME INDEX ("timestamp"), PRIMARY KEY ("type")) `+
			`WITH ('ttl' = '90d', 'append_mode' = 'true', 'compaction.type' = 'twcs', 'compaction.twcs.time_window' = '1d')`,
			logged[0].ContextMap()["sql"])

		// The statement logged is the fix: run, the next push lands.
		_, err = h.srv.Store().ExecSQL("public", logged[0].ContextMap()["sql"].(string))
		require.NoError(t, err)
		require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a", "b")))
		assert.Equal(t, 2, h.srv.RowCount("public", "events"))
	})

	t.Run("new columns", func(t *testing.T) {
		st, err := greptimetest.NewStore("public")
		require.NoError(t, err)
		baseEventsTable(t, st)
		h := newHarness(t, setup{server: greptimetest.Config{Store: st, DisableAutoCreateTable: true}, configure: func(cfg *Config) {
			cfg.Events = map[string]EventConfig{"*": {Columns: []ColumnConfig{
				{Name: "user", Source: "attributes.user", SemanticType: "tag"},
				{Name: "n", Source: "attributes.n", Type: ColumnTypeInt64},
			}}}
		}})

		err = h.exp.ConsumeLogs(context.Background(), logsOfTypes("a"))
		require.Error(t, err)
		assert.True(t, consumererror.IsPermanent(err), "not retried until the retry budget ends")

		calls := h.srv.Calls()
		require.Len(t, calls, 1+raceResends, "the first write, then the brief resends of a race")
		for _, c := range calls {
			assert.Contains(t, c.Message, "unknown columns")
		}
		assert.GreaterOrEqual(t, calls[len(calls)-1].Time.Sub(calls[0].Time), raceBackoff, "resent after a pause")
		logged := h.logs.FilterMessage("GreptimeDB rejected events permanently; dropping them").All()
		require.Len(t, logged, 1)
		assert.Equal(t, `ALTER TABLE "events" ADD COLUMN IF NOT EXISTS "user" STRING PRIMARY KEY, ADD COLUMN IF NOT EXISTS "n" BIGINT`,
			logged[0].ContextMap()["sql"])
		assertRecordsDropped(t, h.tel, counts{"rejected": 1})

		// The statement logged is the fix: run, the next push lands.
		_, err = h.srv.Store().ExecSQL("public", logged[0].ContextMap()["sql"].(string))
		require.NoError(t, err)
		h.srv.Reset()
		require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a")))
		assert.Equal(t, 1+1, h.srv.RowCount("public", "events"), "the row from before, and the event")
	})

	t.Run("new columns, dead-lettered", func(t *testing.T) {
		st, err := greptimetest.NewStore("public")
		require.NoError(t, err)
		baseEventsTable(t, st)
		deadLetterTable(t, st, "events_rejected") // the operator made it
		h := newHarness(t, setup{server: greptimetest.Config{Store: st, DisableAutoCreateTable: true}, configure: func(cfg *Config) {
			cfg.Events = map[string]EventConfig{"*": {Columns: []ColumnConfig{{Name: "user", Source: "attributes.user"}}}}
			cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
		}})

		require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a")), "dead-lettered")

		rows, ok := h.srv.Table("public", "events_rejected")
		require.True(t, ok)
		require.Len(t, rows.Rows, 2)
		assert.Equal(t, "a", rows.Rows[1]["type"])
		assert.Contains(t, rows.Rows[1]["error_message"], "unknown columns")
		assert.Equal(t, "events", rows.Rows[1]["target_table"])
		assertDeadLettered(t, h.tel, counts{"events": 1})
	})
}

// TestRequestsTooLargeForGreptimeDB: GreptimeDB refuses a request over the
// frontend's max_recv_message_size (tonic's OutOfRange) or over the whole
// write-bytes limit (6001, at once, every time). The exporter splits it and
// sends the parts, down to single records, learns the limit for later
// pushes, and dead-letters a record too large on its own.
func TestRequestsTooLargeForGreptimeDB(t *testing.T) {
	const limit = 64 << 10
	for _, tt := range []struct {
		name   string
		server greptimetest.Config
		code   codes.Code
	}{
		{name: "max_recv_message_size", server: greptimetest.Config{MaxRecvMsgSize: limit}, code: codes.OutOfRange},
		{name: "max_in_flight_write_bytes", server: greptimetest.Config{MaxInFlightWriteBytes: limit}, code: codes.ResourceExhausted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{server: tt.server, configure: func(cfg *Config) {
				cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
			}})
			ld := logsOfTypes(make([]string, 300)...) // 300 records of type "log"
			records := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for i := range records.Len() {
				records.At(i).Body().SetStr(strings.Repeat("x", 1000))
			}
			records.At(7).Body().SetStr(strings.Repeat("y", 2*limit)) // too large on its own

			require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld))

			assert.Equal(t, 299, h.srv.RowCount("public", "events"), "every record but the huge one, once")
			letters, ok := h.srv.Table("public", "events_rejected")
			require.True(t, ok)
			require.Len(t, letters.Rows, 1)
			assert.Contains(t, letters.Rows[0]["error_message"], "record is too large to send")
			assert.Equal(t, true, letters.Rows[0]["payload"].(map[string]any)["truncated"])
			refused := 0
			for _, c := range h.srv.Calls() {
				if c.Code != codes.OK {
					refused++
					assert.Equal(t, tt.code, c.Code)
				}
			}
			assert.Positive(t, refused)
			require.Len(t, h.logs.FilterMessageSnippet("GreptimeDB refused a request for its size").All(), 1)

			// Later pushes send requests under the limit from the start.
			before := len(h.srv.Calls())
			require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld))
			for _, c := range h.srv.Calls()[before:] {
				assert.Equal(t, codes.OK, c.Code, "%d rows: %s", c.RowCount(), c.Message)
			}
			assert.Equal(t, 2*299, h.srv.RowCount("public", "events"))
			assertDeadLettered(t, h.tel, counts{"events": 2})
			assertRecordsDropped(t, h.tel, nil)
		})
	}
}

// TestTimeoutZeroMeansNoTimeout: timeout 0 is no timeout in exporterhelper;
// the dead-letter and catalog writes, which bound their own calls, made it
// a zero timeout that failed every one of them at once.
func TestTimeoutZeroMeansNoTimeout(t *testing.T) {
	h := newHarness(t, setup{configure: func(cfg *Config) {
		cfg.TimeoutConfig.Timeout = 0
		cfg.Events = map[string]EventConfig{"order.placed": {Table: "orders"}}
		cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
		cfg.EventCatalog = configoptional.Some(EventCatalogConfig{Table: "event_types", Interval: time.Hour, MaxPayloadKeys: 8})
	}})
	createConflictingTable(t, h.srv)

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("order.placed", "other")))
	h.shutdown() // writes the catalog

	assert.Equal(t, 1, h.srv.RowCount("public", "events_rejected"))
	assert.Equal(t, 1, h.srv.RowCount("public", "event_types"))
	assertDeadLettered(t, h.tel, counts{"orders": 1})
}

// TestDefaultTimeoutOutlastsGreptimeDBsOwn: a push abandoned while
// GreptimeDB still works on it is applied anyway, and its retry stores the
// rows twice. GreptimeDB answers within its own bounds: up to 10 s waiting
// for write-bytes quota (src/common/memory-manager/src/policy.rs:21) and
// 10 s for the datanodes (src/common/options/src/datanode.rs:43,
// src/common/grpc/src/channel_manager.rs:37). The retries keep the
// recorder's three, even when every attempt runs to the timeout.
func TestDefaultTimeoutOutlastsGreptimeDBsOwn(t *testing.T) {
	cfg := defaultConfig()
	assert.Greater(t, cfg.TimeoutConfig.Timeout, 20*time.Second)
	r := cfg.RetryConfig
	backoff := r.InitialInterval + time.Duration(float64(r.InitialInterval)*r.Multiplier) + r.MaxInterval
	assert.GreaterOrEqual(t, r.MaxElapsedTime, 3*cfg.TimeoutConfig.Timeout+backoff, "three retries of attempts that time out")
}

// TestJSONTableTakesJSONB: a table whose JSON columns an exporter made
// with JSON text (payload_encoding: json, the old way) takes the JSONB of
// an exporter with the default: both are GreptimeDB's JSON type
// (src/api/src/helper.rs:104-123). The rows read back alike.
func TestJSONTableTakesJSONB(t *testing.T) {
	columns := func(cfg *Config) {
		cfg.Events = map[string]EventConfig{"*": {Columns: []ColumnConfig{{Name: "doc", Source: "body", Type: ColumnTypeJSON}}}}
		cfg.EventCatalog = configoptional.Some(EventCatalogConfig{Table: "event_types", Interval: time.Hour, MaxPayloadKeys: 8})
	}
	old := newHarness(t, setup{configure: func(cfg *Config) {
		columns(cfg)
		cfg.PayloadEncoding = PayloadEncodingJSON
	}})
	require.NoError(t, old.exp.ConsumeLogs(context.Background(), goldenLogs()))
	old.shutdown()
	tb, ok := old.srv.Table("public", "events")
	require.True(t, ok)
	n := len(tb.Rows) // every type of goldenLogs but order.placed's
	require.Positive(t, n)

	upgraded := newHarness(t, setup{ownServers: true, configure: func(cfg *Config) {
		columns(cfg)
		cfg.ClientConfig.Endpoint = old.srv.Addr()
	}})
	require.NoError(t, upgraded.exp.ConsumeLogs(context.Background(), goldenLogs()))
	upgraded.shutdown()

	tb, _ = old.srv.Table("public", "events")
	require.Len(t, tb.Rows, 2*n)
	for i := range n {
		assert.Equal(t, tb.Rows[i]["payload"], tb.Rows[i+n]["payload"], "row %d: the same payload", i)
		assert.Equal(t, tb.Rows[i]["doc"], tb.Rows[i+n]["doc"], "row %d: the same JSON column", i)
	}
	for _, c := range old.srv.Calls() {
		assert.Equal(t, codes.OK, c.Code, c.Message)
	}
	catalog, _ := old.srv.Table("public", "event_types")
	assert.Len(t, catalog.Rows, 2*4, "each collector's rows (4 types each), their payload keys as JSON either way")
}

// TestJSON2ColumnIsSaidPlainly: a table made with a JSON2 payload (GreptimeDB
// 1.2's native JSON type) refuses every insert with 1004; the log says why,
// and what to do.
func TestJSON2ColumnIsSaidPlainly(t *testing.T) {
	h := newHarness(t, setup{})
	_, err := h.srv.Store().ExecSQL("public", `CREATE TABLE events ("type" STRING, payload JSON2, "timestamp" TIMESTAMP(9) TIME INDEX, PRIMARY KEY ("type")) WITH (append_mode = 'true')`)
	require.NoError(t, err)

	require.Error(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a")))

	logged := h.logs.FilterMessage("GreptimeDB rejected events permanently; dropping them").All()
	require.Len(t, logged, 1)
	assert.Contains(t, logged[0].ContextMap()["reason"], "JSON2 column")
	assertRecordsDropped(t, h.tel, counts{"rejected": 1})
}
