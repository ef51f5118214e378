package greptimeeventsexporter

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc/codes"

	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
	"github.com/greptime-events/greptimeeventsexporter/internal/mapping"
)

func catalogHarness(t *testing.T) *harness {
	return newHarness(t, setup{configure: func(cfg *Config) {
		cfg.Events = map[string]EventConfig{"user.login": {Table: "logins"}}
		cfg.EventCatalog = configoptional.Some(EventCatalogConfig{Table: "event_types", Interval: 20 * time.Millisecond, MaxPayloadKeys: 3})
	}})
}

// catalogRows is the catalog by "table/type", once it has want rows
// counting total events.
func catalogRows(t *testing.T, srv *greptimetest.Server, want int, total int64) map[string]map[string]any {
	t.Helper()
	rows := map[string]map[string]any{}
	require.Eventually(t, func() bool {
		tb, ok := srv.Table("public", "event_types")
		if !ok || len(tb.Rows) != want {
			return false
		}
		var sum int64
		for _, row := range tb.Rows {
			rows[row["table_name"].(string)+"/"+row["type"].(string)] = row
			sum += row["events"].(int64)
		}
		return sum == total
	}, 10*time.Second, 10*time.Millisecond, "catalog rows")
	return rows
}

func TestCatalogListsTheEventTypesSeen(t *testing.T) {
	h := catalogHarness(t)
	before := time.Now()

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), goldenLogs()))

	rows := catalogRows(t, h.srv, 4, 5)
	require.Contains(t, rows, "logins/user.login")
	login := rows["logins/user.login"]
	assert.Equal(t, int64(2), login["events"])
	assert.Contains(t, login["collector"], "greptime_events")
	firstSeen, lastSeen := login["first_seen"].(int64), login["last_seen"].(int64)
	assert.GreaterOrEqual(t, firstSeen, before.UnixNano())
	assert.GreaterOrEqual(t, lastSeen, firstSeen)
	keys := login["payload_keys"].([]any)
	assert.Len(t, keys, 3, "bounded by max_payload_keys")
	assert.True(t, sort.SliceIsSorted(keys, func(i, j int) bool { return keys[i].(string) < keys[j].(string) }))
	assert.Contains(t, rows, "events/session.expired")
	assert.Contains(t, rows, "events/order.placed")
	assert.Contains(t, rows, "events/log")

	tb, _ := h.srv.Table("public", "event_types")
	assert.Equal(t, []string{"table_name", "type", "collector"}, tb.PrimaryKey)
	assert.Equal(t, "started_at", tb.TimeIndex)
	assert.Equal(t, "false", tb.Options["append_mode"])
	assert.Empty(t, tb.Options["ttl"], "catalog rows must not expire under a long-running collector")
}

func TestCatalogUpsertsItsRows(t *testing.T) {
	h := catalogHarness(t)
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a", "b")))
	first := catalogRows(t, h.srv, 2, 2)

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a", "a", "a")))

	rows := catalogRows(t, h.srv, 2, 5)
	assert.Equal(t, int64(4), rows["events/a"]["events"])
	assert.Equal(t, first["events/a"]["first_seen"], rows["events/a"]["first_seen"])
	assert.Equal(t, int64(1), rows["events/b"]["events"])
}

func TestCatalogWriteFailureIsRetriedAtTheNextInterval(t *testing.T) {
	h := catalogHarness(t)
	h.srv.RejectTable("event_types", codes.Unavailable, "catalog region moving")

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a")))
	require.Eventually(t, func() bool {
		return len(h.logs.FilterMessageSnippet("Could not write the event catalog").All()) > 0
	}, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, 1, h.srv.RowCount("public", "events"), "events are not held back by the catalog")

	h.srv.Reset()
	catalogRows(t, h.srv, 1, 1)
}

func TestCatalogIsWrittenAtShutdown(t *testing.T) {
	h := newHarness(t, setup{queue: true, configure: func(cfg *Config) {
		cfg.EventCatalog = configoptional.Some(EventCatalogConfig{Table: "event_types", Interval: time.Hour, MaxPayloadKeys: 64})
	}})
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a", "b", "a")))

	h.shutdown()

	assert.Equal(t, 3, h.srv.RowCount("public", "events"), "the queue drained")
	assert.Equal(t, 2, h.srv.RowCount("public", "event_types"), "then the catalog was written")
}

func TestCatalogWritesWithTheExportersCredentialsAndDatabase(t *testing.T) {
	h := newHarness(t, setup{server: greptimetest.Config{Users: map[string]string{"exporter": "s3cret"}, Databases: []string{"public", "telemetry"}}, configure: func(cfg *Config) {
		cfg.Database = "telemetry"
		cfg.Username, cfg.Password = "exporter", "s3cret"
		cfg.EventCatalog = configoptional.Some(EventCatalogConfig{Table: "event_types", Interval: 20 * time.Millisecond, MaxPayloadKeys: 8})
	}})

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a")))

	require.Eventually(t, func() bool { return h.srv.RowCount("telemetry", "event_types") == 1 }, 10*time.Second, 10*time.Millisecond)
	assert.Empty(t, h.srv.Rejected())
	for _, c := range h.srv.Calls() {
		assert.Equal(t, "telemetry", c.DB)
		assert.Equal(t, "exporter", c.User)
	}
}

// TestCatalogMaxPayloadKeysZeroKeepsNone: max_payload_keys 0 keeps no payload
// keys (payload_keys is []), and still counts the events and their times, as
// the README says.
func TestCatalogMaxPayloadKeysZeroKeepsNone(t *testing.T) {
	h := newHarness(t, setup{configure: func(cfg *Config) {
		cfg.EventCatalog = configoptional.Some(EventCatalogConfig{Table: "event_types", Interval: 20 * time.Millisecond, MaxPayloadKeys: 0})
	}})
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), goldenLogs()))

	rows := catalogRows(t, h.srv, 4, 5)
	login := rows["events/user.login"]
	require.NotNil(t, login)
	assert.Equal(t, int64(2), login["events"])
	assert.Positive(t, login["first_seen"])
	assert.Equal(t, []any{}, login["payload_keys"])
}

// TestCatalogEntriesAreBounded: types come from the records, so the
// catalog keeps at most maxCatalogEntries of them, says so once, and goes
// on counting those it holds.
func TestCatalogEntriesAreBounded(t *testing.T) {
	cfg := defaultConfig()
	cfg.EventCatalog = configoptional.Some(EventCatalogConfig{Table: "event_types", Interval: time.Minute, MaxPayloadKeys: 3})
	core, logs := observer.New(zapcore.WarnLevel)
	c, err := newEventCatalog(cfg, "collector", nil, nil, zap.New(core), time.Now())
	require.NoError(t, err)
	m, err := compileMapping(cfg)
	require.NoError(t, err)
	observe := func(eventType string) {
		c.observe(mapping.Insert{Group: &mapping.Group{Database: "public", Type: eventType, Layout: m.LayoutOf(eventType)}}, time.Now())
	}
	for i := range maxCatalogEntries + 50 {
		observe(fmt.Sprint("type-", i))
	}
	observe("type-0")

	assert.Len(t, c.entries, maxCatalogEntries)
	assert.Equal(t, 1, logs.FilterMessageSnippet("as many event types as it may").Len())
	first := c.entries[catalogKey{database: "public", table: "events", eventType: "type-0"}]
	require.NotNil(t, first)
	assert.Equal(t, int64(0), first.events, "no events in an empty insert")
	assert.False(t, first.lastSeen.IsZero(), "a type it holds is still observed")
}
