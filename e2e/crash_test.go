package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/events"
	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/otelcol"
	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/store"
	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// The crash scenario's shape. Every OTLP request holds crashChunk events and
// every exporter batch exactly one request (min_size = max_size = crashChunk),
// so a queue item is done exactly when its batch is. The sender offers
// crashChunk events every crashSendEvery (1000 events/s), more than the
// exporter delivers against a server that answers each call after
// crashLatency (crashConsumers batches at a time: about 660 events/s), so at
// the kill there are calls in flight and a backlog on disk.
const (
	crashChunk     = 20
	crashConsumers = 10
	crashLatency   = 200 * time.Millisecond
	crashSendEvery = 50 * time.Millisecond
	// crashKillAfterCalls is how many calls the stand-in must have answered
	// before the kill: about two rounds of crashConsumers batches of 6 types.
	crashKillAfterCalls = 60
)

// crashResult is what one crash run measured.
type crashResult struct {
	name string
	// acked are the events the collector's OTLP receiver acknowledged;
	// unacked were offered in the request the kill interrupted.
	acked, unacked int
	// unique is how many distinct events are stored, rows how many rows
	// the table holds, written how many rows the stand-in acknowledged.
	unique, rows, written int
	// inFlightCalls and inFlightRows are the first collector's calls that the
	// stand-in applied after the process was gone.
	inFlightCalls, inFlightRows int
}

func (r crashResult) duplicates() int { return r.rows - r.unique }

// TestCrashPersistentQueue runs examples/persistent-queue.yaml against a slow
// stand-in while an OTLP sender sends continuously, kills the collector with
// SIGKILL while calls are in flight, and starts it again on the same queue
// directory. Every event the receiver acknowledged (after the queue's fsync'd
// write) must land, intact, at least once. The duplicates are measured: with
// an append-mode table they are at least the rows of the calls the stand-in
// applied after the kill (those batches were never marked done, so they are
// replayed) and at most what the exporter can have in flight (num_consumers
// batches of max_size events); with event_id the table collapses them to 0.
func TestCrashPersistentQueue(t *testing.T) {
	var (
		mu      sync.Mutex
		results []crashResult
	)
	t.Cleanup(func() { // after the parallel subtests
		var b strings.Builder
		fmt.Fprintf(&b, "SIGKILL with the persistent queue (%d-event batches, %d consumers, %s per call):\n", crashChunk, crashConsumers, crashLatency)
		fmt.Fprintf(&b, "  %-10s %6s %8s %13s %10s %14s %12s %18s\n", "table", "sent", "unacked", "landed unique", "rows", "duplicate rows", "rows written", "in flight at kill")
		for _, r := range results {
			fmt.Fprintf(&b, "  %-10s %6d %8d %13d %10d %14d %12d %9d calls/%d rows\n",
				r.name, r.acked, r.unacked, r.unique, r.rows, r.duplicates(), r.written, r.inFlightCalls, r.inFlightRows)
		}
		t.Log(b.String())
	})
	for _, tc := range []struct {
		name    string
		eventID bool
	}{
		{name: "append", eventID: false},
		{name: "event_id", eventID: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCrash(t, tc.eventID)
			r.name = tc.name
			mu.Lock()
			results = append(results, r)
			mu.Unlock()

			if r.inFlightCalls == 0 {
				t.Fatalf("no call was in flight when the collector was killed: the run proved nothing (raise crashLatency)")
			}
			if tc.eventID {
				if r.duplicates() != 0 {
					t.Errorf("with event_id: %d duplicate rows, want 0", r.duplicates())
				}
				if replayed := r.written - r.rows; replayed < r.inFlightRows {
					t.Errorf("with event_id: %d rows were written again, want at least the %d rows in flight at the kill (was the batch replayed?)", replayed, r.inFlightRows)
				}
				return
			}
			if r.duplicates() < r.inFlightRows {
				t.Errorf("%d duplicate rows, want at least the %d rows the stand-in applied after the kill: their batches must be replayed", r.duplicates(), r.inFlightRows)
			}
			if bound := crashConsumers * crashChunk; r.duplicates() > bound {
				t.Errorf("%d duplicate rows, more than the exporter can have in flight (num_consumers %d × max_size %d = %d)", r.duplicates(), crashConsumers, crashChunk, bound)
			}
		})
	}
}

// runCrash runs one crash scenario and checks that every acknowledged event landed intact.
func runCrash(t *testing.T, eventID bool) crashResult {
	srv := startStandIn(t)
	srv.SetLatency(crashLatency)
	set := []string{
		fmt.Sprintf("exporters::greptime_events::sending_queue::num_consumers=%d", crashConsumers),
		fmt.Sprintf("exporters::greptime_events::sending_queue::batch::min_size=%d", crashChunk),
		fmt.Sprintf("exporters::greptime_events::sending_queue::batch::max_size=%d", crashChunk),
	}
	if eventID {
		set = append(set, "exporters::greptime_events::event_id::enabled=true")
	}
	l := launch{
		config:     "persistent-queue.yaml",
		greptimeDB: srv.Addr(),
		set:        set,
		env:        []string{"QUEUE_DIR=" + t.TempDir()},
	}

	first := startCollector(t, l)
	prefix := fmt.Sprintf("crash%d", time.Now().UnixNano())
	all := events.Mix(prefix, 20000, time.Now().Truncate(time.Millisecond))
	sendCtx, stopSending := context.WithCancel(t.Context())
	snd := startCrashSender(sendCtx, first.grpcAddr, all)

	// Kill once the pipeline is in full flow: calls answered, more pending.
	waitCtx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	err := srv.WaitForCalls(waitCtx, crashKillAfterCalls)
	cancel()
	if err != nil {
		stopSending()
		snd.wait()
		t.Fatalf("the stand-in answered fewer than %d calls in 20s: %v", crashKillAfterCalls, err)
	}
	if err := first.Kill(); err != nil {
		t.Fatal(err)
	}
	gone := time.Now() // any call answered after this was never acknowledged to the collector
	stopSending()
	acked, unacked := snd.wait()
	if len(acked) == 0 {
		t.Fatal("the collector acknowledged no events before the kill")
	}

	restarted := time.Now() // calls of the first collector all arrived before this
	metricsAddr := freeAddr(t)
	metricsSet, err := otelcol.MetricsSet(metricsAddr)
	if err != nil {
		t.Fatal(err)
	}
	l.set = append(l.set, metricsSet...)
	second := startCollector(t, l)
	waitForDrain(t, srv, metricsAddr, acked, 30*time.Second)
	second.stop(t)

	// Calls first: a recorded call has stored its rows, so every row counted
	// in flight below is in the table read after.
	calls := srv.Calls()
	rows := readRows(t, standInReader(srv), "events")
	r := crashResult{acked: len(acked), unacked: len(unacked), rows: len(rows)}
	r.unique, r.written, r.inFlightCalls, r.inFlightRows = checkCrashRows(t, calls, acked, unacked, rows, gone, restarted)
	return r
}

// checkCrashRows checks that every acknowledged event is stored with its
// type, payload and timestamp, and that no row belongs to an event that was
// not sent. It returns how many distinct events are stored, the rows the
// stand-in acknowledged in all, and the first collector's calls (and their
// rows) that the stand-in applied after the collector was gone.
func checkCrashRows(t *testing.T, calls []greptimetest.Call, acked, unacked []events.Event, rows []store.Row, gone, restarted time.Time) (unique, written, inFlightCalls, inFlightRows int) {
	t.Helper()
	offered := map[string]bool{}
	for _, e := range unacked {
		offered[e.ID] = true
	}
	ackedIDs := map[string]bool{}
	for _, e := range acked {
		ackedIDs[e.ID] = true
	}
	var once []store.Row // one row per acknowledged event
	seen := map[string]bool{}
	for _, row := range rows {
		id := events.RowID(row)
		if !ackedIDs[id] && !offered[id] { // offered: in the request the kill interrupted, may have been queued
			t.Errorf("a row of an event that was never sent: %s (type %q)", id, row.Type)
			continue
		}
		if !seen[id] {
			seen[id] = true
			if ackedIDs[id] {
				once = append(once, row)
			}
		}
	}
	reportDiff(t, events.Diff(acked, once))

	for _, c := range calls {
		if c.Code != codes.OK || !isEventsCall(c) {
			continue
		}
		written += c.RowCount()
		if c.Time.Before(restarted) && c.Time.Add(c.Duration).After(gone) {
			inFlightCalls++
			inFlightRows += c.RowCount()
		}
	}
	return len(seen), written, inFlightCalls, inFlightRows
}

func isEventsCall(c greptimetest.Call) bool {
	for _, table := range c.Tables() {
		if table != "events" {
			return false
		}
	}
	return len(c.Inserts) > 0
}

// waitForDrain waits until the restarted collector's persistent queue is
// empty (otelcol_exporter_queue_size counts an item until its batch was
// delivered) and every acknowledged event is stored. Replayed batches go
// through the same slow stand-in, so by then the first collector's calls
// that were still pending at the kill have been answered too.
func waitForDrain(t *testing.T, srv *greptimetest.Server, metricsAddr string, acked []events.Event, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var (
		queued  float64
		missing int
		scraped bool
		err     error
	)
	for {
		queued, scraped, err = otelcol.Metric(ctx, metricsAddr, "otelcol_exporter_queue_size")
		if err == nil && scraped && queued == 0 {
			stored := map[string]bool{}
			for _, row := range readRows(t, standInReader(srv), "events") {
				stored[events.RowID(row)] = true
			}
			missing = 0
			for _, e := range acked {
				if !stored[e.ID] {
					missing++
				}
			}
			if missing == 0 {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after %s: queue size %v (scraped %v, %v), %d of %d acknowledged events not stored",
				timeout, queued, scraped, err, missing, len(acked))
		case <-tick.C:
		}
	}
}

// crashSender sends events over OTLP/gRPC, crashChunk at a time, until its
// context ends or a request fails, and keeps which were acknowledged.
type crashSender struct {
	done    chan struct{}
	acked   []events.Event
	unacked []events.Event
}

func startCrashSender(ctx context.Context, addr string, all []events.Event) *crashSender {
	s := &crashSender{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(crashSendEvery)
		defer tick.Stop()
		for len(all) >= crashChunk {
			chunk := all[:crashChunk]
			// A nil error means the receiver answered OK: the persistent
			// queue has written the request to disk (fsync on).
			if err := events.Send(ctx, events.GRPC, addr, chunk); err != nil {
				s.unacked = chunk
				return
			}
			s.acked = append(s.acked, chunk...)
			all = all[crashChunk:]
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// wait waits for the sender to stop and returns what it sent.
func (s *crashSender) wait() (acked, unacked []events.Event) {
	<-s.done
	return s.acked, s.unacked
}
