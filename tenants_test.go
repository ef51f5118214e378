package greptimeeventsexporter

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// tenantLogs is a batch with one resource per tenant (attribute "tenant";
// "" leaves it out), each with the given event types.
func tenantLogs(tenants []string, types ...string) plog.Logs {
	ld := plog.NewLogs()
	for _, tenant := range tenants {
		rl := ld.ResourceLogs().AppendEmpty()
		if tenant != "" {
			rl.Resource().Attributes().PutStr("tenant", tenant)
		}
		logsOfTypes(types...).ResourceLogs().At(0).ScopeLogs().MoveAndAppendTo(rl.ScopeLogs())
	}
	return ld
}

func tenantServer() greptimetest.Config {
	return greptimetest.Config{Databases: []string{"public", "team_a", "team_b", "team_c", "other"}}
}

func TestTenantsFromAResourceAttribute(t *testing.T) {
	h := newHarness(t, setup{server: tenantServer(), configure: func(cfg *Config) {
		cfg.Tenants = configoptional.Some(TenantsConfig{From: "resource.tenant", Databases: []string{"team_a", "team_b"}, DatabasePattern: "team_[c-z]"})
		cfg.Events = map[string]EventConfig{"deploy": {Table: "deploys"}}
	}})

	for range 2 { // the second time, as shared calls
		require.NoError(t, h.exp.ConsumeLogs(context.Background(), tenantLogs([]string{"team_a", "team_b", "", "team_c"}, "login", "deploy", "login")))
	}

	for _, db := range []string{"team_a", "team_b", "public", "team_c"} {
		assert.Equal(t, 4, h.srv.RowCount(db, "events"), db)
		assert.Equal(t, 2, h.srv.RowCount(db, "deploys"), db)
	}
	assert.Empty(t, h.srv.Tables("other"))
	perDB := map[string]int{}
	for _, c := range h.srv.Calls() {
		perDB[c.DB]++
	}
	assert.Equal(t, map[string]int{"team_a": 3, "team_b": 3, "public": 3, "team_c": 3}, perDB,
		"in each database: two first writes (two tables), then one call for both")
	assertRecordsDropped(t, h.tel, nil)
}

func TestTenantsFromClientMetadata(t *testing.T) {
	h := newHarness(t, setup{server: tenantServer(), configure: func(cfg *Config) {
		cfg.Tenants = configoptional.Some(TenantsConfig{From: "metadata.x-tenant", Databases: []string{"team_a", "team_b"}})
	}})
	withTenant := func(tenant string) context.Context {
		return client.NewContext(context.Background(), client.Info{Metadata: client.NewMetadata(map[string][]string{"x-tenant": {tenant}})})
	}

	require.NoError(t, h.exp.ConsumeLogs(withTenant("team_a"), logsOfTypes("a", "b")))
	require.NoError(t, h.exp.ConsumeLogs(withTenant("team_b"), logsOfTypes("a")))
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes("a")))

	assert.Equal(t, 2, h.srv.RowCount("team_a", "events"))
	assert.Equal(t, 1, h.srv.RowCount("team_b", "events"))
	assert.Equal(t, 1, h.srv.RowCount("public", "events"))
}

func TestTenantsFromClientMetadataThroughTheQueue(t *testing.T) {
	h := newHarness(t, setup{server: tenantServer(), queue: true, configure: func(cfg *Config) {
		cfg.Tenants = configoptional.Some(TenantsConfig{From: "metadata.x-tenant", Databases: []string{"team_a", "team_b"}})
		batch := cfg.QueueConfig.Get().Batch.Get()
		batch.Partition.MetadataKeys = []string{"x-tenant"}
		batch.FlushTimeout = 10 * time.Millisecond
	}})

	var wg sync.WaitGroup
	for range 10 {
		for _, tenant := range []string{"team_a", "team_b"} {
			wg.Go(func() {
				ctx := client.NewContext(context.Background(), client.Info{Metadata: client.NewMetadata(map[string][]string{"x-tenant": {tenant}})})
				assert.NoError(t, h.exp.ConsumeLogs(ctx, logsOfTypes("a", "a")))
			})
		}
	}
	wg.Wait()
	h.shutdown() // drains the queue

	assert.Equal(t, 20, h.srv.RowCount("team_a", "events"))
	assert.Equal(t, 20, h.srv.RowCount("team_b", "events"))
	assert.Empty(t, h.srv.Tables("public"), "batches of different tenants never merge")
}

func TestTenantNotAllowed(t *testing.T) {
	tests := []struct {
		name       string
		deadLetter bool
	}{
		{name: "dropped and counted"},
		{name: "dead-lettered in the exporter's database", deadLetter: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{server: tenantServer(), configure: func(cfg *Config) {
				cfg.Tenants = configoptional.Some(TenantsConfig{From: "resource.tenant", Databases: []string{"team_a"}, DatabasePattern: "team.*"})
				if tt.deadLetter {
					cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
				}
			}})

			// "other" exists but is not allowed by name; "team-x" matches the
			// pattern but would be read by GreptimeDB as catalog team, schema x.
			require.NoError(t, h.exp.ConsumeLogs(context.Background(), tenantLogs([]string{"team_a", "team-x", "other"}, "login")))

			assert.Equal(t, 1, h.srv.RowCount("team_a", "events"))
			for _, c := range h.srv.Calls() {
				assert.Contains(t, []string{"team_a", "public"}, c.DB, "no call into a database that is not allowed")
			}
			if !tt.deadLetter {
				assertRecordsDropped(t, h.tel, counts{"tenant_not_allowed": 2})
				assert.Equal(t, 1, h.logs.FilterMessageSnippet("Dropped records that cannot be stored").Len())
				return
			}
			assertRecordsDropped(t, h.tel, nil)
			letters, ok := h.srv.Table("public", "events_rejected")
			require.True(t, ok)
			require.Len(t, letters.Rows, 2)
			for _, row := range letters.Rows {
				assert.Contains(t, row["error_message"], "tenant names a database")
				assert.Equal(t, "events", row["target_table"])
			}
			assert.Contains(t, letters.Rows[0]["error_message"], `"team-x"`)
			assertDeadLettered(t, h.tel, counts{"events": 2})
		})
	}
}

func TestTenantsKeepTheirDeadLettersAndCatalogs(t *testing.T) {
	h := newHarness(t, setup{server: tenantServer(), configure: func(cfg *Config) {
		cfg.Tenants = configoptional.Some(TenantsConfig{From: "resource.tenant", Databases: []string{"team_a", "team_b"}})
		cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
		cfg.EventCatalog = configoptional.Some(EventCatalogConfig{Table: "event_types", Interval: time.Hour, MaxPayloadKeys: 64})
	}})
	h.srv.RejectTableStatus("events", greptimetest.StatusInvalidArguments) // in every database

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), tenantLogs([]string{"team_a", "team_b"}, "login")))
	h.srv.Reset()
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), tenantLogs([]string{"team_a", "team_b", "team_b"}, "login")))
	h.shutdown() // writes the catalog

	for db, want := range map[string]int{"team_a": 1, "team_b": 2} {
		assert.Equal(t, 1, h.srv.RowCount(db, "events_rejected"), "%s: its own dead letters", db)
		assert.Equal(t, want, h.srv.RowCount(db, "events"), db)
		catalog, ok := h.srv.Table(db, "event_types")
		require.True(t, ok, "%s: a catalog of its own", db)
		require.Len(t, catalog.Rows, 1)
		assert.Equal(t, int64(want), catalog.Rows[0]["events"], db)
	}
	assert.Empty(t, h.srv.Tables("public"))
}

// TestTenantNamesAreHeldToGreptimeDBsNameRule: a tenant name that matches
// database_pattern but holds invalid UTF-8 took the collector down (a panic
// encoding the request header in a queue goroutine). Names outside
// GreptimeDB's rule for database names are not allowed; names in upper case
// are the lower-case database GreptimeDB creates for them.
func TestTenantNamesAreHeldToGreptimeDBsNameRule(t *testing.T) {
	srv := greptimetest.Config{Databases: []string{"public", "team_a", "team_b", "acme"}}
	h := newHarness(t, setup{server: srv, configure: func(cfg *Config) {
		cfg.Tenants = configoptional.Some(TenantsConfig{From: "resource.tenant", Databases: []string{"acme"}, DatabasePattern: "team_.+"})
		cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
	}})
	bad := []string{"team_\xff", "team_a\x00", "team_é", "team a", "team_a'", `team_"b`}
	good := []string{"team_a", "Team_B", "ACME", "acme"}

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), tenantLogs(append(bad, good...), "login")))

	assert.Equal(t, 1, h.srv.RowCount("team_a", "events"))
	assert.Equal(t, 1, h.srv.RowCount("team_b", "events"), "Team_B is team_b")
	assert.Equal(t, 2, h.srv.RowCount("acme", "events"), "ACME and acme are acme")
	letters, ok := h.srv.Table("public", "events_rejected")
	require.True(t, ok)
	assert.Len(t, letters.Rows, len(bad))
	for _, row := range letters.Rows {
		assert.Contains(t, row["error_message"], "tenant names a database")
		assert.Nil(t, row["target_database"], "a name GreptimeDB cannot hold is not written as a database")
	}
	for _, c := range h.srv.Calls() {
		assert.Contains(t, []string{"public", "team_a", "team_b", "acme"}, c.DB)
	}
	assertDeadLettered(t, h.tel, counts{"events": int64(len(bad))})
}

// missingTenantServer has no database for tenant team_b.
func missingTenantServer() greptimetest.Config {
	return greptimetest.Config{Databases: []string{"public", "team_a"}}
}

// TestTenantDatabaseThatDoesNotExist: GreptimeDB creates no database on
// insert (src/operator/src/statement/ddl.rs:441-457). The records of a
// tenant without one are dead-lettered into the exporter's database, with
// the database they were meant for, or dropped and counted; the others are
// written.
func TestTenantDatabaseThatDoesNotExist(t *testing.T) {
	for _, deadLetter := range []bool{true, false} {
		t.Run(fmt.Sprintf("dead_letter=%v", deadLetter), func(t *testing.T) {
			h := newHarness(t, setup{server: missingTenantServer(), configure: func(cfg *Config) {
				cfg.Tenants = configoptional.Some(TenantsConfig{From: "resource.tenant", DatabasePattern: "team_.+"})
				if deadLetter {
					cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
				}
			}})

			require.NoError(t, h.exp.ConsumeLogs(context.Background(), tenantLogs([]string{"team_a", "team_b", "team_b"}, "login", "deploy")),
				"the push wrote team_a's records")

			assert.Equal(t, 2, h.srv.RowCount("team_a", "events"))
			logged := h.logs.FilterMessageSnippet("GreptimeDB has no database for these events").All()
			require.Len(t, logged, 1)
			assert.Equal(t, "team_b", logged[0].ContextMap()["database"])
			assert.Equal(t, `CREATE DATABASE IF NOT EXISTS "team_b"`, logged[0].ContextMap()["sql"])
			if !deadLetter {
				assertRecordsDropped(t, h.tel, counts{"rejected": 4})
				return
			}
			letters, ok := h.srv.Table("public", "events_rejected")
			require.True(t, ok)
			require.Len(t, letters.Rows, 4)
			for _, row := range letters.Rows {
				assert.Equal(t, "team_b", row["target_database"])
				assert.Equal(t, "events", row["target_table"])
				assert.Equal(t, int64(1004), row["error_code"])
				assert.Contains(t, row["error_message"], "Failed to find schema, schema info: team_b")
			}
			assertDeadLettered(t, h.tel, counts{"events": 4})
			assertRecordsDropped(t, h.tel, nil)
		})
	}
}

// TestTenantDatabaseDenied: GreptimeDB decides permission per database
// (src/auth/src/user_provider.rs:53-66). A denial of one tenant's database
// is not a wrong password: its records are dead-lettered into the
// exporter's database, the log names the database, and the other tenants
// keep flowing, push after push.
func TestTenantDatabaseDenied(t *testing.T) {
	srv := tenantServer()
	srv.Users = map[string]string{"exporter": "secret"}
	srv.DatabaseAccess = map[string][]string{"exporter": {"public", "team_a"}}
	h := newHarness(t, setup{server: srv, configure: func(cfg *Config) {
		cfg.Username, cfg.Password = "exporter", "secret"
		cfg.Tenants = configoptional.Some(TenantsConfig{From: "resource.tenant", DatabasePattern: "team_.+"})
		cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
	}})

	for range 2 {
		require.NoError(t, h.exp.ConsumeLogs(context.Background(), tenantLogs([]string{"team_a", "team_b"}, "login")))
	}

	assert.Equal(t, 2, h.srv.RowCount("team_a", "events"))
	assert.Empty(t, h.srv.Tables("team_b"))
	letters, ok := h.srv.Table("public", "events_rejected")
	require.True(t, ok)
	require.Len(t, letters.Rows, 2)
	for _, row := range letters.Rows {
		assert.Equal(t, "team_b", row["target_database"])
		assert.Equal(t, int64(7005), row["error_code"])
		assert.Equal(t, "Access denied for user 'exporter' to database 'greptime-team_b'", row["error_message"])
	}
	denied := h.logs.FilterMessageSnippet("denied the exporter's user the database of these events").All()
	require.NotEmpty(t, denied)
	assert.Equal(t, "team_b", denied[0].ContextMap()["database"])
	assert.Zero(t, h.logs.FilterMessageSnippet("refused the exporter's credentials").Len(), "the credentials are fine")
	assertDeadLettered(t, h.tel, counts{"events": 2})
	assertRecordsDropped(t, h.tel, nil)
}

// TestCatalogOption: with catalog set, requests name "<catalog>-<database>",
// which GreptimeDB splits at the first '-' (src/common/catalog/src/lib.rs:74-80):
// databases and tenants may then hold a '-' of their own.
func TestCatalogOption(t *testing.T) {
	srv := greptimetest.Config{Databases: []string{"greptime-otel-events", "greptime-team-a"}}
	h := newHarness(t, setup{server: srv, configure: func(cfg *Config) {
		cfg.Catalog = "greptime"
		cfg.Database = "otel-events"
		cfg.Tenants = configoptional.Some(TenantsConfig{From: "resource.tenant", Databases: []string{"team-a"}})
		cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
	}})

	require.NoError(t, h.exp.ConsumeLogs(context.Background(), tenantLogs([]string{"", "team-a", "team-b"}, "login")))

	assert.Equal(t, 1, h.srv.RowCount("greptime-otel-events", "events"))
	assert.Equal(t, 1, h.srv.RowCount("greptime-team-a", "events"))
	assert.Equal(t, 1, h.srv.RowCount("greptime-otel-events", "events_rejected"), "team-b is not allowed")
	for _, c := range h.srv.Calls() {
		assert.Contains(t, []string{"greptime-otel-events", "greptime-team-a"}, c.DB)
	}
}

// TestTenantDatabasesCreated: with tenants::create_databases, a tenant's
// database that does not exist is created with CREATE DATABASE IF NOT
// EXISTS over GreptimeDB's SQL path, and the write succeeds.
func TestTenantDatabasesCreated(t *testing.T) {
	h := newHarness(t, setup{server: missingTenantServer(), configure: func(cfg *Config) {
		cfg.Tenants = configoptional.Some(TenantsConfig{From: "resource.tenant", DatabasePattern: "team_.+", CreateDatabases: true})
	}})

	for range 2 {
		require.NoError(t, h.exp.ConsumeLogs(context.Background(), tenantLogs([]string{"team_a", "Team_B", "team_c.x"}, "login", "deploy")))
	}

	assert.Equal(t, []string{"public", "team_a", "team_b", "team_c.x"}, h.srv.Store().Databases())
	for _, db := range []string{"team_a", "team_b", "team_c.x"} {
		assert.Equal(t, 4, h.srv.RowCount(db, "events"), db)
	}
	assert.Empty(t, h.srv.Tables("public"), "nothing dead-lettered")
	assert.Len(t, h.logs.FilterMessage("Created a tenant's database").All(), 2)
	assertRecordsDropped(t, h.tel, nil)
}
