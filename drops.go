package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

// What the exporter does not write, and how it counts it.

// siftingExporter is the exporter as the pipeline sees it: exporterhelper's,
// behind a sieve that takes out the records that will not be written
// before exporterhelper counts them, so that
// otelcol_exporter_sent_log_records does not count them as sent. It takes
// out records the event-type filter drops, and, without a dead-letter
// table, records that cannot be stored (a timestamp beyond year 2262) or
// whose tenant is not allowed; they are counted in records_dropped. With a
// dead-letter table, those go on to the push, which writes them there.
type siftingExporter struct {
	exporter.Logs // exporterhelper's
	e             *logsExporter
}

// ConsumeLogs sifts ld and hands exporterhelper what is left.
func (s siftingExporter) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	ld = s.e.sift(ctx, ld, s.Capabilities().MutatesData)
	if ld.LogRecordCount() == 0 {
		return nil
	}
	return s.Logs.ConsumeLogs(ctx, ld)
}

// sift returns ld without the records the exporter will not write, counted
// and logged; ld itself when it keeps them all. It changes ld in place when
// mutable, else a copy.
func (e *logsExporter) sift(ctx context.Context, ld plog.Logs, mutable bool) plog.Logs {
	s := sieve{
		m:         e.mapping,
		filtering: e.mapping.include != nil || len(e.mapping.exclude) > 0,
		checking:  e.deadLetters == nil, // without a dead-letter table, these are dropped anyway
	}
	if !s.filtering && !s.checking {
		return ld
	}
	s.tenant = e.mapping.tenants.fromMetadata(ctx)
	if !s.takesAny(ld) {
		return ld
	}
	if !mutable {
		cp := plog.NewLogs()
		ld.CopyTo(cp)
		ld = cp
	}
	var d drops
	ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool { return s.takeOut(rl, lr, &d) })
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
	e.recordDrops(ctx, nil, d, time.Now()) // no dead-letter table here: no writer needed
	return ld
}

// sieve decides which records sift takes out.
type sieve struct {
	m         *mapping
	filtering bool   // the event-type filter is on
	checking  bool   // records that cannot be stored are taken out too
	tenant    string // the request's, from its client metadata
}

// takesAny reports whether the sieve takes out any record of ld: most
// batches lose none, and are then neither copied nor gone over again.
func (s sieve) takesAny(ld plog.Logs) bool {
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if s.takeOut(rl, lr, nil) {
					return true
				}
			}
		}
	}
	return false
}

// takeOut reports whether a record is taken out, and adds it to d if d is
// not nil.
func (s sieve) takeOut(rl plog.ResourceLogs, lr plog.LogRecord, d *drops) bool {
	if s.filtering && !s.m.keeps(s.m.eventType(lr)) {
		if d != nil {
			d.filtered++
		}
		return true
	}
	if !s.checking {
		return false
	}
	if s.m.tenants != nil {
		if db, allowed := s.m.databaseOf(rl, s.tenant); !allowed {
			if d != nil {
				d.denied = append(d.denied, invalidRecord{eventType: s.m.eventType(lr), err: fmt.Errorf("%w: %q", errTenantNotAllowed, db)})
			}
			return true
		}
	}
	if _, err := recordTimestamp(lr, time.Time{}); err != nil {
		if d != nil {
			d.invalid = append(d.invalid, invalidRecord{eventType: s.m.eventType(lr), err: err})
		}
		return true
	}
	return false
}

// recordDrops counts and logs the records of a batch that belong to no
// group. Records that cannot be stored, and records of tenants not allowed,
// go to the dead-letter table when there is one, written with w; wrote
// reports that some did.
func (e *logsExporter) recordDrops(ctx context.Context, w *writer, d drops, now time.Time) (wrote bool) {
	if d.filtered > 0 {
		e.telemetry.ExporterGreptimeEventsRecordsDropped.Add(ctx, int64(d.filtered), droppedFiltered)
		e.logger.Debug("Dropped records by event type filter", zap.Int("records", d.filtered))
	}
	wroteInvalid := e.unstorable(ctx, w, d.invalid, droppedInvalid, &e.invalidLog, now)
	wroteDenied := e.unstorable(ctx, w, d.denied, droppedTenant, &e.deniedLog, now)
	return wroteInvalid || wroteDenied
}

// unstorable dead-letters records the exporter cannot store, each into the
// dead-letter table of its database, or drops and counts them with reason.
// Each push logs them once, and a flood of such pushes logs at most one
// Warn per logInterval.
func (e *logsExporter) unstorable(ctx context.Context, w *writer, recs []invalidRecord, reason metric.AddOption, log *sampledLog, now time.Time) (deadLettered bool) {
	if len(recs) == 0 {
		return false
	}
	fields := []zap.Field{zap.Int("records", len(recs)), zap.String("type", recs[0].eventType), zap.Error(recs[0].err)}
	if e.deadLetters == nil {
		e.telemetry.ExporterGreptimeEventsRecordsDropped.Add(ctx, int64(len(recs)), reason)
		log.write(e.logger, now, "Dropped records that cannot be stored (type and error of the first)", fields...)
		return false
	}
	var fate letterFate
	for start := 0; start < len(recs); {
		// The records of one database at a time, in order.
		db, end := recs[start].database, start+1
		for end < len(recs) && recs[end].database == db {
			end++
		}
		letters := make([]event, 0, end-start)
		types := make([]string, 0, end-start)
		for _, r := range recs[start:end] {
			letters = append(letters, e.letterOf(r, now))
			types = append(types, r.eventType)
		}
		f := e.deadLetter(ctx, w, db, letters, types, reason)
		fate.written += f.written
		fate.dropped += f.dropped
		fate.err = errors.Join(fate.err, f.err)
		start = end
	}
	fields = append(fields, zap.String("dead_letter_table", e.deadLetters.layout.table))
	if fate.err != nil {
		e.telemetry.ExporterGreptimeEventsDeadLetterWriteFailures.Add(ctx, 1)
		log.write(e.logger, now, "Dropped records that cannot be stored: their dead letters could not be written (type and error of the first)",
			append(fields, zap.Int("dead_lettered", fate.written), zap.Int("dropped", fate.dropped), zap.NamedError("dead_letter_error", fate.err))...)
	} else {
		log.write(e.logger, now, "Wrote records that cannot be stored to the dead-letter table (type and error of the first)", fields...)
	}
	return fate.written > 0
}

// logInterval is the least time between two Warn lines of a sampledLog.
const logInterval = 10 * time.Second

// sampledLog logs a recurring problem at Warn at most once per logInterval,
// with how many times it was seen since, and at Debug in between.
type sampledLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (l *sampledLog) write(logger *zap.Logger, now time.Time, msg string, fields ...zap.Field) {
	l.mu.Lock()
	if !l.last.IsZero() && now.Sub(l.last) < logInterval {
		l.suppressed++
		l.mu.Unlock()
		logger.Debug(msg, fields...)
		return
	}
	suppressed := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	if suppressed > 0 {
		fields = append(fields, zap.Int("times_since_last_warning", suppressed))
	}
	logger.Warn(msg, fields...)
}
