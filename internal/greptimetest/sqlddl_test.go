package greptimetest

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
)

// exporterCreate and exporterAlter are the statements the exporter logs for
// an operator to run when GreptimeDB will not create or alter its table.
const (
	exporterCreate = `CREATE TABLE IF NOT EXISTS "events" ("type" STRING NULL, "payload" JSON NULL, "timestamp" TIMESTAMP(9) NOT NULL, "event_id" STRING NULL, "user" STRING NULL, "n" BIGINT NULL, "ok" BOOLEAN NULL, "ratio" DOUBLE NULL, "at" TIMESTAMP(9) NULL, "doc" JSON NULL, TIME INDEX ("timestamp"), PRIMARY KEY ("type", "event_id", "user")) WITH ('ttl' = '90d', 'append_mode' = 'false', 'merge_mode' = 'last_row', 'compaction.type' = 'twcs', 'compaction.twcs.time_window' = '1d')`
	exporterAlter  = `ALTER TABLE "events" ADD COLUMN IF NOT EXISTS "user" STRING PRIMARY KEY, ADD COLUMN IF NOT EXISTS "doc" JSON`
	// exporterHints are the hints an insert creating the same table sends.
	exporterHints = "ttl=90d, append_mode=false, merge_mode=last_row, compaction.twcs.time_window=1d"
)

// exporterSchema is the insert schema of exporterCreate's table.
func exporterSchema() []*greptimev1.ColumnSchema {
	return eventSchema(
		col("event_id", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG),
		col("user", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG),
		col("n", greptimev1.ColumnDataType_INT64, greptimev1.SemanticType_FIELD),
		col("ok", greptimev1.ColumnDataType_BOOLEAN, greptimev1.SemanticType_FIELD),
		col("ratio", greptimev1.ColumnDataType_FLOAT64, greptimev1.SemanticType_FIELD),
		col("at", greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, greptimev1.SemanticType_FIELD),
		col("doc", greptimev1.ColumnDataType_JSON, greptimev1.SemanticType_FIELD),
	)
}

func exporterRow(typ, id, user string, ts int64) []*greptimev1.Value {
	return append(event(typ, `{"k":1}`, ts), str(id), str(user), i64(7),
		&greptimev1.Value{ValueData: &greptimev1.Value_BoolValue{BoolValue: true}}, f64(0.5), tsns(ts-1), str(`[1,"x"]`))
}

// grpcSQL runs one statement through Handle, as a QueryRequest.
func grpcSQL(ctx context.Context, c greptimev1.GreptimeDatabaseClient, db, sql string) result {
	return send(ctx, c, &greptimev1.GreptimeRequest{
		Header:  &greptimev1.RequestHeader{Dbname: db},
		Request: &greptimev1.GreptimeRequest_Query{Query: &greptimev1.QueryRequest{Query: &greptimev1.QueryRequest_Sql{Sql: sql}}},
	}, "")
}

func showCreate(t *testing.T, st *Store, table string) string {
	t.Helper()
	r := execOne(t, st, "public", "SHOW CREATE TABLE "+table)
	require.Len(t, r.Rows, 1)
	return r.Rows[0][1].(string)
}

// TestCreateTableColumnTypes: every column type the stand-in runs, as
// GreptimeDB maps it (src/sql/src/statements.rs:221-305, aliases
// src/sql/src/statements/transform/type_alias.rs:163-230).
func TestCreateTableColumnTypes(t *testing.T) {
	st, err := NewStore()
	require.NoError(t, err)
	for i, tc := range []struct {
		typ  string
		want greptimev1.ColumnDataType
	}{
		{"STRING", greptimev1.ColumnDataType_STRING}, {"string(10)", greptimev1.ColumnDataType_STRING},
		{"TEXT", greptimev1.ColumnDataType_STRING}, {"VARCHAR(255)", greptimev1.ColumnDataType_STRING},
		{"CHAR", greptimev1.ColumnDataType_STRING}, {"LONGTEXT", greptimev1.ColumnDataType_STRING},
		{"JSON", greptimev1.ColumnDataType_JSON}, {"json", greptimev1.ColumnDataType_JSON},
		{"TIMESTAMP", greptimev1.ColumnDataType_TIMESTAMP_MILLISECOND},
		{"TIMESTAMP(0)", greptimev1.ColumnDataType_TIMESTAMP_SECOND},
		{"TIMESTAMP(3)", greptimev1.ColumnDataType_TIMESTAMP_MILLISECOND},
		{"TIMESTAMP(6)", greptimev1.ColumnDataType_TIMESTAMP_MICROSECOND},
		{"TIMESTAMP(9)", greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND},
		{"timestamp_ns", greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND},
		{"TimestampSecond", greptimev1.ColumnDataType_TIMESTAMP_SECOND},
		{"DATETIME", greptimev1.ColumnDataType_TIMESTAMP_MICROSECOND},
		{"BIGINT", greptimev1.ColumnDataType_INT64}, {"INT64", greptimev1.ColumnDataType_INT64},
		{"INT8", greptimev1.ColumnDataType_INT64}, {"bigint(20)", greptimev1.ColumnDataType_INT64},
		{"BIGINT UNSIGNED", greptimev1.ColumnDataType_UINT64}, {"UINT64", greptimev1.ColumnDataType_UINT64},
		{"INT", greptimev1.ColumnDataType_INT32}, {"INTEGER", greptimev1.ColumnDataType_INT32},
		{"INT UNSIGNED", greptimev1.ColumnDataType_UINT32}, {"SMALLINT", greptimev1.ColumnDataType_INT16},
		{"TINYINT", greptimev1.ColumnDataType_INT8}, {"TINYINT UNSIGNED", greptimev1.ColumnDataType_UINT8},
		{"DOUBLE", greptimev1.ColumnDataType_FLOAT64}, {"FLOAT64", greptimev1.ColumnDataType_FLOAT64},
		{"FLOAT", greptimev1.ColumnDataType_FLOAT32}, {"FLOAT32", greptimev1.ColumnDataType_FLOAT32},
		{"BOOLEAN", greptimev1.ColumnDataType_BOOLEAN}, {"BOOL", greptimev1.ColumnDataType_BOOLEAN},
		{"VARBINARY", greptimev1.ColumnDataType_BINARY}, {"DATE", greptimev1.ColumnDataType_DATE},
	} {
		name := "t" + string(rune('a'+i/26)) + string(rune('a'+i%26))
		r := execOne(t, st, "public", "CREATE TABLE "+name+" (ts TIMESTAMP TIME INDEX, c "+tc.typ+")")
		assert.False(t, r.IsQuery())
		assert.Equal(t, 0, r.AffectedRows)
		tbl, ok := st.Table("public", name)
		require.True(t, ok, tc.typ)
		c, _ := tbl.Column("c")
		assert.Equal(t, Column{Name: "c", Type: tc.want, Semantic: greptimev1.SemanticType_FIELD, Nullable: true}, c, tc.typ)
	}
}

// TestCreateTable: names, constraints, nullability and options as
// GreptimeDB's parser and statement executor take them.
func TestCreateTable(t *testing.T) {
	st, err := NewStore("public", "other")
	require.NoError(t, err)

	// Unquoted names are lowercased, quoted ones kept; the time index is
	// NOT NULL, the primary key's columns tags in key order.
	execOne(t, st, "public", "create table Mixed (\"Host\" STRING, IDC string not null, `Ts` TIMESTAMP(9) TIME INDEX, v DOUBLE NULL, PRIMARY KEY (idc, \"Host\"),)")
	tbl, ok := st.Table("public", "mixed")
	require.True(t, ok)
	assert.Equal(t, Table{
		Name: "mixed",
		Columns: []Column{
			{Name: "Host", Type: greptimev1.ColumnDataType_STRING, Semantic: greptimev1.SemanticType_TAG, Nullable: true},
			{Name: "idc", Type: greptimev1.ColumnDataType_STRING, Semantic: greptimev1.SemanticType_TAG},
			{Name: "Ts", Type: greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, Semantic: greptimev1.SemanticType_TIMESTAMP},
			{Name: "v", Type: greptimev1.ColumnDataType_FLOAT64, Semantic: greptimev1.SemanticType_FIELD, Nullable: true},
		},
		TimeIndex: "Ts", PrimaryKey: []string{"idc", "Host"}, Options: map[string]string{}, Rows: []map[string]any{},
	}, tbl)

	// An inline PRIMARY KEY; the same TIME INDEX twice alike is one to the
	// parser; ENGINE=mito; a qualified name.
	execOne(t, st, "public", `CREATE TABLE other.inline (host STRING PRIMARY KEY, ts TIMESTAMP NOT NULL TIME INDEX) ENGINE=mito`)
	tbl, ok = st.Table("other", "inline")
	require.True(t, ok)
	assert.Equal(t, []string{"host"}, tbl.PrimaryKey)
	assert.Equal(t, "ts", tbl.TimeIndex)
	execOne(t, st, "other", `CREATE TABLE IF (ts TIMESTAMP TIME INDEX)`) // IF is the name (create_if_not_exists.result)
	_, ok = st.Table("other", "if")
	assert.True(t, ok)

	// Options: keys quoted or not, lowercased; values strings, numbers,
	// booleans or identifiers as written; NULL drops the key; the last of a
	// repeated key wins.
	execOne(t, st, "public", `CREATE TABLE opts (ts TIMESTAMP TIME INDEX) WITH (TTL = '7d', 'Append_Mode' = true, merge_mode = last_row, "write_buffer_size" = 1024, comment = 'a', comment = 'b', skip_wal = NULL, 'storage' = 'S3',)`)
	tbl, _ = st.Table("public", "opts")
	assert.Equal(t, map[string]string{"ttl": "7d", "append_mode": "true", "merge_mode": "last_row", "write_buffer_size": "1024", "comment": "b", "storage": "S3"}, tbl.Options)
	assert.True(t, tbl.AppendMode())

	// compaction.type sets compaction.override (src/operator/src/expr_helper.rs:224-226),
	// as create_database_opts.result shows.
	execOne(t, st, "public", `CREATE TABLE test_table(ts TIMESTAMP TIME INDEX, v INT) WITH ('compaction.type'='twcs','compaction.twcs.time_window'='1h')`)
	assert.Equal(t, `CREATE TABLE IF NOT EXISTS "test_table" (
  "ts" TIMESTAMP(3) NOT NULL,
  "v" INT NULL,
  TIME INDEX ("ts")
)
ENGINE=mito
WITH(
  'compaction.override' = 'true',
  'compaction.twcs.time_window' = '1h',
  'compaction.type' = 'twcs'
)`, showCreate(t, st, "test_table"))

	// IF NOT EXISTS leaves an existing table alone, options included.
	r := execOne(t, st, "public", `CREATE TABLE IF NOT EXISTS opts (ts TIMESTAMP(9) TIME INDEX, x STRING) WITH (ttl = '1d', append_mode = 'bogus')`)
	assert.Equal(t, 0, r.AffectedRows)
	again, _ := st.Table("public", "opts")
	assert.Equal(t, tbl, again)

	// Several statements; ALTER in the same text sees the new table.
	res, err := st.ExecSQL("public", `CREATE TABLE s1 (ts TIMESTAMP TIME INDEX); ALTER TABLE s1 ADD COLUMN a STRING; SHOW TABLES LIKE 's%'`)
	require.NoError(t, err)
	require.Len(t, res, 3)
	assert.Equal(t, [][]any{{"s1"}}, res[2].Rows)
}

// TestDDLErrors: GreptimeDB's errors, each with its code, and what the
// stand-in does not run.
func TestDDLErrors(t *testing.T) {
	st, err := NewStore()
	require.NoError(t, err)
	execOne(t, st, "public", `CREATE TABLE test (i INTEGER, j TIMESTAMP TIME INDEX, host STRING PRIMARY KEY)`)
	before, _ := st.Table("public", "test")
	assertSQLErrors(t, st, "public", []sqlError{
		// tests/cases/standalone/common/create/create.result.
		{"CREATE TABLE integers (i BIGINT)", StatusInvalidSyntax, "Missing time index constraint"},
		{"CREATE TABLE integers (i INT TIME INDEX)", StatusInvalidArguments, "Invalid column option, column name: i, error: time index column data type should be timestamp"},
		{"CREATE TABLE integers (i TIMESTAMP TIME INDEX NULL)", StatusInvalidArguments, "Invalid column option, column name: i, error: time index column can't be null"},
		{"CREATE TABLE integers (i TIMESTAMP TIME INDEX, j BIGINT, TIME INDEX(j))", StatusInvalidSyntax, "Invalid time index: expected only one time index constraint but actual 2"},
		{"CREATE TABLE integers (i TIMESTAMP TIME INDEX, j BIGINT, TIME INDEX(i, j))", StatusInvalidSyntax, "Invalid time index: it should contain only one column in time index"},
		{"CREATE TABLE test (i INTEGER, j TIMESTAMP TIME INDEX)", StatusTableAlreadyExists, "Table already exists: `greptime.public.test`"},
		{"CREATE TABLE 'N.~' (i TIMESTAMP TIME INDEX)", StatusInvalidArguments, "Invalid table name: N.~"},
		{`CREATE TABLE t ("timestamp" TIMESTAMP TIME INDEX, host STRING PRIMARY KEY, "value" DOUBLE, PRIMARY KEY(host))`, StatusInvalidArguments,
			"Illegal primary keys definition: found definitions of primary keys in multiple places"},
		{`CREATE TABLE t ("timestamp" TIMESTAMP TIME INDEX, host STRING PRIMARY KEY, "value" DOUBLE PRIMARY KEY)`, StatusInvalidArguments,
			"Illegal primary keys definition: not allowed to inline multiple primary keys in columns options"},
		// tests/cases/standalone/common/create/create_if_not_exists.result.
		{"CREATE TABLE IF NOT EXIST t()", StatusInvalidSyntax,
			"Unexpected token while parsing SQL statement, expected: 'EXISTS', found: EXIST: sql parser error: Expected: EXISTS, found: EXIST at Line: 1, Column: 21"},
		{"CREATE TABLE IF NOT t()", StatusInvalidSyntax,
			"Unexpected token while parsing SQL statement, expected: 'EXISTS', found: t: sql parser error: Expected: EXISTS, found: t at Line: 1, Column: 21"},
		{"CREATE TABLE IF EXISTS t()", StatusUnsupported, "SQL statement is not supported, keyword: EXISTS"},
		{"CREATE TABLE IF NOT EXISTS t()", StatusInvalidSyntax, "Missing time index constraint"},
		{"CREATE TABLE t", StatusInvalidSyntax, "Missing time index constraint"},
		// tests/cases/standalone/common/create/create_with_options.result:1-22.
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX) WITH (foo = 123, ttl = '7d')", StatusInvalidArguments, "Unrecognized table option key: foo"},
		// Other parser errors (src/sql/src/parsers/create_parser.rs).
		{"CREATE TABLE t (type STRING, ts TIMESTAMP TIME INDEX)", StatusInvalidSyntax,
			"Invalid SQL syntax: sql parser error: Cannot use keyword 'type' as column name. Hint: add quotes to the name."},
		{"CREATE TABLE t ('ts' TIMESTAMP TIME INDEX)", StatusInvalidSyntax, "Invalid SQL syntax: sql parser error: Expected column name or constraint definition, found: 'ts'"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX TIME INDEX)", StatusInvalidArguments, "Invalid column option, column name: ts, error: duplicated time index"},
		{`CREATE TABLE t ("ts" INT, TIME INDEX ("ts"))`, StatusInvalidArguments, `Invalid column option, column name: "ts", error: time index column data type should be timestamp`},
		{"CREATE TABLE t (ts TIMESTAMP, TIME INDEX (nosuch))", StatusInvalidSyntax, "Invalid time index: time index column nosuch not found in columns"},
		{"CREATE TABLE t (ts DATETIME TIME INDEX)", StatusInvalidArguments, "time index column data type should be timestamp"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX x STRING)", StatusInvalidSyntax, "Expected ',' or ')' after column definition, found: x"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX, PRIMARY (a))", StatusInvalidSyntax,
			"Unexpected token while parsing SQL statement, expected: 'KEY', found: (: sql parser error: Expected: KEY, found: ( at Line: 1, Column: 50"},
		{"CREATE TABLE (ts TIMESTAMP TIME INDEX)", StatusInvalidSyntax,
			"Unexpected token while parsing SQL statement, expected: 'a table name', found: ts: sql parser error: Expected: identifier, found: ( at Line: 1, Column: 14"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX) WITH (ttl = -1)", StatusInvalidArguments, "Invalid expr as option value, error: -1 not accepted"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX) WITH ('compaction.type' = 'twcs') x", StatusUnsupported, "SQL statement is not supported, keyword: x"},
		// The statement executor's errors (src/operator/src/expr_helper.rs:209-251, :428-529).
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX) WITH (ttl = 'abc')", StatusInvalidArguments, "Failed to parse table option, key: ttl, value: abc"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX) WITH (skip_wal = 'yes')", StatusInvalidArguments, "Failed to parse table option, key: skip_wal, value: yes"},
		{"CREATE TABLE test (ts TIMESTAMP TIME INDEX) WITH (ttl = 'abc')", StatusInvalidArguments, "Failed to parse table option, key: ttl, value: abc"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX, TIME INDEX (ts))", StatusInvalidArguments, "Invalid SQL, error: must have one and only one TimeIndex columns"},
		{"CREATE TABLE t (ts TIMESTAMP(5) TIME INDEX)", StatusInvalidSyntax, "SQL data type not supported yet: Timestamp(Some(5), None)"},
		{"CREATE TABLE t (a STRING, ts TIMESTAMP TIME INDEX, a INT)", StatusInvalidArguments, "Invalid SQL, error: column name `a` is duplicated at index 0 and 2"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX, PRIMARY KEY (nosuch))", StatusInvalidArguments, "Invalid SQL, error: column name `nosuch` is not found in column list"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX, a STRING, PRIMARY KEY (a), PRIMARY KEY (a))", StatusInvalidArguments, "Invalid SQL, error: column name `a` is duplicated in primary keys"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX, PRIMARY KEY (ts))", StatusInvalidArguments, "Invalid SQL, error: column name `ts` is both primary key and time index"},
		{"CREATE TABLE nosuch.t (ts TIMESTAMP TIME INDEX)", StatusInvalidArguments, "Failed to find schema, schema info: nosuch"},
		{"CREATE TABLE greptime.nosuch.t (ts TIMESTAMP TIME INDEX)", StatusInvalidArguments, "Failed to find schema, schema info: nosuch"},
		{"CREATE TABLE information_schema.t (ts TIMESTAMP TIME INDEX)", StatusUnsupported, "Schema `information_schema` is read-only"},
		// The region's options and metadata (src/mito2/src/region/options.rs, src/store-api/src/metadata.rs:579-587).
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX) WITH (append_mode = 'yes')", StatusInvalidArguments, "Invalid options"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX) WITH (merge_mode = 'first')", StatusInvalidArguments, "Invalid options: unknown variant `first`"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX) WITH (append_mode = true, merge_mode = last_non_null)", StatusInvalidArguments,
			"Invalid region options, only last_row merge_mode is allowed when append_mode is enabled"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX) WITH ('compaction.twcs.time_window' = '1d')", StatusInvalidArguments,
			"Invalid region options, missing key compaction.type in options"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX) WITH ('compaction.type' = 'lcs')", StatusInvalidArguments, "Invalid options: unknown variant `lcs`, expected `twcs`"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX) WITH ('compaction.type' = 'twcs', 'compaction.twcs.time_window' = '1x')", StatusInvalidArguments, "Invalid options"},
		{`CREATE TABLE t (ts TIMESTAMP TIME INDEX, "__sequence" BIGINT)`, StatusInvalidArguments, "Invalid metadata, __sequence is internal column name that can not be used"},

		// ALTER TABLE ... ADD COLUMN (tests/cases/standalone/common/alter/add_col.result,
		// add_incorrect_col.result; src/operator/src/statement/ddl.rs:1817-1936,
		// src/table/src/metadata.rs:743-820).
		{"ALTER TABLE test ADD COLUMN IF NOT EXISTS k INT, ADD COLUMN host STRING", StatusTableColumnExists, "Column host already exists in table test"},
		{"ALTER TABLE test ADD COLUMN j TIMESTAMP", StatusTableColumnExists, "Column j already exists in table test"},
		{"ALTER TABLE test ADD COLUMN k string NOT NULL", StatusInvalidArguments, "Invalid alter table(test) request: no default value for column k"},
		{"ALTER TABLE test ADD COLUMN k string, ADD COLUMN k string", StatusInvalidArguments, "Invalid alter table(test) request: add column k more than once"},
		{"ALTER TABLE test ADD COLUMN IF NOT EXISTS host INT, ADD COLUMN k STRING", StatusInvalidArguments,
			"Invalid alter table(test) request: column host already exists with different type String(StringType)"},
		{"ALTER TABLE nosuch ADD COLUMN k STRING", StatusTableNotFound, "Table not found: greptime.public.nosuch"},
		{"ALTER TABLE nosuch.test ADD COLUMN k STRING", StatusTableNotFound, "Table not found: greptime.nosuch.test"},
		{"ALTER TABLE information_schema.tables ADD COLUMN k STRING", StatusUnsupported, "Schema `information_schema` is read-only"},
		{"ALTER TABLE test ADD COLUMN k TIMESTAMP(2)", StatusInvalidSyntax, "SQL data type not supported yet: Timestamp(Some(2), None)"},
		{"ALTER TABLE test ADD COLUMN __op_type STRING", StatusInvalidArguments, "Invalid metadata, __op_type is internal column name that can not be used"},
		{"ALTER TABLE test ADD COLUMN k TIMESTAMP TIME INDEX", StatusUnsupported, "SQL statement is not supported, keyword: TIME"},
		{"ALTER TABLE test ADD COLUMN k STRING ADD COLUMN l STRING", StatusUnsupported, "SQL statement is not supported, keyword: ADD"},
		{"ALTER TABLE test k STRING", StatusUnsupported, "greptimetest: the stand-in does not support ALTER TABLE ... K"},
		{"ALTER TABLE test ADD COLUMN k STRING, l STRING", StatusInvalidSyntax, "Invalid SQL syntax: sql parser error: Expected: ADD, found: l at Line: 1, Column: 39"},
		{"ALTER TABLES test ADD COLUMN k STRING", StatusInvalidSyntax, "Invalid SQL syntax: sql parser error: Expected DATABASE or TABLE after ALTER, found: TABLES"},

		// What the stand-in does not run.
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX, v DOUBLE DEFAULT 0)", StatusUnsupported, "greptimetest: the stand-in does not support the column option DEFAULT"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX, v DECIMAL(10, 2))", StatusUnsupported, "the column type DECIMAL"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX, v INT) PARTITION ON COLUMNS (v) ()", StatusUnsupported, "PARTITION ON COLUMNS"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX) ENGINE=metric", StatusUnsupported, "ENGINE=metric"},
		{"CREATE TABLE t (ts TIMESTAMP TIME INDEX) WITH ('memtable.type' = 'bulk')", StatusUnsupported, "the table option memtable.type"},
		{"CREATE TABLE t LIKE test", StatusUnsupported, "CREATE TABLE ... LIKE"},
		{"CREATE EXTERNAL TABLE t (ts TIMESTAMP TIME INDEX)", StatusUnsupported, "CREATE EXTERNAL"},
		{"ALTER TABLE test DROP COLUMN i", StatusUnsupported, "ALTER TABLE ... DROP"},
		{"ALTER TABLE test ADD COLUMN k STRING FIRST", StatusUnsupported, "FIRST"},
		{"ALTER TABLE test ADD PRIMARY KEY (i)", StatusUnsupported, "ALTER TABLE ... ADD PRIMARY"},
		{"ALTER TABLE test ADD COLUMN k STRING DEFAULT 'x'", StatusUnsupported, "the column option DEFAULT"},
		{"ALTER DATABASE public SET 'ttl' = '1d'", StatusUnsupported, "ALTER DATABASE"},
	})
	assert.Equal(t, []string{"test"}, st.Tables("public"), "no failing CREATE TABLE created a table")
	after, _ := st.Table("public", "test")
	assert.Equal(t, before, after, "no failing ALTER TABLE changed the table")
}

// TestAlterTableAddColumn: columns added nullable, a PRIMARY KEY column a
// new tag of the primary key, as the insert path adds them; IF NOT EXISTS.
func TestAlterTableAddColumn(t *testing.T) {
	st, err := NewStore()
	require.NoError(t, err)
	execOne(t, st, "public", `CREATE TABLE test(i INTEGER, j TIMESTAMP TIME INDEX)`)

	r := execOne(t, st, "public", `ALTER TABLE test ADD COLUMN k INTEGER`)
	assert.False(t, r.IsQuery())
	assert.Equal(t, 0, r.AffectedRows)
	execOne(t, st, "public", `ALTER TABLE test ADD COLUMN IF NOT EXISTS k INTEGER`)
	execOne(t, st, "public", `ALTER TABLE test ADD COLUMN IF NOT EXISTS k STRING`) // nothing to add: the type is not compared (ddl.rs:2328-2343)
	execOne(t, st, "public", `ALTER TABLE test ADD host STRING PRIMARY KEY`)
	execOne(t, st, "public", `alter table TEST add column "IdC" STRING NULL PRIMARY KEY, add column if not exists 'v' DOUBLE, ADD COLUMN user JSON,`)
	tbl, _ := st.Table("public", "test")
	assert.Equal(t, []Column{
		{Name: "i", Type: greptimev1.ColumnDataType_INT32, Semantic: greptimev1.SemanticType_FIELD, Nullable: true},
		{Name: "j", Type: greptimev1.ColumnDataType_TIMESTAMP_MILLISECOND, Semantic: greptimev1.SemanticType_TIMESTAMP},
		{Name: "k", Type: greptimev1.ColumnDataType_INT32, Semantic: greptimev1.SemanticType_FIELD, Nullable: true},
		{Name: "host", Type: greptimev1.ColumnDataType_STRING, Semantic: greptimev1.SemanticType_TAG, Nullable: true},
		{Name: "IdC", Type: greptimev1.ColumnDataType_STRING, Semantic: greptimev1.SemanticType_TAG, Nullable: true},
		{Name: "v", Type: greptimev1.ColumnDataType_FLOAT64, Semantic: greptimev1.SemanticType_FIELD, Nullable: true},
		{Name: "user", Type: greptimev1.ColumnDataType_JSON, Semantic: greptimev1.SemanticType_FIELD, Nullable: true},
	}, tbl.Columns)
	assert.Equal(t, []string{"host", "IdC"}, tbl.PrimaryKey)

	// The same table altered by an insert's new columns.
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	requireOK(t, grpcSQL(ctx, c, "public", `CREATE TABLE test(i INTEGER, j TIMESTAMP TIME INDEX, k INTEGER)`))
	tsms := func(n int64) *greptimev1.Value {
		return &greptimev1.Value{ValueData: &greptimev1.Value_TimestampMillisecondValue{TimestampMillisecondValue: n}}
	}
	requireOK(t, do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{insert("test", []*greptimev1.ColumnSchema{
		col("j", greptimev1.ColumnDataType_TIMESTAMP_MILLISECOND, greptimev1.SemanticType_TIMESTAMP),
		col("host", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG),
		col("IdC", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG),
		col("v", greptimev1.ColumnDataType_FLOAT64, greptimev1.SemanticType_FIELD),
		col("user", greptimev1.ColumnDataType_JSON, greptimev1.SemanticType_FIELD),
	}, []*greptimev1.Value{tsms(1), str("h"), str("x"), f64(1), str(`{}`)})}}))
	byInsert, _ := s.Table("public", "test")
	assert.Equal(t, tbl.Columns, byInsert.Columns)
	assert.Equal(t, tbl.PrimaryKey, byInsert.PrimaryKey)
}

// TestExporterDDL: the statements the exporter logs run, and the table is
// the one an insert with the same schema and hints creates.
func TestExporterDDL(t *testing.T) {
	s := startHTTPServer(t, Config{Databases: []string{"public", "bysql"}})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)

	// Over gRPC, CREATE TABLE answers 0 affected rows (src/operator/src/statement.rs:325-328).
	res := grpcSQL(ctx, c, "bysql", exporterCreate)
	requireOK(t, res)
	assert.Equal(t, uint32(0), res.affected)
	res = grpcSQL(ctx, c, "bysql", exporterCreate) // IF NOT EXISTS
	requireOK(t, res)
	res = grpcSQL(ctx, c, "bysql", `CREATE TABLE "events" ("ts" TIMESTAMP TIME INDEX)`)
	requireStatus(t, res, codes.AlreadyExists, StatusTableAlreadyExists, "Table already exists: `greptime.bysql.events`")
	// ALTER TABLE too, here with nothing to add (src/operator/src/statement/ddl.rs:1855-1857).
	res = grpcSQL(ctx, c, "bysql", exporterAlter)
	requireOK(t, res)
	assert.Equal(t, uint32(0), res.affected)

	// The same table created by an insert.
	requireOK(t, do(ctx, c, req{db: "public", hints: exporterHints, inserts: []*greptimev1.RowInsertRequest{
		insert("events", exporterSchema(), exporterRow("a", "e0", "u0", 1)),
	}}))
	bySQL, ok := s.Table("bysql", "events")
	require.True(t, ok)
	byInsert, ok := s.Table("public", "events")
	require.True(t, ok)
	assert.Equal(t, byInsert.Columns, bySQL.Columns)
	assert.Equal(t, byInsert.TimeIndex, bySQL.TimeIndex)
	assert.Equal(t, byInsert.PrimaryKey, bySQL.PrimaryKey)
	// GreptimeDB adds compaction.override to a table created with
	// compaction.type (src/operator/src/expr_helper.rs:224-226), which the
	// insert path does not (src/operator/src/insert.rs:1263-1273).
	want := maps.Clone(byInsert.Options)
	want["compaction.override"] = "true"
	assert.Equal(t, want, bySQL.Options)
	assert.Equal(t, map[string]string{
		"ttl": "90d", "append_mode": "false", "merge_mode": "last_row",
		"compaction.type": "twcs", "compaction.twcs.time_window": "1d", "compaction.override": "true",
	}, bySQL.Options)

	// The table created by SQL takes the insert's rows.
	res = do(ctx, c, req{db: "bysql", hints: exporterHints, inserts: []*greptimev1.RowInsertRequest{
		insert("events", exporterSchema(), exporterRow("a", "e1", "u1", 10), exporterRow("b", "e2", "u2", 20), exporterRow("a", "e1", "u1", 10)),
	}})
	requireOK(t, res)
	assert.Equal(t, uint32(3), res.affected)
	bySQL, _ = s.Table("bysql", "events")
	require.Len(t, bySQL.Rows, 2, "last_row keeps one row per primary key and time index")
	assert.Equal(t, map[string]any{
		"type": "a", "payload": map[string]any{"k": float64(1)}, "timestamp": int64(10), "event_id": "e1", "user": "u1",
		"n": int64(7), "ok": true, "ratio": 0.5, "at": int64(9), "doc": []any{float64(1), "x"},
	}, bySQL.Rows[0])

	// Over HTTP: {"affectedrows":0}.
	a := postSQL(t, s, `CREATE TABLE IF NOT EXISTS "events" ("timestamp" TIMESTAMP(9) NOT NULL, TIME INDEX ("timestamp"))`, "db=bysql")
	require.Equal(t, http.StatusOK, a.status, a.raw)
	assert.Equal(t, []any{map[string]any{"affectedrows": json.Number("0")}}, outputs(t, a))
	a = postSQL(t, s, `ALTER TABLE events ADD COLUMN extra STRING`, "db=bysql")
	require.Equal(t, http.StatusOK, a.status, a.raw)
	assert.Equal(t, []any{map[string]any{"affectedrows": json.Number("0")}}, outputs(t, a))
	_, ok = s.Table("bysql", "events")
	require.True(t, ok)
}

// TestCreateTableLikeInsert: a table created by SQL and one created by an
// insert with the same schema and the equivalent hints are the same table,
// and SHOW CREATE TABLE prints the same.
func TestCreateTableLikeInsert(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	st := s.Store()
	requireOK(t, do(ctx, c, req{hints: "ttl=90d, append_mode=true, skip_wal=false, merge_mode=last_row", inserts: []*greptimev1.RowInsertRequest{
		insert("by_insert", exporterSchema(), exporterRow("a", "e0", "u0", 1)),
	}}))
	execOne(t, st, "public", `CREATE TABLE by_sql ("type" STRING NULL, "payload" JSON NULL, "timestamp" TIMESTAMP(9) NOT NULL, "event_id" STRING NULL, "user" STRING NULL, "n" BIGINT NULL, "ok" BOOLEAN NULL, "ratio" DOUBLE NULL, "at" TIMESTAMP(9) NULL, "doc" JSON NULL, TIME INDEX ("timestamp"), PRIMARY KEY ("type", "event_id", "user")) WITH (ttl = '90d', append_mode = 'true', skip_wal = 'false', merge_mode = 'last_row')`)
	byInsert, _ := st.Table("public", "by_insert")
	bySQL, _ := st.Table("public", "by_sql")
	byInsert.Name, byInsert.Rows = "by_sql", []map[string]any{}
	assert.Equal(t, byInsert, bySQL)

	execOne(t, st, "public", `CREATE TABLE by_sql_2 (
		"type" STRING NULL, "payload" JSON NULL, "timestamp" TIMESTAMP(9) NOT NULL, "event_id" STRING NULL, "user" STRING NULL,
		"n" BIGINT NULL, "ok" BOOLEAN NULL, "ratio" DOUBLE NULL, "at" TIMESTAMP(9) NULL, "doc" JSON NULL,
		TIME INDEX ("timestamp"), PRIMARY KEY ("type", "event_id", "user")
	) ENGINE=mito WITH ('ttl'='90d', 'append_mode'='true', 'skip_wal'='false', 'merge_mode'='last_row')`)
	want := showCreate(t, st, "by_insert")
	assert.Equal(t, want, strings.Replace(showCreate(t, st, "by_sql"), `"by_sql"`, `"by_insert"`, 1))
	assert.Equal(t, want, strings.Replace(showCreate(t, st, "by_sql_2"), `"by_sql_2"`, `"by_insert"`, 1))
}

// TestAlterThenInsertWithoutAutoCreate: on a frontend that creates and
// alters nothing itself, the operator's CREATE TABLE and ALTER TABLE make
// the inserts succeed.
func TestAlterThenInsertWithoutAutoCreate(t *testing.T) {
	s := startServer(t, Config{DisableAutoCreateTable: true})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	write := func() result {
		return do(ctx, c, req{hints: exporterHints, inserts: []*greptimev1.RowInsertRequest{
			insert("events", exporterSchema(), exporterRow("a", "e1", "u1", 10)),
		}})
	}
	requireStatus(t, write(), codes.InvalidArgument, StatusInvalidArguments,
		"Table `events` does not exist, and auto-create table is disabled by frontend config")

	// The table as an older exporter created it: no user, no doc.
	requireOK(t, grpcSQL(ctx, c, "public", `CREATE TABLE IF NOT EXISTS "events" ("type" STRING NULL, "payload" JSON NULL, "timestamp" TIMESTAMP(9) NOT NULL, "event_id" STRING NULL, "n" BIGINT NULL, "ok" BOOLEAN NULL, "ratio" DOUBLE NULL, "at" TIMESTAMP(9) NULL, TIME INDEX ("timestamp"), PRIMARY KEY ("type", "event_id")) WITH ('ttl' = '90d', 'append_mode' = 'false', 'merge_mode' = 'last_row', 'compaction.type' = 'twcs', 'compaction.twcs.time_window' = '1d')`))
	requireStatus(t, write(), codes.InvalidArgument, StatusInvalidArguments, `unknown columns: ["user", "doc"]`)
	assert.Equal(t, 0, s.RowCount("public", "events"))

	res := grpcSQL(ctx, c, "public", exporterAlter)
	requireOK(t, res)
	assert.Equal(t, uint32(0), res.affected)
	tbl, _ := s.Table("public", "events")
	assert.Equal(t, []string{"type", "event_id", "user"}, tbl.PrimaryKey)

	res = write()
	requireOK(t, res)
	assert.Equal(t, uint32(1), res.affected)
	tbl, _ = s.Table("public", "events")
	require.Len(t, tbl.Rows, 1)
	assert.Equal(t, "u1", tbl.Rows[0]["user"])
	assert.Equal(t, []any{float64(1), "x"}, tbl.Rows[0]["doc"])
}

// TestParseDDL: the statements as the parser takes them, and a syntax error
// anywhere in the text runs none of them (src/frontend/src/instance.rs:748-798).
func TestParseDDL(t *testing.T) {
	stmts, gerr := parseSQL(exporterCreate + ";" + exporterAlter)
	require.Nil(t, gerr)
	require.Len(t, stmts, 2)
	c := stmts[0].(*createTableStmt)
	assert.True(t, c.ifNotExists)
	assert.Equal(t, []ident{{value: "events", quoted: true}}, c.name)
	require.Len(t, c.columns, 10)
	assert.Equal(t, sqlColumnDef{name: ident{value: "payload", quoted: true}, typ: sqlType{dt: greptimev1.ColumnDataType_JSON}, null: true}, c.columns[1])
	assert.Equal(t, sqlColumnDef{
		name: ident{value: "timestamp", quoted: true}, notNull: true,
		typ: sqlType{dt: greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, timestamp: true},
	}, c.columns[2])
	assert.Equal(t, []ident{{value: "timestamp", quoted: true}}, c.timeIndex)
	assert.Equal(t, []ident{{value: "type", quoted: true}, {value: "event_id", quoted: true}, {value: "user", quoted: true}}, c.primaryKey)
	assert.Equal(t, map[string]string{
		"ttl": "90d", "append_mode": "false", "merge_mode": "last_row", "compaction.type": "twcs", "compaction.twcs.time_window": "1d",
	}, c.options)
	a := stmts[1].(*alterTableStmt)
	assert.Equal(t, &alterTableStmt{
		name: []ident{{value: "events", quoted: true}},
		adds: []addColumn{
			{ifNotExists: true, col: sqlColumnDef{name: ident{value: "user", quoted: true}, typ: sqlType{dt: greptimev1.ColumnDataType_STRING}, primaryKey: true}},
			{ifNotExists: true, col: sqlColumnDef{name: ident{value: "doc", quoted: true}, typ: sqlType{dt: greptimev1.ColumnDataType_JSON}}},
		},
	}, a)

	// Unquoted names lowercased, backticks, a TIMESTAMP of an odd precision
	// (refused when it runs), a column's TIME INDEX and PRIMARY KEY.
	stmts, gerr = parseSQL("CREATE TABLE Db.T (`Ts` TIMESTAMP(5) TIME INDEX, Host STRING PRIMARY KEY) WITH (\"TTL\" = 1)")
	require.Nil(t, gerr)
	c = stmts[0].(*createTableStmt)
	assert.Equal(t, []ident{{value: "db"}, {value: "t"}}, c.name)
	assert.Equal(t, sqlColumnDef{name: ident{value: "Ts", quoted: true}, notNull: false, timeIndex: true,
		typ: sqlType{dt: greptimev1.ColumnDataType_TIMESTAMP_MILLISECOND, timestamp: true, badPrecision: "5"}}, c.columns[0])
	assert.Equal(t, sqlColumnDef{name: ident{value: "host"}, typ: sqlType{dt: greptimev1.ColumnDataType_STRING}, primaryKey: true}, c.columns[1])
	assert.Equal(t, []ident{{value: "Ts"}}, c.timeIndex)
	assert.Equal(t, map[string]string{"ttl": "1"}, c.options)

	st, err := NewStore()
	require.NoError(t, err)
	_, err = st.ExecSQL("public", "CREATE TABLE a (ts TIMESTAMP TIME INDEX); CREATE TABLE b (ts TIMESTAMP TIME INDEX) WITH (nope = 1)")
	code, _ := ErrorStatus(err)
	assert.Equal(t, StatusInvalidArguments, code)
	assert.Empty(t, st.Tables("public"))
}

func f64(v float64) *greptimev1.Value {
	return &greptimev1.Value{ValueData: &greptimev1.Value_F64Value{F64Value: v}}
}
