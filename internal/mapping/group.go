package mapping

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// Mapping is a compiled Spec: how a record becomes an event, and the layout
// of each type. It is safe for concurrent use.
type Mapping struct {
	typeAttributes []string
	defaultType    string
	include        map[string]bool // nil keeps every type
	exclude        map[string]bool
	layouts        map[string]*Layout
	other          *Layout
}

// Compile compiles spec; it fails on a spec the exporter's Validate refuses.
func Compile(spec Spec) (*Mapping, error) {
	if spec.DefaultType == "" {
		return nil, specError("no default type")
	}
	other, err := compileTable(spec.Other, spec.Payload, spec.Encoding)
	if err != nil {
		return nil, err
	}
	m := &Mapping{
		typeAttributes: spec.TypeAttributes,
		defaultType:    spec.DefaultType,
		exclude:        toSet(spec.Exclude),
		layouts:        make(map[string]*Layout, len(spec.Types)),
		other:          other,
	}
	if len(spec.Include) > 0 {
		m.include = toSet(spec.Include)
	}
	for eventType, t := range spec.Types {
		if m.layouts[eventType], err = compileTable(t, spec.Payload, spec.Encoding); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func toSet(list []string) map[string]bool {
	set := make(map[string]bool, len(list))
	for _, s := range list {
		set[s] = true
	}
	return set
}

// Tables lists the tables of the mapping's layouts, each once.
func (m *Mapping) Tables() []string {
	tables := []string{m.other.table}
	for _, l := range m.layouts {
		if !slices.Contains(tables, l.table) {
			tables = append(tables, l.table)
		}
	}
	return tables
}

// LogType is a log record's event type: its EventName, else the first
// configured attribute present, else the default. Invalid UTF-8 is
// replaced, as the type is a string column.
func (m *Mapping) LogType(lr plog.LogRecord) string {
	return m.typeOf(lr.EventName(), lr.Attributes())
}

// SpanEventType is a span event's type: its name, else the first configured
// attribute present, else the default, as for a log record.
func (m *Mapping) SpanEventType(se ptrace.SpanEvent) string {
	return m.typeOf(se.Name(), se.Attributes())
}

func (m *Mapping) typeOf(name string, attrs pcommon.Map) string {
	t := name
	if t == "" {
		for _, key := range m.typeAttributes {
			if v, ok := attrs.Get(key); ok {
				if t = v.AsString(); t != "" {
					break
				}
			}
		}
	}
	if t == "" {
		return m.defaultType
	}
	return strings.ToValidUTF8(t, "\uFFFD")
}

// Keeps reports whether the filter keeps events of a type.
func (m *Mapping) Keeps(eventType string) bool {
	return (m.include == nil || m.include[eventType]) && !m.exclude[eventType]
}

// Filters reports whether the mapping has a filter at all.
func (m *Mapping) Filters() bool { return m.include != nil || len(m.exclude) > 0 }

// LayoutOf is the layout of an event type.
func (m *Mapping) LayoutOf(eventType string) *Layout {
	if l, ok := m.layouts[eventType]; ok {
		return l
	}
	return m.other
}

// DatabaseOf says which database the events of a resource go to. ok is
// false when the resource names a database its events may not go to (a
// tenant not allowed); db is then the name it gave.
type DatabaseOf func(resource pcommon.Resource) (db string, ok bool)

// Drops are the records of a batch that belong to no group.
type Drops struct {
	// Filtered counts the records of types the filter drops.
	Filtered int
	// Unstorable are the records that cannot be stored as events.
	Unstorable []Unstorable
	// Denied are the records whose resource names a database they may not go to.
	Denied []Unstorable
}

// Unstorable is a record that cannot be stored as an event.
type Unstorable struct {
	// Database is the database its events were meant for: its own, or the
	// name a denied record gave.
	Database string
	Type     string
	Err      error
	// Event is the record; its Timestamp is 0 when the record's is out of range.
	Event Event
	// Size is the bytes of its rows, when they exceed a request.
	Size int
}

// ErrTimestampRange is the reason of a record GreptimeDB cannot hold: its
// timestamps are an int64 count of their unit
// (src/common/time/src/timestamp.rs:46-49), nanoseconds for the events'
// time index.
var ErrTimestampRange = errors.New("timestamp is beyond year 2262, the range of GreptimeDB's nanosecond timestamps")

// ErrNotAllowed is the reason of a record whose resource names a database
// it may not go to.
var ErrNotAllowed = errors.New("the record's tenant names a database that tenants::databases and tenants::database_pattern do not allow")

// NotAllowed is the error of a record whose tenant names db, which it may
// not go to.
func NotAllowed(db string) error { return fmt.Errorf("%w: %q", ErrNotAllowed, db) }

// Grouper groups the events of a batch by (database, type). It keeps what
// grouping reuses from batch to batch: the groups, each with the array of
// events it grew, so that grouping allocates nothing per record once they
// have grown and goes over the batch once. A Grouper is used by one
// goroutine at a time.
type Grouper struct {
	byKey  map[groupKey]int // past the first fewGroups
	groups []*Group
	spare  []*Group // groups of earlier batches, for reuse
}

// groupKey tells groups apart.
type groupKey struct{ database, eventType string }

// GroupLogs groups the events of ld by (database, type), in the order they
// first appear; records that are filtered out, cannot be events, or name a
// database they may not go to, go to drops. now stamps records that carry
// no timestamp. The groups are valid until the Grouper's next use or Reset.
func (gr *Grouper) GroupLogs(ld plog.Logs, m *Mapping, now time.Time, databaseOf DatabaseOf) ([]*Group, Drops) {
	gr.begin()
	var dropped Drops
	for ri, rl := range ld.ResourceLogs().All() {
		db, allowed := databaseOf(rl.Resource())
		for si, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				ev := Event{resource: rl.Resource(), scope: sl.Scope(), lr: lr, ri: ri, si: si}
				ts, err := LogTimestamp(lr, now)
				gr.place(m, &dropped, db, allowed, m.LogType(lr), ev, ts, err)
			}
		}
	}
	clear(gr.byKey)
	return gr.groups, dropped
}

// GroupSpanEvents groups the span events of td as GroupLogs groups log
// records: each span event is an event, of its span's resource and scope.
// Spans themselves are not events.
func (gr *Grouper) GroupSpanEvents(td ptrace.Traces, m *Mapping, now time.Time, databaseOf DatabaseOf) ([]*Group, Drops) {
	gr.begin()
	var dropped Drops
	for ri, rs := range td.ResourceSpans().All() {
		db, allowed := databaseOf(rs.Resource())
		for si, ss := range rs.ScopeSpans().All() {
			for pi, span := range ss.Spans().All() {
				for _, se := range span.Events().All() {
					ev := Event{resource: rs.Resource(), scope: ss.Scope(), span: span, se: se, ri: ri, si: si, pi: pi}
					ts, err := SpanEventTimestamp(se, span, now)
					gr.place(m, &dropped, db, allowed, m.SpanEventType(se), ev, ts, err)
				}
			}
		}
	}
	clear(gr.byKey)
	return gr.groups, dropped
}

// begin readies the Grouper for a batch.
func (gr *Grouper) begin() {
	if gr.byKey == nil {
		gr.byKey = map[groupKey]int{}
	}
	gr.spare = append(gr.spare, gr.groups...)
	gr.groups = gr.groups[:0]
}

// place puts ev, of database db and type eventType, into its group, or
// into dropped: filtered out, of a database it may not go to (allowed
// false), or with a timestamp GreptimeDB cannot hold (err, from
// LogTimestamp or SpanEventTimestamp).
func (gr *Grouper) place(m *Mapping, dropped *Drops, db string, allowed bool, eventType string, ev Event, ts int64, err error) {
	if !m.Keeps(eventType) {
		dropped.Filtered++
		return
	}
	if err == nil {
		ev.Timestamp = ts // a dead letter keeps the record's time too
	}
	if !allowed {
		dropped.Denied = append(dropped.Denied, Unstorable{Database: db, Type: eventType,
			Err: NotAllowed(db), Event: ev})
		return
	}
	if err != nil {
		dropped.Unstorable = append(dropped.Unstorable, Unstorable{Database: db, Type: eventType, Err: err, Event: ev})
		return
	}
	gr.add(db, eventType, m, ev)
}

// add adds ev to the group of (db, eventType), a new one if need be.
func (gr *Grouper) add(db, eventType string, m *Mapping, ev Event) {
	gi := gr.groupIndex(db, eventType)
	if gi < 0 {
		gi = len(gr.groups)
		if gi >= fewGroups {
			gr.byKey[groupKey{database: db, eventType: eventType}] = gi
		}
		gr.groups = append(gr.groups, gr.newGroup(db, eventType, m.LayoutOf(eventType)))
	}
	g := gr.groups[gi]
	g.Events = append(g.Events, ev)
}

// fewGroups is how many groups groupIndex looks through before its map: a
// batch has a handful of event types, and comparing a few short strings
// costs less than hashing them (BenchmarkMapping: 282 to 268 ns/record).
const fewGroups = 8

// groupIndex is the index of the group of (db, eventType), or -1.
func (gr *Grouper) groupIndex(db, eventType string) int {
	for i, g := range gr.groups[:min(len(gr.groups), fewGroups)] {
		if g.Type == eventType && g.Database == db {
			return i
		}
	}
	if len(gr.groups) <= fewGroups {
		return -1
	}
	if gi, ok := gr.byKey[groupKey{database: db, eventType: eventType}]; ok {
		return gi
	}
	return -1
}

// newGroup is a group of an earlier batch, with the events array it grew,
// or a new one.
func (gr *Grouper) newGroup(db, eventType string, l *Layout) *Group {
	var g *Group
	if n := len(gr.spare); n > 0 {
		g, gr.spare = gr.spare[n-1], gr.spare[:n-1]
	} else {
		g = new(Group)
	}
	*g = Group{Database: db, Type: eventType, Layout: l, Events: g.Events[:0]}
	return g
}

// Reset drops the Grouper's references to the batch.
func (gr *Grouper) Reset() {
	for _, g := range gr.groups {
		clear(g.Events)
		g.Events = g.Events[:0]
	}
}

// LogTimestamp is a record's time, else its observed time, else now, in
// nanoseconds since the epoch; an error when GreptimeDB cannot hold it.
func LogTimestamp(lr plog.LogRecord, now time.Time) (int64, error) {
	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	return timestamp(ts, now)
}

// SpanEventTimestamp is a span event's time, else its span's start (a span
// event happens within its span), else now, as LogTimestamp.
func SpanEventTimestamp(se ptrace.SpanEvent, span ptrace.Span, now time.Time) (int64, error) {
	ts := se.Timestamp()
	if ts == 0 {
		ts = span.StartTimestamp()
	}
	return timestamp(ts, now)
}

func timestamp(ts pcommon.Timestamp, now time.Time) (int64, error) {
	if ts == 0 {
		return now.UnixNano(), nil
	}
	if uint64(ts) > math.MaxInt64 {
		return 0, fmt.Errorf("%w: %d ns", ErrTimestampRange, uint64(ts))
	}
	return int64(ts), nil
}
