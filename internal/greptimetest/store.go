package greptimetest

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"google.golang.org/protobuf/proto"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// Column is one column of a stored table.
type Column struct {
	// Name is the column name.
	Name string
	// Type is the column's data type, as first sent.
	Type greptimev1.ColumnDataType
	// Semantic is TAG, FIELD or TIMESTAMP (the time index).
	Semantic greptimev1.SemanticType
	// Nullable is false for the time index, and for a column CREATE TABLE
	// declares NOT NULL.
	Nullable bool
	// Extension is the datatype extension (decimal precision, vector dim), nil if none.
	Extension *greptimev1.ColumnDataTypeExtension
	// JSON2 marks a JSON column created as GreptimeDB's native JSON type
	// (SQL JSON2, src/sql/src/statements.rs:65, :156-165). Its values travel
	// as JsonValue, which greptime-proto v0.15.0 does not have: every insert
	// into it fails at the region, as GreptimeDB's type check fails for the
	// JSON or Binary column a client of v0.15.0 sends (src/mito2/src/request.rs:196-216,
	// src/api/src/helper.rs:889-900).
	JSON2 bool
}

// Table is a snapshot of one stored table.
type Table struct {
	// Name is the table name.
	Name string
	// Columns are in creation order, later-added columns last.
	Columns []Column
	// TimeIndex is the name of the TIMESTAMP column.
	TimeIndex string
	// PrimaryKey lists the TAG columns in key order.
	PrimaryKey []string
	// Options are the table options taken from the hints of the creating call.
	Options map[string]string
	// Rows hold one map per stored row with every column present (nil for null),
	// in the order rows were first written. Values are decoded as documented on DecodeValue.
	Rows []map[string]any
}

// Column returns the named column.
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// AppendMode reports whether the table keeps duplicate rows (option append_mode=true).
func (t Table) AppendMode() bool { return t.Options[optAppendMode] == "true" }

// MergeMode returns the dedup mode of a non-append table: "last_row" (the default) or "last_non_null".
func (t Table) MergeMode() string {
	if m := t.Options[optMergeMode]; m != "" {
		return m
	}
	return "last_row"
}

// instant reports whether the table's ttl is "instant": GreptimeDB then
// writes none of its rows (is_ttl_instant_table, src/table/src/metadata.rs:1353-1358;
// such rows go to the instant requests, src/operator/src/req_convert/insert/row_to_region.rs:61-62,
// which no datanode receives, src/operator/src/insert.rs:428).
func (t Table) instant() bool {
	d, err := ParseTTL(t.Options[optTTL])
	return err == nil && d < 0
}

// table is the mutable stored form.
type table struct {
	Table
	id    uint32         // GreptimeDB-style table id (region id = id<<32)
	index map[string]int // dedup key -> row position (non-append tables)
}

// snapshot returns a deep copy.
func (t *table) snapshot() Table {
	out := Table{
		Name:       t.Name,
		Columns:    make([]Column, len(t.Columns)),
		TimeIndex:  t.TimeIndex,
		PrimaryKey: slices.Clone(t.PrimaryKey),
		Options:    maps.Clone(t.Options),
		Rows:       make([]map[string]any, len(t.Rows)),
	}
	for i, c := range t.Columns {
		if c.Extension != nil {
			c.Extension = proto.Clone(c.Extension).(*greptimev1.ColumnDataTypeExtension)
		}
		out.Columns[i] = c
	}
	if out.Options == nil {
		out.Options = map[string]string{}
	}
	for i, r := range t.Rows {
		m := make(map[string]any, len(t.Columns))
		for _, c := range t.Columns {
			m[c.Name] = deepCopy(r[c.Name])
		}
		out.Rows[i] = m
	}
	return out
}

// dedupKey identifies a row by primary key and time index.
func (t *table) dedupKey(row map[string]any) string {
	var b strings.Builder
	for _, k := range t.PrimaryKey {
		fmt.Fprintf(&b, "%T:%v\x00", row[k], row[k])
	}
	fmt.Fprintf(&b, "%T:%v", row[t.TimeIndex], row[t.TimeIndex])
	return b.String()
}

// put stores one row with the table's merge semantics: an append-mode table
// keeps every row; any other keeps one row per (primary key, time index)
// (need_dedup, src/mito2/src/region/options.rs:162-165), the last one
// (MergeMode::LastRow, the default) or its last non-null fields
// (MergeMode::LastNonNull), src/mito2/src/region/options.rs:64-75, :167-170.
func (t *table) put(row map[string]any) {
	if t.AppendMode() {
		t.Rows = append(t.Rows, row)
		return
	}
	if t.index == nil {
		t.index = map[string]int{}
	}
	key := t.dedupKey(row)
	pos, ok := t.index[key]
	if !ok {
		t.index[key] = len(t.Rows)
		t.Rows = append(t.Rows, row)
		return
	}
	if t.MergeMode() == "last_non_null" {
		old := t.Rows[pos]
		for k, v := range row {
			if v != nil {
				old[k] = v
			}
		}
		return
	}
	t.Rows[pos] = row
}

// Store holds databases and their tables. Every server has one; servers
// started with the same Store (Config.Store, StartCluster) write into the
// same tables, as the frontends of a GreptimeDB cluster share its metadata
// and datanodes. All methods are safe for concurrent use.
type Store struct {
	mu          sync.Mutex
	dbs         map[dbKey]map[string]*table // database -> table name -> table
	nextTableID uint32
}

// dbKey names a database: a schema of a catalog.
type dbKey struct{ catalog, schema string }

// NewStore returns an empty store with the given databases, as dbnames: a
// schema of catalog "greptime", or "<catalog>-<schema>"; default {"public"}.
func NewStore(databases ...string) (*Store, error) {
	st := &Store{
		dbs:         map[dbKey]map[string]*table{},
		nextTableID: 1024, // GreptimeDB's first user table id (src/common/catalog/src/consts.rs:28-30, src/cmd/src/standalone.rs:807)
	}
	if len(databases) == 0 {
		databases = []string{"public"}
	}
	for _, db := range databases {
		catalog, schema := parseDBName(db)
		if catalog == "" || schema == "" {
			return nil, fmt.Errorf("greptimetest: database %q names no catalog and schema", db)
		}
		st.dbs[dbKey{catalog, schema}] = map[string]*table{}
	}
	return st, nil
}

// Tables returns the table names stored in database db, sorted. In all the
// query methods db is a dbname as a client sends it ("public", "greptime-public");
// "" means "public".
func (st *Store) Tables(db string) []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	tables := st.database(db)
	out := make([]string, 0, len(tables))
	for name := range tables {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Table returns a deep copy of table name in database db.
func (st *Store) Table(db, name string) (Table, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	t, ok := st.database(db)[name]
	if !ok {
		return Table{}, false
	}
	return t.snapshot(), true
}

// RowCount returns the number of rows stored in the table (after last_row
// merging on non-append tables); 0 if it does not exist.
func (st *Store) RowCount(db, name string) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	if t, ok := st.database(db)[name]; ok {
		return len(t.Rows)
	}
	return 0
}

// Dump writes a human-readable summary of database db to w (see Server.Dump).
func (st *Store) Dump(w io.Writer, db string) { dump(w, st, db) }

// database returns the tables of db ("public", "greptime-public"; "" means
// "public" as an empty dbname does, src/servers/src/grpc/greptime_handler.rs:200-213,
// src/common/catalog/src/consts.rs:22); st.mu held.
func (st *Store) database(db string) map[string]*table {
	if db == "" {
		db = "public"
	}
	catalog, schema := parseDBName(db)
	return st.dbs[dbKey{catalog, schema}]
}

// schema returns the tables of schema in catalog, nil if there is no such
// database; st.mu held.
func (st *Store) schema(catalog, schema string) map[string]*table {
	return st.dbs[dbKey{catalog, schema}]
}
