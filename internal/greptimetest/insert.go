package greptimetest

import (
	"encoding/json"
	"slices"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"google.golang.org/protobuf/proto"
)

// outcome is what processing a request did.
type outcome struct {
	resp *greptimev1.GreptimeResponse
	err  *greptimeError
	// injected reports that err came from RejectTable or RejectTableStatus.
	injected bool
	// stored is how many rows were stored, also when err is set: region
	// writes are applied each on its own.
	stored int
}

// fail is an outcome that stored nothing.
func fail(err *greptimeError) outcome { return outcome{err: err} }

// process applies a request as GreptimeDB's frontend and datanodes do, in
// three stages:
//
//  1. request checks (hints, auth, request kind, JSON values, row lengths):
//     a failure fails the request and changes nothing;
//  2. tables: every insert is planned (create or alter) in request order, a
//     planning error changes nothing; then the creates run, then the alters,
//     each on its own: a failure fails the request, and the tables created
//     or altered before it stay;
//  3. region writes: each insert is checked against its table and applied on
//     its own; the call fails with the first failing insert's error (in
//     request order) while the others' rows are stored.
func (s *Server) process(req *greptimev1.GreptimeRequest, hints map[string]string) outcome {
	// The read_preference hint must parse (src/servers/src/grpc/greptime_handler.rs:231-243;
	// ReadPreference accepts "leader" and "LEADER", src/common/session/src/lib.rs:26).
	if v, ok := hints[hintReadPref]; ok && v != "leader" && v != "LEADER" {
		return fail(newError(StatusInvalidArguments, "Unknown hint: %s=%s", hintReadPref, v))
	}
	// src/servers/src/grpc/greptime_handler.rs:90-92.
	if req.GetRequest() == nil {
		return fail(newError(StatusInvalidArguments, "Invalid query: Expecting non-empty GreptimeRequest."))
	}
	// src/servers/src/grpc/greptime_handler.rs:94-95.
	if gerr := s.authenticate(req.GetHeader()); gerr != nil {
		return fail(gerr)
	}
	// Permissions are checked next (src/frontend/src/instance/grpc.rs:74-88);
	// the stand-in has none (doc.go).
	ri, ok := req.GetRequest().(*greptimev1.GreptimeRequest_RowInserts)
	if !ok {
		return fail(newError(StatusUnsupported, "greptimetest: only row inserts are supported, got %T", req.GetRequest()))
	}
	// With a physical_table hint GreptimeDB writes through the metric engine
	// (src/frontend/src/instance/grpc.rs:92-99), which the stand-in does not model.
	if _, ok := hints[hintPhysicalTable]; ok {
		return fail(newError(StatusUnsupported, "greptimetest: the physical_table hint (metric engine) is not supported"))
	}
	if gerr := checkJSONValues(ri.RowInserts.GetInserts()); gerr != nil {
		return fail(gerr)
	}

	// Inserts without rows are dropped; they do not even create their table
	// (src/operator/src/insert.rs:266-271).
	var inserts []*greptimev1.RowInsertRequest
	for _, in := range ri.RowInserts.GetInserts() {
		if len(in.GetRows().GetRows()) > 0 {
			inserts = append(inserts, in)
		}
	}
	// validate_column_count_match (src/operator/src/insert.rs:272, :1215-1234).
	for _, in := range inserts {
		n := len(in.GetRows().GetSchema())
		for _, r := range in.GetRows().GetRows() {
			if len(r.GetValues()) != n {
				return fail(newError(StatusInvalidArguments, "Invalid InsertRequest, reason: column count mismatch, columns: %d, values: %d", n, len(r.GetValues())))
			}
		}
	}

	s.mu.Lock()
	var rejected *greptimeError
	for _, in := range inserts {
		if e, ok := s.rejected[in.GetTableName()]; ok {
			cp := *e
			rejected = &cp
			break
		}
	}
	rejectedRegions := make(map[string]Fault, len(s.rejectedRegions))
	for name, f := range s.rejectedRegions {
		rejectedRegions[name] = f
	}
	s.mu.Unlock()
	if rejected != nil {
		return outcome{err: rejected, injected: true}
	}

	catalog, schema := headerDB(req.GetHeader())
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	tables := st.schema(catalog, schema)

	if gerr := st.createOrAlter(inserts, tables, schema, hints); gerr != nil {
		return fail(gerr)
	}
	return st.writeRegions(inserts, tables, rejectedRegions, faultSubject{
		user:     req.GetHeader().GetAuthorization().GetBasic().GetUsername(),
		database: catalog + "-" + schema,
	})
}

// checkJSONValues parses the values of JSON columns before anything else
// (preprocess_row_insert_requests, src/operator/src/insert.rs:186;
// src/operator/src/req_convert/common.rs:40-52 and :74-106): a value that is
// not a string is Unexpected, invalid JSON text is InvalidArguments.
func checkJSONValues(inserts []*greptimev1.RowInsertRequest) *greptimeError {
	for _, in := range inserts {
		rows := in.GetRows()
		for idx, col := range rows.GetSchema() {
			if col.GetDatatype() != greptimev1.ColumnDataType_JSON {
				continue
			}
			for _, r := range rows.GetRows() {
				if idx >= len(r.GetValues()) || r.GetValues()[idx].GetValueData() == nil {
					continue
				}
				sv, ok := r.GetValues()[idx].GetValueData().(*greptimev1.Value_StringValue)
				if !ok {
					return newError(StatusUnexpected, "Unexpected, violated: Expected to value data to be a string.")
				}
				if !json.Valid([]byte(sv.StringValue)) {
					return newError(StatusInvalidArguments, "Invalid json text: %s", sv.StringValue)
				}
			}
		}
	}
	return nil
}

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
func (st *Store) createOrAlter(inserts []*greptimev1.RowInsertRequest, tables map[string]*table, schema string, hints map[string]string) *greptimeError {
	autoCreate := true
	if v, ok := hints[hintAutoCreate]; ok {
		// src/operator/src/insert.rs:496-519.
		b, err := parseRustBool(v)
		if err != nil {
			return newError(StatusInvalidArguments, "Invalid InsertRequest, reason: `auto_create_table` hint must be a boolean")
		}
		autoCreate = b
	}
	if !autoCreate {
		// With auto-create disabled every table must exist, and none is
		// altered: an insert's new columns then fail at its region as unknown
		// (src/operator/src/insert.rs:579-611).
		for _, in := range inserts {
			if tables[in.GetTableName()] == nil {
				return newError(StatusInvalidArguments, "Invalid InsertRequest, reason: Table `%s` does not exist, and `auto_create_table` hint is disabled", in.GetTableName())
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

// writeRegions checks and applies each insert's region write on its own:
// GreptimeDB sends a request's region writes to their datanodes concurrently
// (do_request, src/operator/src/insert.rs:389-457: one spawn_global task per
// datanode at :434, try_join_all at :443), and a datanode runs each region
// write as a task of its own (handle_requests_in_parallel,
// src/datanode/src/region_server.rs:516-561, spawn_ingest at :238), so a
// failing region write does not undo the others. The call answers with a
// failing write's error: GreptimeDB's is the first to fail in time (or
// datanode order), the stand-in's the first in request order. st.mu held.
func (st *Store) writeRegions(inserts []*greptimev1.RowInsertRequest, tables map[string]*table, rejected map[string]Fault, sub faultSubject) outcome {
	var out outcome
	var affected uint32
	for _, in := range inserts {
		t := tables[in.GetTableName()]
		if t == nil {
			// Every table exists by now; RowToRegion would fail with TableNotFound
			// (src/operator/src/req_convert/insert/row_to_region.rs:78-82).
			if out.err == nil {
				out.err = newError(StatusTableNotFound, "Table not found: %s", in.GetTableName())
			}
			continue
		}
		if t.instant() {
			// A ttl=instant table's rows are dropped at the frontend, unchecked
			// and not counted (src/operator/src/insert.rs:428, :443-450).
			continue
		}
		var gerr *greptimeError
		var rows []map[string]any
		if f, ok := rejected[t.Name]; ok {
			sub.table, sub.tableID = t.Name, t.id
			gerr = f.err(sub)
			if out.err == nil {
				out.injected = true // the error answered is the injected one
			}
		} else {
			rows, gerr = checkRegionWrite(t, in.GetRows())
		}
		if gerr != nil {
			if out.err == nil {
				out.err = gerr
			}
			continue
		}
		for _, r := range rows {
			t.put(r)
		}
		out.stored += len(rows)
		affected += uint32(len(rows))
	}
	if out.err != nil {
		return out
	}
	out.resp = &greptimev1.GreptimeResponse{
		Header:   &greptimev1.ResponseHeader{Status: &greptimev1.Status{StatusCode: uint32(StatusSuccess)}},
		Response: &greptimev1.GreptimeResponse_AffectedRows{AffectedRows: &greptimev1.AffectedRows{Value: affected}},
	}
	return out
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
	col := Column{Name: c.GetColumnName(), Type: c.GetDatatype(), Semantic: c.GetSemanticType(), Nullable: nullable}
	if ext := c.GetDatatypeExtension(); ext != nil {
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
