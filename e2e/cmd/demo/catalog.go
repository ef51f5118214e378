package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/store"
	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// The exporter's opt-in tables, which the demo turns on with --set overrides.
const (
	// catalogTable lists the event types written (README: Event catalog).
	catalogTable = "event_types"
	// catalogInterval is how often the demo's exporter writes the catalog;
	// it also writes it at shutdown.
	catalogInterval = time.Second
	// deadLetterTable receives the events GreptimeDB rejects (README: Dead letters).
	deadLetterTable = "events_rejected"
)

// optInSet are the --set overrides that turn the catalog and the dead-letter table on.
func optInSet() []string {
	return []string{
		"exporters::greptime_events::event_catalog::table=" + catalogTable,
		"exporters::greptime_events::event_catalog::interval=" + catalogInterval.String(),
		"exporters::greptime_events::dead_letter::table=" + deadLetterTable,
	}
}

// catalogRow is one row of the catalog table.
type catalogRow struct {
	table, eventType, collector string
	startedAt, first, last      time.Time
	events                      int64
	payloadKeys                 []string
}

// printCatalog prints the catalog: the stand-in's rows, or the answers of a
// real GreptimeDB to the catalog queries. It returns the stand-in's rows (nil
// for a real GreptimeDB).
func (db *greptimeDB) printCatalog(ctx context.Context, w io.Writer) ([]catalogRow, error) {
	fmt.Fprintf(w, "The event catalog (table %q, written every %s and at shutdown): per table and event type, how many\n", catalogTable, catalogInterval)
	fmt.Fprintln(w, "events the collector wrote, when it first and last wrote one, and the payload keys seen:")
	if db.standIn == nil {
		if err := db.runQueries(ctx, w, catalogQueries); err != nil {
			return nil, err
		}
		fmt.Fprintln(w)
		return nil, nil
	}
	rows, err := standInCatalog(db.standIn.Table("public", catalogTable))
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "  (empty: the exporter has written no catalog)")
		fmt.Fprintln(w)
		return nil, nil
	}
	// One section per collector: the logs pipeline's exporter, and the
	// traces pipeline's (its collector ends in /traces).
	var collectors []string
	for _, r := range rows {
		if !slices.Contains(collectors, r.collector) {
			collectors = append(collectors, r.collector)
		}
	}
	slices.Sort(collectors)
	for _, c := range collectors {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		started := false
		for _, r := range rows {
			if r.collector != c {
				continue
			}
			if !started {
				fmt.Fprintf(w, "  collector %s, started %s\n", r.collector, r.startedAt.Format(time.RFC3339Nano))
				fmt.Fprintln(tw, "  table_name\ttype\tevents\tfirst_seen\tlast_seen\tpayload_keys")
				started = true
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\n", r.table, r.eventType, r.events,
				r.first.Format("15:04:05.000"), r.last.Format("15:04:05.000"), strings.Join(r.payloadKeys, " "))
		}
		_ = tw.Flush()
	}
	fmt.Fprintln(w)
	return rows, nil
}

// standInCatalog reads the catalog rows the stand-in holds, sorted by table and type.
func standInCatalog(t greptimetest.Table, ok bool) ([]catalogRow, error) {
	if !ok {
		return nil, nil
	}
	out := make([]catalogRow, 0, len(t.Rows))
	for i, r := range t.Rows {
		valid := true
		str := func(k string) string {
			s, ok := r[k].(string)
			valid = valid && ok
			return s
		}
		ts := func(k string) time.Time {
			n, ok := r[k].(int64) // TIMESTAMP_NANOSECOND
			valid = valid && ok
			return time.Unix(0, n).UTC()
		}
		events, ok := r["events"].(int64)
		keys, keysOK := r["payload_keys"].([]any)
		c := catalogRow{
			table: str("table_name"), eventType: str("type"), collector: str("collector"),
			startedAt: ts("started_at"), first: ts("first_seen"), last: ts("last_seen"),
			events: events,
		}
		for _, k := range keys {
			c.payloadKeys = append(c.payloadKeys, fmt.Sprint(k))
		}
		if !valid || !ok || !keysOK {
			return nil, fmt.Errorf("catalog row %d is not what the exporter writes: %v", i, r)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b catalogRow) int {
		return cmp.Or(strings.Compare(a.table, b.table), strings.Compare(a.eventType, b.eventType))
	})
	return out, nil
}

// printDeadLetters prints the dead-letter table: how many events GreptimeDB
// rejected, by target table, type and error. It returns that number (0 for
// a real GreptimeDB, whose answer is printed as it comes).
func (db *greptimeDB) printDeadLetters(ctx context.Context, w io.Writer) (int, error) {
	fmt.Fprintf(w, "The dead-letter table (%q: the events GreptimeDB rejects for good, with its error):\n", deadLetterTable)
	if db.standIn == nil {
		if err := db.runQueries(ctx, w, deadLetterQueries); err != nil {
			return 0, err
		}
		fmt.Fprintln(w)
		return 0, nil
	}
	t, ok := db.standIn.Table("public", deadLetterTable)
	if !ok || len(t.Rows) == 0 {
		fmt.Fprintln(w, "  0 rejected events (the exporter creates the table with the first one)")
		fmt.Fprintln(w)
		return 0, nil
	}
	counts := map[string]int{}
	for _, r := range t.Rows {
		counts[fmt.Sprintf("target_table=%v type=%v error_code=%v grpc_code=%v: %v",
			r["target_table"], r["type"], r["error_code"], r["grpc_code"], r["error_message"])]++
	}
	fmt.Fprintf(w, "  %d rejected events:\n", len(t.Rows))
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(w, "    %4d  %s\n", counts[k], k)
	}
	fmt.Fprintln(w)
	return len(t.Rows), nil
}

// checkCatalog compares the catalog's count per type with the rows stored:
// the catalog counts what this collector wrote, and the stand-in holds only this run.
func checkCatalog(catalog []catalogRow, stored []store.Row) []string {
	want := map[string]int64{}
	for _, r := range stored {
		want[r.Type]++
	}
	got := map[string]int64{}
	for _, c := range catalog {
		if c.table == table {
			got[c.eventType] += c.events
		}
	}
	types := maps.Clone(want)
	maps.Copy(types, got)
	var problems []string
	for _, typ := range slices.Sorted(maps.Keys(types)) {
		if got[typ] != want[typ] {
			problems = append(problems, fmt.Sprintf("catalog: %d events of type %s in table %s, but %d rows stored", got[typ], typ, table, want[typ]))
		}
	}
	return problems
}
