package e2e

import (
	"testing"
	"time"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/events"
)

// TestPersistentQueueSurvivesRestart runs examples/persistent-queue.yaml
// while GreptimeDB is down: the collector accepts N events into its on-disk
// queue and is stopped with SIGTERM. Then GreptimeDB comes up and the
// collector starts again on the same queue directory: all N events arrive,
// none twice.
func TestPersistentQueueSurvivesRestart(t *testing.T) {
	t.Parallel()
	const n = 200
	greptimeDB := freeAddr(t) // nothing listens here until the second run
	l := launch{
		config:     "persistent-queue.yaml",
		greptimeDB: greptimeDB,
		env:        []string{"QUEUE_DIR=" + t.TempDir()},
	}
	sent := events.Mix("pq", n, time.Now())

	first := startCollector(t, l)
	send(t, events.GRPC, first.grpcAddr, sent) // returns once the queue holds them
	first.stop(t)

	srv := startStandInAt(t, greptimeDB)
	if calls := srv.Calls(); len(calls) != 0 {
		t.Fatalf("the stand-in got %d calls before the collector restarted", len(calls))
	}
	second := startCollector(t, l)
	waitForRows(t, standInReader(srv), "events", n, 30*time.Second)
	second.stop(t)

	reportDiff(t, events.Diff(sent, readRows(t, standInReader(srv), "events")))
}
