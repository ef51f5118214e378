package e2e

import (
	"os/exec"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/store"
)

// TestTelemetrygen feeds the collector running examples/collector.yaml with
// contrib's telemetrygen, over OTLP/gRPC and OTLP/HTTP: every log it sends is
// stored once, with the type from its event.name attribute, a payload of its
// body and attributes, and its timestamp.
func TestTelemetrygen(t *testing.T) {
	const (
		workers   = 2
		perWorker = 100
		eventType = "telemetrygen.load"
		body      = "checkout completed"
	)
	for _, tc := range []struct {
		name  string
		flags []string
		addr  func(*collector) string
	}{
		{"grpc", nil, func(c *collector) string { return c.grpcAddr }},
		{"http", []string{"--otlp-http"}, func(c *collector) string { return c.httpAddr }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startStandIn(t)
			col := startCollector(t, launch{config: "collector.yaml", greptimeDB: srv.Addr()})

			start := time.Now()
			args := append([]string{"logs",
				"--otlp-endpoint", tc.addr(col), "--otlp-insecure",
				"--workers", strconv.Itoa(workers), "--logs", strconv.Itoa(perWorker), "--rate", "0",
				"--body", body, "--telemetry-attributes", `event.name="` + eventType + `"`,
			}, tc.flags...)
			out, err := exec.CommandContext(t.Context(), telemetrygenBin, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("telemetrygen %v: %v\n%s", args, err, out)
			}
			end := time.Now()

			waitForRows(t, standInReader(srv), "events", workers*perWorker, 30*time.Second)
			col.stop(t)

			rows := readRows(t, standInReader(srv), "events")
			if len(rows) != workers*perWorker {
				t.Errorf("%d rows, want %d (one per log telemetrygen sent)", len(rows), workers*perWorker)
			}
			wantPayload := map[string]any{
				"body":       body,
				"attributes": map[string]any{"app": "server", "event.name": eventType}, // telemetrygen adds app=server
			}
			for i, r := range rows {
				checkTelemetrygenRow(t, i, r, eventType, wantPayload, start, end)
			}
		})
	}
}

// checkTelemetrygenRow checks one row against what telemetrygen sent: the
// type, the payload, and a timestamp taken while it ran.
func checkTelemetrygenRow(t *testing.T, i int, r store.Row, eventType string, wantPayload map[string]any, start, end time.Time) {
	t.Helper()
	if r.Type != eventType {
		t.Errorf("row %d: type %q, want %q", i, r.Type, eventType)
	}
	if !reflect.DeepEqual(r.Payload, wantPayload) {
		t.Errorf("row %d: payload %v, want %v", i, r.Payload, wantPayload)
	}
	if r.Timestamp.Before(start) || r.Timestamp.After(end) {
		t.Errorf("row %d: timestamp %s is outside the run of telemetrygen [%s, %s]", i, r.Timestamp, start, end)
	}
}
