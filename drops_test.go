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

func TestSampledLoggerLogsEachMessageOncePerInterval(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	clock := &stepClock{now: time.Unix(1_700_000_000, 0)}
	logger := sampled(zap.New(core, zap.WithClock(clock)))
	flood := func() { // five pushes at once
		for range 5 {
			logger.Warn("Dropped records", zap.Int("records", 3))
			logger.Warn("Wrote records to the dead-letter table")
		}
	}

	flood()
	assert.Equal(t, 1, logs.FilterMessage("Dropped records").Len())
	assert.Equal(t, 1, logs.FilterMessage("Wrote records to the dead-letter table").Len(), "each message has its own count")

	clock.now = clock.now.Add(logInterval)
	flood()
	assert.Equal(t, 2, logs.FilterMessage("Dropped records").Len(), "once more in the next interval")
	assert.Equal(t, 2, logs.FilterMessage("Wrote records to the dead-letter table").Len())
}

// stepClock is a zapcore.Clock that stands still until the test moves it.
type stepClock struct{ now time.Time }

func (c *stepClock) Now() time.Time { return c.now }

func (c *stepClock) NewTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }

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
