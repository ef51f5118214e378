// Command greptime-standin serves GreptimeDB's gRPC insert protocol from memory,
// so that the collector can be tried without a GreptimeDB:
//
//	go run ./cmd/greptime-standin            # listens on 127.0.0.1:4001
//	make run                                  # in another terminal
//
// It is not GreptimeDB. It is internal/greptimetest, the server the tests use:
// it accepts row inserts, applies GreptimeDB's insert rules and keeps the rows
// in memory. It logs every call, and on SIGINT or SIGTERM prints the tables it
// holds and exits.
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

func main() {
	addr := flag.String("addr", "127.0.0.1:4001", "address to listen on (GreptimeDB's gRPC port is 4001)")
	database := flag.String("database", "public", "the database that accepts inserts and is printed on exit")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, *addr, *database); err != nil {
		fmt.Fprintln(os.Stderr, "greptime-standin:", err)
		os.Exit(1)
	}
}

// run serves on addr until ctx is done, then prints the tables of database to w.
func run(ctx context.Context, w io.Writer, addr, database string) error {
	srv, err := greptimetest.Start(greptimetest.Config{Addr: addr, Databases: []string{database}})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "greptime-standin: an in-memory GreptimeDB-protocol stand-in, NOT GreptimeDB\n")
	fmt.Fprintf(w, "greptime-standin: serving greptime.v1.GreptimeDatabase/Handle on %s, database %q; Ctrl-C prints the tables\n", srv.Addr(), database)

	logged := make(chan struct{})
	go func() {
		defer close(logged)
		logCalls(ctx, w, srv)
	}()
	<-ctx.Done()
	srv.Stop()
	<-logged

	fmt.Fprintf(w, "\ngreptime-standin: stopped; the tables it held (database %q):\n\n", database)
	srv.Dump(w, database)
	return nil
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
