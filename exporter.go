package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pipeline"
	"go.uber.org/zap"

	"github.com/greptime-events/greptimeeventsexporter/internal/mapping"
)

// eventsExporter writes the log records, or the span events, of one
// pipeline as events into GreptimeDB: the mapping,
// the calls, and the features (tenants, dead letters, the event catalog,
// drops), wired together. Its push is in push.go.
type eventsExporter struct {
	cfg          *Config
	settings     component.TelemetrySettings
	logger       *zap.Logger
	sampled      *zap.Logger // at most one line per message per logInterval
	mapping      *mapping.Mapping
	caller       *caller
	metrics      *metrics
	tenants      *tenants
	deadLetters  *deadLetters  // nil unless dead_letter is configured
	eventCatalog *eventCatalog // nil unless event_catalog is configured
	drops        *drops
	settled      *settledLayouts
	states       sync.Pool // *pushState
	// credentialsLogged is set once refused credentials have been logged,
	// and cleared by the next successful call.
	credentialsLogged atomic.Bool
	// tlsHintLogged is set once a TLS handshake answered in plain gRPC has
	// been explained.
	tlsHintLogged atomic.Bool
}

func newEventsExporter(cfg *Config, set exporter.Settings, signal pipeline.Signal) (*eventsExporter, error) {
	m, err := compileMapping(cfg)
	if err != nil {
		return nil, err
	}
	tables := m.Tables()
	if dl := cfg.DeadLetter.Get(); dl != nil {
		tables = append(tables, dl.Table)
	}
	mt, err := newMetrics(set.TelemetrySettings, tables, signal)
	if err != nil {
		return nil, err
	}
	c, err := newCaller(cfg)
	if err != nil {
		return nil, err
	}
	dl, err := newDeadLetters(cfg, c, mt)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	catalog, err := newEventCatalog(cfg, catalogCollector(host, set.ID.String(), signal), c, mt, set.Logger, time.Now())
	if err != nil {
		return nil, err
	}
	settled, err := newSettledLayouts()
	if err != nil {
		return nil, err
	}
	e := &eventsExporter{
		cfg:          cfg,
		settings:     set.TelemetrySettings,
		logger:       set.Logger,
		sampled:      sampled(set.Logger),
		mapping:      m,
		caller:       c,
		metrics:      mt,
		tenants:      newTenants(cfg),
		deadLetters:  dl,
		eventCatalog: catalog,
		settled:      settled,
	}
	e.drops = &drops{metrics: mt, logger: e.sampled, mapping: m, deadLetters: dl, home: cfg.Database}
	e.states.New = func() any { return &pushState{call: c.newCallState()} }
	return e, nil
}

// sieve is the sieve in front of the exporter (drops.go).
func (e *eventsExporter) sieve() *sieve {
	return &sieve{mapping: e.mapping, tenants: e.tenants, drops: e.drops}
}

func (e *eventsExporter) start(ctx context.Context, host component.Host) error {
	conn, err := e.cfg.ClientConfig.ToClientConn(ctx, host.GetExtensions(), e.settings)
	if err != nil {
		return fmt.Errorf("failed to create the gRPC client of %q: %w", e.cfg.ClientConfig.Endpoint, err)
	}
	e.caller.conn = conn
	if e.eventCatalog != nil {
		e.eventCatalog.start()
	}
	e.logger.Info("Exporting events to GreptimeDB",
		zap.String("endpoint", e.cfg.ClientConfig.Endpoint),
		zap.String("database", e.cfg.Database),
		zap.String("table", e.cfg.Table))
	if tc := e.cfg.Tenants.Get(); tc != nil {
		e.logger.Info("Tenants are only as trustworthy as their source: a tenant the sender sets in a header or resource attribute is a routing hint, not an access boundary. To bind tenants to credentials, see examples/tenants-authenticated.yaml and docs/tenants.md",
			zap.String("from", tc.From))
	}
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

func (e *eventsExporter) shutdown(ctx context.Context) error {
	defer e.metrics.shutdown()
	if e.caller.conn == nil {
		return nil
	}
	if e.eventCatalog != nil {
		e.eventCatalog.shutdown(ctx) // the queue has drained: the last write counts everything
	}
	return e.caller.conn.Close()
}

// frontExporter is the exporter as a logs pipeline sees it: exporterhelper's,
// behind a sieve that takes out the records that will not be written
// before exporterhelper counts them (drops.go).
type frontExporter struct {
	exporter.Logs // exporterhelper's
	sieve         *sieve
}

// ConsumeLogs sifts ld and hands exporterhelper what is left.
func (f frontExporter) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	ld = f.sieve.sift(ctx, ld, f.Capabilities().MutatesData)
	if ld.LogRecordCount() == 0 {
		return nil
	}
	return f.Logs.ConsumeLogs(ctx, ld)
}

// frontTracesExporter is frontExporter for a traces pipeline: exporterhelper
// sees only the spans with span events to write.
type frontTracesExporter struct {
	exporter.Traces // exporterhelper's
	sieve           *sieve
}

// ConsumeTraces sifts td and hands exporterhelper what is left.
func (f frontTracesExporter) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	td = f.sieve.siftTraces(ctx, td)
	if td.SpanCount() == 0 {
		return nil
	}
	return f.Traces.ConsumeTraces(ctx, td)
}
