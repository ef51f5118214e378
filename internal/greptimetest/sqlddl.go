package greptimetest

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
)

// This file is the stand-in's DDL: CREATE TABLE and ALTER TABLE ... ADD
// COLUMN, parsed as GreptimeDB's parser parses them (create_parser.rs,
// alter_parser.rs in src/sql/src/parsers) and run as its statement executor
// runs them (src/operator/src/statement/ddl.rs, src/operator/src/expr_helper.rs),
// the tables stored exactly as the insert path stores the tables it creates
// and alters (tables.go).

// sqlType is a column type as written in SQL.
type sqlType struct {
	dt greptimev1.ColumnDataType
	// timestamp reports that sqlparser sees a Timestamp once GreptimeDB has
	// resolved aliases (get_unalias_type, src/sql/src/parsers/create_parser.rs:1173-1186):
	// only such a column may be the time index. DATETIME is no Timestamp
	// there, though it becomes one (src/sql/src/statements/transform/type_alias.rs:183).
	timestamp bool
	// badPrecision is the p of a TIMESTAMP(p) GreptimeDB has no type for
	// (anything but 0, 3, 6 and 9), refused when the statement runs.
	badPrecision string
	// json2 is GreptimeDB's native JSON type, JSON2 (a custom type name,
	// src/sql/src/statements.rs:65, :156-165).
	json2 bool
}

// sqlTypeSpec describes a type name: the type, whether it takes an
// optional (n) that leaves the type as it is, and whether it is a Timestamp.
type sqlTypeSpec struct {
	dt        greptimev1.ColumnDataType
	length    bool
	timestamp bool
}

// sqlTypes are the column types the stand-in runs, by name as sqlparser
// parses it (Parser::parse_data_type, sqlparser 0.61.0 src/parser/mod.rs),
// GreptimeDB's aliases resolved (get_type_by_alias, get_data_type_by_alias_name,
// src/sql/src/statements/transform/type_alias.rs:163-230) and mapped to its
// types (sql_data_type_to_concrete_data_type, src/sql/src/statements.rs:221-305).
// "<name> UNSIGNED" entries follow a name that takes UNSIGNED. TIMESTAMP[(p)]
// is parsed on its own (sqlColumnType).
var sqlTypes = func() map[string]sqlTypeSpec {
	const (
		str   = greptimev1.ColumnDataType_STRING
		tsS   = greptimev1.ColumnDataType_TIMESTAMP_SECOND
		tsMs  = greptimev1.ColumnDataType_TIMESTAMP_MILLISECOND
		tsUs  = greptimev1.ColumnDataType_TIMESTAMP_MICROSECOND
		tsNs  = greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND
		i64   = greptimev1.ColumnDataType_INT64
		i32   = greptimev1.ColumnDataType_INT32
		i16   = greptimev1.ColumnDataType_INT16
		f64   = greptimev1.ColumnDataType_FLOAT64
		f32   = greptimev1.ColumnDataType_FLOAT32
		bin   = greptimev1.ColumnDataType_BINARY
		plain = false
		sized = true // takes an optional (n)
	)
	m := map[string]sqlTypeSpec{}
	add := func(dt greptimev1.ColumnDataType, length bool, names ...string) {
		for _, n := range names {
			m[n] = sqlTypeSpec{dt: dt, length: length}
		}
	}
	add(str, sized, "STRING", "VARCHAR", "CHAR")
	add(str, plain, "TEXT", "TINYTEXT", "MEDIUMTEXT", "LONGTEXT")
	add(greptimev1.ColumnDataType_JSON, plain, "JSON")
	for dt, names := range map[greptimev1.ColumnDataType][]string{
		tsS:  {"TIMESTAMP_S", "TIMESTAMP_SEC", "TIMESTAMPSECOND"},
		tsMs: {"TIMESTAMP_MS", "TIMESTAMPMILLISECOND"},
		tsUs: {"TIMESTAMP_US", "TIMESTAMPMICROSECOND"},
		tsNs: {"TIMESTAMP_NS", "TIMESTAMPNANOSECOND"},
	} {
		for _, n := range names {
			m[n] = sqlTypeSpec{dt: dt, timestamp: true}
		}
	}
	add(tsUs, sized, "DATETIME")
	add(i64, sized, "BIGINT")
	// INT8 is a BIGINT (type_alias.rs:170), INT8 UNSIGNED a TINYINT UNSIGNED (statements.rs:232).
	add(i64, plain, "INT64", "INT8")
	add(i32, sized, "INT", "INTEGER")
	add(i32, plain, "INT4", "INT32")
	add(i16, sized, "SMALLINT")
	add(i16, plain, "INT2", "INT16")
	add(greptimev1.ColumnDataType_INT8, sized, "TINYINT")
	add(greptimev1.ColumnDataType_UINT64, plain, "BIGINT UNSIGNED", "UINT64")
	add(greptimev1.ColumnDataType_UINT32, plain, "INT UNSIGNED", "UINT32")
	add(greptimev1.ColumnDataType_UINT16, plain, "SMALLINT UNSIGNED", "UINT16")
	add(greptimev1.ColumnDataType_UINT8, plain, "TINYINT UNSIGNED", "INT8 UNSIGNED", "UINT8")
	add(f64, plain, "DOUBLE", "FLOAT64", "FLOAT8")
	add(f32, sized, "FLOAT")
	add(f32, plain, "FLOAT32", "FLOAT4")
	add(greptimev1.ColumnDataType_BOOLEAN, plain, "BOOLEAN", "BOOL")
	add(bin, sized, "BINARY", "VARBINARY", "BLOB")
	add(bin, plain, "BYTEA")
	add(greptimev1.ColumnDataType_DATE, plain, "DATE")
	return m
}()

// sqlColumnDef is a column definition of CREATE TABLE or ADD COLUMN.
type sqlColumnDef struct {
	name       ident
	typ        sqlType
	null       bool // NULL
	notNull    bool // NOT NULL
	primaryKey bool // PRIMARY KEY
	timeIndex  bool // TIME INDEX (CREATE TABLE only)
}

// createTableStmt is CREATE TABLE (CreateTable, src/sql/src/statements/create.rs).
type createTableStmt struct {
	ifNotExists bool
	name        []ident
	columns     []sqlColumnDef
	// timeIndex are the TIME INDEX constraints in order, a column's TIME
	// INDEX option included (src/sql/src/parsers/create_parser.rs:606-635).
	timeIndex []ident
	// primaryKey are the columns of the PRIMARY KEY constraints, in order.
	primaryKey []ident
	options    map[string]string
}

// alterTableStmt is ALTER TABLE name ADD COLUMN ... [, ADD COLUMN ...].
type alterTableStmt struct {
	name []ident
	adds []addColumn
}

type addColumn struct {
	col         sqlColumnDef
	ifNotExists bool
}

func (*createTableStmt) stmtName() string { return "CREATE TABLE" }
func (*alterTableStmt) stmtName() string  { return "ALTER TABLE" }

// display renders an identifier as sqlparser's Ident displays it, in quotes
// if it was quoted (the stand-in writes every quote as ").
func (id ident) display() string {
	if id.quoted {
		return `"` + id.value + `"`
	}
	return id.value
}

// location is where sqlparser reports t: " at Line: l, Column: c", nothing
// at the end of the text (sqlparser's EOF token has no location).
func location(t sqlToken) string {
	if t.kind == tokEOF {
		return ""
	}
	return " " + t.at()
}

// sqlparserExpected is sqlparser's own "Expected: want, found: t" (Parser::expected),
// as GreptimeDB answers it: 2000 InvalidSyntax (Syntax, src/sql/src/error.rs:58-62).
func sqlparserExpected(want string, t sqlToken) *greptimeError {
	return syntaxError("Expected: %s, found: %s%s", want, t, location(t))
}

// greptimeExpected is GreptimeDB's ParserContext::expected (src/sql/src/parser.rs:294-299):
// "Expected want, found: t", without location.
func greptimeExpected(want string, t sqlToken) *greptimeError {
	return syntaxError("Expected %s, found: %s", want, t)
}

// unexpectedToken is GreptimeDB's Unexpected error (src/sql/src/error.rs:43-55,
// 2000 InvalidSyntax) over sqlparser's "Expected: sqlWant, found: t"; actual
// is the token GreptimeDB then peeks at.
func unexpectedToken(want, sqlWant string, t, actual sqlToken) *greptimeError {
	return newError(StatusInvalidSyntax, "Unexpected token while parsing SQL statement, expected: '%s', found: %s: sql parser error: Expected: %s, found: %s%s",
		want, actual, sqlWant, t, location(t))
}

// statementEnd refuses a token after a complete statement as GreptimeDB
// does (src/sql/src/parser.rs:91-93, src/sql/src/error.rs:36-37): 1001.
func (p *sqlParser) statementEnd() *greptimeError {
	if t := p.peek(); t.kind != tokEOF && !t.is(";") {
		return unsupportedKeyword(t)
	}
	return nil
}

// ifNotExists parses an optional IF NOT EXISTS (parse_if_not_exist,
// src/sql/src/parsers/create_parser.rs:472-494): IF followed by neither NOT
// nor EXISTS is taken as the name.
func (p *sqlParser) ifNotExists() (bool, *greptimeError) {
	if p.peek().is("IF") && p.peekAt(1).is("NOT") {
		p.pos += 2
		if !p.accept("EXISTS") {
			t := p.peek()
			return false, unexpectedToken("EXISTS", "EXISTS", t, t)
		}
		return true, nil
	}
	if p.peek().is("IF") && p.peekAt(1).is("EXISTS") {
		return false, unsupportedKeyword("EXISTS")
	}
	return false, nil
}

// identifier parses sqlparser's parse_identifier: a word, or a "double",
// `back` or 'single' quoted identifier; unquoted ones lowercased as GreptimeDB
// canonicalizes them (src/sql/src/parser.rs:323-329).
func (p *sqlParser) identifier() (ident, bool) {
	t := p.next()
	if t.kind != tokWord && t.kind != tokQuoted && t.kind != tokString {
		return ident{}, false
	}
	return identOf(t), true
}

// ddlObjectName parses a table name as sqlparser's parse_object_name does;
// the parts are canonicalized (src/sql/src/parser.rs:332-346). CREATE TABLE
// reports a bad name under GreptimeDB's error (intern_parse_table_name,
// src/sql/src/parser.rs:118-127), which names the token after the bad one.
func (p *sqlParser) ddlObjectName(create bool) ([]ident, *greptimeError) {
	var parts []ident
	for {
		t := p.peek()
		id, ok := p.identifier()
		if !ok {
			if create {
				return nil, unexpectedToken("a table name", "identifier", t, p.peek())
			}
			return nil, sqlparserExpected("identifier", t)
		}
		parts = append(parts, id)
		if !p.accept(".") {
			break
		}
	}
	if len(parts) > 3 {
		// table_idents_to_full_name (src/session/src/table_name.rs:43-69).
		return nil, standinUnsupported("the table name %s", joinIdents(parts))
	}
	return parts, nil
}

// columnList parses "(a, b, ...)" as sqlparser's
// parse_parenthesized_column_list(Mandatory, false) does, canonicalized.
func (p *sqlParser) columnList() ([]ident, *greptimeError) {
	if !p.accept("(") {
		return nil, sqlparserExpected("a list of columns in parentheses", p.peek())
	}
	var cols []ident
	for {
		t := p.peek()
		id, ok := p.identifier()
		if !ok {
			return nil, sqlparserExpected("identifier", t)
		}
		cols = append(cols, id)
		if !p.accept(",") || p.peek().is(")") {
			break
		}
	}
	if !p.accept(")") {
		return nil, sqlparserExpected(")", p.peek())
	}
	return cols, nil
}

// sqlColumnType parses a column type (see sqlTypes).
func (p *sqlParser) sqlColumnType() (sqlType, *greptimeError) {
	t := p.next()
	if t.kind != tokWord {
		p.unread(t)
		return sqlType{}, p.unexpected("a column type")
	}
	name := strings.ToUpper(t.text)
	if name == "TIMESTAMP" {
		// TIMESTAMP without a precision is a TimestampMillisecond
		// (src/sql/src/statements.rs:251-262); a precision names a unit
		// (TimestampType::try_from, src/datatypes/src/types/timestamp_type.rs:59-76).
		typ := sqlType{dt: greptimev1.ColumnDataType_TIMESTAMP_MILLISECOND, timestamp: true}
		if p.accept("(") {
			n := p.next()
			v, err := strconv.ParseUint(n.text, 10, 64)
			if n.kind != tokNumber || err != nil {
				p.unread(n)
				return typ, p.unexpected("a timestamp precision")
			}
			if gerr := p.expect(")"); gerr != nil {
				return typ, gerr
			}
			switch v {
			case 0:
				typ.dt = greptimev1.ColumnDataType_TIMESTAMP_SECOND
			case 3:
			case 6:
				typ.dt = greptimev1.ColumnDataType_TIMESTAMP_MICROSECOND
			case 9:
				typ.dt = greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND
			default:
				typ.badPrecision = strconv.FormatUint(v, 10)
			}
		}
		if p.peek().is("WITH") || p.peek().is("WITHOUT") {
			return typ, standinUnsupported("TIMESTAMP %s TIME ZONE", strings.ToUpper(p.peek().text))
		}
		return typ, nil
	}
	if name == "JSON2" {
		return sqlType{dt: greptimev1.ColumnDataType_JSON, json2: true}, nil
	}
	spec, ok := sqlTypes[name]
	if !ok {
		p.unread(t)
		return sqlType{}, standinUnsupported("the column type %s", t.text)
	}
	if spec.length && p.accept("(") {
		if n := p.next(); n.kind != tokNumber {
			p.unread(n)
			return sqlType{}, p.unexpected("a length")
		}
		if gerr := p.expect(")"); gerr != nil {
			return sqlType{}, gerr
		}
	}
	if p.peek().is("UNSIGNED") {
		if u, ok := sqlTypes[name+" UNSIGNED"]; ok {
			p.next()
			spec = u
		}
	}
	return sqlType{dt: spec.dt, timestamp: spec.timestamp}, nil
}

// columnOptionWords are column options and index declarations GreptimeDB
// parses (parse_optional_column_option, parse_column_extensions,
// src/sql/src/parsers/create_parser.rs:752-1043; sqlparser's own for ADD
// COLUMN) that the stand-in does not run.
var columnOptionWords = map[string]bool{
	"DEFAULT": true, "COMMENT": true, "CONSTRAINT": true, "UNIQUE": true, "CHARACTER": true,
	"COLLATE": true, "SKIPPING": true, "FULLTEXT": true, "INVERTED": true, "VECTOR": true,
	"CHECK": true, "REFERENCES": true, "AUTO_INCREMENT": true, "GENERATED": true, "ON": true,
}

// columnDef parses a column definition: for CREATE TABLE GreptimeDB's
// parse_column_def (src/sql/src/parsers/create_parser.rs:695-750), whose
// column name must be a word that is no keyword unless quoted (:680-693);
// for ADD COLUMN sqlparser's parse_column_def (alter_parser.rs:702), whose
// name is any identifier, and which knows no TIME INDEX.
func (p *sqlParser) columnDef(create bool) (sqlColumnDef, *greptimeError) {
	t := p.peek()
	if create && t.kind == tokWord && sqlKeywords[strings.ToUpper(t.text)] {
		return sqlColumnDef{}, syntaxError("Cannot use keyword '%s' as column name. Hint: add quotes to the name.", t.text)
	}
	name, ok := p.identifier()
	if !ok {
		return sqlColumnDef{}, sqlparserExpected("identifier", t)
	}
	c := sqlColumnDef{name: name}
	var gerr *greptimeError
	if c.typ, gerr = p.sqlColumnType(); gerr != nil {
		return c, gerr
	}
	for {
		t := p.peek()
		switch {
		case t.is("NOT") && p.peekAt(1).is("NULL"):
			p.pos += 2
			c.notNull = true
		case t.is("NULL"):
			p.next()
			c.null = true
		case t.is("PRIMARY") && p.peekAt(1).is("KEY"):
			p.pos += 2
			c.primaryKey = true
		case create && t.is("TIME") && p.peekAt(1).is("INDEX"):
			p.pos += 2
			if c.timeIndex {
				// src/sql/src/parsers/create_parser.rs:622-630.
				return c, invalidColumnOption(c.name, "duplicated time index")
			}
			c.timeIndex = true
		case t.kind == tokWord && columnOptionWords[strings.ToUpper(t.text)]:
			return c, standinUnsupported("the column option %s (%s)", strings.ToUpper(t.text), t.at())
		default:
			if c.timeIndex {
				// src/sql/src/parsers/create_parser.rs:640-670.
				if c.null {
					return c, invalidColumnOption(c.name, "time index column can't be null")
				}
				if !c.typ.timestamp {
					return c, invalidColumnOption(c.name, "time index column data type should be timestamp")
				}
			}
			return c, nil
		}
	}
}

// invalidColumnOption is GreptimeDB's InvalidColumnOption (src/sql/src/error.rs:104-110, :374): 1004.
func invalidColumnOption(name ident, msg string) *greptimeError {
	return newError(StatusInvalidArguments, "Invalid column option, column name: %s, error: %s", name.display(), msg)
}

// createTableStmt parses what follows CREATE TABLE (parse_create_table,
// src/sql/src/parsers/create_parser.rs:248-287).
func (p *sqlParser) createTableStmt() (sqlStmt, *greptimeError) {
	s := &createTableStmt{}
	var gerr *greptimeError
	if s.ifNotExists, gerr = p.ifNotExists(); gerr != nil {
		return nil, gerr
	}
	if s.name, gerr = p.ddlObjectName(true); gerr != nil {
		return nil, gerr
	}
	if p.peek().is("LIKE") {
		return nil, standinUnsupported("CREATE TABLE ... LIKE")
	}
	if gerr := p.createTableColumns(s); gerr != nil {
		return nil, gerr
	}
	if gerr := s.validateTimeIndex(); gerr != nil {
		return nil, gerr
	}
	if p.peek().is("PARTITION") {
		return nil, standinUnsupported("PARTITION ON COLUMNS (every table has one region)")
	}
	// parse_table_engine (src/sql/src/parsers/create_parser.rs:1106-1124).
	if p.accept("ENGINE") {
		if !p.accept("=") {
			t := p.peek()
			return nil, unexpectedToken("=", "=", t, t)
		}
		e := p.next()
		if e.kind != tokWord && e.kind != tokQuoted {
			return nil, greptimeExpected("'Engine' is missing", e)
		}
		if !strings.EqualFold(e.text, "mito") {
			return nil, standinUnsupported("ENGINE=%s (it runs mito tables only)", e.text)
		}
	}
	if s.options, gerr = p.withOptions(); gerr != nil {
		return nil, gerr
	}
	return s, p.statementEnd()
}

// createTableColumns parses the column definitions and TIME INDEX and
// PRIMARY KEY constraints (parse_columns, src/sql/src/parsers/create_parser.rs:567-598;
// parse_optional_table_constraint, :1045-1104). No parenthesis, or empty
// ones, is no column at all.
func (p *sqlParser) createTableColumns(s *createTableStmt) *greptimeError {
	if !p.accept("(") || p.accept(")") {
		return nil
	}
	for {
		t := p.peek()
		switch {
		case t.is("PRIMARY"):
			p.next()
			if !p.accept("KEY") {
				n := p.peek()
				return unexpectedToken("KEY", "KEY", n, n)
			}
			cols, gerr := p.columnList()
			if gerr != nil {
				return gerr
			}
			s.primaryKey = append(s.primaryKey, cols...)
		case t.is("TIME"):
			p.next()
			if !p.accept("INDEX") {
				n := p.peek()
				return unexpectedToken("INDEX", "INDEX", n, n)
			}
			cols, gerr := p.columnList()
			if gerr != nil {
				return gerr
			}
			if len(cols) != 1 {
				// InvalidTimeIndex (src/sql/src/error.rs:78-83): 2000.
				return newError(StatusInvalidSyntax, "Invalid time index: it should contain only one column in time index")
			}
			s.timeIndex = append(s.timeIndex, cols[0])
		case t.kind == tokWord || t.kind == tokQuoted:
			c, gerr := p.columnDef(true)
			if gerr != nil {
				return gerr
			}
			s.columns = append(s.columns, c)
			if c.timeIndex {
				// Ident::new: the constraint's name is unquoted (create_parser.rs:633-635).
				s.timeIndex = append(s.timeIndex, ident{value: c.name.value})
			}
		default:
			return greptimeExpected("column name or constraint definition", t)
		}
		comma := p.accept(",")
		if p.accept(")") {
			return nil // a trailing comma is allowed
		}
		if !comma {
			return greptimeExpected("',' or ')' after column definition", p.peek())
		}
	}
}

// validateTimeIndex checks the time index as the parser does
// (validate_time_index, src/sql/src/parsers/create_parser.rs:1127-1171): one
// distinct constraint (the same column named twice alike is one), a column
// of the table, of a timestamp type.
func (s *createTableStmt) validateTimeIndex() *greptimeError {
	var distinct []ident
	for _, id := range s.timeIndex {
		if !slices.Contains(distinct, id) {
			distinct = append(distinct, id)
		}
	}
	switch {
	case len(distinct) == 0:
		// MissingTimeIndex (src/sql/src/error.rs:75-76): 2000.
		return newError(StatusInvalidSyntax, "Missing time index constraint")
	case len(distinct) > 1:
		return newError(StatusInvalidSyntax, "Invalid time index: expected only one time index constraint but actual %d", len(distinct))
	}
	for _, c := range s.columns {
		if c.name.value == distinct[0].value {
			if !c.typ.timestamp {
				return invalidColumnOption(c.name, "time index column data type should be timestamp")
			}
			return nil
		}
	}
	return newError(StatusInvalidSyntax, "Invalid time index: time index column %s not found in columns", distinct[0].display())
}

// semanticOptionPrefix starts the keys of GreptimeDB's semantic-layer
// options (SEMANTIC_PREFIX, src/table/src/requests/semantic.rs:36).
const semanticOptionPrefix = "greptime.semantic."

// validTableOptionKeys are the keys GreptimeDB accepts in CREATE TABLE ...
// WITH (validate_table_option, src/table/src/requests.rs:131-154): S3 and
// OSS keys (src/common/datasource/src/object_store/s3.rs:24-43, oss.rs:24-44),
// mito keys (is_mito_engine_option_key, src/store-api/src/mito_engine_options.rs:78-109),
// metric engine keys (src/store-api/src/metric_engine_consts.rs:142-154),
// VALID_TABLE_OPTION_KEYS (src/table/src/requests.rs:78-95) and the DDL keys
// (:99-102).
var validTableOptionKeys = map[string]bool{
	"endpoint": true, "access_key_id": true, "secret_access_key": true, "session_token": true,
	"region": true, "enable_virtual_host_style": true, "disable_ec2_metadata": true,
	"root": true, "allow_anonymous": true, "skip_signature": true, "bucket": true, "access_key_secret": true,
	"ttl": true, "write_buffer_size": true, "auto_flush_interval": true, "compaction.type": true,
	"compaction.override": true, "compaction.twcs.trigger_file_num": true,
	"compaction.twcs.max_output_file_size": true, "compaction.twcs.time_window": true,
	"compaction.twcs.remote_compaction": true, "compaction.twcs.fallback_to_local": true,
	"storage": true, "index.inverted_index.ignore_column_ids": true,
	"index.inverted_index.segment_row_count": true, "wal_options": true, "memtable.type": true,
	"memtable.bulk.merge_threshold": true, "memtable.bulk.encode_row_threshold": true,
	"memtable.bulk.encode_bytes_threshold": true, "memtable.bulk.max_merge_groups": true,
	"memtable.partition_tree.index_max_keys_per_shard": true,
	"memtable.partition_tree.data_freeze_threshold":    true,
	"memtable.partition_tree.fork_dictionary_bytes":    true,
	"append_mode": true, "merge_mode": true, "sst_format": true, "max_row_group_row_count": true,
	"physical_metric_table": true, "on_physical_table": true, "index.type": true,
	"index.granularity": true, "index.false_positive_rate": true, "primary_key_encoding": true,
	"memtable.partition_tree.primary_key_encoding": true,
	"comment": true, "skip_wal": true, "location": true, "format": true, "pattern": true,
	"table_data_model": true, "otlp_metric_compat": true, "repartition.column.hint": true,
	"timeout": true, "wait": true,
}

// sqlTableOptionKeys are the option keys the stand-in takes in CREATE
// TABLE: those a row insert's hints can set (tableOptionsFromHints), and
// compaction.type and compaction.override, which an insert sets or leaves
// alone itself.
var sqlTableOptionKeys = func() map[string]bool {
	m := map[string]bool{optAppendMode: true, optMergeMode: true, optTimeWindow: true, optCompactionType: true, optCompactionOverride: true}
	for _, k := range tableOptionKeys {
		m[k] = true
	}
	return m
}()

// optCompactionOverride is set on a table created with compaction.type
// (src/operator/src/expr_helper.rs:224-226).
const optCompactionOverride = "compaction.override"

// withOptions parses an optional WITH (key = value, ...) as
// parse_with_options does (src/sql/src/parsers/utils.rs:415-436): keys are
// identifiers or strings, lowercased (parse_option_string, src/sql/src/util.rs:176-186);
// values are literals or identifiers, kept as written (OptionValue,
// src/sql/src/util.rs:70-113; a NULL value is no option, OptionMap::to_str_map,
// src/sql/src/statements/option_map.rs:108-121); a key repeated keeps its last
// value; every key must be a valid table option (else 1004 "Unrecognized
// table option key", src/sql/src/error.rs:204-209, :382). Keys GreptimeDB
// accepts but the stand-in does not model are refused as unsupported.
func (p *sqlParser) withOptions() (map[string]string, *greptimeError) {
	opts := map[string]string{}
	if !p.accept("WITH") {
		return opts, nil
	}
	if !p.accept("(") {
		return nil, sqlparserExpected("(", p.peek())
	}
	type option struct {
		key, value string
		null       bool
	}
	var list []option
	var badValue string
	for !p.peek().is(")") {
		k := p.next()
		if k.kind != tokWord && k.kind != tokQuoted && k.kind != tokString {
			return nil, sqlparserExpected("identifier", k)
		}
		o := option{key: strings.ToLower(k.text)}
		if !p.accept("=") {
			return nil, sqlparserExpected("=", p.peek())
		}
		v := p.next()
		switch {
		case v.kind == tokString || v.kind == tokQuoted || v.kind == tokNumber:
			o.value = v.text
		case v.is("TRUE") || v.is("FALSE"):
			o.value = strings.ToLower(v.text)
		case v.is("NULL"):
			o.null = true
		case v.kind == tokWord:
			o.value = v.text
		case v.is("-") && p.peek().kind == tokNumber:
			// A negative number is an expression, not a value (OptionValue::try_new).
			if badValue == "" {
				badValue = "-" + p.peek().text
			}
			p.next()
		default:
			p.unread(v)
			return nil, p.unexpected("an option value")
		}
		if n := p.peek(); !n.is(",") && !n.is(")") {
			return nil, standinUnsupported("the option value expression starting %s (%s)", v, v.at())
		}
		list = append(list, o)
		if !p.accept(",") {
			break
		}
	}
	if !p.accept(")") {
		return nil, sqlparserExpected(")", p.peek())
	}
	if badValue != "" {
		// InvalidExprAsOptionValue (src/sql/src/error.rs:211-216, :375): 1004.
		return nil, newError(StatusInvalidArguments, "Invalid expr as option value, error: %s not accepted", badValue)
	}
	for _, o := range list {
		switch {
		case strings.HasPrefix(o.key, semanticOptionPrefix):
			return nil, standinUnsupported("the table option %s (semantic options)", o.key)
		case !validTableOptionKeys[o.key]:
			return nil, newError(StatusInvalidArguments, "Unrecognized table option key: %s", o.key)
		case !sqlTableOptionKeys[o.key]:
			return nil, standinUnsupported("the table option %s", o.key)
		}
		if o.null {
			delete(opts, o.key)
		} else {
			opts[o.key] = o.value
		}
	}
	return opts, nil
}

// alterStmt parses what follows ALTER (parse_alter, src/sql/src/parsers/alter_parser.rs:47-61,
// parse_alter_table, :113-): the stand-in runs ADD COLUMN only.
func (p *sqlParser) alterStmt() (sqlStmt, *greptimeError) {
	switch t := p.peek(); {
	case t.is("TABLE"):
		p.next()
	case t.is("DATABASE"):
		return nil, standinUnsupported("ALTER DATABASE")
	case t.kind == tokWord:
		return nil, greptimeExpected("DATABASE or TABLE after ALTER", t)
	default:
		return nil, unsupportedKeyword(t)
	}
	s := &alterTableStmt{}
	var gerr *greptimeError
	if s.name, gerr = p.ddlObjectName(false); gerr != nil {
		return nil, gerr
	}
	t := p.peek()
	if !t.is("ADD") {
		if t.kind == tokWord {
			return nil, standinUnsupported("ALTER TABLE ... %s", strings.ToUpper(t.text))
		}
		return nil, unsupportedKeyword(t)
	}
	// ADD followed by a table constraint is AddConstraint (alter_parser.rs:372-388).
	switch n := p.peekAt(1); {
	case n.is("CONSTRAINT"), n.is("PRIMARY"), n.is("UNIQUE"), n.is("FOREIGN"), n.is("CHECK"), n.is("INDEX"), n.is("KEY"):
		return nil, standinUnsupported("ALTER TABLE ... ADD %s", strings.ToUpper(n.text))
	}
	// parse_add_columns (src/sql/src/parsers/alter_parser.rs:698-722), comma separated (:384).
	for {
		if !p.accept("ADD") {
			return nil, sqlparserExpected("ADD", p.peek())
		}
		p.accept("COLUMN")
		a := addColumn{}
		if p.peek().is("IF") && p.peekAt(1).is("NOT") && p.peekAt(2).is("EXISTS") {
			p.pos += 3
			a.ifNotExists = true
		}
		if a.col, gerr = p.columnDef(false); gerr != nil {
			return nil, gerr
		}
		if n := p.peek(); n.is("FIRST") || n.is("AFTER") {
			return nil, standinUnsupported("ADD COLUMN ... %s (columns are added last)", strings.ToUpper(n.text))
		}
		s.adds = append(s.adds, a)
		if !p.accept(",") {
			break
		}
		if n := p.peek(); n.kind == tokEOF || n.is(";") {
			break // a trailing comma
		}
	}
	return s, p.statementEnd()
}

// qualify resolves a table name of one to three parts in the statement's
// catalog and schema (table_idents_to_full_name, src/session/src/table_name.rs:43-62).
func qualify(catalog, schema string, name []ident) (string, string, string) {
	switch len(name) {
	case 2:
		schema = name[0].value
	case 3:
		catalog, schema = name[0].value, name[1].value
	}
	return catalog, schema, name[len(name)-1].value
}

// createTable runs CREATE TABLE as GreptimeDB's StatementExecutor::create_table
// (src/operator/src/statement/ddl.rs:274-307) does: the statement becomes a
// CreateTableExpr (create_to_expr, src/operator/src/expr_helper.rs:209-251),
// then create_non_logic_table (src/operator/src/statement/ddl.rs:433-530)
// creates the table, which the datanode's region validates. It answers 0
// affected rows (src/operator/src/statement.rs:325-328).
func (st *Store) createTable(catalog, schema string, s *createTableStmt) (Result, *greptimeError) {
	catalog, schema, name := qualify(catalog, schema, s.name)

	// Table options parsed (TableOptions::try_from_iter, expr_helper.rs:219-222);
	// compaction.type sets compaction.override (:224-226).
	opts := maps.Clone(s.options)
	if gerr := checkTableOptions(opts); gerr != nil {
		return Result{}, gerr
	}
	if _, ok := opts[optCompactionType]; ok {
		opts[optCompactionOverride] = "true"
	}
	// find_time_index (expr_helper.rs:617-632) counts every TIME INDEX, the
	// same column named twice included.
	if len(s.timeIndex) != 1 {
		return Result{}, badSQL("must have one and only one TimeIndex columns")
	}
	ts := s.timeIndex[0].value
	// find_primary_keys (expr_helper.rs:568-615): IllegalPrimaryKeysDef
	// (src/operator/src/error.rs:454-459, :953) is 1004.
	var pk []string
	for _, c := range s.columns {
		if c.primaryKey {
			pk = append(pk, c.name.value)
		}
	}
	if len(pk) > 1 {
		return Result{}, newError(StatusInvalidArguments, "Illegal primary keys definition: not allowed to inline multiple primary keys in columns options")
	}
	if len(pk) > 0 && len(s.primaryKey) > 0 {
		return Result{}, newError(StatusInvalidArguments, "Illegal primary keys definition: found definitions of primary keys in multiple places")
	}
	for _, id := range s.primaryKey {
		pk = append(pk, id.value)
	}
	// columns_to_expr (expr_helper.rs:634-698, column_to_schema,
	// src/sql/src/statements.rs:98-122): the time index is NOT NULL, the
	// primary key's columns are tags.
	cols := make([]Column, 0, len(s.columns))
	for _, c := range s.columns {
		if gerr := c.typ.check(); gerr != nil {
			return Result{}, gerr
		}
		col := Column{Name: c.name.value, Type: c.typ.dt, JSON2: c.typ.json2, Semantic: greptimev1.SemanticType_FIELD, Nullable: !c.notNull}
		// validate_json2_columns_append_mode (src/operator/src/statement/ddl.rs:2441-2456, :2402):
		// InvalidSql, 1004 (src/operator/src/error.rs:217-222, :949).
		if col.JSON2 && opts[optAppendMode] != "true" {
			return Result{}, badSQL("JSON2 column `%s` requires append_mode='true'", col.Name)
		}
		switch {
		case col.Name == ts:
			col.Semantic, col.Nullable = greptimev1.SemanticType_TIMESTAMP, false
		case slices.Contains(pk, col.Name):
			col.Semantic = greptimev1.SemanticType_TAG
		}
		cols = append(cols, col)
	}
	if gerr := validateCreate(cols, ts, pk); gerr != nil {
		return Result{}, gerr
	}

	if gerr := definitionWritable(schema); gerr != nil {
		return Result{}, gerr
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	tables := st.schema(catalog, schema)
	// src/operator/src/statement/ddl.rs:442-457, src/operator/src/error.rs:320-325, :954.
	if tables == nil {
		return Result{}, newError(StatusInvalidArguments, "Failed to find schema, schema info: %s", schema)
	}
	// src/operator/src/statement/ddl.rs:459-482, src/operator/src/error.rs:34-39, :987-988.
	if tables[name] != nil {
		if s.ifNotExists {
			return Result{}, nil
		}
		return Result{}, newError(StatusTableAlreadyExists, "Table already exists: `%s.%s.%s`", catalog, schema, name)
	}
	// src/operator/src/statement/ddl.rs:485-490.
	if !ValidTableName(name) {
		return Result{}, newError(StatusInvalidArguments, "Invalid table name: %s", name)
	}
	// The region's options, checked by the datanode that creates it.
	if gerr := checkRegionOptions(opts); gerr != nil {
		return Result{}, gerr
	}
	return Result{}, st.addTable(tables, plannedCreate{name: name, cols: cols, ts: ts, pk: pk}, opts)
}

// definitionWritable refuses DDL in information_schema, GreptimeDB's
// read-only schema (ensure_table_definition_writable, src/operator/src/statement/ddl.rs:2486-2495,
// :2465-2479; is_readonly_schema, src/common/catalog/src/consts.rs:154-156):
// SchemaReadOnly, 1001 (src/operator/src/error.rs:341-346, :992). The
// system tables of greptime_private it also guards are not modelled.
func definitionWritable(schema string) *greptimeError {
	if schema == informationSchema {
		return newError(StatusUnsupported, "Schema `%s` is read-only", schema)
	}
	return nil
}

// check refuses a TIMESTAMP(p) GreptimeDB has no type for: SqlTypeNotSupported
// (src/sql/src/statements.rs:251-262, src/sql/src/error.rs:112-117, :364), 2000,
// with sqlparser's DataType in Rust's Debug form.
func (t sqlType) check() *greptimeError {
	if t.badPrecision != "" {
		return newError(StatusInvalidSyntax, "SQL data type not supported yet: Timestamp(Some(%s), None)", t.badPrecision)
	}
	return nil
}

// validateCreate is validate_create_expr (src/operator/src/expr_helper.rs:428-529):
// InvalidSql (src/operator/src/error.rs:217-222, :949), 1004.
func validateCreate(cols []Column, ts string, pk []string) *greptimeError {
	index := map[string]int{}
	for i, c := range cols {
		if j, dup := index[c.Name]; dup {
			return badSQL("column name `%s` is duplicated at index %d and %d", c.Name, j, i)
		}
		index[c.Name] = i
	}
	i, ok := index[ts]
	if !ok {
		return badSQL("column name `%s` is not found in column list", ts)
	}
	if !isTimestampType(cols[i].Type) {
		return badSQL("column `%s` is not a timestamp type, it can't be used as time index", ts)
	}
	for _, k := range pk {
		if _, ok := index[k]; !ok {
			return badSQL("column name `%s` is not found in column list", k)
		}
	}
	seen := map[string]bool{}
	for _, k := range pk {
		if seen[k] {
			return badSQL("column name `%s` is duplicated in primary keys", k)
		}
		seen[k] = true
	}
	if seen[ts] {
		return badSQL("column name `%s` is both primary key and time index", ts)
	}
	return nil
}

// alterTableAddColumns runs ALTER TABLE ... ADD COLUMN as GreptimeDB's
// StatementExecutor::alter_table does (src/operator/src/statement/ddl.rs:1519-1535,
// :1817-1936): the columns' types converted first (to_alter_table_expr,
// src/operator/src/expr_helper.rs:786-825; sql_column_def_to_grpc_column_def,
// src/sql/src/statements.rs:175-219: nullable unless NOT NULL, a PRIMARY KEY
// column a tag), then the table looked up, then checked as verify_alter
// (src/operator/src/statement/ddl.rs:2303-2355) and TableMeta::add_columns
// (src/table/src/metadata.rs:743-820) check it; the new columns are added
// as the insert path adds them (alterTable). It answers 0 affected rows,
// also when there is nothing to add (ddl.rs:1855-1857, :1935).
func (st *Store) alterTableAddColumns(catalog, schema string, s *alterTableStmt) (Result, *greptimeError) {
	catalog, schema, name := qualify(catalog, schema, s.name)
	for _, a := range s.adds {
		if gerr := a.col.typ.check(); gerr != nil {
			return Result{}, gerr
		}
	}
	if gerr := definitionWritable(schema); gerr != nil {
		return Result{}, gerr
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	t := st.schema(catalog, schema)[name]
	if t == nil {
		// src/operator/src/statement/ddl.rs:1839-1851, src/operator/src/error.rs:238-239, :1024.
		return Result{}, newError(StatusTableNotFound, "Table not found: %s.%s.%s", catalog, schema, name)
	}
	// Every column IF NOT EXISTS and there: nothing to do (ddl.rs:2328-2343).
	if !slices.ContainsFunc(s.adds, func(a addColumn) bool {
		_, there := t.Column(a.col.name.value)
		return !there || !a.ifNotExists
	}) {
		return Result{}, nil
	}
	// InvalidAlterRequest (src/table/src/error.rs:138-144, :214) is 1004,
	// ColumnExists (:62-68, :217) 4003.
	invalid := func(format string, args ...any) *greptimeError {
		return newError(StatusInvalidArguments, "Invalid alter table(%s) request: "+format, append([]any{name}, args...)...)
	}
	var add []*greptimev1.ColumnSchema
	seen := map[string]bool{}
	for _, a := range s.adds {
		col := a.col.name.value
		if c, there := t.Column(col); there {
			if !a.ifNotExists {
				return Result{}, newError(StatusTableColumnExists, "Column %s already exists in table %s", col, name)
			}
			if c.Type != a.col.typ.dt {
				return Result{}, invalid("column %s already exists with different type %s", col, concreteTypeName(c))
			}
			continue
		}
		if seen[col] {
			return Result{}, invalid("add column %s more than once", col)
		}
		seen[col] = true
		if a.col.notNull {
			return Result{}, invalid("no default value for column %s", col)
		}
		sem := greptimev1.SemanticType_FIELD
		if a.col.primaryKey {
			sem = greptimev1.SemanticType_TAG
		}
		add = append(add, &greptimev1.ColumnSchema{ColumnName: col, Datatype: a.col.typ.dt, SemanticType: sem})
	}
	return Result{}, alterTable(plannedAlter{t: t, cols: add})
}
