package greptimetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"google.golang.org/protobuf/proto"
)

// authenticate checks RequestHeader.authorization as GreptimeDB's gRPC
// context_auth::auth with a static user provider does. The gRPC "authorization"
// metadata is not consulted, as GreptimeDB's Handle does not.
func (s *Server) authenticate(h *greptimev1.RequestHeader) *greptimeError {
	if len(s.users) == 0 {
		return nil
	}
	auth := h.GetAuthorization()
	if auth == nil || auth.GetAuthScheme() == nil {
		return newError(StatusAuthHeaderNotFound, "Not found http or grpc authorization header")
	}
	basic := auth.GetBasic()
	if basic == nil {
		return newError(StatusInvalidAuthHeader, "Unsupported http auth scheme, name: Token AuthScheme")
	}
	user := basic.GetUsername()
	if user == "" {
		return newError(StatusInvalidArguments, "Illegal param: blank username")
	}
	want, ok := s.users[user]
	if !ok {
		return newError(StatusUserNotFound, "User not found, username: %s", user)
	}
	if basic.GetPassword() == "" {
		return newError(StatusInvalidArguments, "Illegal param: blank password")
	}
	if basic.GetPassword() != want {
		return newError(StatusUserPasswordMismatch, "Username and password does not match, username: %s", user)
	}
	return nil
}

// plan is the schema a table will have once the request is applied.
type plan struct {
	name    string
	isNew   bool
	stored  *table // existing table, nil when isNew
	id      uint32
	cols    []Column
	ts      string
	pk      []string
	options map[string]string
}

func (p *plan) col(name string) (Column, int) {
	for i, c := range p.cols {
		if c.Name == name {
			return c, i
		}
	}
	return Column{}, -1
}

type alter struct {
	p    *plan
	cols []*greptimev1.ColumnSchema
}

func badSQL(format string, args ...any) *greptimeError {
	return newError(StatusInvalidArguments, "Invalid SQL, error: "+format, args...)
}

// checkColumnType rejects the column types GreptimeDB refuses in auto-created or auto-added columns.
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

// rustName renders a proto enum name the way Rust's Debug shows a prost enum (INT64 -> Int64).
func rustName(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "_") {
		if part == "" {
			continue
		}
		b.WriteString(part[:1])
		b.WriteString(strings.ToLower(part[1:]))
	}
	return b.String()
}

// concreteTypeName approximates the Debug form of GreptimeDB's ConcreteDataType of a stored column.
func concreteTypeName(c Column) string {
	switch c.Type {
	case greptimev1.ColumnDataType_JSON:
		return "Json(JsonType { format: Jsonb })"
	case greptimev1.ColumnDataType_TIMESTAMP_SECOND, greptimev1.ColumnDataType_TIMESTAMP_MILLISECOND,
		greptimev1.ColumnDataType_TIMESTAMP_MICROSECOND, greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND:
		unit := strings.TrimPrefix(rustName(c.Type.String()), "Timestamp")
		return fmt.Sprintf("Timestamp(%s(Timestamp%sType))", unit, unit)
	}
	n := rustName(c.Type.String())
	return fmt.Sprintf("%s(%sType)", n, n)
}

// process applies a request with GreptimeDB's checks, all-or-nothing. The third
// result reports that the failure came from RejectTable.
func (s *Server) process(req *greptimev1.GreptimeRequest, hints map[string]string) (*greptimev1.GreptimeResponse, *greptimeError, bool) {
	catalog, schema := headerDB(req.GetHeader())
	if v, ok := hints[hintReadPref]; ok && !strings.EqualFold(v, "leader") {
		return nil, newError(StatusInvalidArguments, "Unknown hint: %s=%s", hintReadPref, v), false
	}
	if req.GetRequest() == nil {
		return nil, newError(StatusInvalidArguments, "Invalid query: Expecting non-empty GreptimeRequest."), false
	}
	if gerr := s.authenticate(req.GetHeader()); gerr != nil {
		return nil, gerr, false
	}
	ri, ok := req.GetRequest().(*greptimev1.GreptimeRequest_RowInserts)
	if !ok {
		return nil, newError(StatusUnsupported, "greptimetest: only row inserts are supported, got %T", req.GetRequest()), false
	}
	if _, ok := hints[hintPhysicalTable]; ok {
		return nil, newError(StatusUnsupported, "greptimetest: the physical_table hint (metric engine) is not supported"), false
	}

	// JSON values are parsed before anything else (preprocess_row_insert_requests).
	for _, in := range ri.RowInserts.GetInserts() {
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
					return nil, newError(StatusUnexpected, "Unexpected, violated: Expected to value data to be a string."), false
				}
				if !json.Valid([]byte(sv.StringValue)) {
					return nil, newError(StatusInvalidArguments, "Invalid json text: %s", sv.StringValue), false
				}
			}
		}
	}

	// Requests without rows are dropped; they do not even create their table.
	var inserts []*greptimev1.RowInsertRequest
	for _, in := range ri.RowInserts.GetInserts() {
		if len(in.GetRows().GetRows()) > 0 {
			inserts = append(inserts, in)
		}
	}
	for _, in := range inserts {
		n := len(in.GetRows().GetSchema())
		for _, r := range in.GetRows().GetRows() {
			if len(r.GetValues()) != n {
				return nil, newError(StatusInvalidArguments, "Invalid InsertRequest, reason: column count mismatch, columns: %d, values: %d", n, len(r.GetValues())), false
			}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	for _, in := range inserts {
		if e, ok := s.rejected[in.GetTableName()]; ok {
			cp := *e
			return nil, &cp, true
		}
	}

	autoCreate := true
	if v, ok := hints[hintAutoCreate]; ok {
		b, err := parseRustBool(v)
		if err != nil {
			return nil, newError(StatusInvalidArguments, "Invalid InsertRequest, reason: `auto_create_table` hint must be a boolean"), false
		}
		autoCreate = b
	}
	var tables map[string]*table
	if catalog == defaultCatalog {
		tables = s.dbs[schema]
	}

	// Plan creates and alters (create_or_alter_tables_on_demand).
	plans := map[string]*plan{}
	var creates []*plan
	var alters []alter
	for _, in := range inserts {
		name := in.GetTableName()
		p := plans[name]
		if p == nil {
			if t := tables[name]; t != nil {
				p = &plan{name: name, stored: t, id: t.id, cols: slices.Clone(t.Columns), ts: t.TimeIndex, pk: slices.Clone(t.PrimaryKey), options: t.Options}
				plans[name] = p
			}
		}
		if p != nil {
			var add []*greptimev1.ColumnSchema
			seen := map[string]bool{}
			for _, c := range in.GetRows().GetSchema() {
				if _, i := p.col(c.GetColumnName()); i >= 0 {
					continue
				}
				if seen[c.GetColumnName()] {
					return nil, newError(StatusInvalidArguments, "Duplicated column name in gRPC requests, name: %s", c.GetColumnName()), false
				}
				seen[c.GetColumnName()] = true
				add = append(add, c)
			}
			for _, c := range add {
				if gerr := checkColumnType(c); gerr != nil {
					return nil, gerr, false
				}
			}
			if len(add) > 0 {
				alters = append(alters, alter{p: p, cols: add})
			}
			continue
		}
		if !autoCreate {
			return nil, newError(StatusInvalidArguments, "Invalid InsertRequest, reason: Table `%s` does not exist, and `auto_create_table` hint is disabled", name), false
		}
		p, gerr := planCreate(name, in.GetRows().GetSchema())
		if gerr != nil {
			return nil, gerr, false
		}
		plans[name] = p
		creates = append(creates, p)
		// A later insert into the same new table in this request alters the planned table.
	}

	// Execute creates, then alters.
	for _, p := range creates {
		if tables == nil {
			return nil, newError(StatusInvalidArguments, "Failed to find schema, schema info: %s", schema), false
		}
		if !ValidTableName(p.name) {
			return nil, newError(StatusInvalidArguments, "Invalid table name: %s", p.name), false
		}
		opts, gerr := tableOptionsFromHints(hints)
		if gerr != nil {
			return nil, gerr, false
		}
		p.options = opts
		for _, c := range p.cols {
			if internalColumns[c.Name] {
				return nil, newError(StatusInvalidArguments, "Invalid metadata, %s is internal column name that can not be used", c.Name), false
			}
		}
	}
	for _, a := range alters {
		for _, c := range a.cols {
			if internalColumns[c.GetColumnName()] {
				return nil, newError(StatusInvalidArguments, "Invalid metadata, %s is internal column name that can not be used", c.GetColumnName()), false
			}
			if c.GetSemanticType() == greptimev1.SemanticType_TIMESTAMP {
				return nil, newError(StatusInvalidArguments, "Invalid metadata, expect only one time index, found 2: %s, %s", a.p.ts, c.GetColumnName()), false
			}
			a.p.cols = append(a.p.cols, columnFrom(c, true))
			if c.GetSemanticType() == greptimev1.SemanticType_TAG {
				a.p.pk = append(a.p.pk, c.GetColumnName())
			}
		}
	}

	// Region writes (mito WriteRequest::new and check_schema), decoded for storing.
	nextID := s.nextTableID
	for _, p := range creates {
		p.id = nextID
		nextID++
	}
	type write struct {
		p    *plan
		rows []map[string]any
	}
	writes := make([]write, 0, len(inserts))
	var affected uint32
	for _, in := range inserts {
		p := plans[in.GetTableName()]
		rows, gerr := checkRegionWrite(p, in.GetRows())
		if gerr != nil {
			return nil, gerr, false
		}
		writes = append(writes, write{p: p, rows: rows})
		affected += uint32(len(rows))
	}

	// Commit.
	s.nextTableID = nextID
	for _, p := range creates {
		tables[p.name] = &table{Table: Table{
			Name: p.name, Columns: p.cols, TimeIndex: p.ts, PrimaryKey: p.pk, Options: p.options,
		}, id: p.id}
	}
	for _, a := range alters {
		if t := a.p.stored; t != nil {
			t.Columns, t.PrimaryKey = a.p.cols, a.p.pk
		} else {
			t := tables[a.p.name]
			t.Columns, t.PrimaryKey = a.p.cols, a.p.pk
		}
	}
	for _, w := range writes {
		t := tables[w.p.name]
		for _, r := range w.rows {
			t.put(r)
		}
	}

	return &greptimev1.GreptimeResponse{
		Header:   &greptimev1.ResponseHeader{Status: &greptimev1.Status{StatusCode: uint32(StatusSuccess)}},
		Response: &greptimev1.GreptimeResponse_AffectedRows{AffectedRows: &greptimev1.AffectedRows{Value: affected}},
	}, nil, false
}

// planCreate builds the table a first insert creates (build_create_table_expr, validate_create_expr).
func planCreate(name string, schema []*greptimev1.ColumnSchema) (*plan, *greptimeError) {
	seen := map[string]bool{}
	for _, c := range schema {
		if seen[c.GetColumnName()] {
			return nil, newError(StatusInvalidArguments, "Duplicated column name in gRPC requests, name: %s", c.GetColumnName())
		}
		seen[c.GetColumnName()] = true
	}
	p := &plan{name: name, isNew: true}
	for _, c := range schema {
		nullable := true
		switch c.GetSemanticType() {
		case greptimev1.SemanticType_TAG:
			p.pk = append(p.pk, c.GetColumnName())
		case greptimev1.SemanticType_TIMESTAMP:
			if p.ts != "" {
				return nil, newError(StatusInvalidArguments, "Duplicated timestamp column in gRPC requests, exists %s, duplicated: %s", p.ts, c.GetColumnName())
			}
			p.ts = c.GetColumnName()
			nullable = false
		}
		if _, known := greptimev1.ColumnDataType_name[int32(c.GetDatatype())]; !known {
			return nil, newError(StatusInvalidArguments, "Unknown proto column datatype: %d", int32(c.GetDatatype()))
		}
		p.cols = append(p.cols, columnFrom(c, nullable))
	}
	if p.ts == "" {
		return nil, newError(StatusInvalidArguments, "Missing timestamp column, msg: table is %s", name)
	}
	if tsCol, _ := p.col(p.ts); !isTimestampType(tsCol.Type) {
		return nil, badSQL("column `%s` is not a timestamp type, it can't be used as time index", p.ts)
	}
	for _, c := range schema {
		if gerr := checkColumnType(c); gerr != nil {
			return nil, gerr
		}
	}
	return p, nil
}

// checkRegionWrite validates rows against the planned table as mito's
// WriteRequest::new and check_schema do, and decodes them.
func checkRegionWrite(p *plan, rows *greptimev1.Rows) ([]map[string]any, *greptimeError) {
	regionErr := func(format string, args ...any) *greptimeError {
		id := uint64(p.id) << 32
		return newError(StatusInvalidArguments, "Invalid request to region %d(%d, 0), reason: %s", id, p.id, fmt.Sprintf(format, args...))
	}
	schema := rows.GetSchema()
	index := make(map[string]int, len(schema))
	for i, c := range schema {
		if _, dup := index[c.GetColumnName()]; dup {
			return nil, regionErr("duplicate column %s", c.GetColumnName())
		}
		index[c.GetColumnName()] = i
	}
	hasNull := make([]bool, len(schema))
	for _, r := range rows.GetRows() {
		for i, v := range r.GetValues() {
			kind, ok := valueKind(v)
			if !ok {
				hasNull[i] = true
				continue
			}
			ct := schema[i].GetDatatype()
			match := kind == ct ||
				(ct == greptimev1.ColumnDataType_JSON && kind == greptimev1.ColumnDataType_STRING) || // sent as text, stored as JSONB
				(ct == greptimev1.ColumnDataType_JSON || ct == greptimev1.ColumnDataType_VECTOR) && kind == greptimev1.ColumnDataType_BINARY
			if !match {
				return nil, regionErr("value has type %s, but column %s has type %s(%d)", rustName(kind.String()), schema[i].GetColumnName(), rustName(ct.String()), int32(ct))
			}
		}
	}
	for _, col := range p.cols {
		i, ok := index[col.Name]
		if !ok {
			if !col.Nullable {
				return nil, regionErr("missing column %s", col.Name)
			}
			continue
		}
		in := schema[i]
		if !sameType(col, in) {
			return nil, regionErr("column %s expect type %s, given: %s(%d)", col.Name, concreteTypeName(col), in.GetDatatype().String(), int32(in.GetDatatype()))
		}
		if in.GetSemanticType() != col.Semantic {
			return nil, regionErr("column %s has semantic type %s, given: %s(%d)", col.Name, rustName(col.Semantic.String()), in.GetSemanticType().String(), int32(in.GetSemanticType()))
		}
		if hasNull[i] && !col.Nullable {
			return nil, regionErr("column %s is not null but input has null", col.Name)
		}
	}
	for name := range index {
		if _, i := p.col(name); i < 0 {
			return nil, regionErr("unknown columns: [%q]", name)
		}
	}

	out := make([]map[string]any, 0, len(rows.GetRows()))
	for _, r := range rows.GetRows() {
		m := make(map[string]any, len(p.cols))
		for _, col := range p.cols {
			m[col.Name] = nil
		}
		for i, v := range r.GetValues() {
			dv, err := DecodeValue(schema[i].GetDatatype(), v)
			if err != nil {
				return nil, newError(StatusInvalidArguments, "Invalid json text: %s", v.GetStringValue())
			}
			m[schema[i].GetColumnName()] = dv
		}
		out = append(out, m)
	}
	return out, nil
}
