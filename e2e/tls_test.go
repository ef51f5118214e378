package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestTLSToPlainGRPCSaysSetInsecure: with TLS on, the exporter's default,
// against the stand-in, which like GreptimeDB by default speaks plain gRPC,
// the built collector logs once what to set, not only grpc's handshake
// error on every retry.
func TestTLSToPlainGRPCSaysSetInsecure(t *testing.T) {
	const hint = `GreptimeDB's endpoint speaks plain gRPC, not TLS: set "tls::insecure: true"`
	srv := startStandIn(t)
	col := startCollector(t, launch{config: "collector.yaml", greptimeDB: srv.Addr(), set: []string{
		"exporters::greptime_events::tls::insecure=false",
		"exporters::greptime_events::retry_on_failure::initial_interval=100ms",
		"exporters::greptime_events::retry_on_failure::max_interval=100ms",
	}})

	args := []string{"logs", "--otlp-endpoint", col.grpcAddr, "--otlp-insecure", "--logs", "5", "--rate", "0"}
	if out, err := exec.CommandContext(t.Context(), telemetrygenBin, args...).CombinedOutput(); err != nil {
		t.Fatalf("telemetrygen %v: %v\n%s", args, err, out)
	}

	// Several failed attempts, then the hint must still be there once.
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(col.Output(), "Exporting failed. Will retry the request after interval.") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no three retries within 30s:\n%s", col.Output())
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	out := col.Output()
	if n := strings.Count(out, hint); n != 1 {
		t.Errorf("the hint to set tls::insecure is logged %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "first record does not look like a TLS handshake") {
		t.Errorf("the log does not carry grpc's error:\n%s", out)
	}
	if n := srv.RowCount("public", "events"); n != 0 {
		t.Errorf("%d rows landed over a failed handshake", n)
	}
}
