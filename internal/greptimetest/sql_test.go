package greptimetest

import (
	"strings"
	"sync"
	"testing"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
)

// Timestamps of the fixture's rows, in nanoseconds.
const (
	ts1 = int64(1796012148000000000) + iota*1000000000
	ts2
	ts3
	ts4
	ts5
	ts6
)

// fillEventTables writes, over gRPC, tables of the shapes the exporter
// writes (README, docs/guarantees.md): events (with an event_id tag, append
// mode, one event_id sent twice), events_rejected (the dead letters) and
// event_types (the catalog).
func fillEventTables(t *testing.T, s *Server) {
	t.Helper()
	ctx := ctxT(t)
	c := dial(t, s.Addr(), nil)

	events := eventSchema(col("event_id", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG))
	ev := func(typ, id, payload string, ts int64) []*greptimev1.Value {
		return append(event(typ, payload, ts), str(id))
	}
	requireOK(t, do(ctx, c, req{db: "public", hints: "append_mode=true, ttl=90d", inserts: []*greptimev1.RowInsertRequest{insert("events", events,
		ev("user.login", "e1", `{"body":{"user":"alice","method":"password","latency_ms":12.5},"attributes":{"client.address":"10.0.0.10","login.success":true}}`, ts1),
		ev("user.login", "e2", `{"body":{"user":"bob","method":"totp","latency_ms":80.25,"error":"invalid code"},"attributes":{"client.address":"203.0.113.7","login.success":false}}`, ts2),
		ev("order.placed", "e3", `{"body":{"order_id":"o-1","amount":42,"items":["book","pen"]},"attributes":{"user.id":"u-alice"}}`, ts3),
		ev("user.login", "e4", `{"body":{"user":"alice","method":"password","latency_ms":10},"attributes":{"client.address":"10.0.0.10","login.success":true}}`, ts4),
		ev("log", "e5", `{"body":"GET /index.html 200","attributes":{}}`, ts5),
		ev("user.login", "e4", `{"body":{"user":"alice","method":"password","latency_ms":10},"attributes":{"client.address":"10.0.0.10","login.success":true}}`, ts6),
	)}}))

	// The exceptions table of examples/span-events.yaml.
	exceptions := eventSchema(
		col("service", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG),
		col("exception_type", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG),
		col("trace_id", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_FIELD),
		col("span_id", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_FIELD),
		col("span_name", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_FIELD),
		col("http_route", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_FIELD),
	)
	exc := func(service, excType, traceID, spanID, route string, ts int64) []*greptimev1.Value {
		payload := `{"attributes":{"exception.type":"` + excType + `","exception.message":"declined"},"span":{"name":"POST ` + route + `","kind":"SPAN_KIND_SERVER","status_code":"STATUS_CODE_ERROR"}}`
		return append(event("exception", payload, ts), str(service), str(excType), str(traceID), str(spanID), str("POST "+route), str(route))
	}
	requireOK(t, do(ctx, c, req{db: "public", hints: "append_mode=true, ttl=90d", inserts: []*greptimev1.RowInsertRequest{insert("exceptions", exceptions,
		exc("checkout", "PaymentError", "aa01", "bb01", "/checkout", ts1),
		exc("checkout", "PaymentError", "aa02", "bb02", "/checkout", ts2),
		exc("checkout", "TimeoutError", "aa03", "bb03", "/checkout", ts3),
		exc("search", "TimeoutError", "aa04", "bb04", "/search", ts4),
	)}}))

	rejected := eventSchema(
		col("target_database", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG),
		col("target_table", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG),
		col("error_code", greptimev1.ColumnDataType_INT64, greptimev1.SemanticType_FIELD),
		col("grpc_code", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_FIELD),
		col("error_message", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_FIELD),
	)
	dead := func(typ, target, payload string, ts int64, code *greptimev1.Value, grpcCode, msg string) []*greptimev1.Value {
		return append(event(typ, payload, ts), str("public"), str(target), code, str(grpcCode), str(msg))
	}
	requireOK(t, do(ctx, c, req{db: "public", hints: "append_mode=true", inserts: []*greptimev1.RowInsertRequest{insert("events_rejected", rejected,
		dead("order.placed", "orders", `{"body":{"order_id":"o-2"}}`, ts1, i64(1004), "InvalidArgument", "Invalid request to region 4398046511104(1024, 0), reason: column amount type mismatch"),
		dead("order.placed", "orders", `{"body":{"order_id":"o-3"}}`, ts2, i64(1004), "InvalidArgument", "Invalid request to region 4398046511104(1024, 0), reason: column amount type mismatch"),
		dead("user.login", "events", `{"truncated":true,"record_bytes":2000000,"payload_prefix":"{\"body\""}`, ts3, null(), "", "record larger than max_request_bytes"),
	)}}))

	catalog := []*greptimev1.ColumnSchema{
		col("table_name", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG),
		col("type", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG),
		col("collector", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG),
		col("started_at", greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, greptimev1.SemanticType_TIMESTAMP),
		col("first_seen", greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, greptimev1.SemanticType_FIELD),
		col("last_seen", greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, greptimev1.SemanticType_FIELD),
		col("events", greptimev1.ColumnDataType_INT64, greptimev1.SemanticType_FIELD),
		col("payload_keys", greptimev1.ColumnDataType_JSON, greptimev1.SemanticType_FIELD),
	}
	entry := func(tbl, typ, collector string, started, first, last, n int64, keys string) []*greptimev1.Value {
		return []*greptimev1.Value{str(tbl), str(typ), str(collector), tsns(started), tsns(first), tsns(last), i64(n), str(keys)}
	}
	requireOK(t, do(ctx, c, req{db: "public", hints: "append_mode=false, merge_mode=last_row", inserts: []*greptimev1.RowInsertRequest{insert("event_types", catalog,
		entry("events", "user.login", "host-a/greptime_events", ts1, ts1, ts4, 3, `["attributes.client.address","attributes.login.success","body.latency_ms","body.method","body.user"]`),
		entry("events", "order.placed", "host-a/greptime_events", ts1, ts3, ts3, 1, `["attributes.user.id","body.amount","body.items","body.order_id"]`),
		entry("events", "user.login", "host-b/greptime_events", ts2, ts6, ts6, 1, `["body.user"]`),
		entry("events", "log", "host-a/greptime_events", ts1, ts5, ts5, 1, `[]`),
	)}}))
}

// addSpanEvent adds to events what the demo's traces pipeline writes there:
// an exception span event.
func addSpanEvent(t *testing.T, s *Server) {
	t.Helper()
	events := eventSchema(col("event_id", greptimev1.ColumnDataType_STRING, greptimev1.SemanticType_TAG))
	requireOK(t, do(ctxT(t), dial(t, s.Addr(), nil), req{db: "public", inserts: []*greptimev1.RowInsertRequest{insert("events", events,
		append(event("exception", `{"attributes":{"exception.type":"*errors.errorString","exception.message":"card declined"},"span":{"name":"POST /checkout","kind":"SPAN_KIND_SERVER","status_code":"STATUS_CODE_ERROR"}}`, ts6+1), str("e7")),
	)}}))
}

func execOne(t *testing.T, st *Store, db, sql string) Result {
	t.Helper()
	res, err := st.ExecSQL(db, sql)
	require.NoError(t, err, sql)
	require.Len(t, res, 1, sql)
	return res[0]
}

func colNames(r Result) []string {
	out := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		out[i] = c.Name + ":" + c.DataType
	}
	return out
}

func TestExecSQL(t *testing.T) {
	s := startServer(t, Config{})
	fillEventTables(t, s)
	st := s.Store()

	alice := map[string]any{
		"body":       map[string]any{"user": "alice", "method": "password", "latency_ms": 12.5},
		"attributes": map[string]any{"client.address": "10.0.0.10", "login.success": true},
	}
	for _, tc := range []struct {
		sql  string
		cols []string
		rows [][]any
	}{
		{"SHOW TABLES", []string{"Tables_in_public:String"}, [][]any{{"event_types"}, {"events"}, {"events_rejected"}, {"exceptions"}}},
		{"show tables like 'events%';", []string{"Tables_in_public:String"}, [][]any{{"events"}, {"events_rejected"}}},
		{"SHOW TABLES FROM nosuch", []string{"Tables_in_nosuch:String"}, [][]any{}},
		{"SHOW DATABASES", []string{"Database:String"}, [][]any{{"information_schema"}, {"public"}}},
		{"SHOW SCHEMAS LIKE 'pub%'", []string{"Database:String"}, [][]any{{"public"}}},
		{
			"SELECT type, count(*) FROM events GROUP BY type ORDER BY type;",
			[]string{"type:String", "count(*):Int64"},
			[][]any{{"log", int64(1)}, {"order.placed", int64(1)}, {"user.login", int64(4)}},
		},
		{
			"SELECT json_get_string(payload, 'body.user') AS login_user, count(*) AS logins FROM events WHERE type = 'user.login' GROUP BY login_user ORDER BY login_user;",
			[]string{"login_user:String", "logins:Int64"},
			[][]any{{"alice", int64(3)}, {"bob", int64(1)}},
		},
		{
			"SELECT timestamp, type, json_to_string(payload) AS payload FROM events ORDER BY timestamp DESC LIMIT 3;",
			[]string{"timestamp:TimestampNanosecond", "type:String", "payload:String"},
			[][]any{
				{ts6, "user.login", `{"attributes":{"client.address":"10.0.0.10","login.success":true},"body":{"latency_ms":10,"method":"password","user":"alice"}}`},
				{ts5, "log", `{"attributes":{},"body":"GET /index.html 200"}`},
				{ts4, "user.login", `{"attributes":{"client.address":"10.0.0.10","login.success":true},"body":{"latency_ms":10,"method":"password","user":"alice"}}`},
			},
		},
		{
			"SELECT table_name, type, min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum(events) AS events FROM event_types GROUP BY table_name, type ORDER BY events DESC;",
			[]string{"table_name:String", "type:String", "first_seen:TimestampNanosecond", "last_seen:TimestampNanosecond", "events:Int64"},
			[][]any{
				{"events", "user.login", ts1, ts6, int64(4)},
				{"events", "order.placed", ts3, ts3, int64(1)},
				{"events", "log", ts5, ts5, int64(1)},
			},
		},
		{
			"SELECT collector, payload_keys FROM event_types WHERE type = 'user.login';",
			[]string{"collector:String", "payload_keys:Json"},
			[][]any{
				{"host-a/greptime_events", []any{"attributes.client.address", "attributes.login.success", "body.latency_ms", "body.method", "body.user"}},
				{"host-b/greptime_events", []any{"body.user"}},
			},
		},
		{
			"SELECT target_table, type, error_code, error_message, count(*) AS events FROM events_rejected GROUP BY target_table, type, error_code, error_message ORDER BY events",
			[]string{"target_table:String", "type:String", "error_code:Int64", "error_message:String", "events:Int64"},
			[][]any{
				{"events", "user.login", nil, "record larger than max_request_bytes", int64(1)},
				{"orders", "order.placed", int64(1004), "Invalid request to region 4398046511104(1024, 0), reason: column amount type mismatch", int64(2)},
			},
		},
		{
			"SELECT event_id, count(*) FROM events GROUP BY event_id HAVING count(*) > 1;",
			[]string{"event_id:String", "count(*):Int64"},
			[][]any{{"e4", int64(2)}},
		},
		// Unaliased expressions are named as DataFusion displays them.
		{
			"SELECT min(timestamp), max(timestamp), count(error_code), sum(error_code), json_get_int(payload, 'body.x') FROM events_rejected WHERE error_code IS NOT NULL GROUP BY 5",
			[]string{"min(events_rejected.timestamp):TimestampNanosecond", "max(events_rejected.timestamp):TimestampNanosecond",
				"count(events_rejected.error_code):Int64", "sum(events_rejected.error_code):Int64",
				`json_get_int(events_rejected.payload,Utf8("body.x")):Int64`},
			[][]any{{ts1, ts2, int64(2), int64(2008), nil}},
		},
		// * and WHERE on tags, fields and the time index; IN; a timestamp compared with a string.
		{
			"SELECT * FROM events WHERE type IN ('user.login', 'nosuch') AND json_get_string(payload, 'body.user') != 'bob' AND timestamp < '2026-11-30T04:15:51Z' ORDER BY timestamp LIMIT 1",
			[]string{"type:String", "payload:Json", "timestamp:TimestampNanosecond", "event_id:String"},
			[][]any{{"user.login", alice, ts1, "e1"}},
		},
		{
			"SELECT type FROM events WHERE type NOT IN ('user.login') OR timestamp = 1796012148000000000 ORDER BY 1 DESC",
			[]string{"type:String"},
			[][]any{{"user.login"}, {"order.placed"}, {"log"}},
		},
		{
			"select E.type, json_get_int(E.payload, 'body.amount') as amount, json_get_float(e.payload, 'body.amount') f, json_get_bool(payload, 'attributes.login.success') b from public.events as e where e.type = 'order.placed'",
			[]string{"type:String", "amount:Int64", "f:Float64", "b:Boolean"},
			[][]any{{"order.placed", int64(42), float64(42), nil}},
		},
		{
			`SELECT json_get_string(payload, 'attributes["client.address"]') AS addr, json_get_string(payload, 'body.items[1]') AS item, json_get_int(payload, 'body.latency_ms') AS ms FROM greptime.public.events WHERE "type" LIKE '%.%' AND event_id < 'e4' ORDER BY timestamp`,
			[]string{"addr:String", "item:String", "ms:Int64"},
			[][]any{{"10.0.0.10", nil, nil}, {"203.0.113.7", nil, nil}, {nil, "pen", nil}},
		},
		{
			"SELECT error_code FROM events_rejected WHERE error_code = '1004' AND error_code IN (1004.0, NULL) AND type = 'order.placed'",
			[]string{"error_code:Int64"},
			[][]any{{int64(1004)}, {int64(1004)}},
		},
		{
			"SELECT count(*) AS n, max(type) FROM events WHERE type = 'nosuch'",
			[]string{"n:Int64", "max(events.type):String"},
			[][]any{{int64(0), nil}},
		},
		{
			"SELECT type, timestamp FROM events ORDER BY type DESC, timestamp DESC LIMIT 2 OFFSET 1",
			[]string{"type:String", "timestamp:TimestampNanosecond"},
			[][]any{{"user.login", ts4}, {"user.login", ts2}},
		},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			r := execOne(t, st, "public", tc.sql)
			require.True(t, r.IsQuery())
			assert.Equal(t, tc.cols, colNames(r))
			assert.Equal(t, tc.rows, r.Rows)
		})
	}

	t.Run("SHOW CREATE TABLE", func(t *testing.T) {
		r := execOne(t, st, "greptime-public", "SHOW CREATE TABLE public.events")
		assert.Equal(t, []string{"Table:String", "Create Table:String"}, colNames(r))
		require.Len(t, r.Rows, 1)
		assert.Equal(t, "events", r.Rows[0][0])
		assert.True(t, strings.HasPrefix(r.Rows[0][1].(string), `CREATE TABLE IF NOT EXISTS "events" (`), r.Rows[0][1])
		assert.Contains(t, r.Rows[0][1], `"payload" JSON NULL`)
		assert.Contains(t, r.Rows[0][1], `PRIMARY KEY ("type", "event_id")`)
	})

	t.Run("several statements", func(t *testing.T) {
		res, err := st.ExecSQL("", "SHOW DATABASES;; SELECT count(*) FROM events;")
		require.NoError(t, err)
		require.Len(t, res, 2)
		assert.Equal(t, [][]any{{int64(6)}}, res[1].Rows)
	})

	t.Run("results are copies", func(t *testing.T) {
		r := execOne(t, st, "public", "SELECT payload FROM events WHERE event_id = 'e1'")
		r.Rows[0][0].(map[string]any)["body"] = "changed"
		r = execOne(t, st, "public", "SELECT payload FROM events WHERE event_id = 'e1'")
		assert.Equal(t, alice, r.Rows[0][0])
	})
}

// sqlError is a statement GreptimeDB refuses, with the code and a part of
// the message it answers.
type sqlError struct {
	sql  string
	code StatusCode
	msg  string
}

// assertSQLErrors runs each statement in db, a subtest each, and checks
// its refusal.
func assertSQLErrors(t *testing.T, st *Store, db string, cases []sqlError) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.sql, func(t *testing.T) {
			_, err := st.ExecSQL(db, tc.sql)
			require.Error(t, err)
			code, ok := ErrorStatus(err)
			require.True(t, ok)
			assert.Equal(t, tc.code, code, err.Error())
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestExecSQLErrors(t *testing.T) {
	s := startServer(t, Config{})
	fillEventTables(t, s)
	st := s.Store()
	assertSQLErrors(t, st, "public", []sqlError{
		// GreptimeDB's own errors (tests/cases/standalone/common/error/incorrect_sql.result).
		{"SELEC 42", StatusUnsupported, "SQL statement is not supported, keyword: SELEC"},
		{"", StatusInvalidArguments, "Invalid SQL, error: empty statements"},
		{" ; ;", StatusInvalidArguments, "Invalid SQL, error: empty statements"},
		{"SELECT 'abc", StatusInvalidSyntax, "Invalid SQL syntax: sql parser error: Unterminated string literal at Line: 1, Column: 8"},
		{"SELECT * FROM nosuch", StatusTableNotFound, "Failed to plan SQL: Table not found: greptime.public.nosuch"},
		{"SELECT * FROM other.events", StatusTableNotFound, "Failed to plan SQL: Table not found: greptime.other.events"},
		{"SELECT * FROM \"Events\"", StatusTableNotFound, "Table not found: greptime.public.Events"},
		{"SELECT nosuch FROM events", StatusPlanQuery,
			"Failed to plan SQL: No field named nosuch. Valid fields are events.type, events.payload, events.timestamp, events.event_id."},
		{"SELECT x.type FROM events", StatusPlanQuery, "No field named x.type."},
		{"SELECT type, payload FROM events GROUP BY type", StatusPlanQuery, "events.payload must appear in the GROUP BY clause"},
		{"SELECT type, count(*) FROM events", StatusPlanQuery, "events.type must appear in the GROUP BY clause"},
		{"SELECT sum(type) FROM events", StatusPlanQuery, "No function matches the given name and argument types 'sum(String)'"},
		{"SELECT type FROM events WHERE count(*) > 1", StatusPlanQuery, "Aggregate functions are not allowed in the WHERE clause"},
		{"SELECT type FROM events ORDER BY 3", StatusPlanQuery, "Order by column out of bounds, specified: 3, max: 1"},
		{"SHOW CREATE TABLE nosuch", StatusTableNotFound, "Table not found: nosuch"},
		{"SELECT json_get_string(type, 'a') FROM events", StatusEngineExecuteQuery, "JSON_GET not supported argument type String"},
		{"SELECT json_to_string(type) FROM events", StatusPlanQuery, "json_to_string"},
		{"SELECT count(*) FROM events; SELECT * FROM nosuch; SHOW TABLES", StatusTableNotFound, "nosuch"},
		// tests/cases/standalone/common/create/create_if_not_exists.result:1-3.
		{"CREATE DATABASE IF NOT EXIST x", StatusInvalidSyntax,
			"Unexpected token while parsing SQL statement, expected: 'EXISTS', found: EXIST: sql parser error: Expected: EXISTS, found: EXIST at Line: 1, Column: 24"},
		{"CREATE DATABASE IF EXISTS x", StatusUnsupported, "SQL statement is not supported, keyword: EXISTS"},
		{"CREATE DATABASE IF EXIST", StatusUnsupported, "SQL statement is not supported, keyword: EXIST"},
		// What the stand-in does not run.
		{"INSERT INTO events VALUES (1)", StatusUnsupported, "greptimetest: the stand-in does not support INSERT statements"},
		{"DROP TABLE events", StatusUnsupported, "greptimetest: the stand-in does not support DROP statements"},
		{"SELECT a.type FROM events a JOIN events_rejected b ON a.type = b.type", StatusUnsupported, "greptimetest: the stand-in does not support JOIN here"},
		{"SELECT type FROM events UNION SELECT type FROM events_rejected", StatusUnsupported, "greptimetest: the stand-in does not support UNION here"},
		{"SELECT DISTINCT type FROM events", StatusUnsupported, "SELECT DISTINCT"},
		{"SELECT upper(type) FROM events", StatusUnsupported, "the function upper()"},
		{"SELECT count(*) + 1 FROM events", StatusUnsupported, "the operator + (at Line: 1, Column: 17)"},
		{"SELECT type FROM events WHERE payload = '{}'", StatusUnsupported, "comparing JSON values"},
		{"SELECT type FROM events WHERE timestamp = 'yesterday'", StatusPlanQuery, "Cannot cast string 'yesterday'"},
		{"SELECT type FROM events_rejected WHERE error_code = '10x'", StatusPlanQuery, "Cannot cast string '10x' to value of Int64 type"},
		{"SELECT json_get_string(payload, 'a[*]') FROM events", StatusUnsupported, "the JSON path 'a[*]'"},
		{"SELECT type FROM events ORDER BY payload", StatusUnsupported, "ORDER BY a JSON value"},
		{"SELECT * FROM events WHERE type IN (SELECT type FROM events)", StatusUnsupported, "subqueries"},
		{"SHOW FULL TABLES", StatusUnsupported, "SHOW FULL"},
		{"CREATE VIEW v AS SELECT 1", StatusUnsupported, "CREATE VIEW"},
		{"SELECT type FROM events WHERE type = 'a' LIMIT -1", StatusUnsupported, "a non-negative integer after LIMIT"},
	})
}

// TestExecSQLExpressionBounds: nesting and operands are bounded, so that no
// SQL sent to the stand-in exhausts the stack of its parser or evaluation;
// within the bounds, such expressions run.
func TestExecSQLExpressionBounds(t *testing.T) {
	s := startServer(t, Config{})
	fillEventTables(t, s)
	st := s.Store()
	nested := func(n int) string {
		return "SELECT count(*) FROM events WHERE " + strings.Repeat("(", n) + "TRUE" + strings.Repeat(")", n)
	}
	nots := func(n int) string {
		return "SELECT count(*) FROM events WHERE " + strings.Repeat("NOT ", n) + "FALSE"
	}
	terms := func(n int) string {
		return "SELECT count(*) FROM events WHERE TRUE" + strings.Repeat(" AND TRUE", n-1)
	}
	for _, sql := range []string{nested(maxExprDepth), nots(maxExprDepth - 1), terms(maxExprTerms - 10)} {
		_, err := st.ExecSQL("public", sql)
		require.NoError(t, err, "%.80s", sql)
	}
	for name, sql := range map[string]string{
		"parentheses":   nested(maxExprDepth + 1),
		"NOTs":          nots(maxExprDepth + 1),
		"operands":      terms(maxExprTerms + 1),
		"a megabyte":    nested(500_000),
		"many operands": terms(100_000),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := st.ExecSQL("public", sql)
			require.Error(t, err)
			code, ok := ErrorStatus(err)
			require.True(t, ok)
			assert.Equal(t, StatusUnsupported, code, err.Error())
			assert.Contains(t, err.Error(), "greptimetest: the stand-in does not support expressions")
		})
	}
}

// TestCreateDatabase: CREATE DATABASE as GreptimeDB runs it, and a database
// created over SQL takes inserts over gRPC, which fail before.
func TestCreateDatabase(t *testing.T) {
	s := startServer(t, Config{})
	st := s.Store()
	ctx := ctxT(t)
	c := dial(t, s.Addr(), nil)
	write := func() result {
		return do(ctx, c, req{db: "analytics", inserts: []*greptimev1.RowInsertRequest{insert("t", eventSchema(), event("a", `{"n":1}`, 1))}})
	}

	requireStatus(t, write(), codes.InvalidArgument, StatusInvalidArguments, "Failed to find schema, schema info: analytics")
	r := execOne(t, st, "public", "CREATE DATABASE analytics;")
	assert.False(t, r.IsQuery())
	assert.Equal(t, 1, r.AffectedRows)
	requireOK(t, write())
	assert.Equal(t, [][]any{{int64(1)}}, execOne(t, st, "analytics", "SELECT json_get_int(payload, 'n') FROM t").Rows)
	assert.Equal(t, [][]any{{int64(1)}}, execOne(t, st, "public", "SELECT count(*) FROM analytics.t").Rows)

	assertSQLErrors(t, st, "public", []sqlError{
		{"CREATE DATABASE analytics", StatusInvalidArguments, "Schema analytics already exists"},
		{"create schema ANALYTICS", StatusInvalidArguments, "Schema analytics already exists"},
		{"CREATE DATABASE public", StatusInvalidArguments, "Schema public already exists"},
		{"CREATE DATABASE information_schema", StatusInvalidArguments, "Schema information_schema already exists"},
		// tests/cases/standalone/common/create/create_database.result:1-7.
		{"create database '㊙️database'", StatusUnexpected, "Unexpected, violated: Invalid database name: ㊙️database"},
		{"create database illegal-database", StatusUnsupported, "SQL statement is not supported, keyword: -"},
		{"CREATE DATABASE d WITH (ttl = '1h')", StatusUnsupported, "database options"},
	})

	for _, sql := range []string{
		"CREATE DATABASE IF NOT EXISTS analytics",
		"CREATE DATABASE IF NOT EXISTS information_schema",
		"CREATE DATABASE Mixed",
		`CREATE DATABASE "Mixed"`,
		"create database 'illegal-database'",
		"CREATE SCHEMA `with.dot@x`",
	} {
		assert.Equal(t, 1, execOne(t, st, "public", sql).AffectedRows, sql)
	}
	assert.Equal(t, []string{"Mixed", "analytics", "illegal-database", "mixed", "public", "with.dot@x"}, st.Databases())
	r = execOne(t, st, "public", "SHOW DATABASES")
	assert.Equal(t, [][]any{{"Mixed"}, {"analytics"}, {"illegal-database"}, {"information_schema"}, {"mixed"}, {"public"}, {"with.dot@x"}}, r.Rows)
}

// TestShowDatabasesOfTheStatementsCatalog: SHOW DATABASES lists the schemas
// of the catalog the statement runs in, not every catalog's.
func TestShowDatabasesOfTheStatementsCatalog(t *testing.T) {
	st, err := NewStore("public", "other-foo")
	require.NoError(t, err)
	assert.Equal(t, [][]any{{"information_schema"}, {"public"}}, execOne(t, st, "public", "SHOW DATABASES").Rows)
	assert.Equal(t, [][]any{{"foo"}, {"information_schema"}}, execOne(t, st, "other-foo", "SHOW DATABASES").Rows)
}

// TestJSONRendering: JSON values as json_to_string writes them and as the
// HTTP API renders a JSON column.
func TestJSONRendering(t *testing.T) {
	tree, err := decodeJSON(`{"b":[1,2.5,-3e-7,1e21,true,null],"a":"x\"<>&\u2028\n\u0001é","c":{}}`)
	require.NoError(t, err)
	assert.Equal(t, `{"a":"x\"<>&`+"\u2028"+`\n`+"\x01"+`é","b":[1,2.5,-0.0000003,1000000000000000000000,true,null],"c":{}}`, jsonText(tree))
	got, err := renderJSONColumn(tree)
	require.NoError(t, err)
	assert.Equal(t, `{"a":"x\"<>&`+"\u2028"+`\n\u0001é","b":[1,2.5,-3e-7,1e21,true,null],"c":{}}`, string(got))

	for f, want := range map[float64]string{
		0: "0.0", 1: "1.0", -2.5: "-2.5", 1e15: "1000000000000000.0", 1e16: "1e16", 1.5e16: "1.5e16",
		0.001: "0.001", 1e-5: "0.00001", 1e-6: "1e-6", 1.25e-7: "1.25e-7", 123456.789: "123456.789",
	} {
		assert.Equal(t, want, formatRyu(f), "%g", f)
	}

	for path, want := range map[string]any{
		"a": "x\"<>&\u2028\n\u0001é", "$.a": "x\"<>&\u2028\n\u0001é", `["a"]`: "x\"<>&\u2028\n\u0001é",
		"b[1]": 2.5, "b.x": nil, "c": map[string]any{}, "a:b": nil, "$": tree,
	} {
		steps, gerr := parseJSONPath(path)
		require.Nil(t, gerr, path)
		v, _ := jsonGet(tree, steps)
		assert.Equal(t, want, v, path)
	}
	for _, path := range []string{"", "a..b", "a[", "b[-1]", "a.*", "$a", "a?(@ > 1)"} {
		_, gerr := parseJSONPath(path)
		assert.NotNil(t, gerr, path)
	}

	for v, want := range map[any]any{"s": "s", true: "true", 12.0: "12", 12.5: "12.5"} {
		got, ok := jsonToString(v)
		assert.True(t, ok)
		assert.Equal(t, want, got)
	}
	_, ok := jsonToString(nil)
	assert.False(t, ok)
	for v, want := range map[any]int64{12.0: 12, true: 1, false: 0, "-7": -7} {
		got, ok := jsonToInt(v)
		assert.True(t, ok, v)
		assert.Equal(t, want, got)
	}
	for _, v := range []any{12.5, "x", nil, map[string]any{}} {
		_, ok := jsonToInt(v)
		assert.False(t, ok, v)
	}
}

// FuzzExecSQL: whatever the text, ExecSQL answers without panicking, with
// results or an error that carries a status code.
func FuzzExecSQL(f *testing.F) {
	for _, seed := range []string{
		"SELECT type, count(*) FROM events GROUP BY type ORDER BY type;",
		"SELECT json_get_string(payload, 'body.user') AS u, count(*) FROM events WHERE type IN ('a', 'b') GROUP BY u HAVING count(*) > 1 ORDER BY 2 DESC NULLS LAST LIMIT 3 OFFSET 1",
		"SHOW CREATE TABLE events; SHOW TABLES LIKE 'e%'; CREATE DATABASE IF NOT EXISTS x",
		"SELECT * FROM public.events e WHERE NOT (e.type = 'x' OR timestamp >= '2020-01-01') AND payload IS NOT NULL",
		"/* c */ SELECT -1, 2.5e3, 'it''s', \"type\" FROM `events` -- end",
		exporterCreate,
		exporterAlter,
		"CREATE TABLE t (ts TIMESTAMP(3) TIME INDEX, host STRING PRIMARY KEY) WITH (ttl = '1d'); ALTER TABLE t ADD COLUMN v DOUBLE, ADD w JSON",
	} {
		f.Add(seed)
	}
	st, err := NewStore()
	require.NoError(f, err)
	var filled sync.Once
	f.Fuzz(func(t *testing.T, sql string) {
		filled.Do(func() { fillEventTables(t, startServer(t, Config{Store: st})) })
		_, err := st.ExecSQL("public", sql)
		if err != nil {
			_, ok := ErrorStatus(err)
			assert.True(t, ok, "%v", err)
		}
	})
}

func TestLikeMatch(t *testing.T) {
	for _, tc := range []struct {
		s, p string
		want bool
	}{
		{"user.login", "user.%", true}, {"user.login", "%.%", true}, {"user.login", "user._ogin", true},
		{"user.login", "user", false}, {"", "%", true}, {"", "_", false}, {"a%b", `a\%b`, true}, {"axb", `a\%b`, false},
		{"abcabd", "%abd", true}, {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "%a%a%a%a%a%a%a%a%a%a%a%a%b", false}, {"é", "_", true},
	} {
		assert.Equal(t, tc.want, likeMatch([]rune(tc.s), []rune(tc.p)), "%q LIKE %q", tc.s, tc.p)
	}
}
