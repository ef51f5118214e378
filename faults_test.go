package greptimeeventsexporter

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/exporter"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc/codes"

	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// The fault matrix: the exporter, with its sending queue and retries on,
// against a greptimetest server that misbehaves in one way per scenario.
// Every scenario sends the same numbered events and accounts for each one:
// it landed (once, or more: a duplicate), or it was dropped, and every drop
// must be counted in records_dropped.

const (
	faultEvents    = 200
	faultBatchSize = 20
	faultTimeout   = 500 * time.Millisecond
)

var faultEventTypes = []string{"deploy", "login", "audit", "order"}

// faultOutcome is one row of the matrix.
type faultOutcome struct {
	fault                                           string
	sent, landed, duplicates, dropped, countedDrops int
}

// faultScenario injects one kind of fault.
type faultScenario struct {
	name string
	// users turn the server's authentication on.
	users map[string]string
	// password is the exporter's, with user "exporter" when set.
	password string
	// lateServer starts the server only after every event was handed to the exporter.
	lateServer bool
	// eventID turns event ids on: duplicates collapse in the table.
	eventID bool
	// oneAtATime sends one insert call at a time (one event type, one queue
	// consumer), so a fault hits only the call it is injected into.
	oneAtATime bool
	// settleFirst writes one unnumbered event of each type before inject, so
	// every layout is settled and each push is one combined call.
	settleFirst bool
	// inject runs before the events are sent.
	inject func(srv *greptimetest.Server)
	// whileSending runs after the events were handed over (the queue sends them on).
	whileSending func(t *testing.T, srv *greptimetest.Server)
	// wantDropped is how many events may not land.
	wantDropped int
	// wantDuplicates is how many duplicate rows the server's record of calls
	// explains: rows it applied while the client saw the call fail.
	// failedCalls is how many calls the exporter saw fail.
	wantDuplicates func(calls []greptimetest.Call, failedCalls int) int
	// duplicatesAtMost makes wantDuplicates an upper bound.
	duplicatesAtMost bool
	// collapsed, with event ids on, counts the rows that would have been
	// duplicates without them: the test checks the fault did produce some.
	collapsed func(calls []greptimetest.Call, failedCalls int) int
}

func noDuplicates([]greptimetest.Call, int) int { return 0 }

// rowsStoredByFailedCalls counts the rows of calls that failed after the
// server stored part of them: a combined call whose other region writes
// succeeded. Its inserts are sent again one at a time, and land twice.
func rowsStoredByFailedCalls(calls []greptimetest.Call, _ int) int {
	n := 0
	for _, c := range calls {
		if c.Code != codes.OK {
			n += c.StoredRows
		}
	}
	return n
}

// rejectAuditRegions fails every region write into "audit", as a column
// type conflict does at the datanode, while the other inserts of a call are
// stored.
func rejectAuditRegions(srv *greptimetest.Server) {
	srv.RejectTableStatus("audit", greptimetest.StatusInvalidArguments)
}

// slowServer answers after twice the exporter's timeout, still applying
// each write, as GreptimeDB does for a client that went away.
func slowServer(srv *greptimetest.Server) { srv.SetLatency(2 * faultTimeout) }

// untilTwoCallsTimedOut lets the slow server answer two calls, then speeds it up.
func untilTwoCallsTimedOut(t *testing.T, srv *greptimetest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, srv.WaitForCalls(ctx, 2))
	srv.SetLatency(0)
}

// rowsOfTimedOutCalls counts the rows of calls the server applied after the
// exporter had given up on them (slower than the timeout): such a call is
// retried, and its rows land twice.
func rowsOfTimedOutCalls(calls []greptimetest.Call, _ int) int {
	n := 0
	for _, c := range calls {
		if c.Code == codes.OK && c.Duration >= faultTimeout {
			n += c.RowCount()
		}
	}
	return n
}

// rowsOfInjectedCalls counts the rows of calls that failed by injection
// after the server applied them.
func rowsOfInjectedCalls(calls []greptimetest.Call, _ int) int {
	n := 0
	for _, c := range calls {
		if c.Injected {
			n += c.RowCount()
		}
	}
	return n
}

func TestFaultMatrix(t *testing.T) {
	scenarios := []faultScenario{
		{name: "none", wantDuplicates: noDuplicates},
		{name: "server not running at start", lateServer: true, wantDuplicates: noDuplicates},
		{name: "Unavailable ×5, then success", inject: func(srv *greptimetest.Server) {
			srv.FailNext(5, codes.Unavailable, "frontend restarting")
		}, wantDuplicates: noDuplicates},
		{name: "ResourceExhausted (rate limited) ×3", inject: func(srv *greptimetest.Server) {
			srv.FailNextWith(3, greptimetest.Fault{Status: greptimetest.StatusRateLimited, Message: "request rate limited"})
		}, wantDuplicates: noDuplicates},
		{name: "DeadlineExceeded: slow server applies late", inject: slowServer, whileSending: untilTwoCallsTimedOut, wantDuplicates: rowsOfTimedOutCalls},
		{name: "connection dropped mid-call, before applying", oneAtATime: true, inject: func(srv *greptimetest.Server) {
			srv.DropConnections(3)
		}, wantDuplicates: noDuplicates},
		{name: "connection dropped mid-call, after applying", oneAtATime: true, inject: func(srv *greptimetest.Server) {
			srv.FailNextWith(3, greptimetest.Fault{DropConnection: true, Apply: true})
		}, wantDuplicates: rowsOfInjectedCalls},
		{name: "connection dropped with other calls in flight", inject: func(srv *greptimetest.Server) {
			srv.DropConnections(3)
		}, wantDuplicates: rowsOfFailedCalls, duplicatesAtMost: true},
		{name: "DeadlineExceeded, with event_id", eventID: true, inject: slowServer, whileSending: untilTwoCallsTimedOut, wantDuplicates: noDuplicates, collapsed: rowsOfTimedOutCalls},
		{name: "connection dropped after applying, with event_id", eventID: true, oneAtATime: true, inject: func(srv *greptimetest.Server) {
			srv.FailNextWith(3, greptimetest.Fault{DropConnection: true, Apply: true})
		}, wantDuplicates: noDuplicates, collapsed: rowsOfInjectedCalls},
		{name: "connection dropped with other calls in flight, with event_id", eventID: true, inject: func(srv *greptimetest.Server) {
			srv.DropConnections(3)
		}, wantDuplicates: noDuplicates},
		{name: "InvalidArgument on one table", inject: func(srv *greptimetest.Server) {
			srv.RejectTable("audit", codes.InvalidArgument, "Invalid request to region 4398046511104, reason: column payload expect type Json")
		}, wantDropped: faultEvents / len(faultEventTypes), wantDuplicates: noDuplicates},
		{name: "InvalidArgument on one table of combined calls, the others stored", settleFirst: true, inject: rejectAuditRegions,
			wantDropped: faultEvents / len(faultEventTypes), wantDuplicates: rowsStoredByFailedCalls},
		{name: "InvalidArgument on one table of combined calls, with event_id", settleFirst: true, eventID: true, inject: rejectAuditRegions,
			wantDropped: faultEvents / len(faultEventTypes), wantDuplicates: noDuplicates, collapsed: rowsStoredByFailedCalls},
		{name: "Unauthenticated: wrong password", users: map[string]string{"exporter": "right"}, password: "wrong",
			wantDropped: faultEvents, wantDuplicates: noDuplicates},
	}

	var outcomes []faultOutcome
	t.Cleanup(func() { t.Log("\n" + faultTable(outcomes)) })
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			outcomes = append(outcomes, runFaultScenario(t, sc))
		})
	}
}

func runFaultScenario(t *testing.T, sc faultScenario) faultOutcome {
	h := faultHarness(t, sc)
	startServer := func() {
		h.startServer()
		if sc.settleFirst {
			settleLayouts(t, h)
		}
		if sc.inject != nil {
			sc.inject(h.srv)
		}
	}
	if !sc.lateServer {
		startServer()
	}

	eventTypes := faultEventTypes
	if sc.oneAtATime {
		eventTypes = faultEventTypes[:1]
	}
	sendNumberedEvents(t, h.exp, eventTypes)
	if sc.lateServer {
		startServer()
	}
	if sc.whileSending != nil {
		sc.whileSending(t, h.srv)
	}

	// Wait until every event is accounted for: landed or counted as dropped.
	require.Eventually(t, func() bool {
		return len(landedEvents(h.srv)) == faultEvents-sc.wantDropped && countedDrops(t, h) == sc.wantDropped
	}, 60*time.Second, 10*time.Millisecond, "events still unaccounted for")
	h.shutdown()

	out := outcomeOf(t, sc, h)
	t.Logf("%+v", out)
	assertFaultOutcome(t, sc, h, out)
	return out
}

// faultHarness is the exporter of a fault scenario: a queue with small
// batches, fast retries, a table of its own for "audit", and the
// scenario's credentials, consumers and event ids. Its server starts late,
// when the scenario says.
func faultHarness(t *testing.T, sc faultScenario) *harness {
	t.Helper()
	return newHarness(t, setup{
		server:     greptimetest.Config{Users: sc.users},
		queue:      true,
		lateServer: true,
		configure: func(cfg *Config) {
			cfg.TimeoutConfig.Timeout = faultTimeout
			cfg.Events = map[string]EventConfig{"audit": {Table: "audit"}}
			if sc.password != "" {
				cfg.Username, cfg.Password = "exporter", configopaque.String(sc.password)
			}
			batch := cfg.QueueConfig.Get().Batch.Get()
			batch.MinSize = faultBatchSize
			batch.FlushTimeout = 20 * time.Millisecond
			cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
			cfg.RetryConfig.MaxInterval = 100 * time.Millisecond
			cfg.RetryConfig.MaxElapsedTime = 30 * time.Second
			if sc.oneAtATime {
				cfg.QueueConfig.Get().NumConsumers = 1
			}
			cfg.EventID.Enabled = sc.eventID
		},
	})
}

// settleLayouts writes one event of each type and waits until they land,
// so that the scenario's calls are shared calls.
func settleLayouts(t *testing.T, h *harness) {
	t.Helper()
	require.NoError(t, h.exp.ConsumeLogs(context.Background(), logsOfTypes(faultEventTypes...)))
	require.Eventually(t, func() bool {
		return h.srv.RowCount("public", "events")+h.srv.RowCount("public", "audit") == len(faultEventTypes)
	}, 30*time.Second, 5*time.Millisecond, "every layout settled")
}

// countedDrops is how many events records_dropped counts as rejected or
// invalid so far.
func countedDrops(t *testing.T, h *harness) int {
	t.Helper()
	if _, err := h.tel.GetMetric("otelcol_exporter_greptime_events_records_dropped"); err != nil {
		return 0 // nothing dropped yet
	}
	drops := counted(t, h.tel, "otelcol_exporter_greptime_events_records_dropped", "reason")
	return int(drops["rejected"] + drops["invalid"])
}

// outcomeOf is what became of the scenario's events.
func outcomeOf(t *testing.T, sc faultScenario, h *harness) faultOutcome {
	t.Helper()
	landed := landedEvents(h.srv)
	rows := 0
	for _, n := range landed {
		rows += n
	}
	return faultOutcome{
		fault: sc.name, sent: faultEvents, landed: rows,
		duplicates: rows - len(landed), dropped: faultEvents - len(landed), countedDrops: countedDrops(t, h),
	}
}

// assertFaultOutcome checks the outcome against the scenario: every event
// landed or counted, the duplicates its fault can make and no more, event
// ids collapsing them, refused credentials logged once.
func assertFaultOutcome(t *testing.T, sc faultScenario, h *harness, out faultOutcome) {
	t.Helper()
	assert.Equal(t, out.dropped, out.countedDrops, "every drop is counted")
	failedCalls := int(callCounts(t, h.tel)["retryable"])
	if want := sc.wantDuplicates(h.srv.Calls(), failedCalls); sc.duplicatesAtMost {
		assert.LessOrEqual(t, out.duplicates, want, "duplicates are at most the rows of the calls that failed")
	} else {
		assert.Equal(t, want, out.duplicates, "duplicates are exactly the rows applied by calls that failed")
	}
	if sc.collapsed != nil {
		assert.Positive(t, sc.collapsed(h.srv.Calls(), failedCalls), "the fault wrote rows twice; event ids collapsed them")
	}
	if sc.password != "" {
		refused := h.logs.FilterMessageSnippet("refused the exporter's credentials").FilterLevelExact(zapcore.ErrorLevel).All()
		assert.Len(t, refused, 1, "refused credentials are logged once, not once per batch")
		assert.Contains(t, refused[0].Message, `"username" and "password"`)
	}
}

// rowsOfFailedCalls bounds the duplicates a dropped connection can make:
// every call in flight on it fails, and those the server had applied are
// retried. Each call the exporter saw fail can repeat at most its own rows,
// and no call carries more rows than the largest the server saw.
func rowsOfFailedCalls(calls []greptimetest.Call, failedCalls int) int {
	largest := 0
	for _, c := range calls {
		largest = max(largest, c.RowCount())
	}
	return failedCalls * largest
}

// sendNumberedEvents hands faultEvents events, numbered by their "seq"
// attribute and cycling through types, to the exporter in batches.
func sendNumberedEvents(t *testing.T, exp exporter.Logs, eventTypes []string) {
	t.Helper()
	seq := 0
	for seq < faultEvents {
		types := make([]string, faultBatchSize)
		for i := range types {
			types[i] = eventTypes[(seq+i)%len(eventTypes)]
		}
		ld := logsOfTypes(types...)
		for _, lr := range ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().All() {
			lr.Attributes().PutInt("seq", int64(seq))
			seq++
		}
		require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	}
}

// landedEvents counts the rows of each event (by seq) in every table.
func landedEvents(srv *greptimetest.Server) map[float64]int {
	landed := map[float64]int{}
	if srv == nil {
		return landed
	}
	for _, name := range srv.Tables("public") {
		tb, _ := srv.Table("public", name)
		for _, row := range tb.Rows {
			payload, _ := row["payload"].(map[string]any)
			attrs, _ := payload["attributes"].(map[string]any)
			if seq, ok := attrs["seq"].(float64); ok {
				landed[seq]++
			}
		}
	}
	return landed
}

func faultTable(outcomes []faultOutcome) string {
	var b strings.Builder
	b.WriteString("| fault | sent | landed rows | duplicates | dropped | counted drops |\n|---|---|---|---|---|---|\n")
	for _, o := range outcomes {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d |\n", o.fault, o.sent, o.landed, o.duplicates, o.dropped, o.countedDrops)
	}
	return b.String()
}
