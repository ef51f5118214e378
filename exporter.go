package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	internalmetadata "github.com/greptime-events/greptimeeventsexporter/internal/metadata"
	"github.com/greptime-events/greptimeeventsexporter/internal/wire"
)

// hintsKey is the gRPC metadata that carries table options to GreptimeDB
// (src/session/src/hints.rs:16), applied when an insert creates a table.
const hintsKey = "x-greptime-hints"

// sharedHints go with calls whose tables this exporter has already written:
// GreptimeDB then neither creates nor alters a table for them
// (src/operator/src/insert.rs:497-515, 580-606), and a table dropped behind
// the exporter's back fails the call instead of coming back without its
// options. The failed inserts are then sent again alone, with their hints.
const sharedHints = "auto_create_table=false"

type logsExporter struct {
	cfg      *Config
	settings component.TelemetrySettings
	logger   *zap.Logger
	mapping  *mapping
	// auth is the request header's credentials, if any; headers are the
	// request headers of each database in wire form, as requests start.
	auth    *greptimev1.AuthHeader
	headers requestHeaders
	// codec sends requests as the writer wrote them.
	codec     grpc.CallOption
	telemetry *internalmetadata.TelemetryBuilder
	// tableAttrs and durationAttrs are the metric attributes of each table,
	// made once: attribute sets allocate.
	tableAttrs    map[string]metric.AddOption
	durationAttrs map[string][3]metric.RecordOption

	conn         *grpc.ClientConn
	settled      settledLayouts
	states       sync.Pool     // *pushState
	deadLetters  *deadLetters  // nil unless dead_letter is configured
	eventCatalog *eventCatalog // nil unless catalog is configured
	// authErrorLogged is set once refused credentials have been logged, and
	// cleared by the next successful call.
	authErrorLogged atomic.Bool
	// invalidLog and deniedLog keep floods of unstorable records from
	// flooding the log.
	invalidLog, deniedLog sampledLog
}

// pushState is what a push borrows from a pool, so that grouping and
// writing allocate nothing per record once its buffers have grown.
type pushState struct {
	grouper
	writer
	databases []string // of the push's groups, in order
	shared    []*group
	firsts    []firstWrite
	// What invoke reuses from call to call.
	inserts  []wire.Insert
	request  wire.Request
	response greptimev1.GreptimeResponse
	trailer  metadata.MD
	callOpts []grpc.CallOption // the codec, and the trailer into trailer
	tables   []tableCount      // of the last call, by table (countTables)
}

// tableCount is what a call's inserts hold for one table.
type tableCount struct {
	table        string
	rows, nulled int64
}

// firstWrite is the groups of a layout this exporter has not written yet:
// they go in calls of their own, with the layout's hints.
type firstWrite struct {
	layout *layout
	groups []*group
}

func newLogsExporter(cfg *Config, set exporter.Settings) (*logsExporter, error) {
	tb, err := internalmetadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	var auth *greptimev1.AuthHeader
	if cfg.Username != "" {
		auth = &greptimev1.AuthHeader{AuthScheme: &greptimev1.AuthHeader_Basic{
			Basic: &greptimev1.Basic{Username: cfg.Username, Password: string(cfg.Password)},
		}}
	}
	m := newMapping(cfg)
	tables := m.tables()
	if dl := cfg.DeadLetter.Get(); dl != nil {
		tables = append(tables, dl.Table)
	}
	tableAttrs := map[string]metric.AddOption{}
	durationAttrs := map[string][3]metric.RecordOption{}
	for _, table := range tables {
		tableAttrs[table] = metric.WithAttributeSet(attribute.NewSet(attribute.String("table", table)))
		durationAttrs[table] = durationAttrsOf(table)
	}
	var cat *eventCatalog
	if cc := cfg.EventCatalog.Get(); cc != nil {
		host, _ := os.Hostname()
		cat = newEventCatalog(*cc, catalogCollector(host, set.ID.String()), time.Now())
	}
	e := &logsExporter{
		cfg:           cfg,
		settings:      set.TelemetrySettings,
		logger:        set.Logger,
		mapping:       m,
		auth:          auth,
		headers:       requestHeaders{auth: auth, byDB: map[string][]byte{}},
		codec:         grpc.ForceCodecV2(wire.NewCodec()),
		telemetry:     tb,
		tableAttrs:    tableAttrs,
		durationAttrs: durationAttrs,
		settled:       settledLayouts{keys: map[settledKey]struct{}{}},
		deadLetters:   newDeadLetters(cfg),
		eventCatalog:  cat,
	}
	e.states.New = func() any {
		st := new(pushState)
		st.callOpts = []grpc.CallOption{e.codec, grpc.Trailer(&st.trailer)}
		return st
	}
	return e, nil
}

func (e *logsExporter) start(ctx context.Context, host component.Host) error {
	conn, err := e.cfg.ClientConfig.ToClientConn(ctx, host.GetExtensions(), e.settings)
	if err != nil {
		return fmt.Errorf("failed to create the gRPC client of %q: %w", e.cfg.ClientConfig.Endpoint, err)
	}
	e.conn = conn
	if e.eventCatalog != nil {
		e.startCatalog()
	}
	e.logger.Info("Exporting events to GreptimeDB",
		zap.String("endpoint", e.cfg.ClientConfig.Endpoint),
		zap.String("database", e.cfg.Database),
		zap.String("table", e.cfg.Table))
	if e.cfg.Password != "" && e.cfg.ClientConfig.TLS.Insecure && !isLoopback(e.cfg.ClientConfig.Endpoint) {
		e.logger.Warn("The GreptimeDB password is sent without TLS; anyone on the network path can read it. Configure \"tls\" unless the network is trusted",
			zap.String("endpoint", e.cfg.ClientConfig.Endpoint))
	}
	return nil
}

// isLoopback reports whether a gRPC endpoint is on this host.
func isLoopback(endpoint string) bool {
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (e *logsExporter) shutdown(ctx context.Context) error {
	e.telemetry.Shutdown()
	if e.eventCatalog != nil && e.conn != nil {
		e.stopCatalog(ctx) // the queue has drained: the last write counts everything
	}
	if e.conn == nil {
		return nil
	}
	return e.conn.Close()
}

// pushLogs writes the batch, normally with one Handle call: every group
// whose layout this exporter has written before goes in one request (or
// several, past max_request_bytes). A layout's first write goes in a call
// of its own, with its table options as hints, so that the table GreptimeDB
// creates or alters for it is settled before other inserts share a call
// with it. Records of calls that fail with a retryable error go back to
// exporterhelper as a smaller batch; inserts rejected permanently are
// dead-lettered or dropped, logged and counted, and hold back no others.
func (e *logsExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	st := e.states.Get().(*pushState)
	defer e.states.Put(st)
	now := time.Now()
	groups, dropped := st.group(ld, e.mapping, now, e.mapping.tenants.fromMetadata(ctx))
	defer st.grouper.reset()

	st.writer.start(e.mapping.payload, e.cfg.MaxRequestBytes)
	p := push{e: e, st: st}
	// Calls for different databases never share a request: a request has
	// one header, and its dbname is the database of all its inserts.
	st.databases = databasesOf(groups, st.databases[:0])
	for _, db := range st.databases {
		p.plan(db, groups)
		for _, fw := range st.firsts {
			p.send(ctx, fw.groups, fw.layout.hints, firstCall)
		}
		p.send(ctx, st.shared, sharedHints, sharedCall)
	}
	st.writer.finish(!p.failedCall)

	dropped.invalid = append(dropped.invalid, p.tooLarge...)
	if e.recordDrops(ctx, dropped, now) {
		p.wrote = true
	}
	switch {
	case p.retryErr != nil:
		// Only the failed records come back; permanently rejected ones were
		// counted already and must not be retried with them.
		failed := plog.NewLogs()
		appendEvents(failed, p.retry)
		return consumererror.NewLogs(p.retryErr, failed)
	case p.wrote:
		// exporterhelper counts a push's records all as sent or all as
		// failed: a push that wrote some counts as sent, and the records
		// GreptimeDB rejected are in records_dropped{reason="rejected"}.
		return nil
	default:
		return p.permErr
	}
}

// callKind says how a call's tables are known to GreptimeDB.
type callKind uint8

const (
	// firstCall: the first write of a layout, with its hints: GreptimeDB
	// creates the table, or adds the layout's columns, as it needs.
	firstCall callKind = iota
	// sharedCall: the inserts' tables exist with their columns.
	sharedCall
)

// push is one pushLogs: its calls and what became of them.
type push struct {
	e          *logsExporter
	st         *pushState
	retryErr   error
	permErr    error
	retry      []event // events of calls that may succeed when retried
	tooLarge   []invalidRecord
	failedCall bool // a call failed: gRPC may still read the buffer
	wrote      bool // some records were written, to their table or as dead letters
}

// databasesOf appends the databases of groups to dbs, each once, in order.
func databasesOf(groups []*group, dbs []string) []string {
	for _, g := range groups {
		if !slices.Contains(dbs, g.database) {
			dbs = append(dbs, g.database)
		}
	}
	return dbs
}

// plan sorts the groups of database db into the shared call and first writes.
func (p *push) plan(db string, groups []*group) {
	st := p.st
	st.shared, st.firsts = st.shared[:0], st.firsts[:0]
next:
	for _, g := range groups {
		if g.database != db {
			continue
		}
		if p.e.settled.has(g) {
			st.shared = append(st.shared, g)
			continue
		}
		for i := range st.firsts {
			if st.firsts[i].layout.key == g.layout.key {
				st.firsts[i].groups = append(st.firsts[i].groups, g)
				continue next
			}
		}
		st.firsts = append(st.firsts, firstWrite{layout: g.layout, groups: []*group{g}})
	}
}

// send writes groups in as few calls as max_request_bytes allows.
func (p *push) send(ctx context.Context, groups []*group, hints string, kind callKind) {
	if len(groups) == 0 {
		return
	}
	requests, tooLarge := p.st.writer.pack(groups, p.e.headers.get(groups[0].database))
	p.tooLarge = append(p.tooLarge, tooLarge...)
	for _, inserts := range requests {
		p.call(ctx, inserts, hints, kind)
	}
}

// call makes one Handle call and settles its outcome. A call rejected
// permanently that carried several inserts, or shared a call without hints,
// is sent again one insert at a time with hints, so that only the inserts
// GreptimeDB refuses on their own are dead-lettered or dropped. GreptimeDB
// writes the regions of one request independently
// (src/datanode/src/region_server.rs:516-547, each write spawned: 237-243),
// so inserts it had applied before the rejection are stored twice.
func (p *push) call(ctx context.Context, inserts []insert, hints string, kind callKind) {
	e := p.e
	f, ok := e.invoke(ctx, p.st, inserts, hints)
	if ok {
		p.wrote = true
		e.inserted(ctx, p.st, inserts)
		if kind == firstCall {
			for _, in := range inserts {
				e.settled.add(in.group)
			}
		}
		return
	}
	p.failedCall = true
	switch f.verdict {
	case verdictRetry, verdictThrottle:
		p.retryErr = errors.Join(p.retryErr, f.err)
		for _, in := range inserts {
			p.retry = append(p.retry, in.events...)
		}
	case verdictRefused:
		p.permErr = errors.Join(p.permErr, e.refused(ctx, inserts, f))
	case verdictReject:
		if len(inserts) == 1 && kind == firstCall {
			if f.unknownColumns() {
				// Another first write created the table at the same time;
				// the retry adds the columns.
				p.retryErr = errors.Join(p.retryErr, f.cause)
				p.retry = append(p.retry, inserts[0].events...)
				return
			}
			if err := e.rejected(ctx, &p.st.writer, inserts[0], f); err != nil {
				p.permErr = errors.Join(p.permErr, err)
			} else {
				p.wrote = true // as dead letters
			}
			return
		}
		e.logger.Warn("GreptimeDB rejected a call; sending its inserts again one at a time "+
			"(rows of inserts it had already applied are stored twice)",
			zap.Int("inserts", len(inserts)), zap.Error(f.err))
		for _, in := range inserts {
			e.settled.remove(in.group)
			e.telemetry.ExporterGreptimeEventsRecordsResent.Add(ctx, int64(len(in.events)), e.tableAttrs[in.group.layout.table])
			p.call(ctx, []insert{in}, in.group.layout.hints, firstCall)
		}
	}
}

// invoke sends inserts as one request. It returns the classified failure
// with ok false when the call fails.
func (e *logsExporter) invoke(ctx context.Context, st *pushState, inserts []insert, hints string) (f callFailure, ok bool) {
	st.inserts = st.inserts[:0]
	for _, in := range inserts {
		st.inserts = append(st.inserts, in.Insert)
	}
	st.request.Reset(e.headers.get(inserts[0].group.database), st.inserts)
	st.trailer = nil
	ctx = metadata.AppendToOutgoingContext(ctx, hintsKey, hints)
	start := time.Now()
	err := e.conn.Invoke(ctx, wire.HandleMethod, &st.request, &st.response, st.callOpts...)
	elapsed := time.Since(start).Seconds()
	st.countTables(inserts)
	if err == nil {
		e.authErrorLogged.Store(false)
		e.recordDuration(ctx, st, elapsed, outcomeSuccess)
		e.logger.Debug("Inserted events", zap.Int("inserts", len(inserts)),
			zap.Uint32("rows", st.response.GetAffectedRows().GetValue()), zap.Float64("seconds", elapsed))
		return callFailure{}, true
	}
	f = classify(err, st.trailer, e.cfg.RetryConfig.MaxInterval)
	if f.verdict == verdictRetry || f.verdict == verdictThrottle {
		e.recordDuration(ctx, st, elapsed, outcomeRetryable)
		e.logger.Debug("Insert failed, will retry", zap.Int("inserts", len(inserts)), zap.Error(f.err))
	} else {
		e.recordDuration(ctx, st, elapsed, outcomePermanent)
	}
	return f, false
}

// The outcomes of a call, as indexes of durationAttrs.
const (
	outcomeSuccess = iota
	outcomeRetryable
	outcomePermanent
)

// countTables sums the rows of a call's inserts by table into st.tables.
func (st *pushState) countTables(inserts []insert) {
	st.tables = st.tables[:0]
next:
	for _, in := range inserts {
		table := in.group.layout.table
		for i := range st.tables {
			if st.tables[i].table == table {
				st.tables[i].rows += int64(in.rows)
				st.tables[i].nulled += int64(in.nulled)
				continue next
			}
		}
		st.tables = append(st.tables, tableCount{table: table, rows: int64(in.rows), nulled: int64(in.nulled)})
	}
}

// recordDuration records the last call's duration once for each table it wrote.
func (e *logsExporter) recordDuration(ctx context.Context, st *pushState, seconds float64, outcome int) {
	for _, tc := range st.tables {
		e.telemetry.ExporterGreptimeEventsInsertDuration.Record(ctx, seconds, e.durationAttrs[tc.table][outcome])
	}
}

// inserted counts the rows of the last call, a successful one, by table,
// and tells the catalog.
func (e *logsExporter) inserted(ctx context.Context, st *pushState, inserts []insert) {
	if e.eventCatalog != nil {
		now := time.Now()
		for _, in := range inserts {
			e.eventCatalog.observe(in.group.database, in.group.layout.table, in.group.eventType, in.events, now)
		}
	}
	for _, tc := range st.tables {
		e.telemetry.ExporterGreptimeEventsRowsInserted.Add(ctx, tc.rows, e.tableAttrs[tc.table])
		if tc.nulled > 0 {
			e.telemetry.ExporterGreptimeEventsValuesNulled.Add(ctx, tc.nulled, e.tableAttrs[tc.table])
		}
	}
}

// rejected handles an insert GreptimeDB refused for good: its records go to
// the dead-letter table when there is one, or are dropped, logged and counted.
func (e *logsExporter) rejected(ctx context.Context, w *writer, in insert, f callFailure) error {
	table, eventType := in.group.layout.table, in.group.eventType
	fields := []zap.Field{zap.String("table", table), zap.String("type", eventType),
		zap.Int("records", len(in.events)), zap.Int("rows", in.rows), zap.Error(f.err)}
	if e.deadLetters != nil {
		dlErr := e.writeDeadLetters(ctx, w, in, f)
		if dlErr == nil {
			e.telemetry.ExporterGreptimeEventsRecordsDeadLettered.Add(ctx, int64(len(in.events)), e.tableAttrs[table])
			e.logger.Warn("GreptimeDB rejected events; wrote them to the dead-letter table",
				append(fields, zap.String("dead_letter_table", e.deadLetters.table))...)
			return nil
		}
		e.telemetry.ExporterGreptimeEventsDeadLetterWriteFailures.Add(ctx, 1)
		fields = append(fields, zap.NamedError("dead_letter_error", dlErr))
	}
	e.telemetry.ExporterGreptimeEventsRecordsDropped.Add(ctx, int64(len(in.events)), droppedRejected)
	e.logger.Error("GreptimeDB rejected events permanently; dropping them", fields...)
	return fmt.Errorf("insert into %q (type %q): %w", table, eventType, f.err)
}

// refused handles a call whose credentials GreptimeDB refused: its records
// are dropped and counted, never dead-lettered (that write would be refused
// too), and the failure is logged once until a call succeeds again.
func (e *logsExporter) refused(ctx context.Context, inserts []insert, f callFailure) error {
	records := 0
	for _, in := range inserts {
		records += len(in.events)
	}
	e.telemetry.ExporterGreptimeEventsRecordsDropped.Add(ctx, int64(records), droppedRejected)
	fields := []zap.Field{zap.Int("records", records), zap.Error(f.err)}
	if e.authErrorLogged.CompareAndSwap(false, true) {
		// Every batch fails the same way until the credentials are fixed:
		// say it once, clearly, and count the rest.
		e.logger.Error("GreptimeDB refused the exporter's credentials; every event is dropped until "+
			"\"username\" and \"password\" are fixed (further failures are logged at debug level)",
			append(fields, zap.String("username", e.cfg.Username), zap.String("database", e.cfg.Database))...)
	} else {
		e.logger.Debug("GreptimeDB refused the exporter's credentials; dropping events", fields...)
	}
	return fmt.Errorf("GreptimeDB refused the credentials: %w", f.err)
}

// settledLayouts are the layouts this exporter has written, by database:
// their tables exist with their columns, so their inserts share calls.
type settledLayouts struct {
	mu   sync.RWMutex
	keys map[settledKey]struct{}
}

type settledKey struct{ database, layout string }

func (s *settledLayouts) has(g *group) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.keys[settledKey{g.database, g.layout.key}]
	return ok
}

func (s *settledLayouts) add(g *group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.keys) >= maxDatabases {
		clear(s.keys) // to be written again first: a call of its own each
	}
	s.keys[settledKey{g.database, g.layout.key}] = struct{}{}
}

func (s *settledLayouts) remove(g *group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, settledKey{g.database, g.layout.key})
}

// Metric attribute options, made once: attribute sets allocate.
var (
	droppedFiltered = reasonAttr("filtered")
	droppedRejected = reasonAttr("rejected")
	droppedInvalid  = reasonAttr("invalid")
	droppedTenant   = reasonAttr("tenant_not_allowed")
)

// durationAttrsOf are the insert_duration attributes of a table, by outcome.
func durationAttrsOf(table string) [3]metric.RecordOption {
	var attrs [3]metric.RecordOption
	for i, outcome := range []string{"success", "retryable", "permanent"} {
		attrs[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("table", table), attribute.String("outcome", outcome)))
	}
	return attrs
}

func reasonAttr(reason string) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason)))
}
