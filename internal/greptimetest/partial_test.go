package greptimetest

import (
	"context"
	"testing"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestPartialApplication: GreptimeDB checks and applies each table's region
// write on its own, so a failing insert does not undo the others, while a
// request-level failure applies nothing.
func TestPartialApplication(t *testing.T) {
	withN := eventSchema(col("n", greptimev1.ColumnDataType_INT64, greptimev1.SemanticType_FIELD))
	good := func(table string, ts int64) *greptimev1.RowInsertRequest {
		return insert(table, eventSchema(), event("a", `{}`, ts))
	}
	badValue := func(table string) *greptimev1.RowInsertRequest {
		return insert(table, withN, []*greptimev1.Value{str("a"), str("{}"), tsns(1), str("seven")})
	}
	cases := []struct {
		name    string
		req     req
		code    codes.Code
		msg     string
		rows    map[string]int // rows per table afterwards; a table absent here does not exist
		stored  int
		created []string // tables that exist afterwards
	}{
		{
			name: "region failure keeps the other inserts",
			req:  req{inserts: []*greptimev1.RowInsertRequest{good("first", 1), badValue("broken"), good("last", 2)}},
			code: codes.InvalidArgument,
			msg:  "Invalid request to region 4402341478400(1025, 0), reason: value has type String, but column n has type Int64(4)",
			rows: map[string]int{"first": 1, "broken": 0, "last": 1}, stored: 2,
		},
		{
			name: "the first failing insert in request order answers",
			req: req{inserts: []*greptimev1.RowInsertRequest{
				good("first", 1),
				insert("nulls", eventSchema(), []*greptimev1.Value{str("a"), str("{}"), null()}),
				badValue("broken"),
			}},
			code: codes.InvalidArgument,
			msg:  "Invalid request to region 4402341478400(1025, 0), reason: column timestamp is not null but input has null",
			rows: map[string]int{"first": 1, "nulls": 0, "broken": 0}, stored: 1,
		},
		{
			name: "invalid JSON anywhere: nothing created or written",
			req:  req{inserts: []*greptimev1.RowInsertRequest{good("first", 1), insert("second", eventSchema(), event("a", `{`, 1))}},
			code: codes.InvalidArgument, msg: "Invalid json text: {",
			rows: map[string]int{},
		},
		{
			name: "row length anywhere: nothing created or written",
			req: req{inserts: []*greptimev1.RowInsertRequest{good("first", 1),
				insert("second", []*greptimev1.ColumnSchema{col("ts", greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, greptimev1.SemanticType_TIMESTAMP)}, []*greptimev1.Value{tsns(1), tsns(2)})}},
			code: codes.InvalidArgument, msg: "Invalid InsertRequest, reason: column count mismatch, columns: 1, values: 2",
			rows: map[string]int{},
		},
		{
			name: "planning failure: nothing created or written",
			req: req{inserts: []*greptimev1.RowInsertRequest{good("first", 1),
				insert("second", []*greptimev1.ColumnSchema{col("type", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG)}, []*greptimev1.Value{str("a")})}},
			code: codes.InvalidArgument, msg: "Missing timestamp column, msg: table is second",
			rows: map[string]int{},
		},
		{
			name: "a failing create keeps the tables created before it, writes nothing",
			req:  req{inserts: []*greptimev1.RowInsertRequest{good("first", 1), good("9second", 1), good("third", 1)}},
			code: codes.InvalidArgument, msg: "Invalid table name: 9second",
			rows: map[string]int{"first": 0},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, Config{})
			c := dial(t, s.Addr(), nil)
			ctx := ctxT(t)
			res := do(ctx, c, tc.req)
			requireStatus(t, res, tc.code, StatusInvalidArguments, tc.msg)
			assert.Equal(t, tc.msg, status.Convert(res.err).Message())

			got := map[string]int{}
			for _, name := range s.Tables("public") {
				got[name] = s.RowCount("public", name)
			}
			assert.Equal(t, tc.rows, got)
			calls := s.Calls()
			require.Len(t, calls, 1)
			assert.Equal(t, tc.stored, calls[0].StoredRows)
			assert.False(t, calls[0].Injected)
		})
	}
}

// TestTwoInsertsForOneNewTable: both inserts plan a create from their own
// schema; the first creates the table, the second's create finds it ("if not
// exists") and adds nothing, so its extra column is unknown to the region.
func TestTwoInsertsForOneNewTable(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	wide := eventSchema(col("host", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG))

	res := do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{
		insert("events", eventSchema(), event("a", `{}`, 1)),
		insert("events", wide, []*greptimev1.Value{str("b"), str("{}"), tsns(2), str("h1")}),
	}})
	requireStatus(t, res, codes.InvalidArgument, StatusInvalidArguments,
		`Invalid request to region 4398046511104(1024, 0), reason: unknown columns: ["host"]`)
	tbl, ok := s.Table("public", "events")
	require.True(t, ok)
	assert.Len(t, tbl.Columns, 3, "created from the first insert's schema")
	assert.Equal(t, []string{"type"}, tbl.PrimaryKey)
	require.Len(t, tbl.Rows, 1)
	assert.Equal(t, "a", tbl.Rows[0]["type"])

	// The other way round: the wide insert creates the table, the narrow one fits it.
	res = do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{
		insert("other", wide, []*greptimev1.Value{str("b"), str("{}"), tsns(2), str("h1")}),
		insert("other", eventSchema(), event("a", `{}`, 1)),
	}})
	requireOK(t, res)
	assert.Equal(t, uint32(2), res.affected)

	// In a later request the column is added as usual.
	requireOK(t, do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{
		insert("events", wide, []*greptimev1.Value{str("b"), str("{}"), tsns(2), str("h1")}),
	}}))
	tbl, _ = s.Table("public", "events")
	assert.Len(t, tbl.Columns, 4)
	assert.Equal(t, []string{"type", "host"}, tbl.PrimaryKey)
	assert.Len(t, tbl.Rows, 2)
}

// TestTwoInsertsAlterOneTable: both inserts into an existing table plan an
// alter; a column both add is added once, by the first, and the second's
// other type is then a mismatch at the region.
func TestTwoInsertsAlterOneTable(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	requireOK(t, do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{}`, 1))}}))

	res := do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{
		insert("events", eventSchema(col("n", greptimev1.ColumnDataType_INT64, greptimev1.SemanticType_FIELD)),
			[]*greptimev1.Value{str("a"), str("{}"), tsns(2), i64(2)}),
		insert("events", eventSchema(col("n", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_FIELD), col("m", greptimev1.ColumnDataType_INT64, greptimev1.SemanticType_FIELD)),
			[]*greptimev1.Value{str("a"), str("{}"), tsns(3), str("three"), i64(3)}),
	}})
	requireStatus(t, res, codes.InvalidArgument, StatusInvalidArguments, "column n expect type Int64(Int64Type), given: STRING(12)")
	tbl, _ := s.Table("public", "events")
	n, _ := tbl.Column("n")
	assert.Equal(t, greptimev1.ColumnDataType_INT64, n.Type)
	_, hasM := tbl.Column("m")
	assert.True(t, hasM, "the second alter ran: m was added")
	assert.Len(t, tbl.Rows, 2)
}

// TestAutoCreateDisabled: with auto_create_table=false a missing table fails
// the request, and an existing table is not altered: new columns are unknown
// to its region.
func TestAutoCreateDisabled(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	requireOK(t, do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{}`, 1))}}))

	res := do(ctx, c, req{hints: "auto_create_table=false", inserts: []*greptimev1.RowInsertRequest{
		insert("events", eventSchema(col("host", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG)),
			[]*greptimev1.Value{str("b"), str("{}"), tsns(2), str("h1")}),
	}})
	requireStatus(t, res, codes.InvalidArgument, StatusInvalidArguments, `unknown columns: ["host"]`)
	tbl, _ := s.Table("public", "events")
	assert.Len(t, tbl.Columns, 3)

	res = do(ctx, c, req{hints: "auto_create_table=false", inserts: []*greptimev1.RowInsertRequest{
		insert("events", eventSchema(), event("a", `{}`, 2)),
		insert("missing", eventSchema(), event("a", `{}`, 1)),
	}})
	requireStatus(t, res, codes.InvalidArgument, StatusInvalidArguments, "Table `missing` does not exist, and `auto_create_table` hint is disabled")
	assert.Equal(t, 1, s.RowCount("public", "events"), "a request-level failure writes nothing")

	requireOK(t, do(ctx, c, req{hints: "auto_create_table=false", inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{}`, 2))}}))
	assert.Equal(t, 2, s.RowCount("public", "events"))
}

// TestInstantTTL: rows of a ttl=instant table never reach a region.
func TestInstantTTL(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	res := do(ctx, c, req{hints: "ttl=instant", inserts: []*greptimev1.RowInsertRequest{
		insert("gone", eventSchema(), event("a", `{}`, 1)),
	}})
	requireOK(t, res)
	assert.Zero(t, res.affected)
	tbl, ok := s.Table("public", "gone")
	require.True(t, ok)
	assert.Equal(t, "instant", tbl.Options["ttl"])
	assert.Empty(t, tbl.Rows)
}

// TestAnswerDelayThenStop: a call applied but not yet answered when its
// frontend stops fails at the client, rows stored.
func TestAnswerDelayThenStop(t *testing.T) {
	s, err := Start(Config{})
	require.NoError(t, err)
	c := dial(t, s.Addr(), nil)
	s.SetAnswerDelay(time.Hour)

	ctx := ctxT(t)
	done := make(chan result, 1)
	go func() {
		done <- do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{}`, 1))}})
	}()
	require.Eventually(t, func() bool { return s.Delayed() == 1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 1, s.RowCount("public", "events"), "applied before the answer")
	s.Stop()

	res := <-done
	assert.Equal(t, codes.Unavailable, status.Code(res.err))
	calls := s.Calls()
	require.Len(t, calls, 1)
	assert.Equal(t, codes.Unavailable, calls[0].Code)
	assert.Equal(t, 1, calls[0].StoredRows)
	assert.Zero(t, s.Delayed())
}

func TestAnswerDelay(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	requireOK(t, do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{}`, 1))}}))
	s.SetAnswerDelay(100 * time.Millisecond)

	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	res := do(short, c, req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{}`, 2))}})
	assert.Equal(t, codes.DeadlineExceeded, status.Code(res.err))
	require.NoError(t, s.WaitForCalls(ctx, 2))
	call := s.Calls()[1]
	assert.Equal(t, codes.OK, call.Code, "the server answered OK, too late")
	assert.Equal(t, 1, call.StoredRows)
	assert.GreaterOrEqual(t, call.Duration, 100*time.Millisecond)
	assert.Equal(t, 2, s.RowCount("public", "events"))
}
