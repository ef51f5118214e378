package greptimeeventsexporter

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestSampledLoggerLogsEachMessageOncePerInterval(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	logger := sampled(zap.New(core))

	for range 5 { // a flood: five pushes at once
		logger.Warn("Dropped records", zap.Int("records", 3))
		logger.Warn("Wrote records to the dead-letter table")
	}

	assert.Equal(t, 1, logs.FilterMessage("Dropped records").Len())
	assert.Equal(t, 1, logs.FilterMessage("Wrote records to the dead-letter table").Len(), "each message has its own count")
}

func TestFloodOfInvalidRecordsIsOneWarning(t *testing.T) {
	h := newHarness(t, setup{})
	for range 20 {
		ld := logsOfTypes("a", "a")
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).SetTimestamp(1 << 63)
		require.NoError(t, h.exp.ConsumeLogs(t.Context(), ld))
	}

	assertRecordsDropped(t, h.tel, counts{"invalid": 20})
	dropped := h.logs.FilterMessage("Dropped records that cannot be stored (type and error of the first)")
	assert.Equal(t, 1, dropped.Len(), "counted every time, logged once per interval")
}
