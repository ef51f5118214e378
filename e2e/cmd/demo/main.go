// Command demo shows the greptime_events exporter end to end, in one command:
//
//	make demo
//
// It starts a GreptimeDB (a real one when GREPTIMEDB_ENDPOINT names its gRPC
// address, otherwise the project's in-memory stand-in), then the
// otelcol-greptime-events collector with examples/collector.yaml, its event
// catalog and dead-letter table turned on and greptime_events in a traces
// pipeline too; sends a mix of events over OTLP with the OpenTelemetry Go SDK,
// and three spans, two with span events; shows the exporter's flush as it happens;
// prints the event tables, the catalog, the (empty) dead-letter table and the
// SQL that shows the same in GreptimeDB; and stops everything it started, on
// Ctrl-C too. It exits 1 if an event did not arrive exactly once, intact, if
// the catalog does not count what was stored, or if an event was rejected.
//
// With a real GreptimeDB, GREPTIMEDB_MYSQL (its MySQL address) lets the demo
// check the rows and print the tables with that SQL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/events"
)

// table is the table examples/collector.yaml writes every event to.
const table = "events"

// options are the demo's flags.
type options struct {
	collector string
	config    string
	set       []string
	events    int
	timeout   time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.collector, "collector", "_build/otelcol-greptime-events", "the otelcol-greptime-events binary (make build)")
	flag.StringVar(&o.config, "config", "examples/collector.yaml", "the collector configuration to run")
	flag.Func("set", "an extra --set override for the collector, e.g. exporters::greptime_events::ttl=24h (repeatable)", func(v string) error {
		o.set = append(o.set, v)
		return nil
	})
	flag.IntVar(&o.events, "events", 140, "how many events to send")
	flag.DurationVar(&o.timeout, "timeout", time.Minute, "how long to wait for the events to be stored")
	flag.Parse()

	os.Exit(runUntilSignal(o))
}

// runUntilSignal runs the demo until it ends or SIGINT or SIGTERM, and
// returns the process's exit status.
func runUntilSignal(o options) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Stdout, o)
	switch {
	case err == nil:
		return 0
	case ctx.Err() != nil:
		fmt.Fprintln(os.Stderr, "demo: interrupted; everything it started is stopped")
		return 130
	default:
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
}

// run is the demo: each step prints what it does to w.
func run(ctx context.Context, w io.Writer, o options) (err error) {
	fmt.Fprintln(w, "greptime_events demo: OTLP logs and span events -> otelcol-greptime-events -> GreptimeDB event tables")
	fmt.Fprintln(w)

	db, err := openGreptimeDB(ctx, w)
	if err != nil {
		return err
	}
	defer db.close()

	col, err := startCollector(w, o, db.endpoint)
	if err != nil {
		return err
	}
	defer func() {
		if col != nil { // not stopped yet: an earlier step failed
			err = errors.Join(err, stopCollector(w, col))
		}
	}()

	runID := fmt.Sprintf("demo%d", time.Now().Unix())
	sent := events.Mix(runID, o.events, time.Now())
	if err := sendEvents(ctx, w, col.grpcAddr, runID, sent); err != nil {
		return err
	}
	spanRunID := "spans" + runID // not runID's prefix: the log events' checks leave them out
	spansSent, err := sendSpans(ctx, w, col.grpcAddr, spanRunID)
	if err != nil {
		return err
	}
	if db.reader != nil {
		if err := waitForFlush(ctx, w, db, runID, len(sent), o.timeout); err != nil {
			return err
		}
	}
	stopErr := stopCollector(w, col) // drains the queue: nothing arrives after it
	col = nil
	if stopErr != nil {
		return stopErr
	}
	if db.reader == nil {
		printSQL(w, db)
		fmt.Fprintln(w, "The demo did not check the rows: set GREPTIMEDB_MYSQL (e.g. 127.0.0.1:4002) to have it query them.")
		return nil
	}
	rows, err := db.reader.Rows(ctx, table)
	if err != nil {
		return err
	}
	stored := events.OfRun(rows, runID)
	spanRows := events.OfRun(rows, spanRunID)
	if err := db.printTables(ctx, w); err != nil {
		return err
	}
	printOnePerType(w, stored)
	spanProblems := checkSpanEvents(w, spansSent, spanRows)
	catalog, err := db.printCatalog(ctx, w)
	if err != nil {
		return err
	}
	rejected, err := db.printDeadLetters(ctx, w)
	if err != nil {
		return err
	}
	printSQL(w, db)
	problems := spanProblems
	if db.standIn != nil { // a real GreptimeDB's catalog also counts earlier runs
		problems = append(problems, checkCatalog(catalog, append(stored, spanRows...))...)
	}
	if rejected > 0 {
		problems = append(problems, fmt.Sprintf("%s: %d events rejected by GreptimeDB", deadLetterTable, rejected))
	}
	return verify(w, sent, stored, problems)
}
