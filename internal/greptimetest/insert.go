package greptimetest

import (
	"errors"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonb"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

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
//     a failure fails the request and changes nothing (cited below);
//  2. tables: every insert is planned (create or alter) in request order, a
//     planning error changes nothing (src/operator/src/insert.rs:620-671); then
//     the creates run, then the alters, each on its own: a failure fails the
//     request, and the tables created or altered before it stay
//     (src/operator/src/insert.rs:701-715);
//  3. region writes: each insert is checked against its table and applied on
//     its own (src/operator/src/insert.rs:427-445, src/datanode/src/region_server.rs:516-547);
//     the call fails with the first failing insert's error in request order
//     (GreptimeDB's: the first in datanode order, see writeRegions) while the
//     others' rows are stored.
func (s *Server) process(req *greptimev1.GreptimeRequest, hints map[string]string) outcome {
	// The write-bytes limiter runs before the request is handled
	// (src/servers/src/grpc/database.rs:54-59) and counts whole KiB, the
	// request rounded up against the limit rounded up
	// (src/common/memory-manager/src/granularity.rs:61-70, manager.rs:87, :139-145).
	if s.maxWrite > 0 {
		if n := proto.Size(req); (n+1023)/1024 > (s.maxWrite+1023)/1024 {
			return fail(newError(StatusRateLimited, "Memory limit exceeded: requested %d bytes, limit %d bytes", n, s.maxWrite))
		}
	}
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
	// A SQL query skips the permission check here; the statement's own run
	// checks what it needs (src/frontend/src/instance/grpc.rs:74-88).
	if q, ok := req.GetRequest().(*greptimev1.GreptimeRequest_Query); ok {
		return s.query(req.GetHeader(), q.Query)
	}
	// Permissions are checked next (src/frontend/src/instance/grpc.rs:74-88);
	// the stand-in has none but DatabaseAccess (doc.go).
	ri, ok := req.GetRequest().(*greptimev1.GreptimeRequest_RowInserts)
	if !ok {
		return fail(newError(StatusUnsupported, "greptimetest: only row inserts and SQL queries are supported, got %T", req.GetRequest()))
	}
	// With a physical_table hint GreptimeDB writes through the metric engine
	// (src/frontend/src/instance/grpc.rs:92-99), which the stand-in does not model.
	if _, ok := hints[hintPhysicalTable]; ok {
		return fail(newError(StatusUnsupported, "greptimetest: the physical_table hint (metric engine) is not supported"))
	}
	if gerr := prepareJSON(ri.RowInserts.GetInserts()); gerr != nil {
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

	if gerr := st.createOrAlter(inserts, tables, schema, hints, s.noCreate); gerr != nil {
		return fail(gerr)
	}
	return st.writeRegions(inserts, tables, rejectedRegions, faultSubject{
		user:     req.GetHeader().GetAuthorization().GetBasic().GetUsername(),
		database: catalog + "-" + schema,
	})
}

// query runs a Handle call's SQL, as GreptimeDB's gRPC query path does: one
// statement only (src/frontend/src/instance/grpc.rs:108-123), whose answer
// must be a count of affected rows: a query's rows are refused by the
// Handle service (src/servers/src/grpc/database.rs:62-77).
func (s *Server) query(h *greptimev1.RequestHeader, q *greptimev1.QueryRequest) outcome {
	if q.GetQuery() == nil {
		// IncompleteGrpcRequest (src/frontend/src/instance/grpc.rs:109-111,
		// src/frontend/src/error.rs:95-100, :384-385).
		return fail(newError(StatusInvalidArguments, "Incomplete GRPC request: Missing field 'QueryRequest.query'"))
	}
	sql, ok := q.GetQuery().(*greptimev1.QueryRequest_Sql)
	if !ok {
		return fail(newError(StatusUnsupported, "greptimetest: only SQL queries are supported, got %T", q.GetQuery()))
	}
	catalog, schema := headerDB(h)
	results, err := s.store.ExecSQL(catalog+"-"+schema, sql.Sql)
	if err != nil {
		var gerr *greptimeError
		if !errors.As(err, &gerr) {
			gerr = newError(StatusInternal, "%v", err)
		}
		return fail(gerr)
	}
	if len(results) != 1 {
		// NotSupported (src/operator/src/error.rs:430).
		return fail(newError(StatusUnsupported, "Not supported: execute multiple statements in SQL query string through GRPC interface"))
	}
	if results[0].IsQuery() {
		return fail(&greptimeError{grpcCode: codes.Unimplemented, msg: "GreptimeDatabase::Handle for query"})
	}
	return outcome{resp: &greptimev1.GreptimeResponse{
		Header:   &greptimev1.ResponseHeader{Status: &greptimev1.Status{StatusCode: uint32(StatusSuccess)}},
		Response: &greptimev1.GreptimeResponse_AffectedRows{AffectedRows: &greptimev1.AffectedRows{Value: uint32(results[0].AffectedRows)}},
	}}
}

// prepareJSON turns the values of JSON columns into JSONB before anything
// else, as GreptimeDB's preprocess_row_insert_requests
// (src/operator/src/insert.rs:186; src/operator/src/req_convert/common.rs:40-106):
// JSON text in a JSON column is parsed with the jsonb crate's parse_value
// (jsonb 0.4.4, Cargo.lock), a value that is not a string is Unexpected,
// text it cannot parse is InvalidArguments. JSONB the client made (a Binary
// column with the JSON extension, as GreptimeDB's event recorder writes,
// src/common/event-recorder/src/event_table.rs:60-81) GreptimeDB stores
// unchecked; the stand-in decodes it and refuses what does not decode, so
// that a test fails on bytes GreptimeDB would store and break on at query
// time (see doc.go).
func prepareJSON(inserts []*greptimev1.RowInsertRequest) *greptimeError {
	for _, in := range inserts {
		rows := in.GetRows()
		for idx, col := range rows.GetSchema() {
			switch {
			case col.GetDatatype() == greptimev1.ColumnDataType_JSON:
				for _, r := range rows.GetRows() {
					if gerr := parseJSONText(r, idx); gerr != nil {
						return gerr
					}
				}
			case isJSONB(col):
				for _, r := range rows.GetRows() {
					if idx >= len(r.GetValues()) {
						continue
					}
					if b, ok := r.GetValues()[idx].GetValueData().(*greptimev1.Value_BinaryValue); ok {
						if _, err := jsonb.Decode(b.BinaryValue); err != nil {
							return newError(StatusInvalidArguments, "greptimetest: malformed JSONB in column %s (GreptimeDB would store it unchecked): %v", col.GetColumnName(), err)
						}
					}
				}
			}
		}
	}
	return nil
}

// parseJSONText turns the JSON text of the idx-th value of r into JSONB.
func parseJSONText(r *greptimev1.Row, idx int) *greptimeError {
	if idx >= len(r.GetValues()) || r.GetValues()[idx].GetValueData() == nil {
		return nil
	}
	sv, ok := r.GetValues()[idx].GetValueData().(*greptimev1.Value_StringValue)
	if !ok {
		return newError(StatusUnexpected, "Unexpected, violated: Expected to value data to be a string.")
	}
	doc, err := jsonb.Parse([]byte(sv.StringValue))
	if err != nil {
		// InvalidJsonFormat, src/operator/src/error.rs:823-828, :982.
		return newError(StatusInvalidArguments, "Invalid json text: %s", sv.StringValue)
	}
	r.GetValues()[idx].ValueData = &greptimev1.Value_BinaryValue{BinaryValue: doc}
	return nil
}
