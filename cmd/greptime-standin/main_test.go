package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
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
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestRun serves one insert and one rejected insert, then stops: the output
// says it is a stand-in, logs both calls and ends with the table it held.
func TestRun(t *testing.T) {
	ctx, client, _, out, stop := startStandin(t, "public")

	_, err := client.Handle(ctx, insertEvent("events", greptimev1.ColumnDataType_STRING))
	require.NoError(t, err)
	_, err = client.Handle(ctx, insertEvent("events", greptimev1.ColumnDataType_INT64)) // type changed
	require.Error(t, err)
	assert.Eventually(t, func() bool { return strings.Count(out.String(), " insert db=public") == 2 },
		5*time.Second, 10*time.Millisecond)

	stop()
	got := out.String()
	assert.Contains(t, got, "in-memory GreptimeDB-protocol stand-in, NOT GreptimeDB")
	assert.Regexp(t, `\d\d:\d\d:\d\d insert db=public rows=\[events:1\] -> OK, 1 rows`, got)
	assert.Regexp(t, `insert db=public rows=\[events:1\] -> InvalidArgument: .+`, got)
	assert.Contains(t, got, `CREATE TABLE IF NOT EXISTS "events"`)
	assert.Contains(t, got, "rows: 1\n")
}

// TestCompressedRequests: the stand-in decompresses gzip and zstd, as
// GreptimeDB does, and refuses snappy.
func TestCompressedRequests(t *testing.T) {
	ctx, client, _, out, stop := startStandin(t, "public")

	for _, enc := range []string{"gzip", "zstd"} {
		_, err := client.Handle(ctx, insertEvent("events", greptimev1.ColumnDataType_STRING), grpc.UseCompressor(enc))
		require.NoError(t, err, enc)
	}
	_, err := client.Handle(ctx, insertEvent("events", greptimev1.ColumnDataType_STRING), grpc.UseCompressor("snappy"))
	assert.Equal(t, codes.Unimplemented, status.Code(err))

	stop()
	assert.Contains(t, out.String(), "rows: 2\n")
}

// TestSQL: the HTTP SQL API answers as the curl example the stand-in prints
// does; a database created over it takes inserts, and both databases are
// printed at the end.
func TestSQL(t *testing.T) {
	ctx, client, httpAddr, out, stop := startStandin(t, " public, more ,")
	assert.Contains(t, out.String(), `databases "more", "public"`)
	assert.Contains(t, out.String(), "  curl -s -X POST "+httpAddr+"/v1/sql -d 'sql=SHOW TABLES'\n")

	_, err := client.Handle(ctx, insertEvent("events", greptimev1.ColumnDataType_STRING))
	require.NoError(t, err)
	// curl -d sends the form urlencoded.
	resp, err := http.Post("http://"+httpAddr+"/v1/sql", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"sql": {"SHOW TABLES; SELECT type, count(*) FROM events GROUP BY type; CREATE DATABASE analytics"}}.Encode()))
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Regexp(t, `^\{"output":\[\{"records":\{"schema":\{"column_schemas":\[\{"name":"Tables_in_public","data_type":"String"\}\]\},"rows":\[\["events"\]\],"total_rows":1\}\},`+
		`\{"records":\{"schema":\{"column_schemas":\[\{"name":"type","data_type":"String"\},\{"name":"count\(\*\)","data_type":"Int64"\}\]\},"rows":\[\["user.login",1\]\],"total_rows":1\}\},`+
		`\{"affectedrows":1\}\],"execution_time_ms":\d+\}$`, string(body))

	req := insertEvent("events", greptimev1.ColumnDataType_STRING)
	req.Header.Dbname = "analytics"
	_, err = client.Handle(ctx, req)
	require.NoError(t, err)

	stop()
	got := out.String()
	for _, db := range []string{"analytics", "more", "public"} {
		assert.Contains(t, got, fmt.Sprintf("the tables it held (database %q)", db))
	}
	assert.Equal(t, 2, strings.Count(got, `CREATE TABLE IF NOT EXISTS "events"`))
	assert.Contains(t, got, `database "more": no tables`)
}

// startStandin runs the stand-in on free ports with the -databases flag
// databases and dials it; stop ends the run and checks it ended cleanly.
func startStandin(t *testing.T, databases string) (ctx context.Context, client greptimev1.GreptimeDatabaseClient, httpAddr string, out *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out = new(syncBuffer)
	done := make(chan error, 1)
	opts := options{addr: "127.0.0.1:0", httpAddr: "127.0.0.1:0", databases: splitList(databases)}
	go func() { done <- run(ctx, out, opts) }()
	serving := regexp.MustCompile(`Handle on (127\.0\.0\.1:\d+)(?s:.*)HTTP SQL API \(a subset of its SQL\) on (127\.0\.0\.1:\d+)`)
	require.Eventually(t, func() bool { return serving.MatchString(out.String()) }, 5*time.Second, 10*time.Millisecond)
	m := serving.FindStringSubmatch(out.String())
	return ctx, dial(t, m[1]), m[2], out, func() {
		cancel()
		require.NoError(t, <-done)
	}
}

// insertEvent is a request with one row of the exporter's base columns, the
// type column of the given data type.
func insertEvent(table string, typeColumn greptimev1.ColumnDataType) *greptimev1.GreptimeRequest {
	typeValue := &greptimev1.Value{ValueData: &greptimev1.Value_StringValue{StringValue: "user.login"}}
	if typeColumn == greptimev1.ColumnDataType_INT64 {
		typeValue = &greptimev1.Value{ValueData: &greptimev1.Value_I64Value{I64Value: 1}}
	}
	rows := &greptimev1.Rows{
		Schema: []*greptimev1.ColumnSchema{
			{ColumnName: "type", Datatype: typeColumn, SemanticType: greptimev1.SemanticType_TAG},
			{ColumnName: "timestamp", Datatype: greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, SemanticType: greptimev1.SemanticType_TIMESTAMP},
		},
		Rows: []*greptimev1.Row{{Values: []*greptimev1.Value{
			typeValue,
			{ValueData: &greptimev1.Value_TimestampNanosecondValue{TimestampNanosecondValue: time.Now().UnixNano()}},
		}}},
	}
	return &greptimev1.GreptimeRequest{
		Header: &greptimev1.RequestHeader{Dbname: "public"},
		Request: &greptimev1.GreptimeRequest_RowInserts{RowInserts: &greptimev1.RowInsertRequests{
			Inserts: []*greptimev1.RowInsertRequest{{TableName: table, Rows: rows}},
		}},
	}
}

func dial(t *testing.T, addr string) greptimev1.GreptimeDatabaseClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return greptimev1.NewGreptimeDatabaseClient(conn)
}

// syncBuffer is a bytes.Buffer that run and the test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestNoHTTP: with -http-addr empty only gRPC is served.
func TestNoHTTP(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	out := new(syncBuffer)
	done := make(chan error, 1)
	go func() { done <- run(ctx, out, options{addr: "127.0.0.1:0", databases: []string{"public"}}) }()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "Ctrl-C prints the tables\n") }, 5*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	assert.NotContains(t, out.String(), "HTTP")
	assert.Equal(t, []string{"a", "b"}, splitList(" a,,b , "))
}
