package greptimetest

import (
	"slices"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"google.golang.org/protobuf/proto"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// plannedCreate is a table an insert would create.
type plannedCreate struct {
	name string
	cols []Column
	ts   string
	pk   []string
}

// plannedAlter adds an insert's new columns to an existing table.
type plannedAlter struct {
	t    *table
	cols []*greptimev1.ColumnSchema
}

// createOrAlter creates the missing tables and adds the new columns of
// existing ones, as create_or_alter_tables_on_demand does
// (src/operator/src/insert.rs:562-848); st.mu held.
func (st *Store) createOrAlter(inserts []*greptimev1.RowInsertRequest, tables map[string]*table, schema string, hints map[string]string, frontendDisabled bool) *greptimeError {
	autoCreate, reason := true, "`auto_create_table` hint is disabled"
	if v, ok := hints[hintAutoCreate]; ok {
		// src/operator/src/insert.rs:496-519.
		b, err := parseRustBool(v)
		if err != nil {
			return newError(StatusInvalidArguments, "Invalid InsertRequest, reason: `auto_create_table` hint must be a boolean")
		}
		autoCreate = b
	}
	if frontendDisabled {
		// The frontend's option bounds the hint (src/operator/src/insert.rs:496-515).
		autoCreate, reason = false, "auto-create table is disabled by frontend config"
	}
	if !autoCreate {
		// With auto-create disabled every table must exist, and none is
		// altered: an insert's new columns then fail at its region as unknown
		// (src/operator/src/insert.rs:579-611).
		for _, in := range inserts {
			if tables[in.GetTableName()] == nil {
				return newError(StatusInvalidArguments, "Invalid InsertRequest, reason: Table `%s` does not exist, and %s", in.GetTableName(), reason)
			}
		}
		return nil
	}

	// Plan, in request order (src/operator/src/insert.rs:620-666). Every
	// insert into a missing table plans a create of its own from its own
	// schema: the table is looked up as it was before the request.
	var creates []plannedCreate
	var alters []plannedAlter
	for _, in := range inserts {
		name := in.GetTableName()
		if t := tables[name]; t != nil {
			add, gerr := planAlter(t, in.GetRows().GetSchema())
			if gerr != nil {
				return gerr
			}
			if len(add) > 0 {
				alters = append(alters, plannedAlter{t: t, cols: add})
			}
			continue
		}
		c, gerr := planCreate(name, in.GetRows().GetSchema())
		if gerr != nil {
			return gerr
		}
		creates = append(creates, c)
	}

	// Creates, then alters, each on its own (src/operator/src/insert.rs:701-714):
	// a failure ends the request, what ran before it stays.
	for _, c := range creates {
		if gerr := st.create(tables, schema, c, hints); gerr != nil {
			return gerr
		}
	}
	for _, a := range alters {
		if gerr := alterTable(a); gerr != nil {
			return gerr
		}
	}
	return nil
}

// planCreate builds the table a first insert creates (build_create_table_expr,
// src/common/grpc-expr/src/util.rs:99-191, and validate_create_expr,
// src/operator/src/expr_helper.rs:429-529, called at
// src/operator/src/expr_helper.rs:87-105).
func planCreate(name string, schema []*greptimev1.ColumnSchema) (plannedCreate, *greptimeError) {
	p := plannedCreate{name: name}
	seen := map[string]bool{}
	for _, c := range schema {
		if seen[c.GetColumnName()] {
			return p, newError(StatusInvalidArguments, "Duplicated column name in gRPC requests, name: %s", c.GetColumnName())
		}
		seen[c.GetColumnName()] = true
	}
	for _, c := range schema {
		nullable := true
		switch c.GetSemanticType() {
		case greptimev1.SemanticType_TAG:
			p.pk = append(p.pk, c.GetColumnName())
		case greptimev1.SemanticType_TIMESTAMP:
			if p.ts != "" {
				return p, newError(StatusInvalidArguments, "Duplicated timestamp column in gRPC requests, exists %s, duplicated: %s", p.ts, c.GetColumnName())
			}
			p.ts = c.GetColumnName()
			nullable = false
		}
		if _, known := greptimev1.ColumnDataType_name[int32(c.GetDatatype())]; !known {
			return p, newError(StatusInvalidArguments, "Unknown proto column datatype: %d", int32(c.GetDatatype()))
		}
		p.cols = append(p.cols, columnFrom(c, nullable))
	}
	if p.ts == "" {
		return p, newError(StatusInvalidArguments, "Missing timestamp column, msg: table is %s", name)
	}
	if tsCol, _ := columnNamed(p.cols, p.ts); !isTimestampType(tsCol.Type) {
		return p, badSQL("column `%s` is not a timestamp type, it can't be used as time index", p.ts)
	}
	for _, c := range schema {
		if gerr := checkColumnType(c); gerr != nil {
			return p, gerr
		}
	}
	return p, nil
}

// planAlter returns the columns of schema that t lacks (extract_new_columns,
// src/common/grpc-expr/src/util.rs:196-238, and validate_add_columns_expr,
// src/operator/src/expr_helper.rs:531-553).
func planAlter(t *table, schema []*greptimev1.ColumnSchema) ([]*greptimev1.ColumnSchema, *greptimeError) {
	var add []*greptimev1.ColumnSchema
	seen := map[string]bool{}
	for _, c := range schema {
		if _, ok := t.Column(c.GetColumnName()); ok {
			continue
		}
		if seen[c.GetColumnName()] {
			return nil, newError(StatusInvalidArguments, "Duplicated column name in gRPC requests, name: %s", c.GetColumnName())
		}
		seen[c.GetColumnName()] = true
		add = append(add, c)
	}
	for _, c := range add {
		if gerr := checkColumnType(c); gerr != nil {
			return nil, gerr
		}
	}
	return add, nil
}

// create runs one planned create as create_non_logic_table does
// (src/operator/src/statement/ddl.rs:433-530); st.mu held.
func (st *Store) create(tables map[string]*table, schema string, c plannedCreate, hints map[string]string) *greptimeError {
	// src/operator/src/statement/ddl.rs:442-457.
	if tables == nil {
		return newError(StatusInvalidArguments, "Failed to find schema, schema info: %s", schema)
	}
	// The create is "if not exists" (src/common/grpc-expr/src/util.rs:186): a
	// table created by an earlier insert of the same request is kept as it
	// is (src/operator/src/statement/ddl.rs:459-472), and this insert's
	// extra columns are unknown to its region.
	if tables[c.name] != nil {
		return nil
	}
	// src/operator/src/statement/ddl.rs:485-490.
	if !ValidTableName(c.name) {
		return newError(StatusInvalidArguments, "Invalid table name: %s", c.name)
	}
	// Table options (src/operator/src/statement/ddl.rs:2399), region options
	// and metadata (checked when the datanode creates the region).
	opts, gerr := tableOptionsFromHints(hints)
	if gerr != nil {
		return gerr
	}
	return st.addTable(tables, c, opts)
}

// addTable stores the table c with options opts, once its region's metadata
// is valid; st.mu held.
func (st *Store) addTable(tables map[string]*table, c plannedCreate, opts map[string]string) *greptimeError {
	for _, col := range c.cols {
		if internalColumns[col.Name] {
			// src/store-api/src/metadata.rs:579-587.
			return newError(StatusInvalidArguments, "Invalid metadata, %s is internal column name that can not be used", col.Name)
		}
	}
	tables[c.name] = &table{Table: Table{
		Name: c.name, Columns: c.cols, TimeIndex: c.ts, PrimaryKey: c.pk, Options: opts,
	}, id: st.nextTableID}
	st.nextTableID++
	return nil
}

// alterTable adds a's columns that the table still lacks ("add if not
// exists", src/common/grpc-expr/src/util.rs:217) in one step: the new region
// metadata is validated as a whole (src/store-api/src/metadata.rs:463-480, :578-586).
func alterTable(a plannedAlter) *greptimeError {
	cols, pk := slices.Clone(a.t.Columns), slices.Clone(a.t.PrimaryKey)
	for _, c := range a.cols {
		if _, i := columnNamed(cols, c.GetColumnName()); i >= 0 {
			continue
		}
		if internalColumns[c.GetColumnName()] {
			return newError(StatusInvalidArguments, "Invalid metadata, %s is internal column name that can not be used", c.GetColumnName())
		}
		if c.GetSemanticType() == greptimev1.SemanticType_TIMESTAMP {
			return newError(StatusInvalidArguments, "Invalid metadata, expect only one time index, found 2: %s, %s", a.t.TimeIndex, c.GetColumnName())
		}
		cols = append(cols, columnFrom(c, true))
		if c.GetSemanticType() == greptimev1.SemanticType_TAG {
			pk = append(pk, c.GetColumnName())
		}
	}
	a.t.Columns, a.t.PrimaryKey = cols, pk
	return nil
}

func badSQL(format string, args ...any) *greptimeError {
	return newError(StatusInvalidArguments, "Invalid SQL, error: "+format, args...)
}

// checkColumnType rejects the column types GreptimeDB refuses in auto-created
// or auto-added columns (src/operator/src/expr_helper.rs:429-529, :531-553).
func checkColumnType(c *greptimev1.ColumnSchema) *greptimeError {
	dt := c.GetDatatype()
	if _, known := greptimev1.ColumnDataType_name[int32(dt)]; !known {
		return newError(StatusInvalidArguments, "Unknown proto column datatype: %d", int32(dt))
	}
	if dt == greptimev1.ColumnDataType_DATETIME {
		return badSQL("column name `%s` is datetime type, which is not supported, please use `timestamp` type instead", c.GetColumnName())
	}
	if isIntervalType(dt) {
		return badSQL("column name `%s` is interval type, which is not supported", c.GetColumnName())
	}
	return nil
}

func columnFrom(c *greptimev1.ColumnSchema, nullable bool) Column {
	col := Column{Name: c.GetColumnName(), Type: columnType(c), Semantic: c.GetSemanticType(), Nullable: nullable}
	if ext := c.GetDatatypeExtension(); ext != nil && col.Type != greptimev1.ColumnDataType_JSON {
		col.Extension = proto.Clone(ext).(*greptimev1.ColumnDataTypeExtension)
	}
	return col
}

// columnNamed returns the named column of cols and its index, -1 if absent.
func columnNamed(cols []Column, name string) (Column, int) {
	for i, c := range cols {
		if c.Name == name {
			return c, i
		}
	}
	return Column{}, -1
}
