package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// mapping is the compiled form of the config's event options: how a log
// record becomes an event, and which table and columns each type gets.
type mapping struct {
	typeAttributes []string
	defaultType    string
	payload        PayloadConfig
	include        map[string]bool // nil keeps every type
	exclude        map[string]bool
	types          map[string]*eventSchema
	fallback       *eventSchema // "*", or the exporter's table without extra columns
}

// eventSchema is the table and column layout of one or more event types.
type eventSchema struct {
	table   string
	columns []extraColumn
	expand  int    // index in columns of the expanding column, or -1
	hints   string // the x-greptime-hints value of the table's options
	// eventID, when set, adds the event_id column after the base columns.
	eventID *eventIDSpec
	// schema is the RowInsertRequest schema: the base columns, then columns.
	schema []*greptimev1.ColumnSchema
	// tableWire and schemaWire are the table name and schema in wire form.
	tableWire, schemaWire []byte
}

// extraColumn is a compiled ColumnConfig.
type extraColumn struct {
	name     string
	src      source
	typ      ColumnType
	semantic greptimev1.SemanticType
}

var columnDataTypes = map[ColumnType]greptimev1.ColumnDataType{
	ColumnTypeString:    greptimev1.ColumnDataType_STRING,
	ColumnTypeInt64:     greptimev1.ColumnDataType_INT64,
	ColumnTypeFloat64:   greptimev1.ColumnDataType_FLOAT64,
	ColumnTypeBool:      greptimev1.ColumnDataType_BOOLEAN,
	ColumnTypeTimestamp: greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND,
	ColumnTypeJSON:      greptimev1.ColumnDataType_JSON,
}

// newMapping compiles a validated config.
func newMapping(cfg *Config) *mapping {
	m := &mapping{
		typeAttributes: cfg.EventType.Attributes,
		defaultType:    cfg.EventType.Default,
		payload:        cfg.Payload,
		exclude:        toSet(cfg.Filter.Exclude),
		types:          make(map[string]*eventSchema, len(cfg.Events)),
		fallback:       newEventSchema(cfg.Table, nil, cfg.policyOf(EventConfig{})),
	}
	if len(cfg.Filter.Include) > 0 {
		m.include = toSet(cfg.Filter.Include)
	}
	for eventType, ec := range cfg.Events {
		s := newEventSchema(cfg.tableOf(ec), ec.Columns, cfg.policyOf(ec))
		if eventType == wildcardEventType {
			m.fallback = s
		} else {
			m.types[eventType] = s
		}
	}
	return m
}

func newEventSchema(table string, cols []ColumnConfig, policy tablePolicy) *eventSchema {
	compiled := make([]extraColumn, len(cols))
	expand := -1
	for i, c := range cols {
		src, _ := parseSource(c.Source) // validated
		compiled[i] = extraColumn{name: c.Name, src: src, typ: c.Type, semantic: greptimev1.SemanticType_FIELD}
		if compiled[i].typ == "" {
			compiled[i].typ = ColumnTypeString
		}
		if c.SemanticType == "tag" {
			compiled[i].semantic = greptimev1.SemanticType_TAG
		}
		if c.Expand {
			expand = i
		}
	}
	return layoutSchema(table, compiled, expand, policy)
}

// layoutSchema lays out a table: the base columns, the event id when
// enabled, then the extra columns.
func layoutSchema(table string, cols []extraColumn, expand int, policy tablePolicy) *eventSchema {
	s := &eventSchema{table: table, columns: cols, expand: expand, hints: formatHints(policy)}
	s.schema = []*greptimev1.ColumnSchema{
		{ColumnName: columnType, Datatype: greptimev1.ColumnDataType_STRING, SemanticType: greptimev1.SemanticType_TAG},
		{ColumnName: columnPayload, Datatype: greptimev1.ColumnDataType_JSON, SemanticType: greptimev1.SemanticType_FIELD},
		{ColumnName: columnTimestamp, Datatype: greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, SemanticType: greptimev1.SemanticType_TIMESTAMP},
	}
	if policy.EventID.Enabled {
		s.eventID = &eventIDSpec{}
		if policy.EventID.Source != "" {
			src, _ := parseSource(policy.EventID.Source) // validated
			s.eventID.src = &src
		}
		s.schema = append(s.schema, &greptimev1.ColumnSchema{
			ColumnName: columnEventID, Datatype: greptimev1.ColumnDataType_STRING, SemanticType: greptimev1.SemanticType_TAG,
		})
	}
	for _, col := range cols {
		s.schema = append(s.schema, &greptimev1.ColumnSchema{
			ColumnName:   col.name,
			Datatype:     columnDataTypes[col.typ],
			SemanticType: col.semantic,
		})
	}
	s.tableWire = encodeTableName(table)
	s.schemaWire = encodeSchema(s.schema)
	return s
}

// schemas lists every table layout of the mapping.
func (m *mapping) schemas() []*eventSchema {
	all := []*eventSchema{m.fallback}
	for _, s := range m.types {
		all = append(all, s)
	}
	return all
}

func toSet(list []string) map[string]bool {
	set := make(map[string]bool, len(list))
	for _, s := range list {
		set[s] = true
	}
	return set
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

func (m *mapping) keeps(eventType string) bool {
	return (m.include == nil || m.include[eventType]) && !m.exclude[eventType]
}

func (m *mapping) schemaOf(eventType string) *eventSchema {
	if s, ok := m.types[eventType]; ok {
		return s
	}
	return m.fallback
}

// group holds the events of one (table, type): they become one RowInsertRequest.
type group struct {
	eventType string
	schema    *eventSchema
	records   []recordRef
}

// table is the table the group is written to.
func (g *group) table() string { return g.schema.table }

// recordRef points at a record of the batch, with the position of its
// resource and scope so a group can rebuild its part of the batch.
type recordRef struct {
	rl        plog.ResourceLogs
	sl        plog.ScopeLogs
	lr        plog.LogRecord
	ri, si    int
	timestamp int64 // nanoseconds since the epoch
}

// drops describes the records of a batch that belong to no group.
type drops struct {
	filtered int
	invalid  []invalidRecord
}

// invalidRecord is a record that cannot become an event.
type invalidRecord struct {
	eventType string
	err       error
	record    recordRef // its timestamp is 0 when the record's is out of range
	size      int       // the bytes of its rows, when it was too large for a request
}

var errTimestampRange = errors.New("timestamp is beyond year 2262, the range of GreptimeDB's nanosecond timestamps")

// buildGroups groups the events of ld by (table, type), in the order types
// first appear; records that are filtered out or cannot be events go to drops.
// now stamps records that carry no timestamp.
func buildGroups(ld plog.Logs, m *mapping, now time.Time) ([]*group, drops) {
	return new(grouper).build(ld, m, now)
}

// grouper holds the buffers grouping reuses from batch to batch: all groups
// share one array of record references, so grouping allocates nothing per
// record once the buffers have grown.
type grouper struct {
	byType  map[string]int
	groupOf []int32 // each record's group, -1 if it has none
	counts  []int
	refs    []recordRef
}

var grouperPool = sync.Pool{New: func() any { return new(grouper) }}

// build is buildGroups with the grouper's buffers. The groups are valid
// until release.
func (gr *grouper) build(ld plog.Logs, m *mapping, now time.Time) ([]*group, drops) {
	if gr.byType == nil {
		gr.byType = map[string]int{}
	}
	var (
		groups  []*group
		dropped drops
	)
	// First pass: each record's group, and the size of every group.
	gr.groupOf = gr.groupOf[:0]
	gr.counts = gr.counts[:0]
	for ri, rl := range ld.ResourceLogs().All() {
		for si, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				eventType := m.eventType(lr)
				if !m.keeps(eventType) {
					dropped.filtered++
					gr.groupOf = append(gr.groupOf, -1)
					continue
				}
				if _, err := recordTimestamp(lr, now); err != nil {
					dropped.invalid = append(dropped.invalid, invalidRecord{eventType: eventType, err: err,
						record: recordRef{rl: rl, sl: sl, lr: lr, ri: ri, si: si}})
					gr.groupOf = append(gr.groupOf, -1)
					continue
				}
				gi, ok := gr.byType[eventType]
				if !ok {
					gi = len(groups)
					gr.byType[eventType] = gi
					groups = append(groups, &group{eventType: eventType, schema: m.schemaOf(eventType)})
					gr.counts = append(gr.counts, 0)
				}
				gr.counts[gi]++
				gr.groupOf = append(gr.groupOf, int32(gi))
			}
		}
	}
	// Second pass: lay the groups out one after another, in record order.
	total := len(gr.groupOf) - dropped.filtered - len(dropped.invalid)
	if cap(gr.refs) < total {
		gr.refs = make([]recordRef, total)
	}
	gr.refs = gr.refs[:total]
	offset := 0
	for gi, g := range groups {
		g.records = gr.refs[offset : offset : offset+gr.counts[gi]]
		offset += gr.counts[gi]
	}
	n := 0
	for ri, rl := range ld.ResourceLogs().All() {
		for si, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				gi := gr.groupOf[n]
				n++
				if gi < 0 {
					continue
				}
				ts, _ := recordTimestamp(lr, now)
				g := groups[gi]
				g.records = append(g.records, recordRef{rl: rl, sl: sl, lr: lr, ri: ri, si: si, timestamp: ts})
			}
		}
	}
	clear(gr.byType)
	return groups, dropped
}

// release drops the grouper's references to the batch and returns it to the pool.
func (gr *grouper) release() {
	clear(gr.refs)
	grouperPool.Put(gr)
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

// appendRecords copies records into ld, keeping their resource and scope, so
// the part of a batch that failed can go back for a retry. Records without a
// timestamp keep the one they were given.
func appendRecords(ld plog.Logs, records []recordRef) {
	var (
		rl             plog.ResourceLogs
		sl             plog.ScopeLogs
		lastRI, lastSI = -1, -1
	)
	for _, r := range records {
		if r.ri != lastRI {
			rl = ld.ResourceLogs().AppendEmpty()
			r.rl.Resource().CopyTo(rl.Resource())
			rl.SetSchemaUrl(r.rl.SchemaUrl())
			lastRI, lastSI = r.ri, -1
		}
		if r.si != lastSI {
			sl = rl.ScopeLogs().AppendEmpty()
			r.sl.Scope().CopyTo(sl.Scope())
			sl.SetSchemaUrl(r.sl.SchemaUrl())
			lastSI = r.si
		}
		lr := sl.LogRecords().AppendEmpty()
		r.lr.CopyTo(lr)
		if lr.Timestamp() == 0 && lr.ObservedTimestamp() == 0 {
			// Keep the export time it was given, so a retry writes the same
			// timestamp (and event id) as the first attempt.
			lr.SetObservedTimestamp(pcommon.Timestamp(r.timestamp))
		}
	}
}
