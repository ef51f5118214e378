package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/greptime-events/greptimeeventsexporter/internal/mapping"
)

// What the exporter does not write, and how it counts it: records the
// filter drops, records that cannot be stored, and records of tenants not
// allowed. Those last two go to the dead-letter table when there is one.

// logInterval is the least time between two Warn lines of one message
// about unstorable or redirected records, which can come in floods.
const logInterval = 10 * time.Second

// sampled is logger with at most one line of each message per logInterval.
func sampled(logger *zap.Logger) *zap.Logger {
	return logger.WithOptions(zap.WrapCore(func(core zapcore.Core) zapcore.Core {
		return zapcore.NewSamplerWithOptions(core, logInterval, 1, 0)
	}))
}

// drops counts and logs the records of a batch that belong to no group.
type drops struct {
	metrics     *metrics
	logger      *zap.Logger // sampled
	mapping     *mapping.Mapping
	deadLetters *deadLetters // nil without a dead-letter table
	home        string       // the exporter's database: where the dead letters of tenants not allowed go
}

// record counts and logs the records of a batch that belong to no group.
// Records that cannot be stored, and records of tenants not allowed, go to
// the dead-letter table when there is one, written with w; wrote reports
// that some did.
func (d *drops) record(ctx context.Context, w *mapping.Writer, dropped mapping.Drops, now time.Time) (wrote bool) {
	if dropped.Filtered > 0 {
		d.metrics.dropped(ctx, dropped.Filtered, droppedFiltered)
		d.logger.Debug("Dropped records by event type filter", zap.Int("records", dropped.Filtered))
	}
	wroteUnstorable := d.unstorable(ctx, w, dropped.Unstorable, false, droppedInvalid, now)
	wroteDenied := d.unstorable(ctx, w, dropped.Denied, true, droppedTenant, now)
	return wroteUnstorable || wroteDenied
}

// unstorable dead-letters records the exporter cannot store, or drops and
// counts them with reason: a record's dead letter goes to its database, or
// the exporter's when denied.
func (d *drops) unstorable(ctx context.Context, w *mapping.Writer, recs []mapping.Unstorable, denied bool, reason dropReason, now time.Time) (deadLettered bool) {
	if len(recs) == 0 {
		return false
	}
	fields := []zap.Field{zap.Int("records", len(recs)), zap.String("type", recs[0].Type), zap.Error(recs[0].Err)}
	if d.deadLetters == nil {
		d.metrics.dropped(ctx, len(recs), reason)
		d.logger.Warn("Dropped records that cannot be stored (type and error of the first)", fields...)
		return false
	}
	var fate letterFate
	for start := 0; start < len(recs); {
		// The records of one database at a time, in order; those of
		// tenants not allowed all go to home, in one write.
		end := start + 1
		for end < len(recs) && (denied || recs[end].Database == recs[start].Database) {
			end++
		}
		db, target := recs[start].Database, recs[start].Database
		if denied {
			db, target = d.home, ""
		}
		var ls letters
		for _, r := range recs[start:end] {
			ls = ls.add(r.Type, d.deadLetters.letterOf(r, target, d.mapping.LayoutOf(r.Type).Table(), now))
		}
		f := d.deadLetters.write(ctx, w, db, ls, reason)
		fate.written += f.written
		fate.dropped += f.dropped
		fate.err = errors.Join(fate.err, f.err)
		start = end
	}
	fields = append(fields, zap.String("dead_letter_table", d.deadLetters.layout.Table()))
	if fate.err != nil {
		d.metrics.deadLetterWriteFailed(ctx)
		d.logger.Warn("Dropped records that cannot be stored: their dead letters could not be written (type and error of the first)",
			append(fields, zap.Int("dead_lettered", fate.written), zap.Int("dropped", fate.dropped), zap.NamedError("dead_letter_error", fate.err))...)
	} else {
		d.logger.Warn("Wrote records that cannot be stored to the dead-letter table (type and error of the first)", fields...)
	}
	return fate.written > 0
}

// sieve takes out of a batch, before exporterhelper counts it, the records
// the exporter will not write: those the filter drops, and, without a
// dead-letter table, those that cannot be stored or whose tenant is not
// allowed. So otelcol_exporter_sent_log_records does not count them as
// sent; they are counted in records_dropped. Of traces it keeps only the
// spans with span events to write.
type sieve struct {
	mapping *mapping.Mapping
	tenants *tenants
	drops   *drops
}

// sifting is one batch's sift: what it checks, and how.
type sifting struct {
	s          *sieve
	filtering  bool // the filter may drop a type
	checking   bool // no dead-letter table: records that cannot be written are taken out
	tenants    bool
	databaseOf mapping.DatabaseOf
}

func (s *sieve) begin(ctx context.Context) sifting {
	checking := s.drops.deadLetters == nil // with a dead-letter table, the push writes them there
	return sifting{s: s, filtering: s.mapping.Filters(), checking: checking,
		tenants: checking && s.tenants.on, databaseOf: s.tenants.databaseOf(ctx)}
}

// passesAll reports whether the sift takes nothing out of any log batch.
func (f sifting) passesAll() bool { return !f.filtering && !f.checking }

// siftRecord is a log record or a span event, for the sieve, with the
// tenant of its resource.
type siftRecord struct {
	tenant
	lr   plog.LogRecord
	span ptrace.Span
	se   ptrace.SpanEvent
}

// tenant is the database of a resource's records, and whether they may go
// there.
type tenant struct {
	db      string
	allowed bool
}

// tenantOf is the tenant of res's records, found once per resource and
// only when the sift checks tenants.
func (f sifting) tenantOf(res pcommon.Resource) tenant {
	if !f.tenants {
		return tenant{allowed: true}
	}
	db, ok := f.databaseOf(res)
	return tenant{db: db, allowed: ok}
}

func (r siftRecord) eventType(m *mapping.Mapping) string {
	if r.se != (ptrace.SpanEvent{}) {
		return m.SpanEventType(r.se)
	}
	return m.LogType(r.lr)
}

func (r siftRecord) timestampErr() error {
	var err error
	if r.se != (ptrace.SpanEvent{}) {
		_, err = mapping.SpanEventTimestamp(r.se, r.span, time.Time{})
	} else {
		_, err = mapping.LogTimestamp(r.lr, time.Time{})
	}
	return err
}

// takeOut reports whether r is taken out, and adds it to d when d is not
// nil. The event type is found only where the filter or a drop needs it:
// most batches go through with a timestamp check per record.
func (f sifting) takeOut(r siftRecord, d *mapping.Drops) bool {
	m := f.s.mapping
	if f.filtering && !m.Keeps(r.eventType(m)) {
		if d != nil {
			d.Filtered++
		}
		return true
	}
	if !f.checking {
		return false
	}
	if !r.allowed {
		if d != nil {
			d.Denied = append(d.Denied, mapping.Unstorable{Database: r.db, Type: r.eventType(m), Err: mapping.NotAllowed(r.db)})
		}
		return true
	}
	if err := r.timestampErr(); err != nil {
		if d != nil {
			d.Unstorable = append(d.Unstorable, mapping.Unstorable{Type: r.eventType(m), Err: err})
		}
		return true
	}
	return false
}

// sift returns ld without the records the exporter will not write, counted
// and logged; ld itself when it keeps them all. It changes ld in place when
// mutable, else a copy.
func (s *sieve) sift(ctx context.Context, ld plog.Logs, mutable bool) plog.Logs {
	f := s.begin(ctx)
	if f.passesAll() || !f.takesAnyLog(ld) {
		return ld // most batches lose none, and are then neither copied nor gone over again
	}
	if !mutable {
		cp := plog.NewLogs()
		ld.CopyTo(cp)
		ld = cp
	}
	var dropped mapping.Drops
	ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		t := f.tenantOf(rl.Resource())
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				return f.takeOut(siftRecord{tenant: t, lr: lr}, &dropped)
			})
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
	s.drops.record(ctx, nil, dropped, time.Now()) // no dead-letter table here: no writer needed
	return ld
}

// takesAnyLog reports whether the sift takes any record of ld out.
func (f sifting) takesAnyLog(ld plog.Logs) bool {
	for _, rl := range ld.ResourceLogs().All() {
		t := f.tenantOf(rl.Resource())
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if f.takeOut(siftRecord{tenant: t, lr: lr}, nil) {
					return true
				}
			}
		}
	}
	return false
}

// siftTraces returns td with only the spans that hold span events the
// exporter will write, each with only those: spans are not written, and
// most carry no events, so they neither fill the queue nor count as sent.
// It returns td itself when every span keeps every event, else a new batch
// of copies; the span events taken out are counted and logged as sift's
// records are.
func (s *sieve) siftTraces(ctx context.Context, td ptrace.Traces) ptrace.Traces {
	f := s.begin(ctx)
	if !f.takesAnySpan(td) {
		return td
	}
	out := ptrace.NewTraces()
	var dropped mapping.Drops
	for _, rs := range td.ResourceSpans().All() {
		t := f.tenantOf(rs.Resource())
		var outRS ptrace.ResourceSpans
		for _, ss := range rs.ScopeSpans().All() {
			var outSS ptrace.ScopeSpans
			for _, span := range ss.Spans().All() {
				kept := 0
				for _, se := range span.Events().All() {
					if !f.takeOut(siftRecord{tenant: t, span: span, se: se}, &dropped) {
						kept++
					}
				}
				if kept == 0 {
					continue
				}
				if outRS == (ptrace.ResourceSpans{}) {
					outRS = out.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(outRS.Resource())
					outRS.SetSchemaUrl(rs.SchemaUrl())
				}
				if outSS == (ptrace.ScopeSpans{}) {
					outSS = outRS.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(outSS.Scope())
					outSS.SetSchemaUrl(ss.SchemaUrl())
				}
				outSpan := outSS.Spans().AppendEmpty()
				span.CopyTo(outSpan)
				if kept < span.Events().Len() {
					outSpan.Events().RemoveIf(func(se ptrace.SpanEvent) bool {
						return f.takeOut(siftRecord{tenant: t, span: outSpan, se: se}, nil)
					})
				}
			}
		}
	}
	s.drops.record(ctx, nil, dropped, time.Now())
	return out
}

// takesAnySpan reports whether the sift takes any span or span event of td
// out: a span without events to write goes.
func (f sifting) takesAnySpan(td ptrace.Traces) bool {
	for _, rs := range td.ResourceSpans().All() {
		t := f.tenantOf(rs.Resource())
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				if span.Events().Len() == 0 {
					return true
				}
				if f.passesAll() {
					continue
				}
				for _, se := range span.Events().All() {
					if f.takeOut(siftRecord{tenant: t, span: span, se: se}, nil) {
						return true
					}
				}
			}
		}
	}
	return false
}
