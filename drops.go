package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/metric"
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
func (d *drops) unstorable(ctx context.Context, w *mapping.Writer, recs []mapping.Unstorable, denied bool, reason metric.AddOption, now time.Time) (deadLettered bool) {
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
		// The records of one database at a time, in order.
		end := start + 1
		for end < len(recs) && recs[end].Database == recs[start].Database {
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
// sent; they are counted in records_dropped.
type sieve struct {
	mapping *mapping.Mapping
	tenants *tenants
	drops   *drops
}

// sift returns ld without the records the exporter will not write, counted
// and logged; ld itself when it keeps them all. It changes ld in place when
// mutable, else a copy.
func (s *sieve) sift(ctx context.Context, ld plog.Logs, mutable bool) plog.Logs {
	checking := s.drops.deadLetters == nil // with a dead-letter table, the push writes them there
	if !s.mapping.Filters() && !checking {
		return ld
	}
	filtering, tenants := s.mapping.Filters(), checking && s.tenants.on
	databaseOf := s.tenants.databaseOf(ctx)
	takeOut := func(rl plog.ResourceLogs, lr plog.LogRecord, d *mapping.Drops) bool {
		// The event type is found only where the filter or a drop needs it:
		// most batches go through with a timestamp check per record.
		var eventType string
		if filtering {
			if eventType = s.mapping.LogType(lr); !s.mapping.Keeps(eventType) {
				if d != nil {
					d.Filtered++
				}
				return true
			}
		}
		if !checking {
			return false
		}
		if tenants {
			if db, ok := databaseOf(rl.Resource()); !ok {
				if d != nil {
					d.Denied = append(d.Denied, mapping.Unstorable{Database: db, Type: s.mapping.LogType(lr), Err: fmt.Errorf("%w: %q", mapping.ErrNotAllowed, db)})
				}
				return true
			}
		}
		if _, err := mapping.LogTimestamp(lr, time.Time{}); err != nil {
			if d != nil {
				d.Unstorable = append(d.Unstorable, mapping.Unstorable{Type: s.mapping.LogType(lr), Err: err})
			}
			return true
		}
		return false
	}
	if !takesAny(ld, takeOut) {
		return ld // most batches lose none, and are then neither copied nor gone over again
	}
	if !mutable {
		cp := plog.NewLogs()
		ld.CopyTo(cp)
		ld = cp
	}
	var dropped mapping.Drops
	ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool { return takeOut(rl, lr, &dropped) })
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
	s.drops.record(ctx, nil, dropped, time.Now()) // no dead-letter table here: no writer needed
	return ld
}

// takesAny reports whether takeOut takes any record of ld out.
func takesAny(ld plog.Logs, takeOut func(plog.ResourceLogs, plog.LogRecord, *mapping.Drops) bool) bool {
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if takeOut(rl, lr, nil) {
					return true
				}
			}
		}
	}
	return false
}
