package events

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/store"
)

// Diff matches stored rows to sent events by the IDKey attribute in their
// payload and returns one line per difference: an event that is missing or
// stored more than once, a row whose type, payload or timestamp is not its
// event's, or a row that belongs to no event. No lines means every event
// arrived exactly once, intact.
func Diff(sent []Event, rows []store.Row) []string {
	byID := map[string][]store.Row{}
	var problems []string
	for i, r := range rows {
		id := RowID(r)
		if id == "" {
			problems = append(problems, fmt.Sprintf("row %d (type %q) has no %s attribute: %s", i, r.Type, IDKey, asJSON(r.Payload)))
			continue
		}
		byID[id] = append(byID[id], r)
	}
	for _, e := range sent {
		got := byID[e.ID]
		delete(byID, e.ID)
		switch {
		case len(got) == 0:
			problems = append(problems, fmt.Sprintf("%s (%s): missing", e.ID, e.Type))
			continue
		case len(got) > 1:
			problems = append(problems, fmt.Sprintf("%s (%s): stored %d times", e.ID, e.Type, len(got)))
		}
		problems = append(problems, diffRow(e, got[0])...)
	}
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		problems = append(problems, fmt.Sprintf("%s: %d row(s) of type %q that no sent event has", id, len(byID[id]), byID[id][0].Type))
	}
	return problems
}

// diffRow compares one stored row with its event.
func diffRow(e Event, r store.Row) []string {
	var problems []string
	if r.Type != e.Type {
		problems = append(problems, fmt.Sprintf("%s: type %q, want %q", e.ID, r.Type, e.Type))
	}
	if !r.Timestamp.Equal(e.Time) {
		problems = append(problems, fmt.Sprintf("%s: timestamp %s, want %s", e.ID, r.Timestamp.Format(time.RFC3339Nano), e.Time.UTC().Format(time.RFC3339Nano)))
	}
	if want := e.Payload(); !reflect.DeepEqual(r.Payload, want) {
		problems = append(problems, fmt.Sprintf("%s: payload\n  got  %s\n  want %s", e.ID, asJSON(r.Payload), asJSON(want)))
	}
	return problems
}

// RowID returns the IDKey attribute of a stored row's payload, "" if it has none.
func RowID(r store.Row) string {
	attrs, _ := r.Payload["attributes"].(map[string]any)
	id, _ := attrs[IDKey].(string)
	return id
}

// OfRun keeps the rows whose ID starts with idPrefix: the rows one run of
// Mix(idPrefix, ...) stored in a table that may hold older events.
func OfRun(rows []store.Row, idPrefix string) []store.Row {
	var out []store.Row
	for _, r := range rows {
		if strings.HasPrefix(RowID(r), idPrefix+"-") {
			out = append(out, r)
		}
	}
	return out
}

func asJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
