package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonenc"
	"github.com/greptime-events/greptimeeventsexporter/internal/wire"
)

// The columns a dead-letter row has besides type, payload and timestamp.
const (
	columnTargetDatabase = "target_database"
	columnTargetTable    = "target_table"
	columnErrorCode      = "error_code"
	columnGRPCCode       = "grpc_code"
	columnErrorMessage   = "error_message"
)

// maxDeadLetterMessage keeps a long server message (it may quote the
// offending value) from growing every dead-letter row.
const maxDeadLetterMessage = 1024

// deadLetterAttempts bounds the tries of one dead-letter write: a dead letter
// that cannot be written is counted and dropped, never retried for ever.
const deadLetterAttempts = 3

// maxPayloadPrefix is how much of a too-large record's payload its dead
// letter keeps.
const maxPayloadPrefix = 1024

// rejection is why an event is dead-lettered: what its dead-letter row
// holds besides the event's type, payload and timestamp.
type rejection struct {
	database string // the database the event was meant for; "" for a tenant not allowed
	table    string // the table it was meant for
	code     int    // GreptimeDB's status code; 0 when GreptimeDB gave none
	grpcCode string // "" when GreptimeDB never saw the event
	message  string // at most maxDeadLetterMessage bytes
	// payload replaces the event's payload when set: a too-large record's.
	payload []byte
}

// rejectionOf is the rejection of the events of insert in by a failed call.
func rejectionOf(in insert, f callFailure) *rejection {
	return &rejection{
		database: in.group.database,
		table:    in.group.layout.table,
		code:     f.code,
		grpcCode: f.grpc.Code().String(),
		message:  truncateUTF8(f.grpc.Message(), maxDeadLetterMessage),
	}
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// deadLetters writes the events GreptimeDB rejected for good, and the
// records the exporter cannot store, into a table of their own, with the
// database and table they were meant for and why they are there. Every
// dead letter has the same layout: its columns read the event's rejection.
type deadLetters struct {
	layout *layout
}

func newDeadLetters(cfg *Config) (*deadLetters, error) {
	dl := cfg.DeadLetter.Get()
	if dl == nil {
		return nil, nil
	}
	// The exporter's ttl and compaction window, append-only.
	policy := tablePolicy{TableOptions: cfg.TableOptions}
	policy.AppendMode = true
	column := func(name string, kind sourceKind, typ ColumnType, semantic greptimev1.SemanticType) extraColumn {
		return extraColumn{name: name, src: source{kind: kind}, typ: typ, semantic: semantic}
	}
	l, err := compileLayout(dl.Table, []extraColumn{
		column(columnTargetDatabase, sourceTargetDatabase, ColumnTypeString, greptimev1.SemanticType_TAG),
		column(columnTargetTable, sourceTargetTable, ColumnTypeString, greptimev1.SemanticType_TAG),
		column(columnErrorCode, sourceErrorCode, ColumnTypeInt64, greptimev1.SemanticType_FIELD),
		column(columnGRPCCode, sourceGRPCCode, ColumnTypeString, greptimev1.SemanticType_FIELD),
		column(columnErrorMessage, sourceErrorMessage, ColumnTypeString, greptimev1.SemanticType_FIELD),
	}, -1, policy)
	if err != nil {
		return nil, err
	}
	return &deadLetters{layout: l}, nil
}

// groups puts letters into groups of one event type each, in the order the
// types first appear: a row's type is its group's.
func (d *deadLetters) groups(db string, letters []event, types []string) []*group {
	var groups []*group
next:
	for i := range letters {
		for _, g := range groups {
			if g.eventType == types[i] {
				g.events = append(g.events, letters[i])
				continue next
			}
		}
		groups = append(groups, &group{database: db, eventType: types[i], layout: d.layout, events: []event{letters[i]}})
	}
	return groups
}

// letterFate is what became of a batch of dead letters.
type letterFate struct {
	written, dropped int
	err              error // of the writes that failed
}

// deadLetter writes letters, events with their rejection set, to the
// dead-letter table of database db, and counts each record: dead-lettered
// (by the table it was meant for), or dropped with reason when its write
// fails. A letter whose row is larger than a request keeps only the start
// of its payload. types are the letters' event types.
func (e *logsExporter) deadLetter(ctx context.Context, w *writer, db string, letters []event, types []string, reason metric.AddOption) letterFate {
	var fate letterFate
	drop := func(n int, err error) {
		fate.dropped += n
		fate.err = errors.Join(fate.err, err)
		e.telemetry.ExporterGreptimeEventsRecordsDropped.Add(ctx, int64(n), reason)
	}
	header, err := e.headers.get(db)
	if err != nil {
		drop(len(letters), err)
		return fate
	}
	limit := e.requestLimit()
	requests, tooLarge := w.pack(e.deadLetters.groups(db, letters, types), header, limit)
	if len(tooLarge) > 0 {
		short := make([]event, len(tooLarge))
		shortTypes := make([]string, len(tooLarge))
		for i, r := range tooLarge {
			short[i], shortTypes[i] = r.event, r.eventType
			rej := *r.event.rejection
			rej.payload = truncatedPayload(appendPayload(nil, &r.event, e.mapping.payload), r.size)
			short[i].rejection = &rej
		}
		more, still := w.pack(e.deadLetters.groups(db, short, shortTypes), header, limit)
		requests = append(requests, more...)
		for _, r := range still {
			drop(1, r.err)
		}
	}
	for _, inserts := range requests {
		records := 0
		for _, in := range inserts {
			records += len(in.events)
		}
		if _, err := e.callBriefly(ctx, deadLetterAttempts, e.deadLetters.layout.hints, wire.NewRequest(header, wireInserts(inserts))); err != nil {
			drop(records, err)
			continue
		}
		fate.written += records
		for _, in := range inserts {
			for i := range in.events {
				e.telemetry.ExporterGreptimeEventsRecordsDeadLettered.Add(ctx, 1, e.tableAttrs[in.events[i].rejection.table])
			}
		}
	}
	return fate
}

func wireInserts(inserts []insert) []wire.Insert {
	out := make([]wire.Insert, len(inserts))
	for i, in := range inserts {
		out[i] = in.Insert
	}
	return out
}

// callBriefly sends req (a *wire.Request, or a generated GreptimeRequest)
// with hints (none when empty), up to attempts times, backing off from
// 100ms, while its failures are retryable: for the writes the sending queue
// does not carry (dead letters, the catalog, creating a database), which
// must not retry for ever. Each attempt is bounded by the exporter's
// timeout, when it has one. A failure is returned classified, and as err.
func (e *logsExporter) callBriefly(ctx context.Context, attempts int, hints string, req any) (callFailure, error) {
	if hints != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, hintsKey, hints)
	}
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		var trailer metadata.MD
		callCtx, cancel := e.callContext(ctx)
		err := e.conn.Invoke(callCtx, wire.HandleMethod, req, new(greptimev1.GreptimeResponse), e.codec, grpc.Trailer(&trailer))
		cancel()
		if err == nil {
			return callFailure{}, nil
		}
		f := classify(err, trailer, backoff)
		if (f.verdict != verdictRetry && f.verdict != verdictThrottle) || attempt == attempts || !pause(ctx, backoff) {
			return f, f.err
		}
		backoff *= 2
	}
}

// callContext bounds one call by the exporter's timeout; timeout 0 means
// none, as it does for exporterhelper.
func (e *logsExporter) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if t := e.cfg.TimeoutConfig.Timeout; t > 0 {
		return context.WithTimeout(ctx, t)
	}
	return context.WithCancel(ctx)
}

// letterOf is the dead letter of a record the exporter cannot store (a
// timestamp beyond year 2262, a record larger than a request on its own, a
// tenant not allowed): the reason as error_message and no error codes. A
// record with an out-of-range timestamp is stamped now; a record too large
// keeps the start of its payload.
func (e *logsExporter) letterOf(r invalidRecord, now time.Time) event {
	ev := r.event
	if ev.timestamp == 0 {
		ev.timestamp = now.UnixNano()
	}
	ev.rejection = &rejection{
		database: r.target,
		table:    e.mapping.layoutOf(r.eventType).table,
		message:  truncateUTF8(r.err.Error(), maxDeadLetterMessage),
	}
	if r.size > 0 {
		ev.rejection.payload = truncatedPayload(appendPayload(nil, &r.event, e.mapping.payload), r.size)
	}
	return ev
}

// truncatedPayload is the payload of a record too large to store:
// {"truncated":true,"record_bytes":N,"payload_prefix":"<the first bytes of payload>"}.
func truncatedPayload(payload []byte, recordBytes int) []byte {
	prefix := strings.ToValidUTF8(truncateUTF8(string(payload), maxPayloadPrefix), "")
	out := append([]byte(nil), `{"truncated":true,"record_bytes":`...)
	out = strconv.AppendInt(out, int64(recordBytes), 10)
	out = append(out, `,"payload_prefix":`...)
	out = jsonenc.AppendString(out, prefix)
	return append(out, '}')
}
