package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/events"
	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/store"
)

// sdkEvents is how many events the SDK scenarios send: 20 of each kind in
// events.Mix, more than one batch (min_size 100), so both the size and the
// time trigger flush.
const sdkEvents = 140

// TestOTelSDK sends the event mix through the collector running
// examples/collector.yaml with the OpenTelemetry Go SDK, over OTLP/gRPC and
// OTLP/HTTP, and checks that every event is stored exactly once in "events"
// with its type, payload and timestamp, in a table with the recorder's options.
func TestOTelSDK(t *testing.T) {
	for _, p := range []events.Protocol{events.GRPC, events.HTTP} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			srv := startStandIn(t)
			runSDKScenario(t, p, srv.Addr(), standInReader(srv), "events", nil)

			tbl, ok := srv.Table("public", "events")
			if !ok {
				t.Fatal(`table "events" was not created`)
			}
			if got, want := tbl.Options["ttl"], "90d"; got != want {
				t.Errorf("table option ttl = %q, want %q (the recorder's 90 days)", got, want)
			}
			if !tbl.AppendMode() {
				t.Errorf("table options %v: want append_mode=true", tbl.Options)
			}
			if got, want := tbl.PrimaryKey, []string{"type"}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("primary key %v, want %v", got, want)
			}
		})
	}
}

// runSDKScenario starts the collector with examples/collector.yaml writing to
// greptimeDB, sends sdkEvents events over p, waits until table holds them,
// stops the collector (which drains its queue) and checks that each event is
// stored exactly once, intact. It returns the events sent.
func runSDKScenario(t *testing.T, p events.Protocol, greptimeDB string, r store.Reader, table string, set []string) []events.Event {
	t.Helper()
	col := startCollector(t, launch{config: "collector.yaml", greptimeDB: greptimeDB, set: set})
	// Microseconds: GreptimeDB's MySQL protocol renders no finer timestamps.
	start := time.Now().Truncate(time.Microsecond)
	sent := events.Mix(fmt.Sprintf("%s%d", p, time.Now().UnixNano()), sdkEvents, start)
	send(t, p, col.addr(p), sent)

	waitForRows(t, r, table, len(sent), 30*time.Second)
	col.stop(t)
	reportDiff(t, events.Diff(sent, readRows(t, r, table)))
	return sent
}

// send sends evs with the OpenTelemetry Go SDK and fails the test if the collector did not accept them all.
func send(t *testing.T, p events.Protocol, addr string, evs []events.Event) {
	t.Helper()
	if err := events.Send(t.Context(), p, addr, evs); err != nil {
		t.Fatalf("send %d events over OTLP/%s to %s: %v", len(evs), p, addr, err)
	}
}
