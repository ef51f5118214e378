// Command greptime-standin serves GreptimeDB's gRPC insert protocol and its
// HTTP SQL API from memory, so that the collector can be tried without a
// GreptimeDB (README: Try it by hand):
//
//	make standin    # go run ./cmd/greptime-standin: gRPC on 127.0.0.1:4001, HTTP on 127.0.0.1:4000
//	make run        # in another terminal: the collector with examples/collector.yaml
//	curl -s -X POST localhost:4000/v1/sql --data-urlencode 'sql=SELECT type, count(*) FROM events GROUP BY type'
//
// It is not GreptimeDB. It is internal/greptimetest, the server the tests use:
// it accepts row inserts (greptime.v1.GreptimeDatabase/Handle, plain gRPC),
// applies GreptimeDB's insert rules and keeps the rows in memory, and runs a
// subset of GreptimeDB's SQL, parsed by its own small parser:
//
//   - over HTTP, POST or GET /v1/sql on GreptimeDB's HTTP port, answered in
//     GreptimeDB's greptimedb_v1 JSON: SHOW DATABASES, SHOW TABLES [FROM db],
//     SHOW CREATE TABLE, CREATE DATABASE [IF NOT EXISTS], CREATE TABLE,
//     ALTER TABLE ... ADD COLUMN, and SELECT over one table (WHERE, GROUP BY,
//     HAVING, ORDER BY, LIMIT; count, min, max, sum, avg, json_get_string and
//     its kin), several statements separated by ';';
//   - over gRPC Handle, the statements that answer affected rows (CREATE
//     DATABASE, as tenants::create_databases sends it, CREATE TABLE, ALTER
//     TABLE), as GreptimeDB's Handle does.
//
// Anything else fails with 1001 Unsupported, naming the stand-in;
// internal/greptimetest/doc.go lists what it runs and how it differs from
// GreptimeDB. It logs every insert call, and on SIGINT or SIGTERM prints the
// tables of every database and exits; nothing is kept across runs.
//
// Flags: -addr (gRPC, default 127.0.0.1:4001), -http-addr (default
// 127.0.0.1:4000, empty for none) and -databases (comma-separated, default
// public): the databases that exist at start. As on GreptimeDB, an insert
// into any other database fails until CREATE DATABASE makes it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	// GreptimeDB decompresses zstd requests; the stand-in decompresses with the
	// zstd compressor registered in the binary, and configgrpc registers one
	// (and snappy, which the stand-in refuses as GreptimeDB does).
	_ "go.opentelemetry.io/collector/config/configgrpc"
	"google.golang.org/grpc/codes"

	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// options are the command's flags.
type options struct {
	addr      string   // gRPC
	httpAddr  string   // HTTP SQL API; "" for none
	databases []string // the databases that exist at start
}

func main() {
	addr := flag.String("addr", "127.0.0.1:4001", "gRPC address to listen on (GreptimeDB's gRPC port is 4001)")
	httpAddr := flag.String("http-addr", greptimetest.DefaultHTTPAddr, "HTTP SQL API address to listen on (GreptimeDB's HTTP port is 4000); empty for none")
	databases := flag.String("databases", "public", "comma-separated databases that accept inserts (CREATE DATABASE over HTTP adds more)")
	flag.Parse()

	opts := options{addr: *addr, httpAddr: *httpAddr, databases: splitList(*databases)}
	if err := runUntilSignal(opts); err != nil {
		fmt.Fprintln(os.Stderr, "greptime-standin:", err)
		os.Exit(1)
	}
}

// runUntilSignal runs the stand-in until SIGINT or SIGTERM.
func runUntilSignal(opts options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, os.Stdout, opts)
}

// splitList splits a comma-separated flag, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// run serves until ctx is done, then prints the tables of every database to w.
func run(ctx context.Context, w io.Writer, opts options) error {
	srv, err := greptimetest.Start(greptimetest.Config{Addr: opts.addr, HTTPAddr: opts.httpAddr, Databases: opts.databases})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "greptime-standin: an in-memory GreptimeDB-protocol stand-in, NOT GreptimeDB\n")
	fmt.Fprintf(w, "greptime-standin: serving greptime.v1.GreptimeDatabase/Handle on %s, databases %s; Ctrl-C prints the tables\n",
		srv.Addr(), quoteList(srv.Store().Databases()))
	if a := srv.HTTPAddr(); a != "" {
		fmt.Fprintf(w, "greptime-standin: serving GreptimeDB's HTTP SQL API (a subset of its SQL) on %s, for example:\n", a)
		fmt.Fprintf(w, "  curl -s -X POST %s/v1/sql -d 'sql=SHOW TABLES'\n", a)
	}

	logged := make(chan struct{})
	go func() {
		defer close(logged)
		logCalls(ctx, w, srv)
	}()
	<-ctx.Done()
	srv.Stop()
	<-logged

	for _, db := range srv.Store().Databases() {
		fmt.Fprintf(w, "\ngreptime-standin: stopped; the tables it held (database %q):\n\n", db)
		srv.Dump(w, db)
	}
	return nil
}

func quoteList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(quoted, ", ")
}

// logCalls prints one line per Handle call as calls complete, until ctx is done.
func logCalls(ctx context.Context, w io.Writer, srv *greptimetest.Server) {
	printed := 0
	for {
		if err := srv.WaitForCalls(ctx, printed+1); err != nil {
			if !errors.Is(err, context.Canceled) {
				fmt.Fprintln(w, "greptime-standin:", err)
			}
			return
		}
		calls := srv.Calls()
		for _, c := range calls[printed:] {
			fmt.Fprintln(w, describeCall(c))
		}
		printed = len(calls)
	}
}

// describeCall renders a call as one log line: time, database, rows per table, outcome.
func describeCall(c greptimetest.Call) string {
	inserts := make([]string, len(c.Inserts))
	for i, in := range c.Inserts {
		inserts[i] = fmt.Sprintf("%s:%d", in.Table, in.Rows)
	}
	outcome := fmt.Sprintf("OK, %d rows", c.AffectedRows)
	if c.Code != codes.OK {
		outcome = fmt.Sprintf("%s: %s", c.Code, c.Message)
	}
	return fmt.Sprintf("%s insert db=%s rows=[%s] -> %s",
		c.Time.Format(time.TimeOnly), orPublic(c.DB), strings.Join(inserts, " "), outcome)
}

func orPublic(db string) string {
	if db == "" {
		return "public"
	}
	return db
}
