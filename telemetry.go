package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/greptime-events/greptimeeventsexporter/internal/metadata"
)

// metrics are the exporter's own metrics (metadata.yaml), with the
// attribute sets of each table and reason made once: attribute sets
// allocate. The counts of records, of rows and of nulled values carry the
// signal of the exporter's pipeline: a record is a log record or a span
// event.
type metrics struct {
	tb        *metadata.TelemetryBuilder
	tables    map[string]metric.AddOption
	durations map[string][3]metric.RecordOption
	reasons   [reasonCount]metric.AddOption
}

// The reasons of records_dropped, as indexes of reasons.
type dropReason int

const (
	droppedFiltered dropReason = iota
	droppedRejected
	droppedInvalid
	droppedTenant
	reasonCount
)

var reasonNames = [reasonCount]string{"filtered", "rejected", "invalid", "tenant_not_allowed"}

// The outcomes of a call, as indexes of durations.
const (
	outcomeSuccess = iota
	outcomeRetryable
	outcomePermanent
)

// newMetrics makes the metrics of an exporter of a signal's pipeline that
// writes to tables.
func newMetrics(set component.TelemetrySettings, tables []string, signal pipeline.Signal) (*metrics, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	m := &metrics{tb: tb, tables: map[string]metric.AddOption{}, durations: map[string][3]metric.RecordOption{}}
	sig := attribute.String("signal", signal.String())
	for i, reason := range reasonNames {
		m.reasons[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason), sig))
	}
	for _, table := range tables {
		m.tables[table] = metric.WithAttributeSet(attribute.NewSet(attribute.String("table", table), sig))
		var d [3]metric.RecordOption
		for i, outcome := range []string{"success", "retryable", "permanent"} {
			d[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("table", table), attribute.String("outcome", outcome)))
		}
		m.durations[table] = d
	}
	return m, nil
}

func (m *metrics) shutdown() { m.tb.Shutdown() }

// inserted counts a table's rows GreptimeDB acknowledged, and the values
// among them written as null.
func (m *metrics) inserted(ctx context.Context, table string, rows, nulled int64) {
	m.tb.ExporterGreptimeEventsRowsInserted.Add(ctx, rows, m.tables[table])
	if nulled > 0 {
		m.tb.ExporterGreptimeEventsValuesNulled.Add(ctx, nulled, m.tables[table])
	}
}

// callTook records a call's duration for one table it wrote.
func (m *metrics) callTook(ctx context.Context, table string, seconds float64, outcome int) {
	m.tb.ExporterGreptimeEventsInsertDuration.Record(ctx, seconds, m.durations[table][outcome])
}

func (m *metrics) dropped(ctx context.Context, n int, reason dropReason) {
	m.tb.ExporterGreptimeEventsRecordsDropped.Add(ctx, int64(n), m.reasons[reason])
}

// deadLettered counts records written to the dead-letter table, by the
// table they were meant for.
func (m *metrics) deadLettered(ctx context.Context, table string, n int) {
	m.tb.ExporterGreptimeEventsRecordsDeadLettered.Add(ctx, int64(n), m.tables[table])
}

func (m *metrics) resent(ctx context.Context, table string, n int) {
	m.tb.ExporterGreptimeEventsRecordsResent.Add(ctx, int64(n), m.tables[table])
}

func (m *metrics) deadLetterWriteFailed(ctx context.Context) {
	m.tb.ExporterGreptimeEventsDeadLetterWriteFailures.Add(ctx, 1)
}

func (m *metrics) catalogWriteFailed(ctx context.Context) {
	m.tb.ExporterGreptimeEventsCatalogWriteFailures.Add(ctx, 1)
}
