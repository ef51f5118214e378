package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"
	"slices"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/greptime-events/greptimeeventsexporter/internal/mapping"
)

// How log records become grouped row inserts, as GreptimeDB's event
// recorder builds its row inserts (build_row_inserts_request): the records
// of a batch become events, grouped by (database, event type)
// (mapping.Grouper); each database's groups are planned into calls, a
// layout's first write alone with its table's options and the layouts
// already written together; and each call's groups are packed into row
// inserts of at most the request limit (mapping.Writer).

// compileMapping compiles the mapping of a validated config.
func compileMapping(cfg *Config) (*mapping.Mapping, error) {
	spec := mapping.Spec{
		TypeAttributes: cfg.EventType.Attributes,
		DefaultType:    cfg.EventType.Default,
		Payload:        payloadOf(cfg),
		Encoding:       encodingOf(cfg),
		Include:        cfg.Filter.Include,
		Exclude:        cfg.Filter.Exclude,
		Types:          map[string]mapping.Table{},
		Other:          mapping.Table{Name: cfg.Table, Options: cfg.policyOf(EventConfig{}).options()},
	}
	for eventType, ec := range cfg.Events {
		t := mapping.Table{Name: cfg.tableOf(ec), Options: cfg.policyOf(ec).options()}
		for _, c := range ec.Columns {
			t.Columns = append(t.Columns, mapping.Column{
				Name: c.Name, Source: c.Source, Type: mapping.ColumnType(c.Type), Tag: c.SemanticType == "tag", Expand: c.Expand,
			})
		}
		if eventType == wildcardEventType {
			spec.Other = t
		} else {
			spec.Types[eventType] = t
		}
	}
	return mapping.Compile(spec)
}

// encodingOf is how the config writes JSON values.
func encodingOf(cfg *Config) mapping.Encoding {
	if cfg.PayloadEncoding == PayloadEncodingJSON {
		return mapping.EncodingJSON
	}
	return mapping.EncodingJSONB
}

func payloadOf(cfg *Config) mapping.Payload {
	return mapping.Payload(cfg.Payload) // the same fields: this stops compiling if they drift apart
}

// pushState is what a push borrows from a pool, so that grouping, packing
// and calling allocate nothing per record once its buffers have grown.
type pushState struct {
	grouper   mapping.Grouper
	writer    mapping.Writer
	call      *callState
	databases []string // of the push's groups, in order
	shared    []*mapping.Group
	firsts    []firstWrite
	tables    []tableCount // of the last call, by table (countTables)
}

// firstWrite is the groups of a layout this exporter has not written yet:
// they go in calls of their own, with the layout's hints.
type firstWrite struct {
	layout *mapping.Layout
	groups []*mapping.Group
}

// tableCount is what a call's inserts hold for one table.
type tableCount struct {
	table        string
	rows, nulled int64
}

// groupLogs groups the records of ld into events by (database, type), each
// database its tenant's; records without a timestamp are stamped now. The
// groups are valid until st's next use.
func (st *pushState) groupLogs(ctx context.Context, ld plog.Logs, m *mapping.Mapping, t *tenants, now time.Time) ([]*mapping.Group, mapping.Drops) {
	groups, dropped := st.grouper.GroupLogs(ld, m, now, t.databaseOf(ctx))
	st.listDatabases(groups)
	return groups, dropped
}

// groupSpanEvents is groupLogs for the span events of td.
func (st *pushState) groupSpanEvents(ctx context.Context, td ptrace.Traces, m *mapping.Mapping, t *tenants, now time.Time) ([]*mapping.Group, mapping.Drops) {
	groups, dropped := st.grouper.GroupSpanEvents(td, m, now, t.databaseOf(ctx))
	st.listDatabases(groups)
	return groups, dropped
}

// listDatabases lists the databases of groups, in order.
func (st *pushState) listDatabases(groups []*mapping.Group) {
	st.databases = st.databases[:0]
	for _, g := range groups {
		// Calls for different databases never share a request: a request
		// has one header, and its dbname is the database of all its inserts.
		if !slices.Contains(st.databases, g.Database) {
			st.databases = append(st.databases, g.Database)
		}
	}
}

// plan sorts the groups of database db into the shared call and the first
// writes.
func (st *pushState) plan(db string, groups []*mapping.Group, settled *settledLayouts) {
	st.shared, st.firsts = st.shared[:0], st.firsts[:0]
next:
	for _, g := range groups {
		if g.Database != db {
			continue
		}
		if settled.has(g) {
			st.shared = append(st.shared, g)
			continue
		}
		for i := range st.firsts {
			if st.firsts[i].layout.Key() == g.Layout.Key() {
				st.firsts[i].groups = append(st.firsts[i].groups, g)
				continue next
			}
		}
		st.firsts = append(st.firsts, firstWrite{layout: g.Layout, groups: []*mapping.Group{g}})
	}
}

// countTables sums the rows of a call's inserts by table into st.tables.
func (st *pushState) countTables(inserts []mapping.Insert) {
	st.tables = st.tables[:0]
next:
	for _, in := range inserts {
		table := in.Group.Layout.Table()
		for i := range st.tables {
			if st.tables[i].table == table {
				st.tables[i].rows += int64(in.Rows)
				st.tables[i].nulled += int64(in.Nulled)
				continue next
			}
		}
		st.tables = append(st.tables, tableCount{table: table, rows: int64(in.Rows), nulled: int64(in.Nulled)})
	}
}

// done drops st's references to the batch.
func (st *pushState) done() {
	st.grouper.Reset()
	clear(st.shared)
	for i := range st.firsts {
		st.firsts[i] = firstWrite{}
	}
}

// maxSettledLayouts bounds the (database, layout) pairs remembered as
// written; past it, the least recently used goes, to be written first again.
const maxSettledLayouts = 10_000

// settledLayouts are the layouts this exporter has written, by database:
// their tables exist with their columns, so their inserts share calls.
type settledLayouts struct {
	keys *lru.Cache[settledKey, struct{}]
}

type settledKey struct{ database, layout string }

func newSettledLayouts() (*settledLayouts, error) {
	keys, err := lru.New[settledKey, struct{}](maxSettledLayouts)
	if err != nil {
		return nil, err
	}
	return &settledLayouts{keys: keys}, nil
}

func (s *settledLayouts) has(g *mapping.Group) bool {
	_, ok := s.keys.Get(settledKey{g.Database, g.Layout.Key()})
	return ok
}

func (s *settledLayouts) add(g *mapping.Group) {
	s.keys.Add(settledKey{g.Database, g.Layout.Key()}, struct{}{})
}

func (s *settledLayouts) remove(g *mapping.Group) {
	s.keys.Remove(settledKey{g.Database, g.Layout.Key()})
}
