package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/events"
	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/store"
)

// tracesPipelineSet puts greptime_events in a traces pipeline too, beside
// the configuration's logs pipeline: each span event becomes an event in
// the same tables.
func tracesPipelineSet() []string {
	return []string{
		"service::pipelines::traces::receivers=[otlp]",
		"service::pipelines::traces::exporters=[greptime_events]",
	}
}

// spanEvent is a span event the demo records, by its event.id.
type spanEvent struct {
	id, eventType, span string
}

// sendSpans records three spans with the OpenTelemetry Go SDK, exported
// over OTLP/gRPC to addr: a failed checkout with RecordError's exception
// event, a client call with a message event, and a health check with no
// events, which writes nothing. Each span event carries an event.id of run.
func sendSpans(ctx context.Context, w io.Writer, addr, run string) ([]spanEvent, error) {
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure())
	if err != nil {
		return nil, err
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(exp), // each span exported as it ends, its error returned
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", events.ServiceName))),
	)
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = errors.Join(err, provider.Shutdown(shutdownCtx))
	}()
	tracer := provider.Tracer("demo/checkout")
	sent := []spanEvent{
		{id: run + "-0001", eventType: "exception", span: "POST /checkout"},
		{id: run + "-0002", eventType: "message", span: "charge"},
	}

	_, checkout := tracer.Start(ctx, sent[0].span, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.route", "/checkout")))
	checkout.RecordError(errors.New("card declined"), trace.WithAttributes(attribute.String(events.IDKey, sent[0].id)))
	checkout.SetStatus(otelcodes.Error, "payment declined")
	checkout.End()
	_, charge := tracer.Start(ctx, sent[1].span, trace.WithSpanKind(trace.SpanKindClient))
	charge.AddEvent("message", trace.WithAttributes(attribute.String(events.IDKey, sent[1].id),
		attribute.String("rpc.message.type", "SENT"), attribute.Int("rpc.message.id", 1)))
	charge.End()
	_, health := tracer.Start(ctx, "GET /health")
	health.End()

	if err := provider.ForceFlush(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "Sending 3 spans over OTLP/gRPC with the OpenTelemetry Go SDK, to a traces pipeline (event.id %s-0001..):\n", run)
	fmt.Fprintln(w, "  POST /checkout   RecordError: an exception span event")
	fmt.Fprintln(w, "  charge           AddEvent(\"message\"): a message span event")
	fmt.Fprintln(w, "  GET /health      no span events: nothing to write, never queued")
	fmt.Fprintln(w)
	return sent, nil
}

// checkSpanEvents prints the span events stored and returns a problem for
// each sent one not stored exactly once, with its type and span.
func checkSpanEvents(w io.Writer, sent []spanEvent, stored []store.Row) []string {
	fmt.Fprintln(w, "The span events, stored in the same table as the log events (timestamp, type, payload):")
	byID := map[string][]store.Row{}
	for _, r := range stored {
		id := events.RowID(r)
		byID[id] = append(byID[id], r)
		payload, _ := json.Marshal(r.Payload)
		fmt.Fprintf(w, "  %s  %-9s %s\n", r.Timestamp.Format(time.RFC3339Nano), r.Type, payload)
	}
	fmt.Fprintln(w)
	var problems []string
	for _, e := range sent {
		rows := byID[e.id]
		if len(rows) != 1 {
			problems = append(problems, fmt.Sprintf("span event %s (%s): stored %d times, want once", e.id, e.eventType, len(rows)))
			continue
		}
		span, _ := rows[0].Payload["span"].(map[string]any)
		if rows[0].Type != e.eventType || span["name"] != e.span {
			problems = append(problems, fmt.Sprintf("span event %s: stored as type %q of span %v, want %q of %q", e.id, rows[0].Type, span["name"], e.eventType, e.span))
		}
	}
	if len(stored) != len(sent) {
		problems = append(problems, fmt.Sprintf("%d span events stored, %d sent", len(stored), len(sent)))
	}
	if len(problems) == 0 {
		fmt.Fprintf(w, "OK: both span events arrived exactly once; the span without events wrote nothing.\n\n")
	}
	return problems
}
