package greptimetest

import (
	"testing"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
)

func TestCountOnlyCountsRowsPerTable(t *testing.T) {
	s := startServer(t, Config{CountOnly: true, Databases: []string{"public", "other"}})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)

	res := do(ctx, c, req{
		db:    "public",
		hints: "ttl=2160h, append_mode=true",
		inserts: []*greptimev1.RowInsertRequest{
			insert("events", eventSchema(), event("a", `{}`, 1), event("b", `{}`, 2), event("a", `{}`, 3)),
			insert("user_logins", eventSchema(), event("user.login", `{}`, 4), event("user.login", `{}`, 5)),
			insert("empty", eventSchema()),
		},
	})
	requireOK(t, res)
	assert.Equal(t, uint32(5), res.affected)

	res = do(ctx, c, req{db: "greptime-other", inserts: []*greptimev1.RowInsertRequest{
		insert("events", eventSchema(), event("a", `not json: count-only mode does not look at values`, 1)),
	}})
	requireOK(t, res)
	assert.Equal(t, uint32(1), res.affected)

	calls, rows := s.Counted()
	assert.Equal(t, int64(2), calls)
	assert.Equal(t, int64(6), rows)
	assert.Equal(t, int64(3), s.CountedRows("public", "events"))
	assert.Equal(t, int64(3), s.CountedRows("", "events"))
	assert.Equal(t, int64(2), s.CountedRows("greptime-public", "user_logins"))
	assert.Equal(t, int64(1), s.CountedRows("other", "events"))
	assert.Zero(t, s.CountedRows("public", "empty"))

	// Nothing is stored and no call is recorded.
	assert.Empty(t, s.Tables("public"))
	assert.Empty(t, s.Calls())
}

func TestCountOnlyChecksTheHeader(t *testing.T) {
	s := startServer(t, Config{CountOnly: true, Users: map[string]string{"greptime_user": "secret"}})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	rows := []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{}`, 1))}

	requireStatus(t, do(ctx, c, req{db: "public", inserts: rows}),
		codes.Unauthenticated, StatusAuthHeaderNotFound, "Not found http or grpc authorization header")
	requireStatus(t, do(ctx, c, req{db: "public", user: "greptime_user", pass: "wrong", inserts: rows}),
		codes.Unauthenticated, StatusUserPasswordMismatch, "Username and password does not match")
	requireStatus(t, do(ctx, c, req{db: "nosuchdb", user: "greptime_user", pass: "secret", inserts: rows}),
		codes.InvalidArgument, StatusInvalidArguments, "Failed to find schema, schema info: nosuchdb")

	query := &greptimev1.GreptimeRequest{
		Header:  &greptimev1.RequestHeader{Dbname: "public", Authorization: req{user: "greptime_user", pass: "secret"}.build().GetHeader().GetAuthorization()},
		Request: &greptimev1.GreptimeRequest_Query{Query: &greptimev1.QueryRequest{Query: &greptimev1.QueryRequest_Sql{Sql: "SELECT 1"}}},
	}
	requireStatus(t, send(ctx, c, query, ""), codes.Unimplemented, StatusUnsupported, "only row inserts")
	requireStatus(t, send(ctx, c, &greptimev1.GreptimeRequest{Header: query.GetHeader()}, ""),
		codes.InvalidArgument, StatusInvalidArguments, "Expecting non-empty GreptimeRequest")

	res := do(ctx, c, req{db: "public", user: "greptime_user", pass: "secret", inserts: rows})
	requireOK(t, res)
	assert.Equal(t, uint32(1), res.affected)
	calls, n := s.Counted()
	require.Equal(t, int64(1), calls, "only the accepted call is counted")
	assert.Equal(t, int64(1), n)
}

func TestCountOnlyRejectsOversizedRequests(t *testing.T) {
	s := startServer(t, Config{CountOnly: true, MaxRecvMsgSize: 64})
	c := dial(t, s.Addr(), nil)
	big := `{"k":"` + string(make([]byte, 100)) + `"}`
	requireStatus(t, do(ctxT(t), c, req{db: "public", inserts: []*greptimev1.RowInsertRequest{
		insert("events", eventSchema(), event("a", big, 1)),
	}}), codes.OutOfRange, StatusSuccess, "decoded message length too large")
	calls, _ := s.Counted()
	assert.Zero(t, calls)
}
