package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"
	"errors"
	"strconv"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
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

// schemaFor lays out the dead letters of one rejected call: the rejection
// is the same for all of its rows, so it goes in as constant columns.
func (d *deadLetters) schemaFor(target string, st *status.Status, trailer metadata.MD) *eventSchema {
	code := ""
	if c, ok := greptimeCode(trailer); ok {
		code = strconv.Itoa(c)
	}
	msg := st.Message()
	if len(msg) > maxDeadLetterMessage {
		msg = msg[:maxDeadLetterMessage]
	}
	constant := func(name string, typ ColumnType, semantic greptimev1.SemanticType, value string) extraColumn {
		return extraColumn{name: name, src: source{kind: sourceConstant, key: value}, typ: typ, semantic: semantic}
	}
	return layoutSchema(d.table, []extraColumn{
		constant(columnTargetTable, ColumnTypeString, greptimev1.SemanticType_TAG, target),
		constant(columnErrorCode, ColumnTypeInt64, greptimev1.SemanticType_FIELD, code),
		constant(columnGRPCCode, ColumnTypeString, greptimev1.SemanticType_FIELD, st.Code().String()),
		constant(columnErrorMessage, ColumnTypeString, greptimev1.SemanticType_FIELD, msg),
	}, -1, d.policy)
}

// writeDeadLetters writes the records of a rejected call to the dead-letter
// table, trying a few times when the failure is transient.
func (e *logsExporter) writeDeadLetters(ctx context.Context, g *group, c chunk, rejection error, trailer metadata.MD) error {
	letters := &group{
		eventType: g.eventType,
		schema:    e.deadLetters.schemaFor(g.table(), status.Convert(rejection), trailer),
		records:   c.records,
	}
	ge := newGroupEncoder(letters, e.headerWire, e.mapping.payload, e.cfg.MaxRequestBytes)
	var errs error
	for dc, ok := ge.nextChunk(); ok; dc, ok = ge.nextChunk() {
		errs = errors.Join(errs, e.sendDeadLetterChunk(ctx, letters, dc))
	}
	if len(ge.tooLarge) > 0 {
		errs = errors.Join(errs, ge.tooLarge[0].err)
	}
	return errs
}

func (e *logsExporter) sendDeadLetterChunk(ctx context.Context, letters *group, c chunk) error {
	ctx = metadata.AppendToOutgoingContext(ctx, hintsHeader, letters.schema.hints)
	err := e.retryBriefly(ctx, deadLetterAttempts, func(ctx context.Context, trailer *metadata.MD) error {
		var resp greptimev1.GreptimeResponse
		return e.conn.Invoke(ctx, handleMethod, c.req, &resp, e.codecOpt, grpc.Trailer(trailer))
	})
	if err == nil {
		c.req.release()
	}
	return err
}

// retryBriefly makes a call up to attempts times, backing off from 100ms,
// while its failures are retryable: for the writes the sending queue does
// not carry (dead letters, the catalog), which must not retry for ever.
func (e *logsExporter) retryBriefly(ctx context.Context, attempts int, call func(context.Context, *metadata.MD) error) error {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		var trailer metadata.MD
		callCtx, cancel := context.WithTimeout(ctx, e.cfg.TimeoutConfig.Timeout)
		err := call(callCtx, &trailer)
		cancel()
		if err == nil {
			return nil
		}
		err = classify(err, trailer, backoff)
		if consumererror.IsPermanent(err) || attempt == attempts {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff):
			backoff *= 2
		}
	}
}
