package greptimeeventsexporter

import (
	"context"
	"strings"
	"testing"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// insertOneRow inserts one row into table of database public through the
// server at addr, as another writer would.
func insertOneRow(t *testing.T, addr, table string, schema []*greptimev1.ColumnSchema, row []*greptimev1.Value) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = greptimev1.NewGreptimeDatabaseClient(conn).Handle(context.Background(), &greptimev1.GreptimeRequest{
		Header: &greptimev1.RequestHeader{Dbname: "public"},
		Request: &greptimev1.GreptimeRequest_RowInserts{RowInserts: &greptimev1.RowInsertRequests{Inserts: []*greptimev1.RowInsertRequest{{
			TableName: table,
			Rows:      &greptimev1.Rows{Schema: schema, Rows: []*greptimev1.Row{{Values: row}}},
		}}}},
	})
	require.NoError(t, err)
}

// createConflictingTable makes "orders" on the server with a STRING payload,
// so the exporter's JSON payload is a column type conflict: GreptimeDB
// rejects such an insert permanently.
func createConflictingTable(t *testing.T, srv *greptimetest.Server) {
	t.Helper()
	insertOneRow(t, srv.Addr(), "orders", []*greptimev1.ColumnSchema{
		{ColumnName: "type", Datatype: greptimev1.ColumnDataType_STRING, SemanticType: greptimev1.SemanticType_TAG},
		{ColumnName: "payload", Datatype: greptimev1.ColumnDataType_STRING, SemanticType: greptimev1.SemanticType_FIELD},
		{ColumnName: "timestamp", Datatype: greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, SemanticType: greptimev1.SemanticType_TIMESTAMP},
	}, []*greptimev1.Value{
		{ValueData: &greptimev1.Value_StringValue{StringValue: "legacy"}},
		{ValueData: &greptimev1.Value_StringValue{StringValue: "plain text"}},
		{ValueData: &greptimev1.Value_TimestampNanosecondValue{TimestampNanosecondValue: 1}},
	})
}

func deadLetterHarness(t *testing.T) *harness {
	return newHarness(t, setup{configure: func(cfg *Config) {
		cfg.Events = map[string]EventConfig{"order.placed": {Table: "orders"}}
		cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
	}})
}

func TestDeadLetterTableTakesRejectedEvents(t *testing.T) {
	h := deadLetterHarness(t)
	createConflictingTable(t, h.srv)
	ld := goldenLogs() // 2 logins, 1 session.expired, 1 order.placed, 1 log
	const sent = 5

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld), "rejected events are kept, not failed")

	landed := h.srv.RowCount("public", "events")
	assert.Equal(t, 4, landed)
	assert.Equal(t, 1, h.srv.RowCount("public", "orders"), "only the row that was there before")
	letters, ok := h.srv.Table("public", "events_rejected")
	require.True(t, ok)
	require.Len(t, letters.Rows, 1)
	row := letters.Rows[0]
	assert.Equal(t, "order.placed", row["type"])
	assert.Equal(t, "orders", row["target_table"])
	assert.Equal(t, int64(1004), row["error_code"])
	assert.Equal(t, "InvalidArgument", row["grpc_code"])
	assert.Contains(t, row["error_message"], "column payload expect type")
	assert.Equal(t, int64(1_764_158_400_000_000_020), row["timestamp"])
	payload := row["payload"].(map[string]any)
	assert.Equal(t, float64(4599), payload["body"].(map[string]any)["total_cents"])
	assert.Equal(t, []string{"type", "target_database", "target_table"}, letters.PrimaryKey)
	assert.Equal(t, "public", row["target_database"])
	assert.Equal(t, "true", letters.Options["append_mode"])

	assertDeadLettered(t, h.tel, counts{"orders": 1})
	assertRecordsDropped(t, h.tel, nil)
	assert.Equal(t, sent, landed+1, "landed + dead-lettered = sent")
	assert.Len(t, h.logs.FilterMessage("GreptimeDB rejected events; wrote them to the dead-letter table").All(), 1)
}

func TestDeadLetterFailuresAreCountedNotRetriedForEver(t *testing.T) {
	tests := []struct {
		name      string
		code      codes.Code
		wantCalls int
	}{
		{name: "dead-letter table rejects them too", code: codes.InvalidArgument, wantCalls: 1},
		{name: "dead-letter table stays unavailable", code: codes.Unavailable, wantCalls: writeAttempts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := deadLetterHarness(t)
			createConflictingTable(t, h.srv)
			h.srv.RejectTable("events_rejected", tt.code, "no room for letters")

			require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("order.placed", "order.placed", "other")),
				"the push wrote \"other\": it succeeds")
			assert.Equal(t, 1, h.srv.RowCount("public", "events"))
			calls := 0
			for _, c := range h.srv.Calls() {
				if len(c.Inserts) == 1 && c.Inserts[0].Table == "events_rejected" {
					calls++
				}
			}
			assert.Equal(t, tt.wantCalls, calls)
			assertRecordsDropped(t, h.tel, counts{"rejected": 2})
			failed := h.logs.FilterMessage("GreptimeDB rejected events permanently; dropping them").All()
			require.Len(t, failed, 1)
			assert.Contains(t, failed[0].ContextMap()["dead_letter_error"], "no room for letters")
		})
	}
}

func TestRefusedCredentialsSkipTheDeadLetterTable(t *testing.T) {
	h := newHarness(t, setup{server: greptimetest.Config{Users: map[string]string{"exporter": "right"}}, configure: func(cfg *Config) {
		cfg.Username, cfg.Password = "exporter", "wrong"
		cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
	}})

	require.Error(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a")))

	assert.Len(t, h.srv.Calls(), 1, "no dead-letter write with the same refused credentials")
}

func TestRecordsThatCannotBeStoredAreDeadLettered(t *testing.T) {
	h := newHarness(t, setup{configure: func(cfg *Config) {
		cfg.MaxRequestBytes = 16 << 10
		cfg.Events = map[string]EventConfig{"order.placed": {Table: "orders"}}
		cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
	}})
	ld := logsOfTypes("order.placed", "order.placed", "other", "other")
	records := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	records.At(0).SetTimestamp(pcommon.Timestamp(1 << 63)) // beyond year 2262
	records.At(0).Attributes().PutStr("order.id", "o-1")
	records.At(2).Body().SetStr(strings.Repeat("x", 32<<10)) // larger than max_request_bytes alone
	const sent = 4

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld))

	landed := h.srv.RowCount("public", "orders") + h.srv.RowCount("public", "events")
	assert.Equal(t, 2, landed)
	letters, ok := h.srv.Table("public", "events_rejected")
	require.True(t, ok)
	require.Len(t, letters.Rows, 2)
	byType := map[string]map[string]any{}
	for _, r := range letters.Rows {
		byType[r["type"].(string)] = r
	}

	late := byType["order.placed"]
	assert.Equal(t, "orders", late["target_table"])
	assert.Nil(t, late["error_code"], "GreptimeDB never saw it")
	assert.Nil(t, late["grpc_code"])
	assert.Contains(t, late["error_message"], "timestamp is beyond year 2262")
	assert.Equal(t, "o-1", late["payload"].(map[string]any)["attributes"].(map[string]any)["order.id"])
	assert.Positive(t, late["timestamp"], "stamped with the export time")

	huge := byType["other"]
	assert.Equal(t, "events", huge["target_table"])
	assert.Contains(t, huge["error_message"], "record is too large to send")
	truncated := huge["payload"].(map[string]any)
	assert.Equal(t, true, truncated["truncated"])
	assert.Greater(t, truncated["record_bytes"], float64(32<<10))
	assert.Len(t, truncated["payload_prefix"], 1024)
	assert.True(t, strings.HasPrefix(truncated["payload_prefix"].(string), `{"body":"xxx`))

	assertDeadLettered(t, h.tel, counts{"orders": 1, "events": 1})
	assertRecordsDropped(t, h.tel, nil)
	assert.Equal(t, sent, landed+2, "landed + dead-lettered = sent")
}

// TestDeadLetterTooLargeForARequestIsTruncated: a dead-letter row carries
// more than its record's row (the rejection's columns), so a record that
// fitted a request can make a dead letter that does not. That dead letter
// keeps the start of its payload, as an unstorable record's does, and every
// record is counted as what became of it: here, all dead-lettered.
func TestDeadLetterTooLargeForARequestIsTruncated(t *testing.T) {
	const maxBytes = 16 << 10
	h := newHarness(t, setup{configure: func(cfg *Config) {
		cfg.MaxRequestBytes = maxBytes
		cfg.Events = map[string]EventConfig{"order.placed": {Table: "orders"}}
		cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
	}})
	createConflictingTable(t, h.srv)
	ld := logsOfTypes("order.placed", "order.placed", "order.placed")
	big := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1)
	big.Body().SetStr(strings.Repeat("x", maxBytes-250)) // its row fits a request; its dead letter does not

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld))

	letters, ok := h.srv.Table("public", "events_rejected")
	require.True(t, ok)
	require.Len(t, letters.Rows, 3)
	truncated := 0
	for _, row := range letters.Rows {
		assert.Equal(t, "orders", row["target_table"])
		assert.Contains(t, row["error_message"], "column payload expect type")
		if p := row["payload"].(map[string]any); p["truncated"] == true {
			truncated++
			assert.True(t, strings.HasPrefix(p["payload_prefix"].(string), `{"body":"xxx`))
		}
	}
	assert.Equal(t, 1, truncated)
	assertDeadLettered(t, h.tel, counts{"orders": 3})
	assertRecordsDropped(t, h.tel, nil)
	for _, c := range h.srv.Calls() {
		assert.LessOrEqual(t, c.RowCount(), 3)
	}
}
