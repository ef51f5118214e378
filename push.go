package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
	"google.golang.org/grpc/metadata"

	"github.com/greptime-events/greptimeeventsexporter/internal/mapping"
	"github.com/greptime-events/greptimeeventsexporter/internal/wire"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// sharedHints go with calls whose tables this exporter has already written:
// GreptimeDB then neither creates nor alters a table for them
// (src/operator/src/insert.rs:497-515, 580-606, GreptimeDB v1.3), and a
// table dropped behind the exporter's back fails the call instead of coming
// back without its options. The failed inserts are then sent again alone,
// with their hints.
const sharedHints = "auto_create_table=false"

// pushLogs writes the log records of ld as events, as write says.
func (e *eventsExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	st := e.states.Get().(*pushState)
	defer e.states.Put(st)
	defer st.done()
	now := time.Now()
	groups, dropped := st.groupLogs(ctx, ld, e.mapping, e.tenants, now)
	retry, err := e.write(ctx, st, groups, dropped, now)
	if len(retry) > 0 {
		failed := plog.NewLogs()
		mapping.AppendLogs(failed, ld, retry)
		return consumererror.NewLogs(err, failed)
	}
	return err
}

// pushTraces writes the span events of td as events, as write says; spans
// themselves are not written.
func (e *eventsExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	st := e.states.Get().(*pushState)
	defer e.states.Put(st)
	defer st.done()
	now := time.Now()
	groups, dropped := st.groupSpanEvents(ctx, td, e.mapping, e.tenants, now)
	retry, err := e.write(ctx, st, groups, dropped, now)
	if len(retry) > 0 {
		failed := ptrace.NewTraces()
		mapping.AppendTraces(failed, td, retry)
		return consumererror.NewTraces(err, failed)
	}
	return err
}

// write writes the groups of a batch, normally with one Handle call: every
// group whose layout this exporter has written before goes in one request
// (or several, past the request limit). A layout's first write goes in a
// call of its own, with its table options as hints, so that the table
// GreptimeDB creates or alters for it is settled before other inserts
// share a call with it. The events of calls that fail with a retryable
// error are returned, to go back to exporterhelper as a smaller batch, with
// the error; events GreptimeDB refuses for good are dead-lettered or
// dropped, logged and counted, and hold back no others.
func (e *eventsExporter) write(ctx context.Context, st *pushState, groups []*mapping.Group, dropped mapping.Drops, now time.Time) (retry []mapping.Event, err error) {
	st.writer.Start()
	p := push{e: e, st: st, limit: e.caller.requestLimit()}
	for _, db := range st.databases {
		st.plan(db, groups, e.settled)
		for _, fw := range st.firsts {
			p.send(ctx, fw.groups, fw.layout.Hints(), firstCall)
		}
		p.send(ctx, st.shared, sharedHints, sharedCall)
	}
	dropped.Unstorable = append(dropped.Unstorable, p.unstorable...)
	if e.drops.record(ctx, &st.writer, dropped, now) {
		p.wrote = true
	}
	st.writer.Finish(!p.failedCall)

	switch {
	case p.retryErr != nil:
		// Only the failed events come back; permanently rejected ones were
		// counted already and must not be retried with them.
		return p.retry, p.retryErr
	case p.wrote:
		// exporterhelper counts a push's records all as sent or all as
		// failed: a push that wrote some counts as sent, and the records
		// GreptimeDB rejected are in records_dropped{reason="rejected"}.
		return nil, nil
	default:
		return nil, p.permErr
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

// push is one write of a batch: its calls and what became of them.
type push struct {
	e          *eventsExporter
	st         *pushState
	limit      int // the largest request
	retryErr   error
	permErr    error
	retry      []mapping.Event      // events of calls that may succeed when retried
	unstorable []mapping.Unstorable // records too large to send
	created    []string             // databases this push created
	failedCall bool                 // a call failed: gRPC may still read the buffer
	wrote      bool                 // some records were written, to their table or as dead letters
}

// send writes groups, all of one database, in as few calls as the request
// limit allows.
func (p *push) send(ctx context.Context, groups []*mapping.Group, hints string, kind callKind) {
	if len(groups) == 0 {
		return
	}
	header, err := p.e.caller.header(groups[0].Database)
	if err != nil { // tenants keep out the names that cannot be encoded
		for _, g := range groups {
			for _, ev := range g.Events {
				p.unstorable = append(p.unstorable, mapping.Unstorable{Database: p.e.cfg.Database, Type: g.Type, Err: err, Event: ev})
			}
		}
		return
	}
	requests, tooLarge := p.st.writer.Pack(groups, header, p.limit)
	p.unstorable = append(p.unstorable, tooLarge...)
	for _, inserts := range requests {
		p.call(ctx, inserts, hints, kind)
	}
}

// insert sends inserts, all of database db, as one request with hints,
// once: exporterhelper retries a push. It returns the failure as verdict.go
// classifies it, with ok false, when the call fails.
func (p *push) insert(ctx context.Context, db string, inserts []mapping.Insert, hints string) (f callFailure, ok bool) {
	c, st := p.e.caller, p.st.call
	header, err := c.header(db)
	if err != nil {
		return encodeFailure(err), false
	}
	st.inserts = st.inserts[:0]
	for _, in := range inserts {
		st.inserts = append(st.inserts, in.Insert)
	}
	st.request.Reset(header, st.inserts)
	st.trailer = nil
	ctx = metadata.AppendToOutgoingContext(ctx, hintsKey, hints)
	if err := c.conn.Invoke(ctx, wire.HandleMethod, &st.request, &st.response, st.opts...); err != nil {
		st.request = wire.Request{} // gRPC may still read the failed call's: the next gets its own
		return classify(err, st.trailer, c.throttle), false
	}
	return callFailure{}, true
}

// landed settles a call that succeeded, which took seconds; st.tables
// holds its tables (countTables).
func (p *push) landed(ctx context.Context, inserts []mapping.Insert, kind callKind, seconds float64) {
	e := p.e
	e.credentialsLogged.Store(false)
	for _, tc := range p.st.tables {
		e.metrics.callTook(ctx, tc.table, seconds, outcomeSuccess)
	}
	e.logger.Debug("Inserted events", zap.Int("inserts", len(inserts)),
		zap.Uint32("rows", p.st.call.response.GetAffectedRows().GetValue()), zap.Float64("seconds", seconds))
	p.succeeded(ctx, inserts, kind)
}

// call makes one Handle call and settles its outcome.
func (p *push) call(ctx context.Context, inserts []mapping.Insert, hints string, kind callKind) {
	e, st := p.e, p.st
	start := time.Now()
	f, ok := p.insert(ctx, inserts[0].Group.Database, inserts, hints)
	seconds := time.Since(start).Seconds()
	st.countTables(inserts)
	if ok {
		p.landed(ctx, inserts, kind, seconds)
		return
	}
	outcome := outcomePermanent
	if f.verdict == verdictRetry || f.verdict == verdictThrottle {
		outcome = outcomeRetryable
		e.logger.Debug("Insert failed, will retry", zap.Int("inserts", len(inserts)), zap.Error(f.err))
	}
	if f.tlsToPlaintext() && e.tlsHintLogged.CompareAndSwap(false, true) {
		e.logger.Error(`GreptimeDB's endpoint speaks plain gRPC, not TLS: set "tls::insecure: true" for it, or configure TLS on GreptimeDB; until then every insert fails and is retried`,
			zap.String("endpoint", e.cfg.ClientConfig.Endpoint), zap.Error(f.err))
	}
	for _, tc := range st.tables {
		e.metrics.callTook(ctx, tc.table, seconds, outcome)
	}
	p.settle(ctx, inserts, hints, kind, f)
}

// succeeded counts the rows of a call that succeeded, tells the event
// catalog, and settles the layouts a first write wrote.
func (p *push) succeeded(ctx context.Context, inserts []mapping.Insert, kind callKind) {
	e := p.e
	p.wrote = true
	for _, tc := range p.st.tables {
		e.metrics.inserted(ctx, tc.table, tc.rows, tc.nulled)
	}
	if e.eventCatalog != nil {
		now := time.Now()
		for _, in := range inserts {
			e.eventCatalog.observe(in, now)
		}
	}
	if kind == firstCall {
		for _, in := range inserts {
			e.settled.add(in.Group)
		}
	}
}

// settle decides what becomes of the records of a failed call.
func (p *push) settle(ctx context.Context, inserts []mapping.Insert, hints string, kind callKind, f callFailure) {
	p.failedCall = true
	switch f.verdict {
	case verdictRetry, verdictThrottle:
		p.retryLater(inserts, f.err)
	case verdictRefused:
		p.refused(ctx, inserts, f)
	case verdictTooLarge:
		p.split(ctx, inserts, hints, kind, f)
	case verdictNoDatabase:
		p.noDatabase(ctx, inserts, f)
	case verdictDenied:
		if inserts[0].Group.Database == p.e.cfg.Database {
			p.refused(ctx, inserts, f) // its dead letters would be denied too
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

func (p *push) retryLater(inserts []mapping.Insert, err error) {
	p.retryErr = errors.Join(p.retryErr, err)
	for _, in := range inserts {
		p.retry = append(p.retry, in.Events...)
	}
}

// resendAlone sends the inserts of a call GreptimeDB rejected permanently,
// one that carried several inserts or shared a call without hints, again
// one at a time with their hints, so that only the inserts GreptimeDB
// refuses on their own are dead-lettered or dropped. GreptimeDB writes the
// regions of one request independently
// (src/datanode/src/region_server.rs:516-547, each write spawned: 237-243),
// so the rows of the other inserts it applied before the rejection are
// stored twice: those are counted as resent.
func (p *push) resendAlone(ctx context.Context, inserts []mapping.Insert, f callFailure) {
	e := p.e
	if len(inserts) > 1 {
		e.logger.Warn("GreptimeDB rejected a call; sending its inserts again one at a time "+
			"(rows of inserts it had already applied are stored twice)",
			zap.Int("inserts", len(inserts)), zap.Error(f.err))
	}
	for _, in := range inserts {
		e.settled.remove(in.Group)
		if len(inserts) > 1 {
			e.metrics.resent(ctx, in.Group.Layout.Table(), len(in.Events))
		}
		p.call(ctx, []mapping.Insert{in}, in.Group.Layout.Hints(), firstCall)
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
func (p *push) resendAfterRace(ctx context.Context, in mapping.Insert, f callFailure) {
	alone := []mapping.Insert{in}
	for try := 0; try < raceResends && f.verdict == verdictReject && f.unknownColumns(); try++ {
		if !pause(ctx, raceBackoff<<try) {
			break
		}
		var ok bool
		start := time.Now()
		if f, ok = p.insert(ctx, in.Group.Database, alone, in.Group.Layout.Hints()); ok {
			p.st.countTables(alone)
			p.landed(ctx, alone, firstCall, time.Since(start).Seconds())
			return
		}
	}
	if f.verdict == verdictReject && f.unknownColumns() {
		p.rejected(ctx, alone, f)
		return
	}
	p.settle(ctx, alone, in.Group.Layout.Hints(), firstCall, f)
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
func (p *push) rejected(ctx context.Context, inserts []mapping.Insert, f callFailure) {
	e := p.e
	g := inserts[0].Group
	records, rows := 0, 0
	for _, in := range inserts {
		records += len(in.Events)
		rows += in.Rows
	}
	fields := []zap.Field{zap.String("database", g.Database), zap.String("table", g.Layout.Table()), zap.String("type", g.Type),
		zap.Int("records", records), zap.Int("rows", rows), zap.Error(f.err)}
	if sql := f.remedy(g.Layout); sql != "" {
		fields = append(fields, zap.String("sql", sql))
	}
	if f.json2Column() {
		fields = append(fields, zap.String("reason", json2Reason))
	}
	err := fmt.Errorf("insert into %q (type %q): %w", g.Layout.Table(), g.Type, f.err)
	if e.deadLetters == nil {
		e.metrics.dropped(ctx, records, droppedRejected)
		e.logger.Error("GreptimeDB rejected events permanently; dropping them", fields...)
		p.permErr = errors.Join(p.permErr, err)
		return
	}
	fate := e.deadLetters.write(ctx, &p.st.writer, g.Database, lettersOf(inserts, f), droppedRejected)
	p.wrote = p.wrote || fate.written > 0
	if fate.err == nil {
		e.logger.Warn("GreptimeDB rejected events; wrote them to the dead-letter table",
			append(fields, zap.String("dead_letter_table", e.deadLetters.layout.Table()))...)
		return
	}
	e.metrics.deadLetterWriteFailed(ctx)
	e.logger.Error("GreptimeDB rejected events permanently; dropping them",
		append(fields, zap.Int("dead_lettered", fate.written), zap.Int("dropped", fate.dropped), zap.NamedError("dead_letter_error", fate.err))...)
	p.permErr = errors.Join(p.permErr, err)
}

// split sends the inserts of a call GreptimeDB refused for its size again,
// in requests under the limit the refusal names (or half the size of the
// refused one), down to single records; a record too large on its own is
// dead-lettered, or dropped and counted, with the start of its payload.
// The lower limit holds for every later push.
func (p *push) split(ctx context.Context, inserts []mapping.Insert, hints string, kind callKind, f callFailure) {
	e := p.e
	header, _ := e.caller.header(inserts[0].Group.Database) // encoded for the call that failed
	size := len(header)
	for _, in := range inserts {
		size += in.Size()
	}
	p.limit = min(p.limit, e.lowerLimit(size, f))
	groups := make([]*mapping.Group, len(inserts))
	for i, in := range inserts {
		// A copy: packing takes the records too large for the limit out of
		// their group's events, which the batch's groups share.
		g := *in.Group
		g.Events = slices.Clone(in.Events)
		groups[i] = &g
	}
	requests, tooLarge := p.st.writer.Pack(groups, header, p.limit)
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
// logs when it lowers it.
func (e *eventsExporter) lowerLimit(size int, f callFailure) int {
	limit := size / 2
	if named := f.sizeLimit(); named > 0 && named-sizeMargin < size {
		limit = max(named-sizeMargin, 1)
	}
	for {
		current := e.caller.limit.Load()
		if int64(limit) >= current {
			return int(current)
		}
		if e.caller.limit.CompareAndSwap(current, int64(limit)) {
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
func (p *push) noDatabase(ctx context.Context, inserts []mapping.Insert, f callFailure) {
	e := p.e
	db := inserts[0].Group.Database
	if !e.tenants.creates(db) || slices.Contains(p.created, db) {
		p.redirect(ctx, inserts, f)
		return
	}
	p.created = append(p.created, db)
	cf, err := e.tenants.createDatabase(ctx, e.caller, db)
	switch {
	case err == nil:
		e.logger.Info("Created a tenant's database", zap.String("database", db))
		for _, in := range inserts {
			e.settled.remove(in.Group)
			p.call(ctx, []mapping.Insert{in}, in.Group.Layout.Hints(), firstCall)
		}
	case cf.verdict == verdictRetry || cf.verdict == verdictThrottle:
		p.retryLater(inserts, cf.err)
	default:
		e.logger.Warn("Could not create a tenant's database", zap.String("database", db), zap.Error(err))
		p.redirect(ctx, inserts, f)
	}
}

// redirect handles the records of a call whose database refused them (it
// does not exist, or the exporter's user is denied it): they are
// dead-lettered into the exporter's database, with the database they were
// meant for in the row. Records meant for the exporter's own database have
// nowhere else to go: they are dropped, logged and counted.
func (p *push) redirect(ctx context.Context, inserts []mapping.Insert, f callFailure) {
	e := p.e
	db := inserts[0].Group.Database
	records := 0
	for _, in := range inserts {
		records += len(in.Events)
	}
	why := "GreptimeDB has no database for these events"
	if f.verdict == verdictDenied {
		why = "GreptimeDB denied the exporter's user the database of these events"
	}
	fields := []zap.Field{zap.String("database", db), zap.String("username", e.cfg.Username), zap.Int("records", records), zap.Error(f.err)}
	if f.verdict == verdictNoDatabase {
		fields = append(fields, zap.String("sql", createDatabaseSQL(db)))
	}
	if db == e.cfg.Database || e.deadLetters == nil {
		e.metrics.dropped(ctx, records, droppedRejected)
		e.sampled.Error(why+"; dropping them", fields...)
		p.permErr = errors.Join(p.permErr, fmt.Errorf("database %q: %w", db, f.err))
		return
	}
	fate := e.deadLetters.write(ctx, &p.st.writer, e.cfg.Database, lettersOf(inserts, f), droppedRejected)
	p.wrote = p.wrote || fate.written > 0
	fields = append(fields, zap.String("dead_letter_database", e.cfg.Database), zap.String("dead_letter_table", e.deadLetters.layout.Table()))
	if fate.err != nil {
		e.metrics.deadLetterWriteFailed(ctx)
		fields = append(fields, zap.Int("dead_lettered", fate.written), zap.Int("dropped", fate.dropped), zap.NamedError("dead_letter_error", fate.err))
		e.sampled.Error(why+"; could not dead-letter all of them", fields...)
		p.permErr = errors.Join(p.permErr, fmt.Errorf("database %q: %w", db, f.err))
		return
	}
	e.sampled.Warn(why+"; wrote them to the dead-letter table of the exporter's database", fields...)
}

// refused drops the records of a call GreptimeDB refused the exporter's
// credentials for, or whose database, the exporter's own, it denied the
// exporter's user: dead letters would be refused too. Every batch fails the
// same way until the configuration is fixed, so the failure is logged once,
// clearly, until a call succeeds again, and the rest counted.
func (p *push) refused(ctx context.Context, inserts []mapping.Insert, f callFailure) {
	e := p.e
	records := 0
	for _, in := range inserts {
		records += len(in.Events)
	}
	e.metrics.dropped(ctx, records, droppedRejected)
	db := inserts[0].Group.Database
	msg := "GreptimeDB refused the exporter's credentials; every event is dropped until \"username\" and \"password\" are fixed"
	err := fmt.Errorf("GreptimeDB refused the credentials: %w", f.err)
	if f.verdict == verdictDenied {
		msg = "GreptimeDB denied the exporter's user its database; every event is dropped until the user may write there"
		err = fmt.Errorf("GreptimeDB denied database %q: %w", db, f.err)
	}
	fields := []zap.Field{zap.Int("records", records), zap.String("username", e.cfg.Username), zap.String("database", db), zap.Error(f.err)}
	if e.credentialsLogged.CompareAndSwap(false, true) {
		e.logger.Error(msg+" (further failures are logged at debug level)", fields...)
	} else {
		e.logger.Debug(msg, fields...)
	}
	p.permErr = errors.Join(p.permErr, err)
}
