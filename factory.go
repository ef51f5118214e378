package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/greptime-events/greptimeeventsexporter/internal/metadata"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// NewFactory creates a factory for the greptime_events exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithLogs(createLogsExporter, metadata.LogsStability),
		exporter.WithTraces(createTracesExporter, metadata.TracesStability),
	)
}

func createDefaultConfig() component.Config {
	client := configgrpc.NewDefaultClientConfig()
	client.Endpoint = "localhost:4001" // GreptimeDB's gRPC port (src/servers/src/grpc.rs:128)
	// Requests are batches of events, tens to hundreds of KiB: a large write
	// buffer sends each in a few syscalls (the otlp exporter does the same).
	client.WriteBufferSize = 512 * 1024

	batch := exporterhelper.NewDefaultBatchConfig()
	batch.Sizer = exporterhelper.RequestSizerTypeItems
	batch.MinSize = 100                  // the recorder's buffer of 100 events
	batch.FlushTimeout = 5 * time.Second // the recorder's flush interval

	queue := exporterhelper.NewDefaultQueueConfig()
	queue.Sizer = exporterhelper.RequestSizerTypeItems
	queue.QueueSize = 2048 // the recorder's channel capacity
	// A full queue returns a retryable error to the pipeline instead of the
	// recorder's silent drop.
	queue.BlockOnOverflow = false
	queue.Batch = configoptional.Some(batch)

	// A push outlasts GreptimeDB's own bounds on a write: up to 10 s waiting
	// for write-bytes quota (DEFAULT_MEMORY_WAIT_TIMEOUT,
	// src/common/memory-manager/src/policy.rs:21), then up to 10 s for the
	// datanodes (src/common/options/src/datanode.rs:43,
	// src/common/grpc/src/channel_manager.rs:37), and 10 s for a table's
	// creation and the network. A push abandoned sooner is still applied by
	// GreptimeDB (src/operator/src/insert.rs:434), and its retry stores the
	// rows twice.
	timeout := exporterhelper.NewDefaultTimeoutConfig()
	timeout.Timeout = 30 * time.Second

	// The recorder retries three times, backing off from 5s/3 to 5s without
	// jitter (1666ms, 3332ms, 5s: 10s in all). exporterhelper bounds retries
	// by elapsed time, so that time must hold three attempts that run to the
	// timeout besides the backoff, for three retries whatever the attempts
	// take; attempts that fail at once go on every 5 s until then.
	retry := configretry.NewDefaultBackOffConfig()
	retry.InitialInterval = 1666 * time.Millisecond
	retry.Multiplier = 2
	retry.MaxInterval = 5 * time.Second
	retry.RandomizationFactor = 0
	retry.MaxElapsedTime = 3*timeout.Timeout + 10*time.Second // 100s

	return &Config{
		ClientConfig:  client,
		TimeoutConfig: timeout,
		QueueConfig:   configoptional.Some(queue),
		RetryConfig:   retry,
		Database:      "public",
		Table:         "events", // the recorder's DEFAULT_EVENTS_TABLE_NAME
		TableOptions: TableOptions{
			TTL:                  90 * 24 * time.Hour, // the recorder's 90 days
			AppendMode:           true,                // events are never updated
			CompactionTimeWindow: 24 * time.Hour,      // the recorder's one day
		},
		EventType: EventTypeConfig{
			// After the record's EventName: the semantic conventions' stable
			// otel.event.name, then the deprecated event.name older SDKs send.
			Attributes: []string{"otel.event.name", "event.name"},
			Default:    "log",
		},
		Payload: PayloadConfig{Body: true, Attributes: true, Span: true},
		// The seed's encoding: JSONB the exporter makes, which GreptimeDB
		// stores as it is, instead of JSON text it must parse row by row.
		PayloadEncoding: PayloadEncodingJSONB,
		// Small calls for GreptimeDB's memory, far below its 512 MiB limit
		// (DEFAULT_MAX_GRPC_RECV_MESSAGE_SIZE, src/common/grpc/src/channel_manager.rs:39).
		MaxRequestBytes: 8 << 20,
		// Off unless configured; "dead_letter:" or "event_catalog:" alone turns them on with these.
		DeadLetter:   configoptional.Default(DeadLetterConfig{Table: "events_rejected"}),
		EventCatalog: configoptional.Default(EventCatalogConfig{Table: "event_types", Interval: time.Minute, MaxPayloadKeys: 64}),
	}
}

func createLogsExporter(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	e, err := newEventsExporter(c, set, pipeline.SignalLogs)
	if err != nil {
		return nil, err
	}
	logs, err := exporterhelper.NewLogs(ctx, set, cfg, e.pushLogs, helperOptions(e, c)...)
	if err != nil {
		return nil, err
	}
	return frontExporter{Logs: logs, sieve: e.sieve()}, nil
}

// createTracesExporter makes the exporter of a traces pipeline: each span
// event becomes an event, mapped as a log record is; spans are not written.
func createTracesExporter(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	e, err := newEventsExporter(c, set, pipeline.SignalTraces)
	if err != nil {
		return nil, err
	}
	traces, err := exporterhelper.NewTraces(ctx, set, cfg, e.pushTraces, helperOptions(e, c)...)
	if err != nil {
		return nil, err
	}
	return frontTracesExporter{Traces: traces, sieve: e.sieve()}, nil
}

// helperOptions are exporterhelper's options, the same for every signal.
func helperOptions(e *eventsExporter, c *Config) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	}
}
