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
	// invalidLog, deniedLog and elsewhereLog keep floods of unstorable or
	// redirected records from flooding the log.
	invalidLog, deniedLog, elsewhereLog sampledLog
	// learnedLimit is the largest request GreptimeDB accepts, as far as the
	// exporter knows: max_request_bytes, lowered when GreptimeDB refuses a
	// request for its size.
	learnedLimit atomic.Int64
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
	m, err := newMapping(cfg)
	if err != nil {
		return nil, err
	}
	dl, err := newDeadLetters(cfg)
	if err != nil {
		return nil, err
	}
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
		headers:       requestHeaders{auth: auth, catalog: cfg.Catalog, byDB: map[string][]byte{}},
		codec:         grpc.ForceCodecV2(wire.NewCodec()),
		telemetry:     tb,
		tableAttrs:    tableAttrs,
		durationAttrs: durationAttrs,
		settled:       settledLayouts{keys: map[settledKey]struct{}{}},
		deadLetters:   dl,
		eventCatalog:  cat,
	}
	e.learnedLimit.Store(int64(cfg.MaxRequestBytes))
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
// exporterhelper as a smaller batch; records GreptimeDB refuses for good
// are dead-lettered or dropped, logged and counted, and hold back no others.
func (e *logsExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	st := e.states.Get().(*pushState)
	defer e.states.Put(st)
	now := time.Now()
	groups, dropped := st.group(ld, e.mapping, now, e.mapping.tenants.fromMetadata(ctx))
	defer st.grouper.reset()

	st.writer.start(e.mapping.payload)
	p := push{e: e, st: st, limit: e.requestLimit()}
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

	dropped.invalid = append(dropped.invalid, p.unstorable...)
	if e.recordDrops(ctx, &st.writer, dropped, now) {
		p.wrote = true
	}
	st.writer.finish(!p.failedCall)
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

// requestLimit is the largest request to send: max_request_bytes, or less
// once GreptimeDB refused a request for its size.
func (e *logsExporter) requestLimit() int { return int(e.learnedLimit.Load()) }

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
	limit      int // the largest request
	retryErr   error
	permErr    error
	retry      []event         // events of calls that may succeed when retried
	unstorable []invalidRecord // records too large to send
	created    []string        // databases this push created
	failedCall bool            // a call failed: gRPC may still read the buffer
	wrote      bool            // some records were written, to their table or as dead letters
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

// send writes groups, all of one database, in as few calls as the request
// limit allows.
func (p *push) send(ctx context.Context, groups []*group, hints string, kind callKind) {
	if len(groups) == 0 {
		return
	}
	header, err := p.e.headers.get(groups[0].database)
	if err != nil { // tenants keep out the names that cannot be encoded
		for _, g := range groups {
			for _, ev := range g.events {
				p.unstorable = append(p.unstorable, invalidRecord{database: p.e.cfg.Database, eventType: g.eventType, err: err, event: ev})
			}
		}
		return
	}
	requests, tooLarge := p.st.writer.pack(groups, header, p.limit)
	p.unstorable = append(p.unstorable, tooLarge...)
	for _, inserts := range requests {
		p.call(ctx, inserts, hints, kind)
	}
}

// call makes one Handle call and settles its outcome.
func (p *push) call(ctx context.Context, inserts []insert, hints string, kind callKind) {
	f, ok := p.e.invoke(ctx, p.st, inserts, hints)
	if ok {
		p.succeeded(ctx, inserts, kind)
		return
	}
	p.settle(ctx, inserts, hints, kind, f)
}

func (p *push) succeeded(ctx context.Context, inserts []insert, kind callKind) {
	p.wrote = true
	p.e.inserted(ctx, p.st, inserts)
	if kind == firstCall {
		for _, in := range inserts {
			p.e.settled.add(in.group)
		}
	}
}

// settle decides what becomes of the records of a failed call.
func (p *push) settle(ctx context.Context, inserts []insert, hints string, kind callKind, f callFailure) {
	p.failedCall = true
	switch f.verdict {
	case verdictRetry, verdictThrottle:
		p.retryLater(inserts, f.err)
	case verdictRefused:
		p.permErr = errors.Join(p.permErr, p.e.refused(ctx, inserts, f))
	case verdictTooLarge:
		p.split(ctx, inserts, hints, kind, f)
	case verdictNoDatabase:
		p.noDatabase(ctx, inserts, f)
	case verdictDenied:
		if inserts[0].group.database == p.e.cfg.Database {
			// Its dead letters would be denied too.
			p.permErr = errors.Join(p.permErr, p.e.refused(ctx, inserts, f))
			return
		}
		p.redirect(ctx, inserts, f)
	case verdictReject:
		switch {
		case kind == firstCall && f.tableMissing():
			// A first write's inserts are all of one layout, into one table
			// the frontend will not create: alone, each is refused again.
			p.rejected(ctx, inserts, f)
		case len(inserts) > 1 || kind == sharedCall:
			p.resendAlone(ctx, inserts, f)
		case f.unknownColumns():
			p.resendAfterRace(ctx, inserts[0], f)
		default:
			p.rejected(ctx, inserts, f)
		}
	}
}

func (p *push) retryLater(inserts []insert, err error) {
	p.retryErr = errors.Join(p.retryErr, err)
	for _, in := range inserts {
		p.retry = append(p.retry, in.events...)
	}
}

// resendAlone sends the inserts of a call GreptimeDB rejected permanently,
// one that carried several inserts or shared a call without hints, again
// one at a time with their hints, so that only the inserts GreptimeDB
// refuses on their own are dead-lettered or dropped. GreptimeDB writes the
// regions of one request independently
// (src/datanode/src/region_server.rs:516-547, each write spawned: 237-243),
// so the rows of the other inserts it applied before the rejection are
// stored twice.
func (p *push) resendAlone(ctx context.Context, inserts []insert, f callFailure) {
	e := p.e
	if len(inserts) > 1 {
		e.logger.Warn("GreptimeDB rejected a call; sending its inserts again one at a time "+
			"(rows of inserts it had already applied are stored twice)",
			zap.Int("inserts", len(inserts)), zap.Error(f.err))
	}
	for _, in := range inserts {
		e.settled.remove(in.group)
		if len(inserts) > 1 {
			e.telemetry.ExporterGreptimeEventsRecordsResent.Add(ctx, int64(len(in.events)), e.tableAttrs[in.group.layout.table])
		}
		p.call(ctx, []insert{in}, in.group.layout.hints, firstCall)
	}
}

// raceResends and raceBackoff bound how long a first write that meets
// "unknown columns" is tried again: long enough for a race with another
// writer, short enough not to hold a consumer when GreptimeDB will not add
// the columns.
const (
	raceResends = 2
	raceBackoff = 100 * time.Millisecond
)

// resendAfterRace sends a lone first write rejected for unknown columns
// again, briefly. Another writer may have created the table with other
// columns at the same time: the frontend that lost the race writes
// against its own idea of the table (src/operator/src/statement/ddl.rs:499,
// 511-525), and GreptimeDB adds the columns on the next insert that names
// them. When it still does not, it will not: the frontend's own
// auto_create_table is off (src/frontend/src/frontend.rs:45-51,
// src/operator/src/insert.rs:496-515), and the insert is rejected.
func (p *push) resendAfterRace(ctx context.Context, in insert, f callFailure) {
	for try := 0; try < raceResends && f.verdict == verdictReject && f.unknownColumns(); try++ {
		if !pause(ctx, raceBackoff<<try) {
			break
		}
		var ok bool
		if f, ok = p.e.invoke(ctx, p.st, []insert{in}, in.group.layout.hints); ok {
			p.succeeded(ctx, []insert{in}, firstCall)
			return
		}
	}
	if f.verdict == verdictReject && f.unknownColumns() {
		p.rejected(ctx, []insert{in}, f)
		return
	}
	p.settle(ctx, []insert{in}, in.group.layout.hints, firstCall, f)
}

// pause waits d, or less when ctx ends first; it reports whether it waited d.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// rejected handles inserts GreptimeDB refused for good, each on its own or
// all for one reason, all of one table: their records go to the dead-letter
// table of their database when there is one, or are dropped, logged and
// counted. Where the refusal is GreptimeDB declining to create or alter the
// table, the log gives the statement that would.
func (p *push) rejected(ctx context.Context, inserts []insert, f callFailure) {
	e := p.e
	g := inserts[0].group
	records, rows := 0, 0
	for _, in := range inserts {
		records += len(in.events)
		rows += in.rows
	}
	fields := []zap.Field{zap.String("database", g.database), zap.String("table", g.layout.table), zap.String("type", g.eventType),
		zap.Int("records", records), zap.Int("rows", rows), zap.Error(f.err)}
	if sql := f.remedy(g.layout); sql != "" {
		fields = append(fields, zap.String("sql", sql))
	}
	err := fmt.Errorf("insert into %q (type %q): %w", g.layout.table, g.eventType, f.err)
	if e.deadLetters == nil {
		e.telemetry.ExporterGreptimeEventsRecordsDropped.Add(ctx, int64(records), droppedRejected)
		e.logger.Error("GreptimeDB rejected events permanently; dropping them", fields...)
		p.permErr = errors.Join(p.permErr, err)
		return
	}
	letters, types := lettersOf(inserts, f)
	fate := e.deadLetter(ctx, &p.st.writer, g.database, letters, types, droppedRejected)
	if fate.written > 0 {
		p.wrote = true
	}
	if fate.err == nil {
		e.logger.Warn("GreptimeDB rejected events; wrote them to the dead-letter table",
			append(fields, zap.String("dead_letter_table", e.deadLetters.layout.table))...)
		return
	}
	e.telemetry.ExporterGreptimeEventsDeadLetterWriteFailures.Add(ctx, 1)
	e.logger.Error("GreptimeDB rejected events permanently; dropping them",
		append(fields, zap.Int("dead_lettered", fate.written), zap.Int("dropped", fate.dropped), zap.NamedError("dead_letter_error", fate.err))...)
	p.permErr = errors.Join(p.permErr, err)
}

// lettersOf is the events of inserts as dead letters of the failure f,
// with their event types.
func lettersOf(inserts []insert, f callFailure) (letters []event, types []string) {
	for _, in := range inserts {
		r := rejectionOf(in, f)
		for _, ev := range in.events {
			ev.rejection = r
			letters = append(letters, ev)
			types = append(types, in.group.eventType)
		}
	}
	return letters, types
}

// split sends the inserts of a call GreptimeDB refused for its size again,
// in requests under the limit the refusal names (or half the size of the
// refused one), down to single records; a record too large on its own is
// dead-lettered, or dropped and counted, with the start of its payload.
// The lower limit holds for every later push.
func (p *push) split(ctx context.Context, inserts []insert, hints string, kind callKind, f callFailure) {
	e := p.e
	header, _ := e.headers.get(inserts[0].group.database) // encoded for the call that failed
	size := len(header)
	for _, in := range inserts {
		size += in.Size()
	}
	p.limit = min(p.limit, e.lowerLimit(size, f))
	groups := make([]*group, len(inserts))
	for i, in := range inserts {
		// A copy: packing takes the records too large for the limit out of
		// their group's events, which the batch's groups share.
		g := *in.group
		g.events = slices.Clone(in.events)
		groups[i] = &g
	}
	requests, tooLarge := p.st.writer.pack(groups, header, p.limit)
	p.unstorable = append(p.unstorable, tooLarge...)
	for _, r := range requests {
		p.call(ctx, r, hints, kind)
	}
}

// sizeMargin is kept under the limit a size refusal names: the write-bytes
// limiter counts in whole KiB (PermitGranularity::Kilobyte,
// src/servers/src/request_memory_limiter.rs:49-54), and a compressed request
// is measured by tonic as sent.
const sizeMargin = 1024

// lowerLimit lowers the request limit after GreptimeDB refused a request of
// size bytes: to the limit the refusal names, less sizeMargin, or to half
// the request when it names none. It returns the limit now in force, and
// logs once when it lowers it.
func (e *logsExporter) lowerLimit(size int, f callFailure) int {
	limit := size / 2
	if named := f.sizeLimit(); named > 0 && named-sizeMargin < size {
		limit = max(named-sizeMargin, 1)
	}
	for {
		current := e.learnedLimit.Load()
		if int64(limit) >= current {
			return int(current)
		}
		if e.learnedLimit.CompareAndSwap(current, int64(limit)) {
			e.logger.Warn("GreptimeDB refused a request for its size; the exporter now sends smaller ones (set max_request_bytes to at most this)",
				zap.Int("refused_bytes", size), zap.Int("max_request_bytes", limit), zap.Error(f.err))
			return limit
		}
	}
}

// noDatabase handles a call whose database GreptimeDB does not have. With
// tenants::create_databases, a tenant's database is created and the
// inserts sent again as first writes; otherwise their records are
// dead-lettered into the exporter's database.
func (p *push) noDatabase(ctx context.Context, inserts []insert, f callFailure) {
	e := p.e
	db := inserts[0].group.database
	if !e.mapping.tenants.creates(db) || slices.Contains(p.created, db) {
		p.redirect(ctx, inserts, f)
		return
	}
	p.created = append(p.created, db)
	cf, err := e.createDatabase(ctx, db)
	switch {
	case err == nil:
		e.logger.Info("Created a tenant's database", zap.String("database", db))
		for _, in := range inserts {
			e.settled.remove(in.group)
			p.call(ctx, []insert{in}, in.group.layout.hints, firstCall)
		}
	case cf.verdict == verdictRetry || cf.verdict == verdictThrottle:
		p.retryLater(inserts, cf.err)
	default:
		e.logger.Warn("Could not create a tenant's database", zap.String("database", db), zap.Error(err))
		p.redirect(ctx, inserts, f)
	}
}

// createDatabaseAttempts bounds the tries of one CREATE DATABASE.
const createDatabaseAttempts = 3

// createDatabase creates database db with CREATE DATABASE IF NOT EXISTS over
// GreptimeDB's SQL path: a Handle call carrying a query
// (src/frontend/src/instance/grpc.rs:74-88), answered with the affected rows
// (src/servers/src/grpc/database.rs:62-77). The statement runs in the catalog
// of the request's dbname, the exporter's database's
// (src/operator/src/statement/ddl.rs:2150). db is a tenant's, lower case and
// within GreptimeDB's name pattern (tenants.database), so it needs no
// escaping between the quotes, which keep '-', '.', ':', '@' and '#' in it.
func (e *logsExporter) createDatabase(ctx context.Context, db string) (callFailure, error) {
	req := &greptimev1.GreptimeRequest{
		Header: e.headers.header(e.cfg.Database),
		Request: &greptimev1.GreptimeRequest_Query{Query: &greptimev1.QueryRequest{
			Query: &greptimev1.QueryRequest_Sql{Sql: `CREATE DATABASE IF NOT EXISTS "` + db + `"`},
		}},
	}
	return e.callBriefly(ctx, createDatabaseAttempts, "", req)
}

// redirect handles the records of a call whose database refused them (it
// does not exist, or the exporter's user is denied it): they are
// dead-lettered into the exporter's database, with the database they were
// meant for in the row. Records meant for the exporter's own database have
// nowhere else to go: they are dropped, logged and counted.
func (p *push) redirect(ctx context.Context, inserts []insert, f callFailure) {
	e := p.e
	db := inserts[0].group.database
	records := 0
	for _, in := range inserts {
		records += len(in.events)
	}
	why := "GreptimeDB has no database for these events"
	if f.verdict == verdictDenied {
		why = "GreptimeDB denied the exporter's user the database of these events"
	}
	fields := []zap.Field{zap.String("database", db), zap.String("username", e.cfg.Username), zap.Int("records", records), zap.Error(f.err)}
	if f.verdict == verdictNoDatabase {
		fields = append(fields, zap.String("sql", `CREATE DATABASE IF NOT EXISTS "`+db+`"`))
	}
	if db == e.cfg.Database || e.deadLetters == nil {
		e.telemetry.ExporterGreptimeEventsRecordsDropped.Add(ctx, int64(records), droppedRejected)
		e.elsewhereLog.write(e.logger, time.Now(), why+"; dropping them", fields...)
		p.permErr = errors.Join(p.permErr, fmt.Errorf("database %q: %w", db, f.err))
		return
	}
	letters, types := lettersOf(inserts, f)
	fate := e.deadLetter(ctx, &p.st.writer, e.cfg.Database, letters, types, droppedRejected)
	if fate.written > 0 {
		p.wrote = true
	}
	fields = append(fields, zap.String("dead_letter_database", e.cfg.Database), zap.String("dead_letter_table", e.deadLetters.layout.table))
	if fate.err != nil {
		e.telemetry.ExporterGreptimeEventsDeadLetterWriteFailures.Add(ctx, 1)
		fields = append(fields, zap.Int("dead_lettered", fate.written), zap.Int("dropped", fate.dropped), zap.NamedError("dead_letter_error", fate.err))
		e.elsewhereLog.write(e.logger, time.Now(), why+"; could not dead-letter all of them", fields...)
		p.permErr = errors.Join(p.permErr, fmt.Errorf("database %q: %w", db, f.err))
		return
	}
	e.elsewhereLog.write(e.logger, time.Now(), why+"; wrote them to the dead-letter table of the exporter's database", fields...)
}

// invoke sends inserts as one request. It returns the classified failure
// with ok false when the call fails.
func (e *logsExporter) invoke(ctx context.Context, st *pushState, inserts []insert, hints string) (f callFailure, ok bool) {
	st.inserts = st.inserts[:0]
	for _, in := range inserts {
		st.inserts = append(st.inserts, in.Insert)
	}
	header, _ := e.headers.get(inserts[0].group.database) // encoded when the inserts were packed
	st.request.Reset(header, st.inserts)
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
// and tells the event catalog.
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

// refused drops the records of a call GreptimeDB refused the exporter's
// credentials for, or whose database, the exporter's own, it denied the
// exporter's user: dead letters would be refused too. Every batch fails the
// same way until the configuration is fixed, so the failure is logged once,
// clearly, until a call succeeds again, and the rest counted.
func (e *logsExporter) refused(ctx context.Context, inserts []insert, f callFailure) error {
	records := 0
	for _, in := range inserts {
		records += len(in.events)
	}
	e.telemetry.ExporterGreptimeEventsRecordsDropped.Add(ctx, int64(records), droppedRejected)
	db := inserts[0].group.database
	msg := "GreptimeDB refused the exporter's credentials; every event is dropped until \"username\" and \"password\" are fixed"
	err := fmt.Errorf("GreptimeDB refused the credentials: %w", f.err)
	if f.verdict == verdictDenied {
		msg = "GreptimeDB denied the exporter's user its database; every event is dropped until the user may write there"
		err = fmt.Errorf("GreptimeDB denied database %q: %w", db, f.err)
	}
	fields := []zap.Field{zap.Int("records", records), zap.String("username", e.cfg.Username), zap.String("database", db), zap.Error(f.err)}
	if e.authErrorLogged.CompareAndSwap(false, true) {
		e.logger.Error(msg+" (further failures are logged at debug level)", fields...)
	} else {
		e.logger.Debug(msg, fields...)
	}
	return err
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
