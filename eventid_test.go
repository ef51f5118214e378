package greptimeeventsexporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEventIDCollapsesARepeatedExport: the same batch exported twice, as a
// retry or a persistent-queue replay would, lands once.
func TestEventIDCollapsesARepeatedExport(t *testing.T) {
	h := newHarness(t, setup{configure: func(cfg *Config) {
		cfg.EventID = EventIDConfig{Enabled: true}
	}})
	ld := benchLogs(50)

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld))
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld))

	assert.Equal(t, 50, h.srv.RowCount("public", "events"))
	tb, ok := h.srv.Table("public", "events")
	require.True(t, ok)
	assert.Equal(t, "false", tb.Options["append_mode"])
	assert.Equal(t, "last_row", tb.Options["merge_mode"])
	assert.Equal(t, []string{"type", "event_id"}, tb.PrimaryKey)
	first := h.srv.Calls()[0]
	assert.Equal(t, "false", first.Hints["append_mode"])
	assert.Equal(t, "last_row", first.Hints["merge_mode"])
}
