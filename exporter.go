package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
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

type logsExporter struct {
	cfg      *Config
	settings component.TelemetrySettings
	logger   *zap.Logger
	mapping  *mapping
	// header is the request header, with any credentials; headerWire is
	// the same in wire form.
	header     *greptimev1.RequestHeader
	headerWire []byte
	// codecOpt sends requests as the wire bytes the encoder wrote.
	codecOpt  grpc.CallOption
	telemetry *internalmetadata.TelemetryBuilder
	// tableAttrs are the metric attributes of each table, made once.
	tableAttrs map[string]metric.AddOption

	conn        *grpc.ClientConn
	workers     *workers
	deadLetters *deadLetters // nil unless dead_letter is configured
	catalog     *catalog     // nil unless catalog is configured
	// authErrorLogged is set once refused credentials have been logged, and
	// cleared by the next successful insert.
	authErrorLogged atomic.Bool
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
	m := newMapping(cfg)
	tableAttrs := map[string]metric.AddOption{}
	tables := []string{}
	for _, s := range m.schemas() {
		tables = append(tables, s.table)
	}
	if dl := cfg.DeadLetter.Get(); dl != nil {
		tables = append(tables, dl.Table)
	}
	for _, table := range tables {
		tableAttrs[table] = metric.WithAttributeSet(attribute.NewSet(attribute.String("table", table)))
	}
	var cat *catalog
	if cc := cfg.Catalog.Get(); cc != nil {
		host, _ := os.Hostname()
		cat = newCatalog(*cc, catalogCollector(host, set.ID.String()), time.Now())
	}
	return &logsExporter{
		catalog:     cat,
		cfg:         cfg,
		settings:    set.TelemetrySettings,
		logger:      set.Logger,
		mapping:     m,
		deadLetters: newDeadLetters(cfg),
		tableAttrs:  tableAttrs,
		header:      header,
		headerWire:  encodeHeader(header),
		codecOpt:    grpc.ForceCodecV2(newWireCodec()),
		telemetry:   tb,
	}, nil
}

func (e *logsExporter) start(ctx context.Context, host component.Host) error {
	conn, err := e.cfg.ClientConfig.ToClientConn(ctx, host.GetExtensions(), e.settings)
	if err != nil {
		return fmt.Errorf("failed to create the gRPC client of %q: %w", e.cfg.ClientConfig.Endpoint, err)
	}
	e.conn = conn
	e.workers = startWorkers(maxConcurrentInserts - 1) // the pushing goroutine sends too
	if e.catalog != nil {
		e.startCatalog()
	}
	e.logger.Info("Exporting events to GreptimeDB",
		zap.String("endpoint", e.cfg.ClientConfig.Endpoint),
		zap.String("database", e.cfg.Database),
		zap.String("table", e.cfg.Table))
	if e.cfg.Password != "" && e.cfg.ClientConfig.TLS.Insecure && !isLoopback(e.cfg.ClientConfig.Endpoint) {
		e.logger.Warn("The GreptimeDB password is sent without TLS; anyone on the network path can read it. Configure \"tls\" unless the network is trusted",
			zap.String("endpoint", e.cfg.ClientConfig.Endpoint))
	}
	return nil
}

// isLoopback reports whether a gRPC endpoint is on this host.
func isLoopback(endpoint string) bool {
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (e *logsExporter) shutdown(ctx context.Context) error {
	e.telemetry.Shutdown()
	if e.workers != nil {
		e.workers.stop()
	}
	if e.catalog != nil && e.conn != nil {
		e.stopCatalog(ctx) // the queue has drained: the last write counts everything
	}
	if e.conn == nil {
		return nil
	}
	return e.conn.Close()
}

// pushLogs writes the batch as one insert call per (table, type), or several
// where a group exceeds max_request_bytes. Records of calls that fail with a
// retryable error go back to exporterhelper as a smaller batch; calls
// rejected permanently are dropped, logged and counted, and do not hold back
// the others.
func (e *logsExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	gr := grouperPool.Get().(*grouper)
	defer gr.release()
	now := time.Now()
	groups, dropped := gr.build(ld, e.mapping, now)
	e.recordDrops(ctx, dropped, now)

	results := make([]groupResult, len(groups))
	e.workers.run(len(groups), func(i int) { results[i] = e.sendGroup(ctx, groups[i]) })

	var retryErr, permErr error
	var failed plog.Logs
	for _, r := range results {
		permErr = errors.Join(permErr, r.permErr)
		if r.retryErr != nil {
			retryErr = errors.Join(retryErr, r.retryErr)
			if failed == (plog.Logs{}) {
				failed = plog.NewLogs()
			}
			appendRecords(failed, r.failed)
		}
	}
	if retryErr != nil {
		// Only the failed records come back; permanently rejected ones were
		// counted already and must not be retried with them.
		return consumererror.NewLogs(retryErr, failed)
	}
	return permErr
}

// groupResult is what became of a group's calls.
type groupResult struct {
	failed   []recordRef // records of calls that may succeed when retried
	retryErr error
	permErr  error
}

// sendGroup encodes a group into requests of at most max_request_bytes and
// sends them one after another.
func (e *logsExporter) sendGroup(ctx context.Context, g *group) groupResult {
	var res groupResult
	ge := newGroupEncoder(g, e.headerWire, e.mapping.payload, e.cfg.MaxRequestBytes)
	for {
		c, ok := ge.nextChunk()
		if !ok {
			break
		}
		switch err := e.send(ctx, g, c); {
		case err == nil:
		case consumererror.IsPermanent(err):
			res.permErr = errors.Join(res.permErr, err)
		default:
			res.retryErr = errors.Join(res.retryErr, err)
			res.failed = append(res.failed, c.records...)
		}
	}
	e.recordDrops(ctx, drops{invalid: ge.tooLarge}, time.Now())
	return res
}

// send writes one chunk with one Handle call. It returns nil, a retryable
// error, or a permanent one after logging and counting the dropped records.
func (e *logsExporter) send(ctx context.Context, g *group, c chunk) error {
	ctx = metadata.AppendToOutgoingContext(ctx, hintsHeader, g.schema.hints)
	var (
		resp    greptimev1.GreptimeResponse
		trailer metadata.MD
	)
	start := time.Now()
	err := e.conn.Invoke(ctx, handleMethod, c.req, &resp, e.codecOpt, grpc.Trailer(&trailer))
	elapsed := time.Since(start).Seconds()

	if err == nil {
		c.req.release() // gRPC is done with the bytes once the server answered
		e.authErrorLogged.Store(false)
		e.telemetry.ExporterGreptimeEventsInsertDuration.Record(ctx, elapsed, outcomeSuccess)
		e.telemetry.ExporterGreptimeEventsRowsInserted.Add(ctx, int64(resp.GetAffectedRows().GetValue()), e.tableAttrs[g.table()])
		if c.nulled > 0 {
			e.telemetry.ExporterGreptimeEventsValuesNulled.Add(ctx, int64(c.nulled), e.tableAttrs[g.table()])
		}
		if e.catalog != nil {
			e.catalog.observe(g, c.records, time.Now())
		}
		e.logger.Debug("Inserted events",
			zap.String("table", g.table()), zap.String("type", g.eventType),
			zap.Int("rows", c.rows), zap.Float64("seconds", elapsed))
		return nil
	}

	f := classify(err, trailer, e.cfg.RetryConfig.MaxInterval)
	if f.verdict == verdictRetry || f.verdict == verdictThrottle {
		e.telemetry.ExporterGreptimeEventsInsertDuration.Record(ctx, elapsed, outcomeRetryable)
		e.logger.Debug("Insert failed, will retry",
			zap.String("table", g.table()), zap.String("type", g.eventType), zap.Error(f.err))
		return f.err
	}
	e.telemetry.ExporterGreptimeEventsInsertDuration.Record(ctx, elapsed, outcomePermanent)
	return e.rejected(ctx, g, c, f)
}

// rejected handles a call GreptimeDB refused for good: its records go to the
// dead-letter table when there is one, or are dropped, logged and counted.
func (e *logsExporter) rejected(ctx context.Context, g *group, c chunk, f callFailure) error {
	fields := []zap.Field{
		zap.String("table", g.table()), zap.String("type", g.eventType),
		zap.Int("records", len(c.records)), zap.Int("rows", c.rows), zap.Error(f.err),
	}
	refused := f.verdict == verdictRefused
	if e.deadLetters != nil && !refused { // with refused credentials, the dead letters would be refused too
		dlErr := e.writeDeadLetters(ctx, g, c, f)
		if dlErr == nil {
			e.telemetry.ExporterGreptimeEventsRecordsDeadLettered.Add(ctx, int64(len(c.records)), e.tableAttrs[g.table()])
			e.logger.Warn("GreptimeDB rejected events; wrote them to the dead-letter table",
				append(fields, zap.String("dead_letter_table", e.deadLetters.table))...)
			return nil
		}
		fields = append(fields, zap.NamedError("dead_letter_error", dlErr))
	}
	e.telemetry.ExporterGreptimeEventsRecordsDropped.Add(ctx, int64(len(c.records)), droppedRejected)
	switch {
	case !refused:
		e.logger.Error("GreptimeDB rejected events permanently; dropping them", fields...)
	case e.authErrorLogged.CompareAndSwap(false, true):
		// Every batch fails the same way until the credentials are fixed:
		// say it once, clearly, and count the rest.
		e.logger.Error("GreptimeDB refused the exporter's credentials; every event is dropped until "+
			"\"username\" and \"password\" are fixed (further failures are logged at debug level)",
			append(fields, zap.String("username", e.cfg.Username), zap.String("database", e.cfg.Database))...)
	default:
		e.logger.Debug("GreptimeDB refused the exporter's credentials; dropping events", fields...)
	}
	return fmt.Errorf("insert into %q (type %q): %w", g.table(), g.eventType, f.err)
}

// recordDrops counts and logs the records of a batch that belong to no
// group. Records that cannot be stored go to the dead-letter table when
// there is one.
func (e *logsExporter) recordDrops(ctx context.Context, d drops, now time.Time) {
	if d.filtered > 0 {
		e.telemetry.ExporterGreptimeEventsRecordsDropped.Add(ctx, int64(d.filtered), droppedFiltered)
		e.logger.Debug("Dropped records by event type filter", zap.Int("records", d.filtered))
	}
	if len(d.invalid) == 0 {
		return
	}
	fields := []zap.Field{zap.Int("records", len(d.invalid)),
		zap.String("type", d.invalid[0].eventType), zap.Error(d.invalid[0].err)}
	if e.deadLetters != nil {
		dlErr := e.writeInvalid(ctx, d.invalid, now)
		if dlErr == nil {
			for _, r := range d.invalid {
				e.telemetry.ExporterGreptimeEventsRecordsDeadLettered.Add(ctx, 1, e.tableAttrs[e.mapping.schemaOf(r.eventType).table])
			}
			e.logger.Warn("Wrote records that cannot be stored to the dead-letter table (type and error of the first)",
				append(fields, zap.String("dead_letter_table", e.deadLetters.table))...)
			return
		}
		fields = append(fields, zap.NamedError("dead_letter_error", dlErr))
	}
	e.telemetry.ExporterGreptimeEventsRecordsDropped.Add(ctx, int64(len(d.invalid)), droppedInvalid)
	e.logger.Warn("Dropped records that cannot be stored (type and error of the first)", fields...)
}

// Metric attribute options, made once: attribute sets allocate.
var (
	outcomeSuccess   = outcomeAttr("success")
	outcomeRetryable = outcomeAttr("retryable")
	outcomePermanent = outcomeAttr("permanent")
	droppedFiltered  = reasonAttr("filtered")
	droppedRejected  = reasonAttr("rejected")
	droppedInvalid   = reasonAttr("invalid")
)

func outcomeAttr(outcome string) metric.RecordOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", outcome)))
}

func reasonAttr(reason string) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason)))
}
