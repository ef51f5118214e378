package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/events"
	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/store"
	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// TestTenants runs examples/tenants.yaml: OTLP senders name their tenant in
// the x-tenant header, over gRPC and over HTTP; each tenant's events land in
// its own database, events without a tenant in "public", and those of a
// tenant the example does not allow in public's dead-letter table, never in
// a database of their own.
func TestTenants(t *testing.T) {
	t.Parallel()
	srv, err := greptimetest.Start(greptimetest.Config{Databases: []string{"public", "shop", "billing", "team_red", "intruder"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	col := startCollector(t, launch{config: "tenants.yaml", greptimeDB: srv.Addr()})

	now := time.Now()
	sends := []struct {
		db     string // where the events must land
		tenant string
		p      events.Protocol
		evs    []events.Event
	}{
		{db: "shop", tenant: "shop", p: events.GRPC, evs: events.Mix("shop", 30, now)},
		{db: "billing", tenant: "billing", p: events.HTTP, evs: events.Mix("billing", 20, now)},
		{db: "team_red", tenant: "team_red", p: events.GRPC, evs: events.Mix("red", 10, now)},
		{db: "public", p: events.HTTP, evs: events.Mix("none", 15, now)},
	}
	for _, s := range sends {
		var headers map[string]string
		if s.tenant != "" {
			headers = map[string]string{"x-tenant": s.tenant}
		}
		if err := events.SendWithHeaders(t.Context(), s.p, col.addr(s.p), headers, s.evs); err != nil {
			t.Fatal(err)
		}
	}
	denied := events.Mix("intruder", 5, now)
	if err := events.SendWithHeaders(t.Context(), events.GRPC, col.grpcAddr, map[string]string{"x-tenant": "intruder"}, denied); err != nil {
		t.Fatal(err)
	}

	for _, s := range sends {
		r := store.StandIn{Server: srv, Database: s.db}
		waitForRows(t, r, "events", len(s.evs), 30*time.Second)
		reportDiff(t, events.Diff(s.evs, readRows(t, r, "events")))
	}
	letters := waitForRows(t, store.StandIn{Server: srv, Database: "public"}, "events_rejected", len(denied), 30*time.Second)
	col.stop(t)

	if len(letters) != len(denied) {
		t.Errorf("%d dead letters, want %d", len(letters), len(denied))
	}
	if tables := srv.Tables("intruder"); len(tables) != 0 {
		t.Errorf("the database intruder, which the example does not allow, holds tables %v", tables)
	}
	for _, c := range srv.Calls() {
		if c.DB == "intruder" {
			t.Errorf("a call into the database intruder: %+v", c)
		}
	}
	tbl, _ := srv.Table("public", "events_rejected")
	for _, row := range tbl.Rows {
		if msg, _ := row["error_message"].(string); !strings.Contains(msg, `"intruder"`) {
			t.Errorf("dead letter without the refused tenant in its error_message: %q", msg)
		}
	}
}
