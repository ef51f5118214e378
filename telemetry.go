package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/greptime-events/greptimeeventsexporter/internal/metadata"
)

// metrics are the exporter's own metrics (metadata.yaml), with the
// attribute sets of each table made once: attribute sets allocate.
type metrics struct {
	tb        *metadata.TelemetryBuilder
	tables    map[string]metric.AddOption
	durations map[string][3]metric.RecordOption
}

// The reasons of records_dropped.
var (
	droppedFiltered = reasonAttr("filtered")
	droppedRejected = reasonAttr("rejected")
	droppedInvalid  = reasonAttr("invalid")
	droppedTenant   = reasonAttr("tenant_not_allowed")
)

func reasonAttr(reason string) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason)))
}

// The outcomes of a call, as indexes of durations.
const (
	outcomeSuccess = iota
	outcomeRetryable
	outcomePermanent
)

// newMetrics makes the metrics of an exporter that writes to tables.
func newMetrics(set component.TelemetrySettings, tables []string) (*metrics, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	m := &metrics{tb: tb, tables: map[string]metric.AddOption{}, durations: map[string][3]metric.RecordOption{}}
	for _, table := range tables {
		m.tables[table] = metric.WithAttributeSet(attribute.NewSet(attribute.String("table", table)))
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

func (m *metrics) dropped(ctx context.Context, n int, reason metric.AddOption) {
	m.tb.ExporterGreptimeEventsRecordsDropped.Add(ctx, int64(n), reason)
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
