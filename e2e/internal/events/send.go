package events

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
)

// Protocol is an OTLP transport.
type Protocol string

// The OTLP transports Send speaks.
const (
	// GRPC is OTLP/gRPC (the collector's port 4317).
	GRPC Protocol = "grpc"
	// HTTP is OTLP/HTTP with protobuf bodies (the collector's port 4318).
	HTTP Protocol = "http"
)

// chunkSize is how many records Send emits before it flushes: one OTLP request each.
const chunkSize = 50

// shutdownTimeout bounds the shutdown of Send's exporter; a failed flush
// leaves no records behind, so it has nothing left to send.
const shutdownTimeout = 5 * time.Second

// Send emits evs as log records with the OpenTelemetry Go SDK (a batch
// processor in front of the OTLP exporter for p) to the collector at endpoint
// (host:port, plain text). It flushes every chunkSize records, so it returns
// only once the collector has accepted every record, or with the first error.
func Send(ctx context.Context, p Protocol, endpoint string, evs []Event) error {
	return SendWithHeaders(ctx, p, endpoint, nil, evs)
}

// SendWithHeaders is Send with headers on every OTLP request (gRPC metadata
// or HTTP headers), such as a tenant's.
func SendWithHeaders(ctx context.Context, p Protocol, endpoint string, headers map[string]string, evs []Event) error {
	return SendWith(ctx, p, endpoint, Options{Headers: headers}, evs)
}

// Options are what SendWith adds to Send's requests.
type Options struct {
	// Headers go on every OTLP request, as gRPC metadata or HTTP headers.
	Headers map[string]string
	// Resource holds resource attributes besides service.name.
	Resource []attribute.KeyValue
	// HTTPClient, when set, makes OTLP/HTTP's requests, so that a test
	// can watch their responses.
	HTTPClient *http.Client
}

// SendWith is Send with o's headers, resource attributes and HTTP client.
func SendWith(ctx context.Context, p Protocol, endpoint string, o Options, evs []Event) error {
	exp, err := newExporter(ctx, p, endpoint, o)
	if err != nil {
		return err
	}
	res := append([]attribute.KeyValue{attribute.String("service.name", ServiceName)}, o.Resource...)
	provider := sdklog.NewLoggerProvider(
		sdklog.WithResource(resource.NewSchemaless(res...)),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(exp,
			// Export only on ForceFlush, which returns the export's error
			// (a timed export would hand it to the global error handler).
			sdklog.WithExportInterval(time.Hour),
			sdklog.WithExportMaxBatchSize(chunkSize+1),
			sdklog.WithMaxQueueSize(chunkSize+1),
		)),
	)
	sendErr := emit(ctx, provider, evs)
	// Shut down even when ctx is done (a send cancelled mid-flight): the
	// provider would otherwise keep its batch processor and gRPC connection.
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := provider.Shutdown(shutdownCtx); err != nil {
		sendErr = errors.Join(sendErr, fmt.Errorf("shut down the OTLP/%s log exporter: %w", p, err))
	}
	return sendErr
}

func newExporter(ctx context.Context, p Protocol, endpoint string, o Options) (sdklog.Exporter, error) {
	switch p {
	case GRPC:
		return otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(endpoint), otlploggrpc.WithInsecure(), otlploggrpc.WithHeaders(o.Headers))
	case HTTP:
		opts := []otlploghttp.Option{otlploghttp.WithEndpoint(endpoint), otlploghttp.WithInsecure(), otlploghttp.WithHeaders(o.Headers)}
		if o.HTTPClient != nil {
			opts = append(opts, otlploghttp.WithHTTPClient(o.HTTPClient))
		}
		return otlploghttp.New(ctx, opts...)
	}
	return nil, fmt.Errorf("events: unknown OTLP protocol %q (grpc, http)", p)
}

// emit emits evs in chunks of chunkSize, flushing after each.
func emit(ctx context.Context, provider *sdklog.LoggerProvider, evs []Event) error {
	for chunk := range slices.Chunk(evs, chunkSize) {
		for _, e := range chunk {
			provider.Logger(e.Scope).Emit(ctx, e.record())
		}
		if err := provider.ForceFlush(ctx); err != nil {
			return fmt.Errorf("send events %s..%s: %w", chunk[0].ID, chunk[len(chunk)-1].ID, err)
		}
	}
	return nil
}

// record builds the log record of e.
func (e Event) record() otellog.Record {
	var r otellog.Record
	r.SetTimestamp(e.Time)
	r.SetSeverity(otellog.SeverityInfo)
	r.SetSeverityText("INFO")
	if e.Naming == ByEventName {
		r.SetEventName(e.Type)
	}
	r.SetBody(toValue(e.Body))
	attrs := e.RecordAttributes()
	for _, k := range sortedKeys(attrs) {
		r.AddAttributes(attribute.KeyValue{Key: attribute.Key(k), Value: toValue(attrs[k])})
	}
	return r
}

// toValue converts a JSON-like Go value to an OpenTelemetry value.
func toValue(v any) attribute.Value {
	switch x := v.(type) {
	case string:
		return attribute.StringValue(x)
	case bool:
		return attribute.BoolValue(x)
	case int:
		return attribute.Int64Value(int64(x))
	case int64:
		return attribute.Int64Value(x)
	case float64:
		return attribute.Float64Value(x)
	case []any:
		vals := make([]attribute.Value, len(x))
		for i, item := range x {
			vals[i] = toValue(item)
		}
		return attribute.SliceValue(vals...)
	case map[string]any:
		kvs := make([]attribute.KeyValue, 0, len(x))
		for _, k := range sortedKeys(x) {
			kvs = append(kvs, attribute.KeyValue{Key: attribute.Key(k), Value: toValue(x[k])})
		}
		return attribute.MapValue(kvs...)
	}
	panic(fmt.Sprintf("events: %T is not a JSON-like value", v))
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
