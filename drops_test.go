package greptimeeventsexporter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestSampledLogWarnsAtMostOncePerInterval(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	logger := zap.New(core)
	var l sampledLog
	start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

	for i := range 5 { // a flood: five pushes within a second
		l.write(logger, start.Add(time.Duration(i)*200*time.Millisecond), "Dropped records", zap.Int("records", 3))
	}
	l.write(logger, start.Add(logInterval), "Dropped records", zap.Int("records", 1))

	entries := logs.All()
	require.Len(t, entries, 6)
	levels := make([]zapcore.Level, len(entries))
	for i, e := range entries {
		levels[i] = e.Level
	}
	assert.Equal(t, []zapcore.Level{zapcore.WarnLevel, zapcore.DebugLevel, zapcore.DebugLevel, zapcore.DebugLevel, zapcore.DebugLevel, zapcore.WarnLevel}, levels)
	assert.Equal(t, int64(4), entries[5].ContextMap()["times_since_last_warning"], "the next Warn says how many it held back")
	assert.NotContains(t, entries[0].ContextMap(), "times_since_last_warning")
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
	assert.Equal(t, 1, dropped.FilterLevelExact(zapcore.WarnLevel).Len())
	assert.Equal(t, 19, dropped.FilterLevelExact(zapcore.DebugLevel).Len())
}
