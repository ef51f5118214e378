package greptimeeventsexporter

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPackCutsRequestsAtMaxRequestBytes(t *testing.T) {
	cfg := benchConfig("127.0.0.1:1")
	cfg.MaxRequestBytes = 8 << 10

	m := mapLogs(t, cfg, benchLogs(500)) // five types of 100 records, about 400 bytes each

	assert.Greater(t, len(m.requests), 5, "more requests than groups")
	assert.Empty(t, m.tooLarge)
	// Every record exactly once, each group's in order, whatever request it is in.
	want := map[string][]int64{}
	for _, g := range m.groups {
		for _, ev := range g.events {
			want[g.eventType] = append(want[g.eventType], ev.timestamp)
		}
	}
	got := map[string][]int64{}
	for r, inserts := range m.inserts {
		decoded := m.requests[r].GetRowInserts().GetInserts()
		require.Len(t, decoded, len(inserts))
		for i, in := range inserts {
			rows := decoded[i].GetRows().GetRows()
			require.Len(t, rows, len(in.events))
			assert.Equal(t, len(rows), in.rows)
			for j, row := range rows {
				assert.Equal(t, in.events[j].timestamp, row.Values[2].GetTimestampNanosecondValue())
				got[in.group.eventType] = append(got[in.group.eventType], row.Values[2].GetTimestampNanosecondValue())
			}
		}
	}
	assert.Equal(t, want, got)
}

func TestRecordTooLargeForAnyRequestIsLeftOutAlone(t *testing.T) {
	cfg := defaultConfig()
	cfg.MaxRequestBytes = 2048
	ld := logsOfTypes("a", "a", "a")
	huge := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1)
	huge.Body().SetStr(strings.Repeat("x", 4096))

	m := mapLogs(t, cfg, ld)

	require.Len(t, m.tooLarge, 1)
	assert.ErrorIs(t, m.tooLarge[0].err, errRecordTooLarge)
	assert.Contains(t, m.tooLarge[0].err.Error(), "a request at most 2048")
	assert.Equal(t, int64(1_700_000_000_000_000_001), m.tooLarge[0].event.timestamp)
	var sent []int64
	for _, in := range m.rowInserts() {
		for _, row := range in.GetRows().GetRows() {
			sent = append(sent, row.Values[2].GetTimestampNanosecondValue())
		}
	}
	assert.Equal(t, []int64{1_700_000_000_000_000_000, 1_700_000_000_000_000_002}, sent, "the others are sent")
	assert.Len(t, m.groups[0].events, 2, "a retry of the group would not carry it either")
}

func TestPayloadsAcrossLengthPrefixSizes(t *testing.T) {
	cfg := defaultConfig()
	cfg.MaxRequestBytes = 64 << 20

	m := mapLogs(t, cfg, varyingPayloadLogs())

	rows := m.rowInserts()[0].GetRows().GetRows()
	require.Len(t, rows, 12)
	for _, row := range rows {
		n := int(row.Values[2].GetTimestampNanosecondValue()) // each record's body length
		assert.Equal(t, `{"body":"`+strings.Repeat("x", n)+`"}`, row.Values[1].GetStringValue())
	}
}
