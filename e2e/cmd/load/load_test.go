package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The load itself is make load (minutes); these tests keep its parts honest
// and fast enough for make test.

func TestGeneratorReplaysSDKRequestsToTheSink(t *testing.T) {
	const perRequest = 10
	reqs, err := buildRequests(t.Context(), 3, perRequest)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}

	sink, err := startOTLPSink(false)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.stop()
	gen, err := newGenerator(sink.addr(), reqs, perRequest, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer gen.close()

	// 2000 records/s of 10-record requests for 100ms: 20 calls, one every 5ms.
	r := gen.run(t.Context(), 2000, 100*time.Millisecond, 0)
	if r.accepted != 200 || r.refused != 0 {
		t.Errorf("accepted %d, refused %d (%s); want 200, 0", r.accepted, r.refused, gen.lastError())
	}
	if got := sink.delivered(); got != 200 {
		t.Errorf("the sink counted %d log records, want 200", got)
	}
	if got := sink.calls.Load(); got != 20 {
		t.Errorf("the sink served %d calls, want 20", got)
	}
}

func TestCountLogRecordsRejectsGarbage(t *testing.T) {
	if n, err := countLogRecords(nil); n != 0 || err != nil {
		t.Errorf("empty request: %d, %v", n, err)
	}
	if _, err := countLogRecords([]byte{0x0a, 0x05, 0x01}); err == nil { // resource_logs of 5 bytes, 1 present
		t.Error("a truncated request was counted")
	}
}

func TestRejectedLogRecords(t *testing.T) {
	// ExportLogsServiceResponse{partial_success: {rejected_log_records: 7, error_message: "x"}}
	resp := []byte{0x0a, 0x05, 0x08, 0x07, 0x12, 0x01, 'x'}
	if got := rejectedLogRecords(resp); got != 7 {
		t.Errorf("rejected %d, want 7", got)
	}
	if got := rejectedLogRecords(nil); got != 0 {
		t.Errorf("empty response: rejected %d, want 0", got)
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP otelcol_exporter_queue_size Current size of the retry queue
# TYPE otelcol_exporter_queue_size gauge
otelcol_exporter_queue_size{data_type="logs",exporter="greptime_events"} 512
otelcol_exporter_enqueue_failed_log_records_total{exporter="greptime_events",note="a } b"} 3
otelcol_exporter_enqueue_failed_log_records_total{exporter="otlp_grpc"} 4
otelcol_process_runtime_heap_alloc_bytes 2.445368e+06
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		metricQueueSize:     512,
		metricEnqueueFailed: 7,
		metricHeapAlloc:     2445368,
	} {
		if m[name] != want {
			t.Errorf("%s = %g, want %g", name, m[name], want)
		}
	}
}

func TestProcReaders(t *testing.T) {
	pid := os.Getpid()
	if cpu, err := cpuSeconds(pid); err != nil || cpu < 0 {
		t.Errorf("cpuSeconds: %g, %v", cpu, err)
	}
	m, err := readMemory(pid)
	if err != nil || m.rss <= 0 || m.hwm < m.rss {
		t.Errorf("readMemory: %+v, %v", m, err)
	}
	if busy, err := machineBusy(); err != nil || busy <= 0 {
		t.Errorf("machineBusy: %g, %v", busy, err)
	}
}
