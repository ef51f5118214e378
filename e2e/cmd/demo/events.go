package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/events"
	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/store"
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
// database holds, until it holds them all or timeout passes; verify then
// tells which are missing.
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
			fmt.Fprintf(w, "  gave up waiting after %s\n\n", timeout)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// printOnePerType prints the first stored event of each type.
func printOnePerType(w io.Writer, stored []store.Row) {
	first := map[string]store.Row{}
	for _, r := range stored {
		if _, ok := first[r.Type]; !ok {
			first[r.Type] = r
		}
	}
	fmt.Fprintln(w, "One stored event of each type (timestamp, type, payload):")
	for _, typ := range sortedKeys(first) {
		r := first[typ]
		payload, _ := json.Marshal(r.Payload)
		fmt.Fprintf(w, "  %s  %-16s %s\n", r.Timestamp.Format(time.RFC3339Nano), typ, payload)
	}
	fmt.Fprintln(w)
}

// verify checks that every sent event is stored exactly once with its type,
// payload and timestamp, and prints the verdict with the other problems found.
func verify(w io.Writer, sent []events.Event, stored []store.Row, other []string) error {
	problems := append(events.Diff(sent, stored), other...)
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
