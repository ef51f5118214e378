package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/events"
	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/otelcol"
	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/store"
)

// eventIDEvents is how many events the event_id scenario sends, twice.
const eventIDEvents = 70

// TestEventIDSentTwice sends the same events twice through
// examples/collector.yaml with event_id on: the stand-in is sent every row
// twice, and its non-append table keeps each event once.
func TestEventIDSentTwice(t *testing.T) {
	t.Parallel()
	srv := startStandIn(t)
	sent := runEventIDTwice(t, srv.Addr(), standInReader(srv), "events", nil)

	written := 0
	for _, c := range srv.Calls() {
		written += c.RowCount()
	}
	if written != 2*len(sent) {
		t.Errorf("the stand-in was sent %d rows, want %d (every event twice)", written, 2*len(sent))
	}
	tbl, _ := srv.Table("public", "events")
	if tbl.AppendMode() || tbl.MergeMode() != "last_row" {
		t.Errorf("table options %v: want a non-append last_row table", tbl.Options)
	}
	reportDiff(t, events.Diff(sent, readRows(t, standInReader(srv), "events")))
}

// TestGreptimeDBEventID is TestEventIDSentTwice against a real GreptimeDB,
// into a table of its own: after the same events went through twice,
//
//	SELECT event_id, count(*) FROM <table> GROUP BY event_id HAVING count(*) > 1
//
// returns nothing and the table holds each event once. It runs only when
// GREPTIMEDB_ENDPOINT and GREPTIMEDB_MYSQL are set.
func TestGreptimeDBEventID(t *testing.T) {
	endpoint, db := realGreptimeDB(t)
	table := fmt.Sprintf("e2e_event_id_%d", time.Now().UnixNano())
	t.Logf("writing to table public.%s", table)

	sent := runEventIDTwice(t, endpoint, db, table, []string{"exporters::greptime_events::table=" + table})

	query := "SELECT event_id, count(*) FROM " + table + " GROUP BY event_id HAVING count(*) > 1"
	_, dups, err := db.Query(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	if len(dups) > 0 {
		t.Errorf("%s: %d event ids stored more than once, e.g. %v", query, len(dups), dups[0])
	}
	_, count, err := db.Query(t.Context(), "SELECT count(*) FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprint(len(sent)); len(count) != 1 || count[0][0] != want {
		t.Errorf("SELECT count(*) FROM %s: %v, want %s", table, count, want)
	}
	reportDiff(t, events.Diff(sent, readRows(t, db, table)))
}

// runEventIDTwice starts the collector with examples/collector.yaml and
// event_id on, writing to greptimeDB; sends the same eventIDEvents events
// twice (the second time once the first are stored); waits until the
// exporter has sent both (otelcol_exporter_sent_log_records) and stops the
// collector. It returns the events sent.
func runEventIDTwice(t *testing.T, greptimeDB string, r store.Reader, table string, set []string) []events.Event {
	t.Helper()
	metricsAddr := freeAddr(t)
	metricsSet, err := otelcol.MetricsSet(metricsAddr)
	if err != nil {
		t.Fatal(err)
	}
	set = append(append([]string{"exporters::greptime_events::event_id::enabled=true"}, metricsSet...), set...)
	col := startCollector(t, launch{config: "collector.yaml", greptimeDB: greptimeDB, set: set})
	// Microseconds: GreptimeDB's MySQL protocol renders no finer timestamps.
	sent := events.Mix(fmt.Sprintf("eid%d", time.Now().UnixNano()), eventIDEvents, time.Now().Truncate(time.Microsecond))

	send(t, events.GRPC, col.grpcAddr, sent)
	waitForRows(t, r, table, len(sent), 30*time.Second)
	send(t, events.GRPC, col.grpcAddr, sent)
	waitForMetric(t, metricsAddr, "otelcol_exporter_sent_log_records", float64(2*len(sent)), 30*time.Second)
	col.stop(t)
	return sent
}

// waitForMetric waits until the collector's metric (summed over its series) reaches want.
func waitForMetric(t *testing.T, metricsAddr, name string, want float64, timeout time.Duration) {
	t.Helper()
	waitUntil(t, timeout, 50*time.Millisecond, func(ctx context.Context) (bool, string) {
		got, _, err := otelcol.Metric(ctx, metricsAddr, name)
		return err == nil && got >= want, fmt.Sprintf("%s is %v (%v), want %v", name, got, err, want)
	})
}
