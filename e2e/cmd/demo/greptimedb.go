package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/store"
	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// greptimeDB is where the demo's events go: a real GreptimeDB or the stand-in.
type greptimeDB struct {
	// endpoint is the gRPC address the exporter writes to.
	endpoint string
	// reader reads the stored events back; nil for a real GreptimeDB without GREPTIMEDB_MYSQL.
	reader store.Reader
	// standIn is the in-memory stand-in, nil for a real GreptimeDB.
	standIn *greptimetest.Server
	// sql is the MySQL connection to a real GreptimeDB, nil if none.
	sql *store.MySQL
}

// openGreptimeDB uses the GreptimeDB that GREPTIMEDB_ENDPOINT names, or
// starts the in-memory stand-in on a free loopback port.
func openGreptimeDB(ctx context.Context, w io.Writer) (*greptimeDB, error) {
	endpoint := os.Getenv("GREPTIMEDB_ENDPOINT")
	if endpoint == "" {
		srv, err := greptimetest.Start(greptimetest.Config{})
		if err != nil {
			return nil, fmt.Errorf("start the GreptimeDB stand-in: %w", err)
		}
		fmt.Fprintf(w, "GreptimeDB  in-memory STAND-IN at %s (not GreptimeDB: internal/greptimetest speaks its gRPC\n", srv.Addr())
		fmt.Fprintln(w, "            insert protocol and applies its insert rules; set GREPTIMEDB_ENDPOINT=host:4001 for a real one)")
		return &greptimeDB{endpoint: srv.Addr(), reader: store.StandIn{Server: srv, Database: "public"}, standIn: srv}, nil
	}
	fmt.Fprintf(w, "GreptimeDB  %s (GREPTIMEDB_ENDPOINT)\n", endpoint)
	db := &greptimeDB{endpoint: endpoint}
	if addr := os.Getenv("GREPTIMEDB_MYSQL"); addr != "" {
		conn, err := store.OpenMySQL(ctx, addr, "public")
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "            MySQL protocol at %s (GREPTIMEDB_MYSQL) to read the tables back\n", addr)
		db.sql, db.reader = conn, conn
	}
	return db, nil
}

// close stops the stand-in or closes the MySQL connection.
func (db *greptimeDB) close() {
	if db.standIn != nil {
		db.standIn.Stop()
	}
	if db.sql != nil {
		_ = db.sql.Close()
	}
}

// printTables prints the event tables: the stand-in's dump of them, or the
// answers of a real GreptimeDB to the demo's SQL.
func (db *greptimeDB) printTables(ctx context.Context, w io.Writer) error {
	if db.standIn != nil {
		fmt.Fprintln(w, `The event tables the stand-in holds (database "public"): schema, rows per type, sample rows:`)
		fmt.Fprintln(w)
		fmt.Fprint(indent(w), db.dumpEventTables())
		fmt.Fprintln(w)
		return nil
	}
	fmt.Fprintln(w, "The tables, queried over the MySQL protocol:")
	if err := db.runQueries(ctx, w, eventQueries); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return nil
}

// dumpEventTables is the stand-in's dump of database "public" without the
// catalog and dead-letter tables, which the demo prints on their own.
func (db *greptimeDB) dumpEventTables() string {
	var b strings.Builder
	db.standIn.Dump(&b, "public")
	const create = "CREATE TABLE IF NOT EXISTS "
	dump := b.String()
	if !strings.HasPrefix(dump, create) {
		return dump // no tables
	}
	var kept []string
	for _, block := range strings.Split(strings.TrimPrefix(dump, create), "\n\n"+create) {
		name, _, _ := strings.Cut(block, " (")
		if name == strconv.Quote(catalogTable) || name == strconv.Quote(deadLetterTable) {
			continue
		}
		kept = append(kept, create+block)
	}
	return strings.Join(kept, "\n\n")
}

// runQueries runs the queries against a real GreptimeDB and prints each
// answer. A table that does not exist (an opt-in table nothing was written
// to yet) is said so, not an error.
func (db *greptimeDB) runQueries(ctx context.Context, w io.Writer, queries []string) error {
	for _, q := range queries {
		fmt.Fprintf(w, "\nmysql> %s\n", q)
		cols, rows, err := db.sql.Query(ctx, q)
		if store.IsTableNotFound(err) {
			fmt.Fprintln(w, "(no such table yet: nothing was written to it)")
			continue
		}
		if err != nil {
			return err
		}
		printResult(w, cols, rows)
	}
	return nil
}

// printResult prints a query result as an aligned table.
func printResult(w io.Writer, cols []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "(%d rows)\n", len(rows))
}

// indent returns a writer that indents every line written to w by two spaces.
func indent(w io.Writer) io.Writer { return &indenter{w: w, atStart: true} }

type indenter struct {
	w       io.Writer
	atStart bool
}

func (in *indenter) Write(p []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line == "" {
			continue
		}
		if in.atStart {
			if _, err := io.WriteString(in.w, "  "); err != nil {
				return 0, err
			}
		}
		if _, err := io.WriteString(in.w, line); err != nil {
			return 0, err
		}
		in.atStart = strings.HasSuffix(line, "\n")
	}
	return len(p), nil
}
