package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/events"
)

// sendEvents sends the events of run over OTLP/gRPC to addr, after listing them by type.
func sendEvents(ctx context.Context, w io.Writer, addr, runID string, sent []events.Event) error {
	fmt.Fprintf(w, "Sending %d events over OTLP/gRPC with the OpenTelemetry Go SDK (service.name=%s, event.id %s-0001..):\n",
		len(sent), events.ServiceName, runID)
	counts := events.Count(sent)
	carriers := typeCarriers(sent)
	for _, typ := range sortedKeys(counts) {
		fmt.Fprintf(w, "  %-16s %4d   named by %s\n", typ, counts[typ], carriers[typ])
	}
	began := time.Now()
	if err := events.Send(ctx, events.GRPC, addr, sent); err != nil {
		return err
	}
	fmt.Fprintf(w, "The collector accepted all %d in %s.\n\n", len(sent), time.Since(began).Round(time.Millisecond))
	return nil
}

// typeCarriers says, per type, where the records carry it.
func typeCarriers(evs []events.Event) map[string]string {
	where := map[string][]string{}
	for _, e := range evs {
		c := map[events.Naming]string{
			events.ByEventName: "the record's EventName",
			events.ByAttribute: "the event.name attribute",
			events.Unnamed:     "nothing (stored as type log)",
		}[e.Naming]
		if !slices.Contains(where[e.Type], c) {
			where[e.Type] = append(where[e.Type], c)
		}
	}
	out := map[string]string{}
	for typ, cs := range where {
		out[typ] = strings.Join(cs, " or ")
	}
	return out
}

// waitForFlush prints, once a second, how many of the n events of run the
// database holds, until it holds them all or timeout passes.
func waitForFlush(ctx context.Context, w io.Writer, db *greptimeDB, runID string, n int, timeout time.Duration) error {
	fmt.Fprintln(w, "Waiting for the exporter: its batcher sends when 100 events are queued, or 5s after the first")
	fmt.Fprintln(w, "(sending_queue.batch min_size and flush_timeout, the defaults of GreptimeDB's own event recorder):")
	began := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		rows, err := db.reader.Rows(ctx, table)
		if err != nil {
			return err
		}
		stored := len(events.OfRun(rows, runID))
		elapsed := time.Since(began)
		fmt.Fprintf(w, "  %4.1fs  %3d/%d events stored\n", elapsed.Seconds(), stored, n)
		if stored >= n {
			fmt.Fprintln(w)
			return nil
		}
		if elapsed > timeout {
			return fmt.Errorf("only %d of %d events stored after %s", stored, n, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// verify checks that every event of run is stored exactly once with its
// type, payload and timestamp, and prints the verdict.
func verify(ctx context.Context, w io.Writer, db *greptimeDB, runID string, sent []events.Event) error {
	rows, err := db.reader.Rows(ctx, table)
	if err != nil {
		return err
	}
	problems := events.Diff(sent, events.OfRun(rows, runID))
	if len(problems) == 0 {
		fmt.Fprintf(w, "OK: all %d events arrived exactly once, each with its type, payload and timestamp.\n", len(sent))
		return nil
	}
	fmt.Fprintf(w, "FAILED: %d problems:\n", len(problems))
	for _, p := range problems {
		fmt.Fprintln(w, "  "+p)
	}
	return fmt.Errorf("%d problems: not every event arrived exactly once, intact", len(problems))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
