package greptimetest

import (
	"fmt"
	"strings"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

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
	switch {
	case c.JSON2:
		return "Json(JsonType { format: Json2(Null) })"
	case c.Type == greptimev1.ColumnDataType_JSON:
		return "Json(JsonType { format: Jsonb })"
	case isTimestampType(c.Type):
		unit := strings.TrimPrefix(rustName(c.Type.String()), "Timestamp")
		return fmt.Sprintf("Timestamp(%s(Timestamp%sType))", unit, unit)
	}
	n := rustName(c.Type.String())
	return fmt.Sprintf("%s(%sType)", n, n)
}

// checkRegionWrite validates rows against table t as mito's
// WriteRequest::new (src/mito2/src/request.rs:91-142, validate_proto_value
// at :435-473) and check_schema (src/mito2/src/request.rs:181-269) do, and
// decodes them. Every failure is InvalidArguments (src/mito2/src/error.rs:239, :1431).
func checkRegionWrite(t *table, rows *greptimev1.Rows) ([]map[string]any, *greptimeError) {
	regionErr := func(format string, args ...any) *greptimeError {
		return newError(StatusInvalidArguments, "Invalid request to region %s, reason: %s", regionName(t.id), fmt.Sprintf(format, args...))
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
			ct := columnType(schema[i])
			match := kind == ct ||
				(ct == greptimev1.ColumnDataType_JSON && kind == greptimev1.ColumnDataType_STRING) || // sent as text, stored as JSONB
				(ct == greptimev1.ColumnDataType_JSON || ct == greptimev1.ColumnDataType_VECTOR) && kind == greptimev1.ColumnDataType_BINARY
			if !match {
				return nil, regionErr("value has type %s, but column %s has type %s(%d)", rustName(kind.String()), schema[i].GetColumnName(), rustName(ct.String()), int32(ct))
			}
		}
	}
	for _, col := range t.Columns {
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
	var unknown []string
	for _, c := range schema {
		if _, ok := t.Column(c.GetColumnName()); !ok {
			unknown = append(unknown, fmt.Sprintf("%q", c.GetColumnName()))
		}
	}
	if len(unknown) > 0 {
		// Rust's Debug of the names, in the request's order (GreptimeDB's is a HashMap's).
		return nil, regionErr("unknown columns: [%s]", strings.Join(unknown, ", "))
	}

	out := make([]map[string]any, 0, len(rows.GetRows()))
	for _, r := range rows.GetRows() {
		m := make(map[string]any, len(t.Columns))
		for _, col := range t.Columns {
			m[col.Name] = nil
		}
		for i, v := range r.GetValues() {
			dv, err := DecodeValue(columnType(schema[i]), v)
			if err != nil {
				return nil, regionErr("column %s: %v", schema[i].GetColumnName(), err)
			}
			m[schema[i].GetColumnName()] = dv
		}
		out = append(out, m)
	}
	return out, nil
}

// writeRegions checks and applies each insert's region write on its own:
// GreptimeDB sends a request's region writes to their datanodes concurrently
// (do_request, src/operator/src/insert.rs:389-457: one spawn_global task per
// datanode at :434, try_join_all at :443), and a datanode runs each region
// write as a task of its own (handle_requests_in_parallel,
// src/datanode/src/region_server.rs:516-561, spawn_ingest at :238), so a
// failing region write does not undo the others. The call answers with a
// failing write's error: GreptimeDB's is the first in the order of its
// datanodes (a HashMap's, src/operator/src/insert.rs:446-450, :459-490),
// within a datanode the first to fail in time; the stand-in's is the first
// in request order. st.mu held.
func (st *Store) writeRegions(inserts []*greptimev1.RowInsertRequest, tables map[string]*table, rejected map[string]Fault, sub faultSubject) outcome {
	var out outcome
	var affected uint32
	for _, in := range inserts {
		t := tables[in.GetTableName()] // createOrAlter made sure it exists
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
