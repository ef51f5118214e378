package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/greptime-events/greptimeeventsexporter/internal/wire"
)

// The mapping: a log record becomes an event (type, payload, timestamp,
// extra columns), events are grouped by (table, type), and each group is
// written as row inserts (inserts.go). Pure: no gRPC, no logging; the clock
// comes in as now.

// mapping is the compiled form of the config's event options: how a log
// record becomes an event, and which layout each type gets.
type mapping struct {
	database       string   // the exporter's database
	tenants        *tenants // nil without tenants
	typeAttributes []string
	defaultType    string
	payload        PayloadConfig
	include        map[string]bool // nil keeps every type
	exclude        map[string]bool
	layouts        map[string]*layout
	fallback       *layout // "*", or the exporter's table without extra columns
}

// layout is how the events of a type are written: their table, its columns
// (the base columns, the event id when enabled, then the extra columns), and
// the table options GreptimeDB applies when an insert creates the table.
type layout struct {
	table   string
	extra   []extraColumn
	expand  int // index in extra of the expanding column, or -1
	eventID *eventIDSpec
	// hints is the x-greptime-hints value of the table's options.
	hints string
	// columns are the Rows.schema, and wire the table name and columns encoded.
	columns []*greptimev1.ColumnSchema
	wire    wire.Table
	// key tells layouts apart: the table and its columns.
	key string
}

// extraColumn is a compiled ColumnConfig.
type extraColumn struct {
	name     string
	src      source
	typ      ColumnType
	semantic greptimev1.SemanticType
}

// newMapping compiles a validated config.
func newMapping(cfg *Config) (*mapping, error) {
	fallback, err := newLayout(cfg.Table, nil, cfg.policyOf(EventConfig{}))
	if err != nil {
		return nil, err
	}
	m := &mapping{
		database:       cfg.Database,
		tenants:        newTenants(cfg),
		typeAttributes: cfg.EventType.Attributes,
		defaultType:    cfg.EventType.Default,
		payload:        cfg.Payload,
		exclude:        toSet(cfg.Filter.Exclude),
		layouts:        make(map[string]*layout, len(cfg.Events)),
		fallback:       fallback,
	}
	if len(cfg.Filter.Include) > 0 {
		m.include = toSet(cfg.Filter.Include)
	}
	for eventType, ec := range cfg.Events {
		l, err := newLayout(cfg.tableOf(ec), ec.Columns, cfg.policyOf(ec))
		if err != nil {
			return nil, err
		}
		if eventType == wildcardEventType {
			m.fallback = l
		} else {
			m.layouts[eventType] = l
		}
	}
	return m, nil
}

func newLayout(table string, cols []ColumnConfig, policy tablePolicy) (*layout, error) {
	extra := make([]extraColumn, len(cols))
	expand := -1
	for i, c := range cols {
		src, _ := parseSource(c.Source) // validated
		extra[i] = extraColumn{name: c.Name, src: src, typ: c.Type, semantic: greptimev1.SemanticType_FIELD}
		if extra[i].typ == "" {
			extra[i].typ = ColumnTypeString
		}
		if c.SemanticType == "tag" {
			extra[i].semantic = greptimev1.SemanticType_TAG
		}
		if c.Expand {
			expand = i
		}
	}
	return compileLayout(table, extra, expand, policy)
}

// compileLayout lays out a table: the base columns, the event id when
// enabled, then the extra columns. It fails only on names that are not
// valid UTF-8, which Validate keeps out.
func compileLayout(table string, extra []extraColumn, expand int, policy tablePolicy) (*layout, error) {
	l := &layout{table: table, extra: extra, expand: expand, hints: formatHints(policy)}
	l.columns = []*greptimev1.ColumnSchema{
		{ColumnName: columnType, Datatype: greptimev1.ColumnDataType_STRING, SemanticType: greptimev1.SemanticType_TAG},
		{ColumnName: columnPayload, Datatype: greptimev1.ColumnDataType_JSON, SemanticType: greptimev1.SemanticType_FIELD},
		{ColumnName: columnTimestamp, Datatype: greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, SemanticType: greptimev1.SemanticType_TIMESTAMP},
	}
	if policy.EventID.Enabled {
		l.eventID = &eventIDSpec{}
		if policy.EventID.Source != "" {
			src, _ := parseSource(policy.EventID.Source) // validated
			l.eventID.src = &src
		}
		l.columns = append(l.columns, &greptimev1.ColumnSchema{
			ColumnName: columnEventID, Datatype: greptimev1.ColumnDataType_STRING, SemanticType: greptimev1.SemanticType_TAG,
		})
	}
	for _, col := range extra {
		l.columns = append(l.columns, &greptimev1.ColumnSchema{
			ColumnName:   col.name,
			Datatype:     columnDataTypes[col.typ],
			SemanticType: col.semantic,
		})
	}
	var err error
	if l.wire, err = wire.EncodeTable(table, l.columns); err != nil {
		return nil, err
	}
	var key strings.Builder
	key.WriteString(table)
	for _, c := range l.columns {
		fmt.Fprintf(&key, "\x00%s:%d:%d", c.ColumnName, c.Datatype, c.SemanticType)
	}
	l.key = key.String()
	return l, nil
}

// tables lists the tables of the mapping's layouts.
func (m *mapping) tables() []string {
	tables := []string{m.fallback.table}
	for _, l := range m.layouts {
		tables = append(tables, l.table)
	}
	return tables
}

func toSet(list []string) map[string]bool {
	set := make(map[string]bool, len(list))
	for _, s := range list {
		set[s] = true
	}
	return set
}

// formatHints renders a table policy as the x-greptime-hints value:
// comma-separated key=value pairs (split on ',' then once on '=',
// src/servers/src/hint_headers.rs:22-23), durations in humantime
// (src/common/time/src/ttl.rs:131-140). GreptimeDB copies ttl, append_mode,
// merge_mode and compaction.twcs.time_window (with compaction.type=twcs) into
// the options of a table an insert creates (src/operator/src/insert.rs:1262-1276).
// A table with event ids is non-append and keeps the last row of each
// (tags, timestamp): merge_mode last_row (src/mito2/src/region/options.rs:68-71).
func formatHints(p tablePolicy) string {
	var parts []string
	if p.TTL > 0 {
		parts = append(parts, "ttl="+formatHumantime(p.TTL))
	}
	if p.EventID.Enabled {
		parts = append(parts, "append_mode=false", "merge_mode=last_row")
	} else {
		parts = append(parts, "append_mode="+strconv.FormatBool(p.AppendMode))
	}
	if p.CompactionTimeWindow > 0 {
		parts = append(parts, "compaction.twcs.time_window="+formatHumantime(p.CompactionTimeWindow))
	}
	return strings.Join(parts, ", ")
}

// formatHumantime writes d in the duration grammar of Rust's humantime crate
// ("90d", "1h 30m", "250ms"), which GreptimeDB parses table options with.
func formatHumantime(d time.Duration) string {
	units := []struct {
		name string
		size time.Duration
	}{
		{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second},
		{"ms", time.Millisecond}, {"us", time.Microsecond}, {"ns", time.Nanosecond},
	}
	var parts []string
	for _, u := range units {
		if n := d / u.size; n > 0 {
			parts = append(parts, strconv.FormatInt(int64(n), 10)+u.name)
			d -= n * u.size
		}
	}
	if len(parts) == 0 {
		return "0s"
	}
	return strings.Join(parts, " ")
}

// eventType finds a record's type: its EventName, else the first configured
// attribute present, else the default. Invalid UTF-8 is replaced, as the
// type is a string column.
func (m *mapping) eventType(lr plog.LogRecord) string {
	t := lr.EventName()
	if t == "" {
		for _, key := range m.typeAttributes {
			if v, ok := lr.Attributes().Get(key); ok {
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

// databaseOf is the database of a resource's records; allowed is false when
// their tenant names one the config does not allow.
func (m *mapping) databaseOf(rl plog.ResourceLogs, tenant string) (db string, allowed bool) {
	if m.tenants == nil {
		return m.database, true
	}
	if m.tenants.src.kind == tenantFromResource {
		tenant = ""
		if v, ok := rl.Resource().Attributes().Get(m.tenants.src.key); ok {
			tenant = v.AsString()
		}
	}
	return m.tenants.database(tenant)
}

func (m *mapping) keeps(eventType string) bool {
	return (m.include == nil || m.include[eventType]) && !m.exclude[eventType]
}

func (m *mapping) layoutOf(eventType string) *layout {
	if l, ok := m.layouts[eventType]; ok {
		return l
	}
	return m.fallback
}

// event is a record of the batch on its way to a row: the record, its
// resource and scope with their positions (so a group can rebuild its part
// of the batch), and its timestamp.
type event struct {
	rl        plog.ResourceLogs
	sl        plog.ScopeLogs
	lr        plog.LogRecord
	ri, si    int
	timestamp int64 // nanoseconds since the epoch
	// rejection is set on a dead letter: why it is one.
	rejection *rejection
}

// group holds the events of one (database, table, type): they become one
// insert, or several where they exceed max_request_bytes.
type group struct {
	database  string
	eventType string
	layout    *layout
	events    []event
}

// drops describes the records of a batch that belong to no group.
type drops struct {
	filtered int
	invalid  []invalidRecord
	denied   []invalidRecord // their tenant names a database not allowed
}

// invalidRecord is a record that cannot be stored as an event.
type invalidRecord struct {
	database  string // where its dead letter goes: its own, or the exporter's when denied
	target    string // the database it was meant for; "" for a tenant not allowed
	eventType string
	err       error
	event     event // its timestamp is 0 when the record's is out of range
	size      int   // the bytes of its rows, when they exceed max_request_bytes
}

// groupKey tells groups apart.
type groupKey struct{ database, eventType string }

// errTimestampRange: GreptimeDB's timestamps are an int64 count of their
// unit (src/common/time/src/timestamp.rs:46-49), nanoseconds for the events'
// time index.
var errTimestampRange = errors.New("timestamp is beyond year 2262, the range of GreptimeDB's nanosecond timestamps")

// grouper holds what grouping reuses from batch to batch: the groups, each
// with the array of events it grew, so grouping allocates nothing per
// record once they have grown, and goes over the batch once.
type grouper struct {
	byKey  map[groupKey]int // past the first fewGroups
	groups []*group
	spare  []*group // groups of earlier batches, for reuse
}

// group groups the events of ld by (database, table, type), in the order
// they first appear; records that are filtered out, cannot be events or
// name a database not allowed go to drops. now stamps records that carry no
// timestamp; tenant is the request's, when tenants come from its metadata.
// The groups are valid until the grouper's next use or reset.
func (gr *grouper) group(ld plog.Logs, m *mapping, now time.Time, tenant string) ([]*group, drops) {
	if gr.byKey == nil {
		gr.byKey = map[groupKey]int{}
	}
	var dropped drops
	gr.spare = append(gr.spare, gr.groups...)
	gr.groups = gr.groups[:0]
	for ri, rl := range ld.ResourceLogs().All() {
		db, allowed := m.databaseOf(rl, tenant)
		for si, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				eventType := m.eventType(lr)
				if !m.keeps(eventType) {
					dropped.filtered++
					continue
				}
				ev := event{rl: rl, sl: sl, lr: lr, ri: ri, si: si}
				if !allowed {
					dropped.denied = append(dropped.denied, invalidRecord{database: m.database, eventType: eventType,
						err: fmt.Errorf("%w: %q", errTenantNotAllowed, db), event: ev})
					continue
				}
				ts, err := recordTimestamp(lr, now)
				if err != nil {
					dropped.invalid = append(dropped.invalid, invalidRecord{database: db, target: db, eventType: eventType, err: err, event: ev})
					continue
				}
				ev.timestamp = ts
				gi := gr.groupIndex(db, eventType)
				if gi < 0 {
					gi = len(gr.groups)
					if gi >= fewGroups {
						gr.byKey[groupKey{database: db, eventType: eventType}] = gi
					}
					gr.groups = append(gr.groups, gr.newGroup(db, eventType, m.layoutOf(eventType)))
				}
				g := gr.groups[gi]
				g.events = append(g.events, ev)
			}
		}
	}
	clear(gr.byKey)
	return gr.groups, dropped
}

// fewGroups is how many groups groupIndex looks through before its map: a
// batch has a handful of event types, and comparing a few short strings
// costs less than hashing them (BenchmarkMapping: 282 to 268 ns/record).
const fewGroups = 8

// groupIndex is the index of the group of (db, eventType), or -1.
func (gr *grouper) groupIndex(db, eventType string) int {
	for i, g := range gr.groups[:min(len(gr.groups), fewGroups)] {
		if g.eventType == eventType && g.database == db {
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
func (gr *grouper) newGroup(db, eventType string, l *layout) *group {
	var g *group
	if n := len(gr.spare); n > 0 {
		g, gr.spare = gr.spare[n-1], gr.spare[:n-1]
	} else {
		g = new(group)
	}
	*g = group{database: db, eventType: eventType, layout: l, events: g.events[:0]}
	return g
}

// reset drops the grouper's references to the batch.
func (gr *grouper) reset() {
	for _, g := range gr.groups {
		clear(g.events)
		g.events = g.events[:0]
	}
}

// recordTimestamp is the record's time, else its observed time, else now.
func recordTimestamp(lr plog.LogRecord, now time.Time) (int64, error) {
	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	if ts == 0 {
		return now.UnixNano(), nil
	}
	if uint64(ts) > math.MaxInt64 {
		return 0, fmt.Errorf("%w: %d ns", errTimestampRange, uint64(ts))
	}
	return int64(ts), nil
}

// appendEvents copies the records of events into ld, keeping their resource
// and scope, so the part of a batch that failed can go back for a retry.
// Records without a timestamp keep the one they were given.
func appendEvents(ld plog.Logs, events []event) {
	var (
		rl             plog.ResourceLogs
		sl             plog.ScopeLogs
		lastRI, lastSI = -1, -1
	)
	for _, ev := range events {
		if ev.ri != lastRI {
			rl = ld.ResourceLogs().AppendEmpty()
			ev.rl.Resource().CopyTo(rl.Resource())
			rl.SetSchemaUrl(ev.rl.SchemaUrl())
			lastRI, lastSI = ev.ri, -1
		}
		if ev.si != lastSI {
			sl = rl.ScopeLogs().AppendEmpty()
			ev.sl.Scope().CopyTo(sl.Scope())
			sl.SetSchemaUrl(ev.sl.SchemaUrl())
			lastSI = ev.si
		}
		lr := sl.LogRecords().AppendEmpty()
		ev.lr.CopyTo(lr)
		if lr.Timestamp() == 0 && lr.ObservedTimestamp() == 0 {
			// Keep the export time it was given, so a retry writes the same
			// timestamp (and event id) as the first attempt.
			lr.SetObservedTimestamp(pcommon.Timestamp(ev.timestamp))
		}
	}
}
