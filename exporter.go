package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	internalmetadata "github.com/greptime-events/greptimeeventsexporter/internal/metadata"
)

// maxConcurrentInserts bounds the insert calls one push runs at a time, so a
// batch of many event types does not open a burst of streams per consumer.
const maxConcurrentInserts = 8

// The reasons of the records_dropped metric.
const (
	dropFiltered = "filtered"
	dropRejected = "rejected"
	dropInvalid  = "invalid"
)

type logsExporter struct {
	cfg       *Config
	settings  component.TelemetrySettings
	logger    *zap.Logger
	mapping   *mapping
	header    *greptimev1.RequestHeader
	telemetry *internalmetadata.TelemetryBuilder

	conn   *grpc.ClientConn
	client greptimev1.GreptimeDatabaseClient
}

func newLogsExporter(cfg *Config, set exporter.Settings) (*logsExporter, error) {
	tb, err := internalmetadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	header := &greptimev1.RequestHeader{Dbname: cfg.Database}
	if cfg.Username != "" {
		header.Authorization = &greptimev1.AuthHeader{AuthScheme: &greptimev1.AuthHeader_Basic{
			Basic: &greptimev1.Basic{Username: cfg.Username, Password: string(cfg.Password)},
		}}
	}
	return &logsExporter{
		cfg:       cfg,
		settings:  set.TelemetrySettings,
		logger:    set.Logger,
		mapping:   newMapping(cfg),
		header:    header,
		telemetry: tb,
	}, nil
}

func (e *logsExporter) start(ctx context.Context, host component.Host) error {
	conn, err := e.cfg.ClientConfig.ToClientConn(ctx, host.GetExtensions(), e.settings)
	if err != nil {
		return fmt.Errorf("failed to create the gRPC client of %q: %w", e.cfg.ClientConfig.Endpoint, err)
	}
	e.conn = conn
	e.client = greptimev1.NewGreptimeDatabaseClient(conn)
	e.logger.Info("Exporting events to GreptimeDB",
		zap.String("endpoint", e.cfg.ClientConfig.Endpoint),
		zap.String("database", e.cfg.Database),
		zap.String("table", e.cfg.Table))
	return nil
}

func (e *logsExporter) shutdown(context.Context) error {
	e.telemetry.Shutdown()
	if e.conn == nil {
		return nil
	}
	return e.conn.Close()
}

// pushLogs writes the batch as one insert call per (table, type). Groups that
// fail with a retryable error go back to exporterhelper as a smaller batch;
// groups rejected permanently are dropped, logged and counted, and do not
// hold back the others.
func (e *logsExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	groups, dropped := buildGroups(ld, e.mapping, time.Now())
	e.recordDrops(ctx, dropped)

	errs := make([]error, len(groups))
	e.forEachGroup(groups, func(i int, g *group) { errs[i] = e.send(ctx, g) })

	var retryErr, permErr error
	var failed plog.Logs
	for i, g := range groups {
		switch err := errs[i]; {
		case err == nil:
		case consumererror.IsPermanent(err):
			permErr = errors.Join(permErr, err)
		default:
			retryErr = errors.Join(retryErr, err)
			if failed == (plog.Logs{}) {
				failed = plog.NewLogs()
			}
			g.appendTo(failed)
		}
	}
	if retryErr != nil {
		// Only the failed groups come back; permanently rejected ones were
		// counted already and must not be retried with them.
		return consumererror.NewLogs(retryErr, failed)
	}
	return permErr
}

// forEachGroup runs fn for every group, at most maxConcurrentInserts at a time.
func (e *logsExporter) forEachGroup(groups []*group, fn func(int, *group)) {
	if len(groups) == 1 {
		fn(0, groups[0])
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxConcurrentInserts)
	for i, g := range groups {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i, g)
		})
	}
	wg.Wait()
}

// send writes one group with one Handle call. It returns nil, a retryable
// error, or a permanent one after logging and counting the dropped records.
func (e *logsExporter) send(ctx context.Context, g *group) error {
	insert, nulled := g.rowInsert(e.mapping.payload)
	req := &greptimev1.GreptimeRequest{
		Header:  e.header,
		Request: &greptimev1.GreptimeRequest_RowInserts{RowInserts: &greptimev1.RowInsertRequests{Inserts: []*greptimev1.RowInsertRequest{insert}}},
	}
	ctx = metadata.AppendToOutgoingContext(ctx, hintsHeader, g.schema.hints)
	var trailer metadata.MD
	start := time.Now()
	resp, err := e.client.Handle(ctx, req, grpc.Trailer(&trailer))
	elapsed := time.Since(start).Seconds()
	tableAttr := metric.WithAttributeSet(attribute.NewSet(attribute.String("table", g.table())))

	if err == nil {
		e.telemetry.ExporterGreptimeEventsInsertDuration.Record(ctx, elapsed, outcomeAttr("success"))
		e.telemetry.ExporterGreptimeEventsRowsInserted.Add(ctx, int64(resp.GetAffectedRows().GetValue()), tableAttr)
		if nulled > 0 {
			e.telemetry.ExporterGreptimeEventsValuesNulled.Add(ctx, int64(nulled), tableAttr)
		}
		e.logger.Debug("Inserted events",
			zap.String("table", g.table()), zap.String("type", g.eventType),
			zap.Int("rows", len(insert.Rows.Rows)), zap.Float64("seconds", elapsed))
		return nil
	}

	err = classify(err, trailer, e.cfg.RetryConfig.MaxInterval)
	if !consumererror.IsPermanent(err) {
		e.telemetry.ExporterGreptimeEventsInsertDuration.Record(ctx, elapsed, outcomeAttr("retryable"))
		e.logger.Debug("Insert failed, will retry",
			zap.String("table", g.table()), zap.String("type", g.eventType), zap.Error(err))
		return err
	}
	e.telemetry.ExporterGreptimeEventsInsertDuration.Record(ctx, elapsed, outcomeAttr("permanent"))
	e.telemetry.ExporterGreptimeEventsRecordsDropped.Add(ctx, int64(len(g.records)), reasonAttr(dropRejected))
	e.logger.Error("GreptimeDB rejected events permanently; dropping them",
		zap.String("table", g.table()), zap.String("type", g.eventType),
		zap.Int("records", len(g.records)), zap.Int("rows", len(insert.Rows.Rows)),
		zap.Error(err))
	return fmt.Errorf("insert into %q (type %q): %w", g.table(), g.eventType, err)
}

// recordDrops counts and logs the records of a batch that belong to no group.
func (e *logsExporter) recordDrops(ctx context.Context, d drops) {
	if d.filtered > 0 {
		e.telemetry.ExporterGreptimeEventsRecordsDropped.Add(ctx, int64(d.filtered), reasonAttr(dropFiltered))
		e.logger.Debug("Dropped records by event type filter", zap.Int("records", d.filtered))
	}
	if len(d.invalid) > 0 {
		e.telemetry.ExporterGreptimeEventsRecordsDropped.Add(ctx, int64(len(d.invalid)), reasonAttr(dropInvalid))
		for _, r := range d.invalid {
			e.logger.Warn("Dropped a record that cannot be an event",
				zap.String("type", r.eventType), zap.Error(r.err))
		}
	}
}

func outcomeAttr(outcome string) metric.RecordOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", outcome)))
}

func reasonAttr(reason string) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason)))
}
