package greptimeeventsexporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/grpc/codes"

	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// mixedBatch has records that land ("landed"), land after a retry
// ("flaky", written first, into a call that fails once), are rejected by
// GreptimeDB ("bad"), filtered out ("gone") and cannot be stored ("late":
// a timestamp beyond 2262).
func mixedBatch() plog.Logs {
	ld := logsOfTypes("flaky", "flaky", "landed", "landed", "landed", "bad", "bad", "gone", "landed")
	late := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(8)
	late.SetTimestamp(pcommon.Timestamp(1 << 63))
	return ld
}

// TestCountersOfAMixedBatch asserts every counter, the collector's and the
// exporter's, for one batch of each kind of outcome. exporterhelper counts a
// push's records all as sent or all as failed: the exporter keeps out of its
// count what it will not try to write (filtered; without a dead-letter
// table, what cannot be stored), and counts as sent a push that wrote
// something; its own metrics tell the rest apart.
func TestCountersOfAMixedBatch(t *testing.T) {
	tests := []struct {
		name         string
		deadLetter   bool
		sent         int64
		dropped      counts
		deadLettered counts
	}{
		{name: "without a dead-letter table", sent: 7,
			dropped: counts{"filtered": 1, "invalid": 1, "rejected": 2}},
		{name: "with a dead-letter table", deadLetter: true, sent: 8,
			dropped: counts{"filtered": 1}, deadLettered: counts{"events": 1, "bad": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{configure: func(cfg *Config) {
				withFastRetries(cfg)
				cfg.Filter.Exclude = []string{"gone"}
				cfg.Events = map[string]EventConfig{"flaky": {Table: "flaky"}, "bad": {Table: "bad"}}
				if tt.deadLetter {
					cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
				}
			}})
			h.srv.RejectTable("bad", codes.InvalidArgument, "column payload expect type Json")
			h.srv.FailNextWith(1, greptimetest.Fault{Status: greptimetest.StatusStorageUnavailable})

			require.NoError(t, h.exp.ConsumeLogs(context.Background(), mixedBatch()))

			assert.Equal(t, 3, h.srv.RowCount("public", "events"))
			assert.Equal(t, 2, h.srv.RowCount("public", "flaky"))
			assert.Equal(t, counts{"": tt.sent}, counted(t, h.tel, "otelcol_exporter_sent_log_records", "none"))
			_, err := h.tel.GetMetric("otelcol_exporter_send_failed_log_records")
			assert.Error(t, err, "nothing counted as failed")
			assertRowsInserted(t, h.tel, counts{"events": 3, "flaky": 2})
			assertRecordsDropped(t, h.tel, tt.dropped)
			assertDeadLettered(t, h.tel, tt.deadLettered)
			assert.Equal(t, map[string]uint64{"success": 2, "retryable": 1, "permanent": 1}, callCounts(t, h.tel),
				"flaky failed once and landed; events landed; bad was rejected")
		})
	}
}

// TestCountersOfABatchWrittenNowhere: a push that wrote nothing and had
// records rejected fails permanently, and exporterhelper counts its records
// as failed.
func TestCountersOfABatchWrittenNowhere(t *testing.T) {
	h := newHarness(t, setup{})
	h.srv.RejectTable("events", codes.InvalidArgument, "column payload expect type Json")

	err := h.exp.ConsumeLogs(context.Background(), logsOfTypes("a", "b", "c"))

	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Equal(t, counts{"": 3}, counted(t, h.tel, "otelcol_exporter_send_failed_log_records", "none"))
	assert.Equal(t, counts{"": 0}, counted(t, h.tel, "otelcol_exporter_sent_log_records", "none"), "nothing counted as sent")
	assertRecordsDropped(t, h.tel, counts{"rejected": 3})
}
