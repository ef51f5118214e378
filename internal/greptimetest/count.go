package greptimetest

import (
	"context"
	"fmt"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/greptime-events/greptimeeventsexporter/internal/protowalk"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// Count-only mode (Config.CountOnly) is a lightweight sink for load tests:
// storing millions of rows and decoding every value into generated messages
// would make the server, not the client under test, the bottleneck. The
// server then walks each request's protobuf wire bytes once: it decodes and
// checks the RequestHeader (database, basic auth) as GreptimeDB does
// (src/servers/src/grpc/greptime_handler.rs:90-95, :196-222), requires a row
// insert, counts the rows of each table and answers affected_rows. It
// stores nothing, creates no tables, checks neither schemas nor JSON values,
// ignores the hints, records no Call and does not apply injected faults or
// latency.

// Field numbers, taken from the generated descriptors.
var (
	fieldGreptimeRequestHeader     = fieldNumber(&greptimev1.GreptimeRequest{}, "header")
	fieldGreptimeRequestRowInserts = fieldNumber(&greptimev1.GreptimeRequest{}, "row_inserts")
	fieldRowInsertRequestsInserts  = fieldNumber(&greptimev1.RowInsertRequests{}, "inserts")
	fieldRowInsertRequestTable     = fieldNumber(&greptimev1.RowInsertRequest{}, "table_name")
	fieldRowInsertRequestRows      = fieldNumber(&greptimev1.RowInsertRequest{}, "rows")
	fieldRowsRows                  = fieldNumber(&greptimev1.Rows{}, "rows")
	// requestKinds are the fields of GreptimeRequest's oneof request.
	requestKinds = oneofFields(&greptimev1.GreptimeRequest{}, "request")
)

func fieldNumber(m proto.Message, name protoreflect.Name) protowire.Number {
	f := m.ProtoReflect().Descriptor().Fields().ByName(name)
	if f == nil {
		panic(fmt.Sprintf("greptimetest: %T has no field %s", m, name))
	}
	return f.Number()
}

func oneofFields(m proto.Message, name protoreflect.Name) map[protowire.Number]bool {
	o := m.ProtoReflect().Descriptor().Oneofs().ByName(name)
	if o == nil {
		panic(fmt.Sprintf("greptimetest: %T has no oneof %s", m, name))
	}
	out := map[protowire.Number]bool{}
	for i := range o.Fields().Len() {
		out[o.Fields().Get(i).Number()] = true
	}
	return out
}

// counts are the rows counted in count-only mode; Server.mu guards them.
type counts struct {
	calls  int64
	rows   int64
	tables map[string]map[string]int64 // schema -> table -> rows
}

// Counted returns, in count-only mode, how many Handle calls were answered
// with success and how many rows they carried in all.
func (s *Server) Counted() (calls, rows int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counted.calls, s.counted.rows
}

// CountedRows returns, in count-only mode, the rows counted for table name in
// database db ("" means "public"), 0 if none.
func (s *Server) CountedRows(db, name string) int64 {
	if db == "" {
		db = "public"
	}
	catalog, schema := parseDBName(db)
	if catalog != defaultCatalog {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counted.tables[schema][name]
}

// rawRequest is a request's wire bytes, read by countCodec without decoding.
type rawRequest struct{ b []byte }

// countCodec hands Handle's request bytes over undecoded and marshals the
// responses with gRPC's proto codec.
type countCodec struct{ proto encoding.CodecV2 }

func (c countCodec) Marshal(v any) (mem.BufferSlice, error) { return c.proto.Marshal(v) }

func (c countCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*rawRequest); ok {
		r.b = data.Materialize()
		return nil
	}
	return c.proto.Unmarshal(data, v)
}

// Name is "proto": requests and responses are ordinary protobuf.
func (countCodec) Name() string { return "proto" }

// countServiceDesc serves greptime.v1.GreptimeDatabase/Handle in count-only mode.
var countServiceDesc = grpc.ServiceDesc{
	ServiceName: "greptime.v1.GreptimeDatabase",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Handle",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var req rawRequest
			if err := dec(&req); err != nil {
				return nil, err
			}
			return srv.(*Server).count(ctx, req.b)
		},
	}},
	Metadata: "greptime/v1/database.proto",
}

// tableRows is one RowInsertRequest as count sees it.
type tableRows struct {
	table string
	rows  int64
}

// count serves one Handle call in count-only mode.
func (s *Server) count(ctx context.Context, b []byte) (*greptimev1.GreptimeResponse, error) {
	if len(b) > s.maxRecv {
		return nil, (&greptimeError{grpcCode: codes.OutOfRange, msg: fmt.Sprintf(
			"Error, decoded message length too large: found %d bytes, the limit is: %d bytes", len(b), s.maxRecv)}).send(ctx)
	}
	header := &greptimev1.RequestHeader{}
	var inserts []tableRows
	hasInserts, other := false, false
	err := protowalk.Fields(b, func(num protowire.Number, v []byte) error {
		switch num {
		case fieldGreptimeRequestHeader:
			return proto.UnmarshalOptions{Merge: true}.Unmarshal(v, header)
		case fieldGreptimeRequestRowInserts:
			hasInserts, other = true, false // the last oneof field wins, as in proto decoding
			inserts = inserts[:0]
			return protowalk.Fields(v, func(num protowire.Number, v []byte) error {
				if num != fieldRowInsertRequestsInserts {
					return nil
				}
				in, err := countInsert(v)
				inserts = append(inserts, in)
				return err
			})
		default:
			if requestKinds[num] { // another kind of request
				hasInserts, other = false, true
			}
			return nil
		}
	})
	if err != nil {
		return nil, newError(StatusInvalidArguments, "greptimetest: malformed GreptimeRequest: %v", err).send(ctx)
	}
	if !hasInserts && !other {
		return nil, newError(StatusInvalidArguments, "Invalid query: Expecting non-empty GreptimeRequest.").send(ctx)
	}
	if gerr := s.authenticate(header); gerr != nil {
		return nil, gerr.send(ctx)
	}
	if other {
		return nil, newError(StatusUnsupported, "greptimetest: only row inserts are supported").send(ctx)
	}

	catalog, schema := headerDB(header)
	var total int64
	for _, in := range inserts {
		total += in.rows
	}
	s.store.mu.Lock()
	known := s.store.schema(catalog, schema) != nil
	s.store.mu.Unlock()
	if total > 0 && !known {
		return nil, newError(StatusInvalidArguments, "Failed to find schema, schema info: %s", schema).send(ctx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counted.tables == nil {
		s.counted.tables = map[string]map[string]int64{}
	}
	tables := s.counted.tables[schema]
	if tables == nil {
		tables = map[string]int64{}
		s.counted.tables[schema] = tables
	}
	for _, in := range inserts {
		if in.rows > 0 { // inserts without rows are dropped, as in GreptimeDB (src/operator/src/insert.rs:266-271)
			tables[in.table] += in.rows
		}
	}
	s.counted.calls++
	s.counted.rows += total
	return &greptimev1.GreptimeResponse{Response: &greptimev1.GreptimeResponse_AffectedRows{
		AffectedRows: &greptimev1.AffectedRows{Value: uint32(total)},
	}}, nil
}

// countInsert reads a RowInsertRequest's table name and counts its rows.
func countInsert(b []byte) (tableRows, error) {
	var in tableRows
	err := protowalk.Fields(b, func(num protowire.Number, v []byte) error {
		switch num {
		case fieldRowInsertRequestTable:
			in.table = string(v)
		case fieldRowInsertRequestRows:
			return protowalk.Fields(v, func(num protowire.Number, _ []byte) error {
				if num == fieldRowsRows {
					in.rows++
				}
				return nil
			})
		}
		return nil
	})
	return in, err
}
