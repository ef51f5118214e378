package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"
	"errors"
	"time"

	"github.com/greptime-events/greptimeeventsexporter/internal/mapping"
)

// Dead letters: the events GreptimeDB rejects for good, and the records the
// exporter cannot store, go to a table of their own, with the database and
// table they were meant for and why they are there, instead of being
// dropped. Each dead letter is an event with its rejection, written by the
// mapping's writer into the dead-letter layout.

// deadLetters writes dead letters, and counts each record as what became of it.
type deadLetters struct {
	layout  *mapping.Layout
	caller  *caller
	metrics *metrics
}

// newDeadLetters is the exporter's dead letters, nil without a dead-letter table.
func newDeadLetters(cfg *Config, c *caller, m *metrics) (*deadLetters, error) {
	dl := cfg.DeadLetter.Get()
	if dl == nil {
		return nil, nil
	}
	// The exporter's ttl and compaction window.
	l, err := mapping.DeadLetterLayout(dl.Table, tablePolicy{TableOptions: cfg.TableOptions}.options(), payloadOf(cfg), encodingOf(cfg))
	if err != nil {
		return nil, err
	}
	return &deadLetters{layout: l, caller: c, metrics: m}, nil
}

// rejectionOf is why the events of an insert are dead letters of a failed call.
func rejectionOf(in mapping.Insert, f callFailure) *mapping.Rejection {
	return &mapping.Rejection{
		Database: in.Group.Database,
		Table:    in.Group.Layout.Table(),
		Code:     f.code,
		GRPCCode: f.grpc.Code().String(),
		Message:  f.grpc.Message(),
	}
}

// letters are dead letters on their way to the dead-letter table: the
// events, each with its rejection, in groups of one event type.
type letters []*mapping.Group

// add adds ev, of eventType, to its type's group.
func (ls letters) add(eventType string, ev mapping.Event) letters {
	for _, g := range ls {
		if g.Type == eventType {
			g.Events = append(g.Events, ev)
			return ls
		}
	}
	return append(ls, &mapping.Group{Type: eventType, Events: []mapping.Event{ev}})
}

func (ls letters) count() int {
	n := 0
	for _, g := range ls {
		n += len(g.Events)
	}
	return n
}

// lettersOf is the events of inserts, rejected by the failure f, as dead letters.
func lettersOf(inserts []mapping.Insert, f callFailure) letters {
	var ls letters
	for _, in := range inserts {
		r := rejectionOf(in, f)
		for _, ev := range in.Events {
			ev.Rejection = r
			ls = ls.add(in.Group.Type, ev)
		}
	}
	return ls
}

// letterFate is what became of a batch of dead letters.
type letterFate struct {
	written, dropped int
	err              error // of the writes that failed
}

// write writes ls to the dead-letter table of database db with w, and
// counts each record: dead-lettered (by the table it was meant for), or
// dropped with reason when its write fails. A letter whose row is larger
// than a request keeps only the start of its payload.
func (d *deadLetters) write(ctx context.Context, w *mapping.Writer, db string, ls letters, reason dropReason) letterFate {
	var fate letterFate
	drop := func(n int, err error) {
		fate.dropped += n
		fate.err = errors.Join(fate.err, err)
		d.metrics.dropped(ctx, n, reason)
	}
	header, err := d.caller.header(db)
	if err != nil {
		drop(ls.count(), err)
		return fate
	}
	for _, g := range ls {
		g.Database, g.Layout = db, d.layout
	}
	limit := d.caller.requestLimit()
	requests, tooLarge := w.Pack(ls, header, limit)
	if len(tooLarge) > 0 {
		var short letters
		for _, r := range tooLarge {
			rej := *r.Event.Rejection
			rej.Payload = d.layout.TruncatedPayload(&r.Event, r.Size)
			r.Event.Rejection = &rej
			short = short.add(r.Type, r.Event)
		}
		for _, g := range short {
			g.Database, g.Layout = db, d.layout
		}
		more, still := w.Pack(short, header, limit)
		requests = append(requests, more...)
		for _, r := range still {
			drop(1, r.Err)
		}
	}
	for _, inserts := range requests {
		records := 0
		for _, in := range inserts {
			records += len(in.Events)
		}
		if err := d.caller.writeBriefly(ctx, db, inserts, d.layout.Hints()); err != nil {
			drop(records, err)
			continue
		}
		fate.written += records
		for _, in := range inserts {
			for i := range in.Events {
				d.metrics.deadLettered(ctx, in.Events[i].Rejection.Table, 1)
			}
		}
	}
	return fate
}

// letterOf is the dead letter of a record the exporter cannot store (a
// timestamp beyond year 2262, a record larger than a request on its own, a
// tenant not allowed) meant for table: the reason as error_message and no
// error codes. A record with an out-of-range timestamp is stamped now; a
// record too large keeps the start of its payload. target is the database
// it was meant for, if any.
func (d *deadLetters) letterOf(r mapping.Unstorable, target, table string, now time.Time) mapping.Event {
	ev := r.Event
	if ev.Timestamp == 0 {
		ev.Timestamp = now.UnixNano()
	}
	ev.Rejection = &mapping.Rejection{Database: target, Table: table, Message: r.Err.Error()}
	if r.Size > 0 {
		ev.Rejection.Payload = d.layout.TruncatedPayload(&r.Event, r.Size)
	}
	return ev
}
