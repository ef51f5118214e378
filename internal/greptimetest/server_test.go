package greptimetest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// ---- helpers ----

func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	require.NoError(t, err)
	t.Cleanup(s.Stop)
	return s
}

func dial(t *testing.T, addr string, creds credentials.TransportCredentials) greptimev1.GreptimeDatabaseClient {
	t.Helper()
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return greptimev1.NewGreptimeDatabaseClient(conn)
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func col(name string, dt greptimev1.ColumnDataType, sem greptimev1.SemanticType) *greptimev1.ColumnSchema {
	return &greptimev1.ColumnSchema{ColumnName: name, Datatype: dt, SemanticType: sem}
}

func str(s string) *greptimev1.Value {
	return &greptimev1.Value{ValueData: &greptimev1.Value_StringValue{StringValue: s}}
}

func i64(n int64) *greptimev1.Value {
	return &greptimev1.Value{ValueData: &greptimev1.Value_I64Value{I64Value: n}}
}

func tsns(n int64) *greptimev1.Value {
	return &greptimev1.Value{ValueData: &greptimev1.Value_TimestampNanosecondValue{TimestampNanosecondValue: n}}
}

func null() *greptimev1.Value { return &greptimev1.Value{} }

// eventSchema is the exporter's base schema: type (tag), payload (JSON field), timestamp (time index).
func eventSchema(extra ...*greptimev1.ColumnSchema) []*greptimev1.ColumnSchema {
	return append([]*greptimev1.ColumnSchema{
		col("type", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG),
		col("payload", greptimev1.ColumnDataType_JSON, greptimev1.SemanticType_FIELD),
		col("timestamp", greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, greptimev1.SemanticType_TIMESTAMP),
	}, extra...)
}

func insert(table string, schema []*greptimev1.ColumnSchema, rows ...[]*greptimev1.Value) *greptimev1.RowInsertRequest {
	r := &greptimev1.Rows{Schema: schema}
	for _, vals := range rows {
		r.Rows = append(r.Rows, &greptimev1.Row{Values: vals})
	}
	return &greptimev1.RowInsertRequest{TableName: table, Rows: r}
}

func event(typ, payload string, ts int64) []*greptimev1.Value {
	return []*greptimev1.Value{str(typ), str(payload), tsns(ts)}
}

type req struct {
	db, hints  string
	user, pass string
	inserts    []*greptimev1.RowInsertRequest
}

func (r req) build() *greptimev1.GreptimeRequest {
	h := &greptimev1.RequestHeader{Dbname: r.db}
	if r.user != "" || r.pass != "" {
		h.Authorization = &greptimev1.AuthHeader{AuthScheme: &greptimev1.AuthHeader_Basic{Basic: &greptimev1.Basic{Username: r.user, Password: r.pass}}}
	}
	return &greptimev1.GreptimeRequest{
		Header:  h,
		Request: &greptimev1.GreptimeRequest_RowInserts{RowInserts: &greptimev1.RowInsertRequests{Inserts: r.inserts}},
	}
}

type result struct {
	affected uint32
	err      error
	trailer  metadata.MD
}

func send(ctx context.Context, c greptimev1.GreptimeDatabaseClient, gr *greptimev1.GreptimeRequest, hints string, opts ...grpc.CallOption) result {
	if hints != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, HeaderHints, hints)
	}
	var tr metadata.MD
	resp, err := c.Handle(ctx, gr, append(opts, grpc.Trailer(&tr))...)
	return result{affected: resp.GetAffectedRows().GetValue(), err: err, trailer: tr}
}

func do(ctx context.Context, c greptimev1.GreptimeDatabaseClient, r req, opts ...grpc.CallOption) result {
	return send(ctx, c, r.build(), r.hints, opts...)
}

func requireOK(t *testing.T, res result) {
	t.Helper()
	require.NoError(t, res.err)
}

// requireStatus checks the gRPC code, the GreptimeDB trailers (want 0: none) and a message fragment.
func requireStatus(t *testing.T, res result, code codes.Code, want StatusCode, msg string) {
	t.Helper()
	require.Error(t, res.err)
	st, ok := status.FromError(res.err)
	require.True(t, ok, "not a status error: %v", res.err)
	assert.Equal(t, code, st.Code(), "message: %s", st.Message())
	assert.Contains(t, st.Message(), msg)
	if want == StatusSuccess {
		assert.Empty(t, res.trailer.Get(HeaderErrCode))
		return
	}
	assert.Equal(t, []string{strconv.Itoa(int(want))}, res.trailer.Get(HeaderErrCode))
	assert.NotEmpty(t, res.trailer.Get(HeaderErrRetryHint))
	assert.Empty(t, res.trailer.Get(HeaderErrMsg), "GreptimeDB's gRPC frontend sends no x-greptime-err-msg")
}

// ---- tests ----

func TestCreateTableWithHintOptions(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)

	res := do(ctx, c, req{
		db:    "public",
		hints: "ttl=2160h, append_mode=true, compaction.twcs.time_window=1d, read_preference=leader, bogus=1, auto_create_table=true",
		inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(),
			event("deploy", `{"body":"hello","attributes":{"k":1}}`, 100),
			event("alert", `[1,2]`, 200),
		)},
	})
	requireOK(t, res)
	assert.Equal(t, uint32(2), res.affected)

	assert.Equal(t, []string{"events"}, s.Tables("public"))
	assert.Equal(t, []string{"events"}, s.Tables("greptime-public"))
	tbl, ok := s.Table("public", "events")
	require.True(t, ok)
	assert.Equal(t, "timestamp", tbl.TimeIndex)
	assert.Equal(t, []string{"type"}, tbl.PrimaryKey)
	assert.Equal(t, map[string]string{
		"ttl": "2160h", "append_mode": "true",
		"compaction.twcs.time_window": "1d", "compaction.type": "twcs",
	}, tbl.Options)
	assert.True(t, tbl.AppendMode())
	require.Len(t, tbl.Columns, 3)
	assert.Equal(t, Column{Name: "timestamp", Type: greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, Semantic: greptimev1.SemanticType_TIMESTAMP}, tbl.Columns[2])
	assert.True(t, tbl.Columns[0].Nullable)
	require.Len(t, tbl.Rows, 2)
	assert.Equal(t, map[string]any{
		"type": "deploy", "timestamp": int64(100),
		"payload": map[string]any{"body": "hello", "attributes": map[string]any{"k": float64(1)}},
	}, tbl.Rows[0])
	assert.Equal(t, []any{float64(1), float64(2)}, tbl.Rows[1]["payload"])

	// Snapshots are deep copies.
	tbl.Rows[0]["payload"].(map[string]any)["body"] = "changed"
	tbl.Options["ttl"] = "1s"
	again, _ := s.Table("public", "events")
	assert.Equal(t, "hello", again.Rows[0]["payload"].(map[string]any)["body"])
	assert.Equal(t, "2160h", again.Options["ttl"])

	// Hints on later inserts do not change the table options.
	requireOK(t, do(ctx, c, req{hints: "ttl=1d", inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("x", `{}`, 300))}}))
	again, _ = s.Table("public", "events")
	assert.Equal(t, "2160h", again.Options["ttl"])
	assert.Equal(t, 3, s.RowCount("public", "events"))

	calls := s.Calls()
	require.Len(t, calls, 2)
	assert.Equal(t, "public", calls[0].DB)
	assert.Equal(t, []string{"events"}, calls[0].Tables())
	assert.Equal(t, 2, calls[0].RowCount())
	assert.Equal(t, "2160h", calls[0].Hints["ttl"])
	assert.Equal(t, codes.OK, calls[0].Code)
	assert.Equal(t, uint32(2), calls[0].AffectedRows)
	assert.Empty(t, s.Rejected())
}

func TestLegacyHintHeadersAndEmptyInsert(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "x-greptime-hint-ttl", "7d", "x-greptime-hint-append_mode", "true")

	// A request without rows is accepted and creates nothing.
	res := send(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{insert("empty", eventSchema())}}.build(), "")
	requireOK(t, res)
	assert.Zero(t, res.affected)
	assert.Empty(t, s.Tables("public"))

	requireOK(t, send(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{insert("legacy", eventSchema(), event("a", `1`, 1))}}.build(), ""))
	tbl, ok := s.Table("public", "legacy")
	require.True(t, ok)
	assert.Equal(t, map[string]string{"ttl": "7d", "append_mode": "true"}, tbl.Options)
}

func TestColumnAddedLater(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)

	requireOK(t, do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{}`, 1))}}))
	wide := eventSchema(
		col("host", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG),
		col("level", greptimev1.ColumnDataType_INT64, greptimev1.SemanticType_FIELD),
	)
	requireOK(t, do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{insert("events", wide,
		[]*greptimev1.Value{str("b"), str(`{"x":true}`), tsns(2), str("h1"), i64(7)})}}))
	// A later insert may omit nullable columns.
	narrow := []*greptimev1.ColumnSchema{
		col("type", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG),
		col("timestamp", greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, greptimev1.SemanticType_TIMESTAMP),
	}
	requireOK(t, do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{insert("events", narrow, []*greptimev1.Value{str("c"), tsns(3)})}}))

	tbl, _ := s.Table("public", "events")
	names := make([]string, len(tbl.Columns))
	for i, cl := range tbl.Columns {
		names[i] = cl.Name
	}
	assert.Equal(t, []string{"type", "payload", "timestamp", "host", "level"}, names)
	assert.Equal(t, []string{"type", "host"}, tbl.PrimaryKey)
	level, _ := tbl.Column("level")
	assert.True(t, level.Nullable)
	require.Len(t, tbl.Rows, 3)
	assert.Nil(t, tbl.Rows[0]["host"])
	assert.Contains(t, tbl.Rows[0], "level")
	assert.Equal(t, "h1", tbl.Rows[1]["host"])
	assert.Equal(t, int64(7), tbl.Rows[1]["level"])
	assert.Nil(t, tbl.Rows[2]["payload"])
}

// rejection is an insert call the server refuses as a whole, and how it
// answers.
type rejection struct {
	name   string
	setup  []*greptimev1.RowInsertRequest // applied first, must succeed
	req    req
	code   codes.Code
	status StatusCode
	msg    string
	// created are the tables the failed request created, empty: GreptimeDB
	// creates tables before it writes their regions.
	created []string
}

// goodInsert is one valid event for table.
func goodInsert(table string) *greptimev1.RowInsertRequest {
	return insert(table, eventSchema(), event("a", `{}`, 1))
}

// TestInsertRejectionsOfSchemas: a schema that cannot make a table, or that
// conflicts with the table's.
func TestInsertRejectionsOfSchemas(t *testing.T) {
	checkRejections(t, []rejection{
		{
			name:  "column type change",
			setup: []*greptimev1.RowInsertRequest{goodInsert("events")},
			req: req{inserts: []*greptimev1.RowInsertRequest{insert("events", []*greptimev1.ColumnSchema{
				col("type", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG),
				col("payload", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_FIELD),
				col("timestamp", greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, greptimev1.SemanticType_TIMESTAMP),
			}, event("a", "text", 2))}},
			code: codes.InvalidArgument, status: StatusInvalidArguments,
			msg: "Invalid request to region 4398046511104(1024, 0), reason: column payload expect type Json",
		},
		{
			name:  "semantic type change",
			setup: []*greptimev1.RowInsertRequest{goodInsert("events")},
			req: req{inserts: []*greptimev1.RowInsertRequest{insert("events", []*greptimev1.ColumnSchema{
				col("type", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_FIELD),
				col("payload", greptimev1.ColumnDataType_JSON, greptimev1.SemanticType_FIELD),
				col("timestamp", greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, greptimev1.SemanticType_TIMESTAMP),
			}, event("a", "{}", 2))}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "column type has semantic type Tag, given: FIELD(1)",
		},
		{
			name: "no time index",
			req: req{inserts: []*greptimev1.RowInsertRequest{insert("events",
				[]*greptimev1.ColumnSchema{col("type", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG)},
				[]*greptimev1.Value{str("a")})}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "Missing timestamp column, msg: table is events",
		},
		{
			name: "two time indexes",
			req: req{inserts: []*greptimev1.RowInsertRequest{insert("events",
				eventSchema(col("ts2", greptimev1.ColumnDataType_TIMESTAMP_MILLISECOND, greptimev1.SemanticType_TIMESTAMP)),
				[]*greptimev1.Value{str("a"), str("{}"), tsns(1), null()})}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "Duplicated timestamp column in gRPC requests, exists timestamp, duplicated: ts2",
		},
		{
			name: "time index not a timestamp",
			req: req{inserts: []*greptimev1.RowInsertRequest{insert("events",
				[]*greptimev1.ColumnSchema{col("ts", greptimev1.ColumnDataType_INT64, greptimev1.SemanticType_TIMESTAMP)},
				[]*greptimev1.Value{i64(1)})}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "column `ts` is not a timestamp type",
		},
		{
			name:  "time index missing on existing table",
			setup: []*greptimev1.RowInsertRequest{goodInsert("events")},
			req: req{inserts: []*greptimev1.RowInsertRequest{insert("events",
				[]*greptimev1.ColumnSchema{col("type", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG)},
				[]*greptimev1.Value{str("a")})}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "missing column timestamp",
		},
		{
			name: "datetime column",
			req: req{inserts: []*greptimev1.RowInsertRequest{insert("events",
				eventSchema(col("dt", greptimev1.ColumnDataType_DATETIME, greptimev1.SemanticType_FIELD)),
				[]*greptimev1.Value{str("a"), str("{}"), tsns(1), null()})}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "column name `dt` is datetime type",
		},
		{
			name: "duplicate column",
			req: req{inserts: []*greptimev1.RowInsertRequest{insert("events",
				eventSchema(col("type", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG)),
				[]*greptimev1.Value{str("a"), str("{}"), tsns(1), str("b")})}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "Duplicated column name in gRPC requests, name: type",
		},
	})
}

// TestInsertRejectionsOfRows: rows that do not fit their schema, or values
// their column cannot hold.
func TestInsertRejectionsOfRows(t *testing.T) {
	checkRejections(t, []rejection{
		{
			name: "value kind does not match column type",
			req: req{inserts: []*greptimev1.RowInsertRequest{insert("events",
				eventSchema(col("n", greptimev1.ColumnDataType_INT64, greptimev1.SemanticType_FIELD)),
				[]*greptimev1.Value{str("a"), str("{}"), tsns(1), str("seven")})}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "value has type String, but column n has type Int64(4)",
			created: []string{"events"},
		},
		{
			name: "row shorter than schema",
			req: req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(),
				[]*greptimev1.Value{str("a"), str("{}")})}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "Invalid InsertRequest, reason: column count mismatch, columns: 3, values: 2",
		},
		{
			// GreptimeDB parses JSON columns (by position) before it checks row lengths.
			name: "short row: JSON check comes first",
			req: req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(),
				[]*greptimev1.Value{str("a"), tsns(1)})}},
			code: codes.Internal, status: StatusUnexpected, msg: "Expected to value data to be a string.",
		},
		{
			name:   "invalid JSON",
			req:    req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{"unterminated`, 1))}},
			code:   codes.InvalidArgument,
			status: StatusInvalidArguments, msg: `Invalid json text: {"unterminated`,
		},
		{
			name: "non-string JSON value",
			req: req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(),
				[]*greptimev1.Value{str("a"), i64(1), tsns(1)})}},
			code: codes.Internal, status: StatusUnexpected, msg: "Unexpected, violated: Expected to value data to be a string.",
		},
		{
			name: "null time index",
			req: req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(),
				[]*greptimev1.Value{str("a"), str("{}"), null()})}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "column timestamp is not null but input has null",
			created: []string{"events"},
		},
	})
}

// TestInsertRejectionsOfNames: a database, catalog or table that cannot be
// written.
func TestInsertRejectionsOfNames(t *testing.T) {
	checkRejections(t, []rejection{
		{
			name: "unknown database",
			req:  req{db: "nosuch", inserts: []*greptimev1.RowInsertRequest{goodInsert("events")}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "Failed to find schema, schema info: nosuch",
		},
		{
			name: "unknown catalog",
			req:  req{db: "other-public", inserts: []*greptimev1.RowInsertRequest{goodInsert("events")}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "Failed to find schema, schema info: public",
		},
		{
			name:   "invalid table name",
			req:    req{inserts: []*greptimev1.RowInsertRequest{goodInsert("1events")}},
			code:   codes.InvalidArgument,
			status: StatusInvalidArguments, msg: "Invalid table name: 1events",
		},
	})
}

// TestInsertRejectionsOfHints: hints GreptimeDB does not parse, or that
// forbid the write.
func TestInsertRejectionsOfHints(t *testing.T) {
	checkRejections(t, []rejection{
		{
			name: "invalid ttl hint",
			req:  req{hints: "ttl=10", inserts: []*greptimev1.RowInsertRequest{goodInsert("events")}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "Failed to parse table option, key: ttl, value: 10",
		},
		{
			name: "invalid append_mode hint",
			req:  req{hints: "append_mode=yes", inserts: []*greptimev1.RowInsertRequest{goodInsert("events")}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "Invalid options",
		},
		{
			name: "append mode with last_non_null",
			req:  req{hints: "append_mode=true,merge_mode=last_non_null", inserts: []*greptimev1.RowInsertRequest{goodInsert("events")}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "only last_row merge_mode is allowed when append_mode is enabled",
		},
		{
			name: "auto create disabled",
			req:  req{hints: "auto_create_table=false", inserts: []*greptimev1.RowInsertRequest{goodInsert("events")}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "Table `events` does not exist, and `auto_create_table` hint is disabled",
		},
		{
			name: "read_preference hint",
			req:  req{hints: "read_preference=follower", inserts: []*greptimev1.RowInsertRequest{goodInsert("events")}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "Unknown hint: read_preference=follower",
		},
		{
			// strum parses the serialize and to_string names only: "leader", "LEADER".
			name: "read_preference hint in mixed case",
			req:  req{hints: "read_preference=Leader", inserts: []*greptimev1.RowInsertRequest{goodInsert("events")}},
			code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "Unknown hint: read_preference=Leader",
		},
	})
}

// checkRejections runs each rejection as a subtest against a server of its own.
func checkRejections(t *testing.T, cases []rejection) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { assertRejected(t, tc) })
	}
}

// assertRejected sends tc's request after its setup, and checks that the
// server answers with tc's error and a non-retryable hint, changes nothing
// but the tables tc names as created (which hold no rows), and records the
// rejection as its own, not an injected fault.
func assertRejected(t *testing.T, tc rejection) {
	t.Helper()
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	for _, in := range tc.setup {
		requireOK(t, do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{in}}))
	}
	before := publicTables(s)

	res := do(ctx, c, tc.req)
	requireStatus(t, res, tc.code, tc.status, tc.msg)
	assert.Equal(t, []string{string(RetryHintNonRetryable)}, res.trailer.Get(HeaderErrRetryHint))

	// Nothing changed but the created tables, which hold no rows.
	after := publicTables(s)
	for _, name := range tc.created {
		require.Contains(t, after, name)
		assert.Empty(t, after[name].Rows)
		delete(after, name)
	}
	assert.Equal(t, before, after)

	rej := s.Rejected()
	require.Len(t, rej, 1)
	assert.Equal(t, tc.code, rej[0].Code)
	assert.Equal(t, tc.status, rej[0].Status)
	assert.False(t, rej[0].Injected)
}

// publicTables is a copy of every table of database public, by name.
func publicTables(s *Server) map[string]Table {
	tables := map[string]Table{}
	for _, name := range s.Tables("public") {
		tables[name], _ = s.Table("public", name)
	}
	return tables
}

func TestNonInsertRequests(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)

	res := send(ctx, c, &greptimev1.GreptimeRequest{Header: &greptimev1.RequestHeader{Dbname: "public"}}, "")
	requireStatus(t, res, codes.InvalidArgument, StatusInvalidArguments, "Invalid query: Expecting non-empty GreptimeRequest.")

	res = send(ctx, c, &greptimev1.GreptimeRequest{Request: &greptimev1.GreptimeRequest_Query{Query: &greptimev1.QueryRequest{}}}, "")
	requireStatus(t, res, codes.InvalidArgument, StatusInvalidArguments, "Missing field 'QueryRequest.query'")

	res = send(ctx, c, &greptimev1.GreptimeRequest{Request: &greptimev1.GreptimeRequest_RowDeletes{RowDeletes: &greptimev1.RowDeleteRequests{}}}, "")
	requireStatus(t, res, codes.Unimplemented, StatusUnsupported, "only row inserts and SQL queries")
}

func TestAuth(t *testing.T) {
	users := map[string]string{"alice": "s3cret"}
	ev := []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{}`, 1))}
	cases := []struct {
		name   string
		users  map[string]string
		user   string
		pass   string
		token  bool
		grpcMD bool // credentials only as gRPC "authorization" metadata
		// emptyBasic sends Basic auth with both fields empty.
		emptyBasic bool
		code       codes.Code
		status     StatusCode
		msg        string
		recUser    string
	}{
		{name: "valid", users: users, user: "alice", pass: "s3cret", code: codes.OK, recUser: "alice"},
		{name: "missing", users: users, code: codes.Unauthenticated, status: StatusAuthHeaderNotFound, msg: "Not found http or grpc authorization header"},
		{name: "only grpc metadata", users: users, grpcMD: true, code: codes.Unauthenticated, status: StatusAuthHeaderNotFound, msg: "Not found http or grpc authorization header"},
		{name: "wrong password", users: users, user: "alice", pass: "nope", code: codes.Unauthenticated, status: StatusUserPasswordMismatch, msg: "Username and password does not match, username: alice", recUser: "alice"},
		{name: "unknown user", users: users, user: "bob", pass: "x", code: codes.NotFound, status: StatusUserNotFound, msg: "User not found, username: bob", recUser: "bob"},
		{name: "blank password", users: users, user: "alice", code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "Illegal param: blank password", recUser: "alice"},
		// The user is looked up before the password is checked for blank.
		{name: "blank password of an unknown user", users: users, user: "bob", code: codes.NotFound, status: StatusUserNotFound, msg: "User not found, username: bob", recUser: "bob"},
		{name: "blank username", users: users, pass: "s3cret", code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "Illegal param: blank username"},
		{name: "blank username and password", users: users, emptyBasic: true, code: codes.InvalidArgument, status: StatusInvalidArguments, msg: "Illegal param: blank username"},
		{name: "token scheme", users: users, token: true, code: codes.Unauthenticated, status: StatusInvalidAuthHeader, msg: "Unsupported http auth scheme, name: Token AuthScheme"},
		{name: "auth disabled ignores credentials", user: "mallory", pass: "whatever", code: codes.OK, recUser: "mallory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, Config{Users: tc.users})
			c := dial(t, s.Addr(), nil)
			ctx := ctxT(t)
			gr := req{user: tc.user, pass: tc.pass, inserts: ev}.build()
			if tc.token {
				gr.Header.Authorization = &greptimev1.AuthHeader{AuthScheme: &greptimev1.AuthHeader_Token{Token: &greptimev1.Token{Token: "t"}}}
			}
			if tc.emptyBasic {
				gr.Header.Authorization = &greptimev1.AuthHeader{AuthScheme: &greptimev1.AuthHeader_Basic{Basic: &greptimev1.Basic{}}}
			}
			if tc.grpcMD {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Basic YWxpY2U6czNjcmV0")
			}
			res := send(ctx, c, gr, "")
			calls := s.Calls()
			require.Len(t, calls, 1)
			assert.Equal(t, tc.recUser, calls[0].User)
			if tc.code == codes.OK {
				requireOK(t, res)
				assert.Equal(t, 1, s.RowCount("public", "events"))
				return
			}
			requireStatus(t, res, tc.code, tc.status, tc.msg)
			assert.Equal(t, tc.msg, status.Convert(res.err).Message())
			// Auth errors are non_retryable (src/auth/src/error.rs:127).
			assert.Equal(t, []string{string(RetryHintNonRetryable)}, res.trailer.Get(HeaderErrRetryHint))
			assert.Empty(t, s.Tables("public"))
		})
	}
}

func TestFaults(t *testing.T) {
	ev := func(ts int64) req {
		return req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{}`, ts))}}
	}
	type step struct {
		req    req
		code   codes.Code
		status StatusCode
		hint   RetryHint
		msg    string
		rows   int // rows stored afterwards
	}
	cases := []struct {
		name   string
		inject func(s *Server)
		steps  []step
	}{
		{
			name:   "FailNext without trailers",
			inject: func(s *Server) { s.FailNext(2, codes.Unavailable, "down") },
			steps: []step{
				{req: ev(1), code: codes.Unavailable, msg: "down"},
				{req: ev(2), code: codes.Unavailable, msg: "down"},
				{req: ev(3), code: codes.OK, rows: 1},
			},
		},
		{
			name: "FailNextWith status code and retry hint",
			inject: func(s *Server) {
				s.FailNextWith(1, Fault{Status: StatusRateLimited, RetryHint: RetryHintRetryable, Message: "Request memory limit exceeded"})
			},
			steps: []step{
				{req: ev(1), code: codes.ResourceExhausted, status: StatusRateLimited, hint: RetryHintRetryable, msg: "Request memory limit exceeded"},
				{req: ev(2), code: codes.OK, rows: 1},
			},
		},
		{
			name: "applied then failed",
			inject: func(s *Server) {
				s.FailNextWith(1, Fault{Code: codes.DeadlineExceeded, Status: StatusDeadlineExceeded, Apply: true})
			},
			steps: []step{
				{req: ev(1), code: codes.DeadlineExceeded, status: StatusDeadlineExceeded, hint: RetryHintNonRetryable, msg: "deadline exceeded", rows: 1},
				{req: ev(1), code: codes.OK, rows: 1}, // the retry is merged (last_row, same key)
			},
		},
		{
			name:   "dropped connection",
			inject: func(s *Server) { s.DropConnections(1) },
			steps: []step{
				{req: ev(1), code: codes.Unavailable},
				{req: ev(2), code: codes.OK, rows: 1},
			},
		},
		{
			name: "applied then dropped",
			inject: func(s *Server) {
				s.FailNextWith(1, Fault{DropConnection: true, Apply: true})
			},
			steps: []step{
				{req: ev(1), code: codes.Unavailable, rows: 1},
			},
		},
		{
			name:   "rejected table",
			inject: func(s *Server) { s.RejectTable("events", codes.PermissionDenied, "no writes to events") },
			steps: []step{
				{req: ev(1), code: codes.PermissionDenied, status: StatusPermissionDenied, hint: RetryHintNonRetryable, msg: "no writes to events"},
				{req: req{inserts: []*greptimev1.RowInsertRequest{
					insert("other", eventSchema(), event("a", `{}`, 1)),
					insert("events", eventSchema(), event("a", `{}`, 1)),
				}}, code: codes.PermissionDenied, status: StatusPermissionDenied, msg: "no writes to events"},
				{req: req{inserts: []*greptimev1.RowInsertRequest{insert("other", eventSchema(), event("a", `{}`, 1))}}, code: codes.OK},
			},
		},
		{
			name: "reset clears faults",
			inject: func(s *Server) {
				s.FailNext(5, codes.Internal, "boom")
				s.RejectTable("events", codes.InvalidArgument, "bad")
				s.SetLatency(time.Hour)
				s.Reset()
			},
			steps: []step{{req: ev(1), code: codes.OK, rows: 1}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, Config{})
			c := dial(t, s.Addr(), nil)
			ctx := ctxT(t)
			tc.inject(s)
			for i, st := range tc.steps {
				// WaitForReady: after a dropped connection the client reconnects.
				res := do(ctx, c, st.req, grpc.WaitForReady(true))
				if st.code == codes.OK {
					requireOK(t, res)
				} else {
					requireStatus(t, res, st.code, st.status, st.msg)
					if st.hint != "" {
						assert.Equal(t, []string{string(st.hint)}, res.trailer.Get(HeaderErrRetryHint), "step %d", i)
					}
				}
				require.NoError(t, s.WaitForCalls(ctx, i+1))
				assert.Equal(t, st.rows, s.RowCount("public", "events"), "step %d", i)
			}
			for _, call := range s.Rejected() {
				assert.True(t, call.Injected)
			}
		})
	}
}

func TestLatencyAppliesAfterClientGaveUp(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	s.SetLatency(300 * time.Millisecond)

	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	res := do(short, c, req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{}`, 1))}})
	require.Equal(t, codes.DeadlineExceeded, status.Code(res.err))

	ctx := ctxT(t)
	require.NoError(t, s.WaitForCalls(ctx, 1))
	assert.Equal(t, 1, s.RowCount("public", "events"))
	call := s.Calls()[0]
	assert.Equal(t, codes.OK, call.Code)
	assert.GreaterOrEqual(t, call.Duration, 300*time.Millisecond)
}

func TestStopAbortsDelayedCall(t *testing.T) {
	s, err := Start(Config{})
	require.NoError(t, err)
	c := dial(t, s.Addr(), nil)
	s.SetLatency(time.Hour)

	ctx := ctxT(t)
	done := make(chan result, 1)
	go func() {
		done <- do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{}`, 1))}}, grpc.WaitForReady(true))
	}()
	// Wait until the call is waiting in the server's delay.
	require.Eventually(t, func() bool { return s.delayed.Load() == 1 }, 5*time.Second, time.Millisecond)

	stopped := make(chan struct{})
	go func() { s.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-ctx.Done():
		t.Fatal("Stop did not return")
	}
	s.Stop() // idempotent
	res := <-done
	require.Error(t, res.err)
	assert.Equal(t, codes.Unavailable, status.Code(res.err))
	assert.Zero(t, s.RowCount("public", "events"))
	calls := s.Calls()
	require.Len(t, calls, 1)
	assert.Equal(t, codes.Unavailable, calls[0].Code)
	assert.Equal(t, "greptimetest: server stopping", calls[0].Message)
}

func TestMergeModes(t *testing.T) {
	nField := eventSchema(col("n", greptimev1.ColumnDataType_INT64, greptimev1.SemanticType_FIELD))
	row := func(typ string, ts int64, payload string, n *int64) []*greptimev1.Value {
		v := null()
		if n != nil {
			v = i64(*n)
		}
		return []*greptimev1.Value{str(typ), str(payload), tsns(ts), v}
	}
	one, two := int64(1), int64(2)
	cases := []struct {
		name    string
		hints   string
		want    int
		checkTS int64
		payload any
		n       any
	}{
		// Default (no hints): append_mode=false, merge_mode=last_row.
		{name: "default last_row", want: 2, checkTS: 1, payload: "third", n: nil},
		{name: "explicit last_row", hints: "append_mode=false, merge_mode=last_row", want: 2, checkTS: 1, payload: "third", n: nil},
		{name: "last_non_null", hints: "merge_mode=last_non_null", want: 2, checkTS: 1, payload: "third", n: int64(1)},
		{name: "append mode keeps duplicates", hints: "append_mode=true", want: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, Config{})
			c := dial(t, s.Addr(), nil)
			ctx := ctxT(t)
			requireOK(t, do(ctx, c, req{hints: tc.hints, inserts: []*greptimev1.RowInsertRequest{insert("events", nField,
				row("a", 1, `"first"`, &one), row("a", 2, `"second"`, &two))}}))
			res := do(ctx, c, req{hints: tc.hints, inserts: []*greptimev1.RowInsertRequest{insert("events", nField,
				row("a", 1, `"third"`, nil))}})
			requireOK(t, res)
			assert.Equal(t, uint32(1), res.affected)
			tbl, _ := s.Table("public", "events")
			require.Len(t, tbl.Rows, tc.want)
			if tc.checkTS == 0 {
				return
			}
			for _, r := range tbl.Rows {
				if r["timestamp"] == tc.checkTS {
					assert.Equal(t, tc.payload, r["payload"])
					assert.Equal(t, tc.n, r["n"])
				}
			}
			// Rows with a different tag are different keys.
			requireOK(t, do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{insert("events", nField, row("b", 1, `1`, nil))}}))
			assert.Equal(t, tc.want+1, s.RowCount("public", "events"))
		})
	}
}

func selfSigned(t *testing.T, isCA bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, usage ...x509.ExtKeyUsage) (tls.Certificate, *x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "greptimetest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           usage,
		BasicConstraintsValid: true,
		IsCA:                  isCA,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, cert, key
}

func TestTLS(t *testing.T) {
	serverCert, caCert, caKey := selfSigned(t, true, nil, nil, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	clientCert, _, _ := selfSigned(t, false, caCert, caKey, x509.ExtKeyUsageClientAuth)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	ev := req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{}`, 1))}}

	cases := []struct {
		name    string
		mutual  bool
		client  credentials.TransportCredentials
		wantErr bool
	}{
		{name: "tls client", client: credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})},
		{name: "plain client refused", client: insecure.NewCredentials(), wantErr: true},
		{name: "untrusted server cert", client: credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12}), wantErr: true},
		{name: "mutual tls with client cert", mutual: true, client: credentials.NewTLS(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{clientCert}, MinVersion: tls.VersionTLS12})},
		{name: "mutual tls without client cert", mutual: true, client: credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}), wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}
			if tc.mutual {
				cfg.ClientAuth = tls.RequireAndVerifyClientCert
				cfg.ClientCAs = pool
			}
			s := startServer(t, Config{TLS: cfg})
			c := dial(t, s.Addr(), tc.client)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			res := do(ctx, c, ev)
			if tc.wantErr {
				require.Error(t, res.err)
				assert.Equal(t, codes.Unavailable, status.Code(res.err), "%v", res.err)
				assert.Zero(t, s.RowCount("public", "events"))
				return
			}
			requireOK(t, res)
			assert.Equal(t, 1, s.RowCount("public", "events"))
		})
	}
}

func TestMaxRecvMsgSize(t *testing.T) {
	s := startServer(t, Config{MaxRecvMsgSize: 1024})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	big := `"` + strings.Repeat("x", 2000) + `"`
	res := do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", big, 1))}})
	require.Error(t, res.err)
	assert.Equal(t, codes.OutOfRange, status.Code(res.err))
	assert.Contains(t, status.Convert(res.err).Message(), "decoded message length too large")
	assert.Contains(t, status.Convert(res.err).Message(), "the limit is: 1024 bytes")
	require.Len(t, s.Rejected(), 1)

	requireOK(t, do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `1`, 1))}}))
}

func TestDatabases(t *testing.T) {
	s := startServer(t, Config{Databases: []string{"public", "greptime-events"}})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	requireOK(t, do(ctx, c, req{db: "events", inserts: []*greptimev1.RowInsertRequest{insert("t", eventSchema(), event("a", `1`, 1))}}))
	requireOK(t, do(ctx, c, req{db: "greptime-events", inserts: []*greptimev1.RowInsertRequest{insert("t", eventSchema(), event("a", `1`, 2))}}))
	assert.Equal(t, 2, s.RowCount("events", "t"))
	assert.Empty(t, s.Tables("public"))

	// Another catalog's database is named "<catalog>-<schema>"
	// (src/common/catalog/src/lib.rs:63-81).
	other := startServer(t, Config{Databases: []string{"otel-public"}})
	oc := dial(t, other.Addr(), nil)
	requireOK(t, do(ctx, oc, req{db: "otel-public", inserts: []*greptimev1.RowInsertRequest{insert("t", eventSchema(), event("a", `1`, 1))}}))
	assert.Equal(t, 1, other.RowCount("otel-public", "t"))
	res := do(ctx, oc, req{db: "public", inserts: []*greptimev1.RowInsertRequest{insert("t", eventSchema(), event("a", `1`, 1))}})
	require.Error(t, res.err, "public of catalog greptime does not exist there")
	assert.Equal(t, []string{"otel-public"}, other.Store().Databases())
}

// TestCreateDatabaseOverGRPC: a Handle call carrying SQL runs one statement
// (src/frontend/src/instance/grpc.rs:108-123), in the catalog of the
// request's dbname; a query's rows are refused (src/servers/src/grpc/database.rs:62-77).
func TestCreateDatabaseOverGRPC(t *testing.T) {
	s := startServer(t, Config{Databases: []string{"public", "otel-public"}})
	c := dial(t, s.Addr(), nil)
	sql := func(db, q string) (*greptimev1.GreptimeResponse, error) {
		return c.Handle(ctxT(t), &greptimev1.GreptimeRequest{
			Header:  &greptimev1.RequestHeader{Dbname: db},
			Request: &greptimev1.GreptimeRequest_Query{Query: &greptimev1.QueryRequest{Query: &greptimev1.QueryRequest_Sql{Sql: q}}},
		})
	}
	resp, err := sql("public", `CREATE DATABASE IF NOT EXISTS "team-a"`)
	require.NoError(t, err)
	assert.Equal(t, uint32(1), resp.GetAffectedRows().GetValue())
	_, err = sql("otel-public", `CREATE DATABASE shop`)
	require.NoError(t, err)
	assert.Equal(t, []string{"otel-public", "otel-shop", "public", "team-a"}, s.Store().Databases())

	_, err = sql("public", `CREATE DATABASE "team-a"`)
	assert.Equal(t, codes.InvalidArgument, status.Code(err))
	assert.Contains(t, status.Convert(err).Message(), "Schema team-a already exists")
	_, err = sql("public", `SHOW TABLES`)
	assert.Equal(t, codes.Unimplemented, status.Code(err))
	_, err = sql("public", `CREATE DATABASE a; CREATE DATABASE b`)
	assert.Equal(t, codes.Unimplemented, status.Code(err))
	assert.Contains(t, status.Convert(err).Message(), "execute multiple statements")
}

func TestConcurrentCalls(t *testing.T) {
	s := startServer(t, Config{Users: map[string]string{"u": "p"}})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				res := do(ctx, c, req{user: "u", pass: "p", hints: "append_mode=true", inserts: []*greptimev1.RowInsertRequest{
					insert("events", eventSchema(), event("t"+strconv.Itoa(g), `{}`, int64(i))),
				}})
				assert.NoError(t, res.err)
				_ = s.Calls()
				_, _ = s.Table("public", "events")
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 80, s.RowCount("public", "events"))
	assert.Len(t, s.Calls(), 80)
}

func TestDump(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	requireOK(t, do(ctx, c, req{hints: "ttl=90d, append_mode=true", inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(),
		event("deploy", `{"v":1}`, 1), event("deploy", `{"v":2}`, 2), event("alert", `{"v":3}`, 3), event("deploy", `{"v":4}`, 4))}}))
	var buf bytes.Buffer
	s.Dump(&buf, "public")
	out := buf.String()
	for _, want := range []string{
		`CREATE TABLE IF NOT EXISTS "events" (`,
		`"type" STRING NULL,`,
		`"payload" JSON NULL,`,
		`"timestamp" TIMESTAMP(9) NOT NULL,`,
		`TIME INDEX ("timestamp")`,
		`PRIMARY KEY ("type")`,
		`'ttl' = '90d'`,
		"rows: 4",
		"type=alert: 1",
		"type=deploy: 3",
		"sample rows (first 3):",
		`payload={"v":1}`,
	} {
		assert.Contains(t, out, want)
	}

	buf.Reset()
	s.Dump(&buf, "nosuch")
	assert.Contains(t, buf.String(), "no tables")
}

func TestParseHints(t *testing.T) {
	cases := []struct {
		in   string
		want map[string]string
	}{
		{" ttl =3600d, append_mode=true , merge_mode=false ,physical_table= table1", map[string]string{"ttl": "3600d", "append_mode": "true", "merge_mode": "false", "physical_table": "table1"}},
		{"novalue, k=a=b", map[string]string{"k": "a=b"}},
		{"", map[string]string{}},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, ParseHints(tc.in), tc.in)
	}
}

func TestParseHumantime(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{in: "2160h", want: 2160 * time.Hour},
		{in: "90d", want: 90 * 24 * time.Hour},
		{in: "1d", want: 24 * time.Hour},
		{in: "2h 37min", want: 2*time.Hour + 37*time.Minute},
		{in: "20 min 17 nsec ", want: 20*time.Minute + 17},
		{in: "1month", want: 2_630_016 * time.Second},
		{in: "12M", want: 12 * 2_630_016 * time.Second},
		{in: "1y", want: 31_557_600 * time.Second},
		{in: "1w2d", want: 9 * 24 * time.Hour},
		{in: "32ms", want: 32 * time.Millisecond},
		{in: "10", err: true},
		{in: "", err: true},
		{in: "1.5h", err: true},
		{in: "3 fortnights", err: true},
		{in: "h", err: true},
		{in: "1000000000000000000h", err: true},
	}
	for _, tc := range cases {
		got, err := ParseHumantime(tc.in)
		if tc.err {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
	for _, in := range []string{"forever", "FOREVER", "", "instant", "0s"} {
		_, err := ParseTTL(in)
		assert.NoError(t, err, in)
	}
}

func TestStatusCodeMapping(t *testing.T) {
	cases := map[StatusCode]codes.Code{
		StatusSuccess: codes.OK, StatusInvalidArguments: codes.InvalidArgument, StatusUnexpected: codes.Internal,
		StatusTableNotFound: codes.NotFound, StatusUserNotFound: codes.NotFound, StatusRegionNotReady: codes.Unavailable,
		StatusStorageUnavailable: codes.Unavailable, StatusRateLimited: codes.ResourceExhausted, StatusRegionBusy: codes.ResourceExhausted,
		StatusUserPasswordMismatch: codes.Unauthenticated, StatusAccessDenied: codes.PermissionDenied, StatusUnsupported: codes.Unimplemented,
		StatusDeadlineExceeded: codes.DeadlineExceeded, StatusExternal: codes.Unknown, StatusTableAlreadyExists: codes.AlreadyExists,
	}
	for sc, want := range cases {
		assert.Equal(t, want, sc.GRPCCode(), "%d", sc)
	}
	assert.True(t, ValidTableName("greptime_events"))
	assert.True(t, ValidTableName("-a:b.c@d#e"))
	assert.False(t, ValidTableName("9lives"))
	assert.False(t, ValidTableName("with space"))
	assert.False(t, ValidTableName(""))
}

// TestJSONNumberBeyondFloat64: text json.Valid accepts is stored; a number
// beyond float64's range decodes to +Inf instead of failing the region write.
func TestJSONNumberBeyondFloat64(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	requireOK(t, do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{"big":1e400,"n":[1,2.5]}`, 1))}}))
	tbl, _ := s.Table("public", "events")
	require.Len(t, tbl.Rows, 1)
	payload := tbl.Rows[0]["payload"].(map[string]any)
	assert.True(t, math.IsInf(payload["big"].(float64), 1))
	assert.Equal(t, []any{float64(1), 2.5}, payload["n"])
}
