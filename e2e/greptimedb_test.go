package e2e

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/events"
	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/store"
)

// Table options as SHOW CREATE TABLE prints them in its WITH clause.
var (
	ttlOption        = regexp.MustCompile(`(?i)\bttl'?\s*=\s*'[^']+'`)
	appendModeOption = regexp.MustCompile(`(?i)\bappend_mode'?\s*=\s*'true'`)
)

// TestGreptimeDB runs the OTLP/gRPC scenario of TestOTelSDK against a real
// GreptimeDB, into a table of its own, and checks the result with SQL over
// the MySQL protocol: every event exactly once with its type, payload and
// timestamp, the count per type, and a table created with the TTL and append
// mode. It runs only when GREPTIMEDB_ENDPOINT and GREPTIMEDB_MYSQL are set.
func TestGreptimeDB(t *testing.T) {
	endpoint, db := realGreptimeDB(t)
	table := fmt.Sprintf("e2e_events_%d", time.Now().UnixNano())
	t.Logf("writing to table public.%s", table)

	sent := runSDKScenario(t, events.GRPC, endpoint, db, table, []string{"exporters::greptime_events::table=" + table})

	counts, err := db.CountByType(t.Context(), table)
	if err != nil {
		t.Fatal(err)
	}
	if want := events.Count(sent); !maps.Equal(counts, want) {
		t.Errorf("SELECT type, count(*) FROM %s GROUP BY type: %v, want %v", table, counts, want)
	}
	stmt, err := db.ShowCreateTable(t.Context(), table)
	if err != nil {
		t.Fatal(err)
	}
	if !ttlOption.MatchString(stmt) || !appendModeOption.MatchString(stmt) {
		t.Errorf("SHOW CREATE TABLE %s has no ttl or no append_mode = 'true':\n%s", table, stmt)
	}
}

// realGreptimeDB returns the gRPC endpoint of the GreptimeDB that
// GREPTIMEDB_ENDPOINT names and a connection to its MySQL endpoint
// (GREPTIMEDB_MYSQL), closed when the test ends; without both it skips the test.
func realGreptimeDB(t *testing.T) (endpoint string, db *store.MySQL) {
	t.Helper()
	endpoint, mysqlAddr := os.Getenv("GREPTIMEDB_ENDPOINT"), os.Getenv("GREPTIMEDB_MYSQL")
	if endpoint == "" || mysqlAddr == "" {
		t.Skip("no GreptimeDB to run against: set GREPTIMEDB_ENDPOINT (its gRPC address, e.g. 127.0.0.1:4001) " +
			"and GREPTIMEDB_MYSQL (its MySQL address, e.g. 127.0.0.1:4002); see README, Running against a real GreptimeDB")
	}
	db, err := store.OpenMySQL(t.Context(), mysqlAddr, "public")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return endpoint, db
}
