package greptimetest

import (
	"fmt"
	"sort"
	"strings"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// Result is what one SQL statement answers: rows for a query (Columns set),
// a count of affected rows for a statement that changes something.
type Result struct {
	// Columns are the columns of a query's rows; nil for a statement.
	Columns []ResultColumn
	// Rows hold a query's rows, each value in its column's position: nil
	// for null, else as Table.Rows hold them (see DecodeValue; a JSON
	// column's value as the store keeps it), or int64, float64, string or
	// bool for what functions compute. Values are copies.
	Rows [][]any
	// AffectedRows is what a statement affected (CREATE DATABASE: 1;
	// CREATE TABLE and ALTER TABLE: 0).
	AffectedRows int
}

// IsQuery reports whether r holds rows rather than a count.
func (r Result) IsQuery() bool { return r.Columns != nil }

// ResultColumn describes one column of a query's result.
type ResultColumn struct {
	// Name is the column's name: its alias, a column's own name, else the
	// expression as DataFusion displays it ("count(*)", "min(events.first_seen)").
	Name string
	// DataType is the name GreptimeDB gives the column's data type
	// ("String", "Int64", "TimestampNanosecond", "Json"), as its HTTP API
	// shows it in data_type (see dataTypeName).
	DataType string
	// Type is the column's type; meaningless when DataType is "Null".
	Type greptimev1.ColumnDataType
	// Extension is the type's extension (decimal precision, vector dim), nil if none.
	Extension *greptimev1.ColumnDataTypeExtension
}

func resultColumn(name string, typ greptimev1.ColumnDataType, ext *greptimev1.ColumnDataTypeExtension) ResultColumn {
	c := ResultColumn{Name: name, DataType: dataTypeName(typ, ext), Type: typ, Extension: ext}
	if typ == typeNull {
		c.Type = 0
	}
	return c
}

// ExecSQL runs the SQL statements of query (separated by ';') in database
// db, a dbname as clients send it ("public", "greptime-public"; "" means
// "public"), one after the other, as GreptimeDB's do_query does
// (src/frontend/src/instance.rs:748-798): the whole text is parsed first, a
// syntax error running nothing; then each statement runs, and the first to
// fail ends the run. It returns the results of the statements that ran and
// the error of the one that failed, if any. GreptimeDB's gRPC interface
// takes exactly one statement (src/frontend/src/instance/grpc.rs:113-121),
// its HTTP API any number.
//
// The SQL the stand-in runs is listed in doc.go. Errors carry GreptimeDB's
// status code (see ErrorStatus): its own errors where the stand-in models
// them, StatusUnsupported with a message naming the stand-in for SQL it does
// not run. ExecSQL does not check that db exists (GreptimeDB's HTTP API
// does, before running anything; see Config.HTTPAddr).
func (st *Store) ExecSQL(db, query string) ([]Result, error) {
	if db == "" {
		db = "public"
	}
	catalog, schema := parseDBName(db)
	stmts, gerr := parseSQL(query)
	if gerr != nil {
		return nil, gerr
	}
	var out []Result
	for _, s := range stmts {
		r, gerr := st.exec(catalog, schema, s)
		if gerr != nil {
			return out, gerr
		}
		out = append(out, r)
	}
	return out, nil
}

func (st *Store) exec(catalog, schema string, s sqlStmt) (Result, *greptimeError) {
	switch x := s.(type) {
	case createDatabaseStmt:
		// The name as written, quotes removed (format_raw_object_name,
		// src/operator/src/statement.rs:431-439), in the statement's catalog
		// (src/operator/src/statement/ddl.rs:2150); CREATE DATABASE answers 1
		// affected row, also when it existed (src/operator/src/statement/ddl.rs:2190-2192).
		if gerr := st.createDatabase(catalog, x.name.value, x.ifNotExists); gerr != nil {
			return Result{}, gerr
		}
		return Result{AffectedRows: 1}, nil
	case *createTableStmt:
		return st.createTable(catalog, schema, x)
	case *alterTableStmt:
		return st.alterTableAddColumns(catalog, schema, x)
	case showDatabasesStmt:
		return st.showDatabases(catalog, x), nil
	case showTablesStmt:
		return st.showTables(catalog, schema, x), nil
	case showCreateTableStmt:
		return st.showCreateTable(catalog, schema, x)
	case *selectStmt:
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.execSelect(catalog, schema, x)
	}
	return Result{}, standinUnsupported("%s statements", s.stmtName())
}

// showDatabases lists the schemas of the statement's catalog with
// information_schema, in a column "Database", sorted (show_databases,
// src/query/src/sql.rs:75, :175-207; information_schema,
// src/catalog/src/kvbackend/manager.rs:593-604).
func (st *Store) showDatabases(catalog string, s showDatabasesStmt) Result {
	names := []string{informationSchema}
	st.mu.Lock()
	for k := range st.dbs {
		if k.catalog == catalog {
			names = append(names, k.schema)
		}
	}
	st.mu.Unlock()
	sort.Strings(names)
	return stringColumn("Database", filterLike(names, s.like))
}

// showTables lists the tables of a database in a column
// "Tables_in_<database>", sorted (show_tables, src/query/src/sql.rs:536-588).
// A database that does not exist has no tables.
func (st *Store) showTables(catalog, schema string, s showTablesStmt) Result {
	if s.db != nil {
		schema = s.db.value
	}
	st.mu.Lock()
	var names []string
	for name := range st.schema(catalog, schema) {
		names = append(names, name)
	}
	st.mu.Unlock()
	sort.Strings(names)
	return stringColumn("Tables_in_"+schema, filterLike(names, s.like))
}

// showCreateTable answers columns "Table" and "Create Table"
// (src/query/src/sql.rs:156-157, :806-830), the schema written as Dump
// writes it (see doc.go); a missing table is 4001 "Table not found: <table>"
// (src/operator/src/statement.rs:464-475, src/operator/src/error.rs:238-239, :1024).
func (st *Store) showCreateTable(catalog, schema string, s showCreateTableStmt) (Result, *greptimeError) {
	parts := s.table
	name := parts[len(parts)-1].value
	switch len(parts) {
	case 2:
		schema = parts[0].value
	case 3:
		catalog, schema = parts[0].value, parts[1].value
	}
	var b strings.Builder
	st.mu.Lock()
	t, ok := st.schema(catalog, schema)[name]
	if ok {
		writeCreateTable(&b, t.Table)
	}
	st.mu.Unlock()
	if !ok {
		return Result{}, newError(StatusTableNotFound, "Table not found: %s", name)
	}
	str := greptimev1.ColumnDataType_STRING
	return Result{
		Columns: []ResultColumn{resultColumn("Table", str, nil), resultColumn("Create Table", str, nil)},
		Rows:    [][]any{{name, strings.TrimSuffix(b.String(), "\n")}},
	}, nil
}

func stringColumn(name string, values []string) Result {
	r := Result{Columns: []ResultColumn{resultColumn(name, greptimev1.ColumnDataType_STRING, nil)}, Rows: [][]any{}}
	for _, v := range values {
		r.Rows = append(r.Rows, []any{v})
	}
	return r
}

// filterLike keeps the names that match a SHOW ... LIKE pattern.
func filterLike(names []string, like *string) []string {
	if like == nil {
		return names
	}
	var out []string
	for _, n := range names {
		if likeMatch([]rune(n), []rune(*like)) {
			out = append(out, n)
		}
	}
	return out
}

// dataTypeName is the name of GreptimeDB's ConcreteDataType for a column
// type (DataType::name, which the HTTP API shows as data_type,
// src/servers/src/http.rs:308-320): the type's Rust name
// (src/datatypes/src/types/primitive_type.rs:220-221, :319-320,
// src/datatypes/src/types/timestamp_type.rs:110-111,
// src/datatypes/src/types/string_type.rs:132-133,
// src/datatypes/src/types/json_type.rs:39, :332-334,
// src/datatypes/src/types/boolean_type.rs:38, binary_type.rs:100,
// date_type.rs:34, decimal_type.rs:60, vector_type.rs:42,
// time_type.rs:95-96, interval_type.rs:71-72, null_type.rs:36) of the type
// the column maps to (src/api/src/helper.rs:90-170; DATETIME is a
// TimestampMicrosecond, :144).
func dataTypeName(dt greptimev1.ColumnDataType, ext *greptimev1.ColumnDataTypeExtension) string {
	switch dt {
	case typeNull:
		return "Null"
	case greptimev1.ColumnDataType_UINT8, greptimev1.ColumnDataType_UINT16, greptimev1.ColumnDataType_UINT32, greptimev1.ColumnDataType_UINT64:
		return "UInt" + strings.TrimPrefix(dt.String(), "UINT")
	case greptimev1.ColumnDataType_DATETIME:
		return "TimestampMicrosecond"
	case greptimev1.ColumnDataType_DECIMAL128:
		if d := ext.GetDecimalType(); d != nil {
			return fmt.Sprintf("Decimal(%d, %d)", d.GetPrecision(), d.GetScale())
		}
		return "Decimal(38, 10)"
	case greptimev1.ColumnDataType_VECTOR:
		return fmt.Sprintf("Vector(%d)", ext.GetVectorType().GetDim())
	}
	return rustName(dt.String()) // INT64 -> Int64, TIMESTAMP_NANOSECOND -> TimestampNanosecond
}
