package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/events"
	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// spanCount is how many spans TestSpanEvents records: every third records
// an exception, every fifth no event at all, the others a message event.
const spanCount = 60

// sentSpan is what a span of TestSpanEvents recorded.
type sentSpan struct {
	sc        trace.SpanContext
	exception bool // RecordError, besides the message event
	message   bool
	at        time.Time // the message event's time; the exception's is 1 ms later
}

// TestSpanEvents runs examples/span-events.yaml: spans recorded with the
// OpenTelemetry Go SDK, over OTLP/gRPC and OTLP/HTTP, and log events through
// the same collector. Each exception span event must land once in
// "exceptions", with its span's trace and span ids, its name and route, and
// the exception's type and message; each message span event, and each log
// event, once in "events". Spans without events write nothing.
func TestSpanEvents(t *testing.T) {
	for _, p := range []events.Protocol{events.GRPC, events.HTTP} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			srv := startStandIn(t)
			col := startCollector(t, launch{config: "span-events.yaml", greptimeDB: srv.Addr()})
			start := time.Now().Truncate(time.Microsecond)

			spans := recordSpans(t, p, col.addr(p), start)
			logged := events.Mix(fmt.Sprintf("spans-%s%d", p, start.UnixNano()), 20, start)
			send(t, p, col.addr(p), logged)

			exceptions, messages := 0, 0
			for _, s := range spans {
				if s.exception {
					exceptions++
				}
				if s.message {
					messages++
				}
			}
			waitForRows(t, standInReader(srv), "exceptions", exceptions, 30*time.Second)
			waitForRows(t, standInReader(srv), "events", messages+len(logged), 30*time.Second)
			col.stop(t)

			if got := srv.Tables("public"); !slices.Equal(got, []string{"events", "exceptions"}) {
				t.Errorf("tables %v, want [events exceptions]: nothing but the events", got)
			}
			checkExceptions(t, srv, spans, exceptions)
			rows := readRows(t, standInReader(srv), "events")
			if want := messages + len(logged); len(rows) != want {
				t.Errorf("events holds %d rows, want %d: the message events and the logged events, nothing else", len(rows), want)
			}
			gotMessages := map[string]int{}
			for _, r := range rows {
				if r.Type != "message" {
					continue
				}
				span, _ := r.Payload["span"].(map[string]any)
				attrs, _ := r.Payload["attributes"].(map[string]any)
				gotMessages[fmt.Sprint(attrs["message.id"])]++
				if span["name"] != "POST /checkout" || span["kind"] != "SPAN_KIND_SERVER" {
					t.Errorf("message event's span %v, want POST /checkout, SPAN_KIND_SERVER", span)
				}
			}
			for i, s := range spans {
				if n := gotMessages[fmt.Sprint(i)]; s.message && n != 1 {
					t.Errorf("message event of span %d stored %d times, want once", i, n)
				}
			}
			reportDiff(t, events.Diff(logged, events.OfRun(rows, fmt.Sprintf("spans-%s%d", p, start.UnixNano()))))
		})
	}
}

// recordSpans records spanCount spans with the SDK, exported over p to the
// collector at addr, and returns what each recorded.
func recordSpans(t *testing.T, p events.Protocol, addr string, start time.Time) []sentSpan {
	t.Helper()
	ctx := t.Context()
	var (
		exp sdktrace.SpanExporter
		err error
	)
	if p == events.HTTP {
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(addr), otlptracehttp.WithInsecure())
	} else {
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure())
	}
	if err != nil {
		t.Fatal(err)
	}
	// A syncer exports each span as it ends, and returns the export's error.
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", events.ServiceName))),
	)
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := provider.Shutdown(shutdownCtx); err != nil {
			t.Errorf("shut down the tracer provider: %v", err)
		}
	}()
	tracer := provider.Tracer("checkout/http")
	spans := make([]sentSpan, spanCount)
	for i := range spans {
		s := &spans[i]
		s.at = start.Add(time.Duration(i) * time.Millisecond)
		_, span := tracer.Start(ctx, "POST /checkout", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(s.at),
			trace.WithAttributes(attribute.String("http.route", "/checkout")))
		s.sc = span.SpanContext()
		if i%5 != 0 {
			s.message = true
			span.AddEvent("message", trace.WithTimestamp(s.at),
				trace.WithAttributes(attribute.String("message.type", "SENT"), attribute.Int("message.id", i)))
		}
		if i%3 == 0 && i%5 != 0 {
			s.exception = true
			span.RecordError(fmt.Errorf("card %d declined", i), trace.WithTimestamp(s.at.Add(time.Millisecond)))
			span.SetStatus(otelcodes.Error, "payment declined")
		}
		span.End(trace.WithTimestamp(s.at.Add(2 * time.Millisecond)))
	}
	if err := provider.ForceFlush(ctx); err != nil {
		t.Fatalf("export the spans over OTLP/%s: %v", p, err)
	}
	return spans
}

// checkExceptions checks the exceptions table against the spans recorded.
func checkExceptions(t *testing.T, srv *greptimetest.Server, spans []sentSpan, want int) {
	t.Helper()
	tbl, ok := srv.Table("public", "exceptions")
	if !ok {
		t.Fatal(`table "exceptions" was not created`)
	}
	if len(tbl.Rows) != want {
		t.Errorf("exceptions holds %d rows, want %d", len(tbl.Rows), want)
	}
	bySpan := map[string]map[string]any{}
	for _, r := range tbl.Rows {
		id := fmt.Sprint(r["span_id"])
		if _, dup := bySpan[id]; dup {
			t.Errorf("span %s: exception stored twice", id)
		}
		bySpan[id] = r
	}
	for i, s := range spans {
		if !s.exception {
			continue
		}
		r, ok := bySpan[s.sc.SpanID().String()]
		if !ok {
			t.Errorf("span %d: exception not stored", i)
			continue
		}
		wantCols := map[string]any{
			"type":           "exception",
			"service":        events.ServiceName,
			"exception_type": fmt.Sprintf("%T", errors.New("")),
			"trace_id":       s.sc.TraceID().String(),
			"span_name":      "POST /checkout",
			"http_route":     "/checkout",
			"timestamp":      s.at.Add(time.Millisecond).UnixNano(),
		}
		for col, v := range wantCols {
			if r[col] != v {
				t.Errorf("span %d: %s = %v, want %v", i, col, r[col], v)
			}
		}
		payload, _ := r["payload"].(map[string]any)
		attrs, _ := payload["attributes"].(map[string]any)
		if got, want := attrs["exception.message"], fmt.Sprintf("card %d declined", i); got != want {
			t.Errorf("span %d: payload exception.message %v, want %q", i, got, want)
		}
		span, _ := payload["span"].(map[string]any)
		if span["status_code"] != "STATUS_CODE_ERROR" || span["status_message"] != "payment declined" {
			t.Errorf("span %d: payload span %v, want status STATUS_CODE_ERROR, payment declined", i, span)
		}
	}
}
