package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/events"
	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/store"
	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// tenantAttr is the resource attribute examples/tenants-authenticated.yaml
// routes by, and that its resource processor sets from the authenticated user.
const tenantAttr = "tenant.id"

// The users of the example's htpasswd, and their passwords (its comment names them).
var (
	shopUser    = basicAuth{user: "shop", password: "shop-example-password"}
	billingUser = basicAuth{user: "billing", password: "billing-example-password"}
)

// basicAuth is a sender's credentials; the zero value sends none.
type basicAuth struct{ user, password string }

// header is the Authorization header value, "" for no credentials.
func (a basicAuth) header() string {
	if a.user == "" {
		return ""
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(a.user+":"+a.password))
}

// tenantSender is one OTLP client of the test: its credentials, and the
// tenant it claims in the tenant.id resource attribute and the x-tenant
// header ("" claims none).
type tenantSender struct {
	auth  basicAuth
	claim string
}

// TestTenantsAuthenticated runs examples/tenants-authenticated.yaml: the
// tenant is the authenticated OTLP user, whatever the sender claims.
//
// "example": senders with shop's and billing's credentials send over gRPC
// and HTTP; shop claims billing in the tenant.id resource attribute and the
// x-tenant header. Every shop event lands in database shop and none in
// billing; every billing event in billing. Senders without credentials, or
// with a wrong password, are refused at the receiver (gRPC Unauthenticated,
// HTTP 401) and nothing of theirs is stored: every row in every database is
// one of the authenticated senders' events, and public (with its dead-letter
// table) holds nothing.
//
// "without the processor": the same file with the resource processor taken
// out of the pipeline; shop's claim then takes its events into billing. This
// shows the processor, not the receiver's authentication alone, is what
// keeps a tenant out of another's database.
func TestTenantsAuthenticated(t *testing.T) {
	t.Parallel()
	t.Run("example", func(t *testing.T) {
		t.Parallel()
		testAuthenticatedTenants(t)
	})
	t.Run("without the processor", func(t *testing.T) {
		t.Parallel()
		testSpoofWithoutProcessor(t)
	})
}

func testAuthenticatedTenants(t *testing.T) {
	srv := startTenantStandIn(t)
	col := startCollector(t, launch{config: "tenants-authenticated.yaml", greptimeDB: srv.Addr()})

	now := time.Now()
	sends := []struct {
		db string // where the events must land
		s  tenantSender
		p  events.Protocol
		ev []events.Event
	}{
		{db: "shop", s: tenantSender{auth: shopUser, claim: "billing"}, p: events.GRPC, ev: events.Mix("shop-grpc", 60, now)},
		{db: "shop", s: tenantSender{auth: shopUser, claim: "billing"}, p: events.HTTP, ev: events.Mix("shop-http", 40, now)},
		{db: "billing", s: tenantSender{auth: billingUser}, p: events.GRPC, ev: events.Mix("billing-grpc", 30, now)},
		{db: "billing", s: tenantSender{auth: billingUser}, p: events.HTTP, ev: events.Mix("billing-http", 20, now)},
	}
	for _, s := range sends {
		if _, err := sendAsTenant(t.Context(), s.p, col.addr(s.p), s.s, s.ev); err != nil {
			t.Fatalf("%s over %s: %v", s.s.auth.user, s.p, err)
		}
	}

	// Refused senders: they claim shop, and shop's database must not see them.
	refused := []struct {
		name string
		s    tenantSender
	}{
		{name: "no credentials", s: tenantSender{claim: "shop"}},
		{name: "wrong password", s: tenantSender{auth: basicAuth{user: "shop", password: "not-shops-password"}, claim: "shop"}},
	}
	for _, r := range refused {
		for _, p := range []events.Protocol{events.GRPC, events.HTTP} {
			prefix := strings.ReplaceAll(r.name, " ", "-") + "-" + string(p)
			statuses, err := sendAsTenant(t.Context(), p, col.addr(p), r.s, events.Mix(prefix, 10, now))
			checkRefused(t, r.name, p, statuses, err)
		}
	}

	want := map[string][]events.Event{}
	total := 0
	for _, s := range sends {
		want[s.db] = append(want[s.db], s.ev...)
		total += len(s.ev)
	}
	// Wait for them all wherever they land, so that a misrouted event shows
	// in the Diff below (missing here, a stranger there).
	waitForEventRows(t, srv, []string{"public", "shop", "billing"}, total, 30*time.Second)
	// Stopping drains the queue: after it nothing more arrives, so what is
	// stored now is all that will ever be.
	col.stop(t)

	// Every row of every database is accounted for: Diff reports a missing
	// event, a duplicate, and a row that no authenticated sender sent (one
	// of a refused sender, or one of the other tenant).
	for _, db := range []string{"shop", "billing"} {
		if tables := srv.Tables(db); !slices.Equal(tables, []string{"events"}) {
			t.Errorf("database %s holds tables %v, want [events]", db, tables)
		}
		reportDiff(t, prefixed(db, events.Diff(want[db], readRows(t, store.StandIn{Server: srv, Database: db}, "events"))))
	}
	for _, table := range srv.Tables("public") {
		if n := srv.RowCount("public", table); n != 0 {
			t.Errorf("public.%s holds %d rows; every record has an authenticated tenant, so public (and its dead-letter table) must hold none", table, n)
		}
	}
	for _, c := range srv.Calls() {
		if c.Code != codes.OK {
			t.Errorf("a call into %s failed: %s %s", c.DB, c.Code, c.Message)
		}
	}
}

func testSpoofWithoutProcessor(t *testing.T) {
	srv := startTenantStandIn(t)
	col := startCollector(t, launch{
		config:     "tenants-authenticated.yaml",
		greptimeDB: srv.Addr(),
		set:        []string{"service::pipelines::logs::processors=[]"},
	})

	spoofed := events.Mix("spoof", 20, time.Now())
	if _, err := sendAsTenant(t.Context(), events.GRPC, col.grpcAddr, tenantSender{auth: shopUser, claim: "billing"}, spoofed); err != nil {
		t.Fatal(err)
	}
	billing := store.StandIn{Server: srv, Database: "billing"}
	waitForRows(t, billing, "events", len(spoofed), 30*time.Second)
	col.stop(t)

	// The spoof succeeded: shop's events are billing's now.
	reportDiff(t, prefixed("billing", events.Diff(spoofed, readRows(t, billing, "events"))))
	if n := srv.RowCount("shop", "events"); n != 0 {
		t.Errorf("shop.events holds %d rows; without the processor the sender's claim (billing) routes", n)
	}
}

// startTenantStandIn starts a stand-in with the example's databases.
func startTenantStandIn(t *testing.T) *greptimetest.Server {
	t.Helper()
	srv, err := greptimetest.Start(greptimetest.Config{Databases: []string{"public", "shop", "billing"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// waitForEventRows waits until the events tables of dbs hold n rows between
// them; it fails the test after timeout.
func waitForEventRows(t *testing.T, srv *greptimetest.Server, dbs []string, n int, timeout time.Duration) {
	t.Helper()
	waitUntil(t, timeout, 100*time.Millisecond, func(context.Context) (bool, string) {
		got := 0
		for _, db := range dbs {
			got += srv.RowCount(db, "events")
		}
		return got >= n, fmt.Sprintf("the events tables of %v hold %d rows, want %d", dbs, got, n)
	})
}

// checkRefused checks that a send without valid credentials failed at the
// receiver: gRPC Unauthenticated, or HTTP 401 on every response.
func checkRefused(t *testing.T, name string, p events.Protocol, httpStatuses []int, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s over %s: the collector accepted the events", name, p)
		return
	}
	switch p {
	case events.GRPC:
		if s, ok := status.FromError(err); !ok || s.Code() != codes.Unauthenticated {
			t.Errorf("%s over gRPC: %v, want code Unauthenticated", name, err)
		}
	case events.HTTP:
		if len(httpStatuses) == 0 {
			t.Errorf("%s over HTTP: no response: %v", name, err)
		}
		for _, code := range httpStatuses {
			if code != http.StatusUnauthorized {
				t.Errorf("%s over HTTP: status %d (%v), want 401", name, code, err)
			}
		}
	}
}

// prefixed puts "db: " before each problem.
func prefixed(db string, problems []string) []string {
	for i, p := range problems {
		problems[i] = db + ": " + p
	}
	return problems
}

// sendAsTenant emits evs with events.SendWith as sender s: its credentials
// in the Authorization header, its claim in the tenant.id resource
// attribute and the x-tenant header. It returns the first error, and for
// OTLP/HTTP the status of every response.
func sendAsTenant(ctx context.Context, p events.Protocol, endpoint string, s tenantSender, evs []events.Event) ([]int, error) {
	o := events.Options{Headers: map[string]string{}}
	if h := s.auth.header(); h != "" {
		o.Headers["Authorization"] = h
	}
	if s.claim != "" {
		o.Headers["x-tenant"] = s.claim
		o.Resource = []attribute.KeyValue{attribute.String(tenantAttr, s.claim)}
	}
	var rec *statusRecorder
	if p == events.HTTP {
		rec = &statusRecorder{base: &http.Transport{}}
		defer rec.base.CloseIdleConnections()
		o.HTTPClient = &http.Client{Transport: rec}
	}
	err := events.SendWith(ctx, p, endpoint, o, evs)
	return rec.statuses(), err
}

// statusRecorder is an http.RoundTripper that keeps the status of every response.
type statusRecorder struct {
	base *http.Transport
	mu   sync.Mutex
	got  []int
}

func (r *statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err == nil {
		r.mu.Lock()
		r.got = append(r.got, resp.StatusCode)
		r.mu.Unlock()
	}
	return resp, err
}

// statuses returns the statuses so far; none for a nil recorder (OTLP/gRPC).
func (r *statusRecorder) statuses() []int {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}
