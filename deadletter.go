package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonenc"
	"github.com/greptime-events/greptimeeventsexporter/internal/wire"
)

// The columns a dead-letter row has besides type, payload and timestamp.
const (
	columnTargetTable  = "target_table"
	columnErrorCode    = "error_code"
	columnGRPCCode     = "grpc_code"
	columnErrorMessage = "error_message"
)

// maxDeadLetterMessage keeps a long server message (it may quote the
// offending value) from growing every dead-letter row.
const maxDeadLetterMessage = 1024

// deadLetterAttempts bounds the tries of one dead-letter write: a dead letter
// that cannot be written is counted and dropped, never retried for ever.
const deadLetterAttempts = 3

// deadLetters writes the events GreptimeDB rejected permanently into a table
// of their own, with the table they were meant for and GreptimeDB's error.
type deadLetters struct {
	table string
	// policy is the dead-letter table's: the exporter's ttl and compaction
	// window, append-only.
	policy tablePolicy
}

func newDeadLetters(cfg *Config) *deadLetters {
	dl := cfg.DeadLetter.Get()
	if dl == nil {
		return nil
	}
	policy := tablePolicy{TableOptions: cfg.TableOptions}
	policy.AppendMode = true
	return &deadLetters{table: dl.Table, policy: policy}
}

// layoutFor lays out the dead letters of one rejected insert: the rejection
// is the same for all of its rows, so it goes in as constant columns.
func (d *deadLetters) layoutFor(target string, f callFailure) *layout {
	code := ""
	if f.code != 0 {
		code = strconv.Itoa(f.code)
	}
	return d.layout(target, code, f.grpc.Code().String(), f.grpc.Message())
}

// layout is the dead-letter table's layout with the rejection's columns as
// constants; an empty code or grpcCode is written as null.
func (d *deadLetters) layout(target, code, grpcCode, msg string) *layout {
	if len(msg) > maxDeadLetterMessage {
		msg = msg[:maxDeadLetterMessage]
	}
	constant := func(name string, typ ColumnType, semantic greptimev1.SemanticType, value string) extraColumn {
		return extraColumn{name: name, src: source{kind: sourceConstant, key: value}, typ: typ, semantic: semantic}
	}
	return compileLayout(d.table, []extraColumn{
		constant(columnTargetTable, ColumnTypeString, greptimev1.SemanticType_TAG, target),
		constant(columnErrorCode, ColumnTypeInt64, greptimev1.SemanticType_FIELD, code),
		constant(columnGRPCCode, ColumnTypeString, greptimev1.SemanticType_FIELD, grpcCode),
		constant(columnErrorMessage, ColumnTypeString, greptimev1.SemanticType_FIELD, msg),
	}, -1, d.policy)
}

// writeDeadLetters writes the events of a rejected insert to the dead-letter
// table, with w, trying a few times when the failure is transient.
func (e *logsExporter) writeDeadLetters(ctx context.Context, w *writer, in insert, f callFailure) error {
	letters := &group{
		eventType: in.group.eventType,
		layout:    e.deadLetters.layoutFor(in.group.layout.table, f),
		events:    in.events,
	}
	header := e.headers.get(in.group.database)
	requests, tooLarge := w.pack([]*group{letters}, header)
	var errs error
	for _, r := range tooLarge {
		errs = errors.Join(errs, r.err)
	}
	for _, inserts := range requests {
		req := wire.NewRequest(header, wireInserts(inserts))
		errs = errors.Join(errs, e.callBriefly(ctx, deadLetterAttempts, letters.layout.hints, req))
	}
	return errs
}

func wireInserts(inserts []insert) []wire.Insert {
	out := make([]wire.Insert, len(inserts))
	for i, in := range inserts {
		out[i] = in.Insert
	}
	return out
}

// callBriefly sends req (a *wire.Request, or a generated GreptimeRequest)
// with hints, up to attempts times, backing off from 100ms, while its
// failures are retryable: for the writes the sending queue does not carry
// (dead letters, the catalog), which must not retry for ever.
func (e *logsExporter) callBriefly(ctx context.Context, attempts int, hints string, req any) error {
	ctx = metadata.AppendToOutgoingContext(ctx, hintsKey, hints)
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		var trailer metadata.MD
		callCtx, cancel := context.WithTimeout(ctx, e.cfg.TimeoutConfig.Timeout)
		err := e.conn.Invoke(callCtx, wire.HandleMethod, req, new(greptimev1.GreptimeResponse), e.codec, grpc.Trailer(&trailer))
		cancel()
		if err == nil {
			return nil
		}
		f := classify(err, trailer, backoff)
		if f.verdict == verdictReject || f.verdict == verdictRefused || attempt == attempts {
			return f.err
		}
		err = f.err
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff):
			backoff *= 2
		}
	}
}

// maxPayloadPrefix is how much of a too-large record's payload its dead
// letter keeps.
const maxPayloadPrefix = 1024

// writeInvalid writes the records the exporter cannot store (a timestamp
// beyond year 2262, a record larger than max_request_bytes on its own, a
// tenant not allowed) to the dead-letter table of each one's database, with
// the reason as error_message and no error codes. A record with an
// out-of-range timestamp is stamped now; a record too large keeps the start
// of its payload.
func (e *logsExporter) writeInvalid(ctx context.Context, invalid []invalidRecord, now time.Time) error {
	columns := e.deadLetters.layout("", "", "", "").columns
	str := func(s string) *greptimev1.Value {
		return &greptimev1.Value{ValueData: &greptimev1.Value_StringValue{StringValue: strings.ToValidUTF8(s, "\uFFFD")}}
	}
	var (
		rows []*greptimev1.Row
		db   string // of rows
		size int
		errs error
	)
	flush := func() {
		if len(rows) > 0 {
			errs = errors.Join(errs, e.sendDeadLetterRows(ctx, db, columns, rows))
		}
		rows, size = nil, 0
	}
	var payload []byte
	for _, r := range invalid {
		if r.database != db {
			flush()
			db = r.database
		}
		payload = appendPayload(payload[:0], &r.event, e.mapping.payload)
		if r.size > 0 {
			payload = appendTruncatedPayload(payload, r.size)
		}
		ts := r.event.timestamp
		if ts == 0 {
			ts = now.UnixNano()
		}
		row := &greptimev1.Row{Values: []*greptimev1.Value{
			str(r.eventType),
			str(string(payload)),
			{ValueData: &greptimev1.Value_TimestampNanosecondValue{TimestampNanosecondValue: ts}},
			str(e.mapping.layoutOf(r.eventType).table),
			{}, // error_code: GreptimeDB never saw the record
			{}, // grpc_code
			str(r.err.Error()),
		}}
		n := proto.Size(row)
		if size+n > e.cfg.MaxRequestBytes-minRequestBytes {
			flush()
		}
		rows = append(rows, row)
		size += n
	}
	flush()
	return errs
}

// appendTruncatedPayload replaces a too-large record's payload in buf with
// {"truncated":true,"record_bytes":N,"payload_prefix":"<its first bytes>"}.
func appendTruncatedPayload(buf []byte, recordBytes int) []byte {
	prefix := string(buf[:min(len(buf), maxPayloadPrefix)])
	out := append(buf[len(buf):], `{"truncated":true,"record_bytes":`...)
	out = strconv.AppendInt(out, int64(recordBytes), 10)
	out = append(out, `,"payload_prefix":`...)
	out = jsonenc.AppendString(out, strings.ToValidUTF8(prefix, ""))
	out = append(out, '}')
	return append(buf[:0], out...)
}

// sendDeadLetterRows writes rows built with the generated types to the
// dead-letter table, with the bounded retry of every dead-letter write.
func (e *logsExporter) sendDeadLetterRows(ctx context.Context, db string, columns []*greptimev1.ColumnSchema, rows []*greptimev1.Row) error {
	req := rowInsertRequest(db, e.auth, e.deadLetters.table, columns, rows)
	return e.callBriefly(ctx, deadLetterAttempts, formatHints(e.deadLetters.policy), req)
}

// rowInsertRequest is a request of one insert built with the generated
// types, for the rare writes not worth the wire writer.
func rowInsertRequest(db string, auth *greptimev1.AuthHeader, table string, columns []*greptimev1.ColumnSchema, rows []*greptimev1.Row) *greptimev1.GreptimeRequest {
	return &greptimev1.GreptimeRequest{
		Header: &greptimev1.RequestHeader{Dbname: db, Authorization: auth},
		Request: &greptimev1.GreptimeRequest_RowInserts{RowInserts: &greptimev1.RowInsertRequests{Inserts: []*greptimev1.RowInsertRequest{{
			TableName: table,
			Rows:      &greptimev1.Rows{Schema: columns, Rows: rows},
		}}}},
	}
}
