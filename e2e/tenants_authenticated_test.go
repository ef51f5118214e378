package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
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
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		got := 0
		for _, db := range dbs {
			got += srv.RowCount(db, "events")
		}
		if got >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the events tables of %v hold %d rows after %s, want %d", dbs, got, timeout, n)
		case <-tick.C:
		}
	}
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

// sendAsTenant emits evs with the OpenTelemetry Go SDK like events.Send, as
// sender s: its credentials in the Authorization header, its claim in the
// tenant.id resource attribute and the x-tenant header. It returns the
// first error, and for OTLP/HTTP the status of every response.
func sendAsTenant(ctx context.Context, p events.Protocol, endpoint string, s tenantSender, evs []events.Event) ([]int, error) {
	headers := map[string]string{}
	attrs := []attribute.KeyValue{attribute.String("service.name", events.ServiceName)}
	if h := s.auth.header(); h != "" {
		headers["Authorization"] = h
	}
	if s.claim != "" {
		headers["x-tenant"] = s.claim
		attrs = append(attrs, attribute.String(tenantAttr, s.claim))
	}

	var exp sdklog.Exporter
	var err error
	var rec *statusRecorder
	switch p {
	case events.GRPC:
		exp, err = otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(endpoint), otlploggrpc.WithInsecure(), otlploggrpc.WithHeaders(headers))
	case events.HTTP:
		rec = &statusRecorder{base: &http.Transport{}}
		defer rec.base.CloseIdleConnections()
		exp, err = otlploghttp.New(ctx, otlploghttp.WithEndpoint(endpoint), otlploghttp.WithInsecure(), otlploghttp.WithHeaders(headers),
			otlploghttp.WithHTTPClient(&http.Client{Transport: rec}))
	default:
		err = fmt.Errorf("unknown OTLP protocol %q", p)
	}
	if err != nil {
		return nil, err
	}
	const chunk = 50
	provider := sdklog.NewLoggerProvider(
		sdklog.WithResource(resource.NewSchemaless(attrs...)),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(exp,
			// Export only on ForceFlush, which returns the export's error.
			sdklog.WithExportInterval(time.Hour),
			sdklog.WithExportMaxBatchSize(chunk+1),
			sdklog.WithMaxQueueSize(chunk+1),
		)),
	)
	var sendErr error
	for part := range slices.Chunk(evs, chunk) {
		for _, e := range part {
			provider.Logger(e.Scope).Emit(ctx, logRecord(e))
		}
		if sendErr = provider.ForceFlush(ctx); sendErr != nil {
			break
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := provider.Shutdown(shutdownCtx); err != nil {
		sendErr = errors.Join(sendErr, err)
	}
	return rec.statuses(), sendErr
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

// logRecord is the log record of e, as events.Send emits it.
func logRecord(e events.Event) otellog.Record {
	var r otellog.Record
	r.SetTimestamp(e.Time)
	r.SetSeverity(otellog.SeverityInfo)
	r.SetSeverityText("INFO")
	if e.Naming == events.ByEventName {
		r.SetEventName(e.Type)
	}
	r.SetBody(otelValue(e.Body))
	attrs := e.RecordAttributes()
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.AddAttributes(attribute.KeyValue{Key: attribute.Key(k), Value: otelValue(attrs[k])})
	}
	return r
}

// otelValue converts a JSON-like value (the kinds events.Event holds) to an OpenTelemetry value.
func otelValue(v any) attribute.Value {
	switch x := v.(type) {
	case string:
		return attribute.StringValue(x)
	case bool:
		return attribute.BoolValue(x)
	case int:
		return attribute.Int64Value(int64(x))
	case int64:
		return attribute.Int64Value(x)
	case float64:
		return attribute.Float64Value(x)
	case []any:
		vals := make([]attribute.Value, len(x))
		for i, item := range x {
			vals[i] = otelValue(item)
		}
		return attribute.SliceValue(vals...)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		kvs := make([]attribute.KeyValue, 0, len(x))
		for _, k := range keys {
			kvs = append(kvs, attribute.KeyValue{Key: attribute.Key(k), Value: otelValue(x[k])})
		}
		return attribute.MapValue(kvs...)
	}
	panic(fmt.Sprintf("%T is not a JSON-like value", v))
}
