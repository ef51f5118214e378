package greptimeeventsexporter

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// badRecords are records a collector can receive from any sender, keyed by
// what is wrong with them; each is sent between two ordinary records.
var badRecords = []struct {
	name string
	make func(plog.LogRecord)
	// dropped: GreptimeDB cannot hold it, so it is dropped and counted alone.
	dropped bool
}{
	{name: "invalid UTF-8 in name, keys and values", make: func(lr plog.LogRecord) {
		lr.SetEventName("bad\xff\xfename")
		lr.Attributes().PutStr("key\xc3", "value\x80")
		lr.Body().SetStr("\xed\xa0\x80 surrogate")
	}},
	{name: "NaN and infinities", make: func(lr plog.LogRecord) {
		lr.Attributes().PutDouble("nan", math.NaN())
		lr.Attributes().PutDouble("inf", math.Inf(1))
		lr.Body().SetDouble(math.Inf(-1))
	}},
	{name: "bytes", make: func(lr plog.LogRecord) {
		lr.Body().SetEmptyBytes().FromRaw([]byte{0, 0xff, 0x10})
	}},
	{name: "empty body", make: func(plog.LogRecord) {}},
	{name: "huge body beyond max_request_bytes", make: func(lr plog.LogRecord) {
		lr.Body().SetStr(strings.Repeat("x", 10<<20))
	}, dropped: true},
	{name: "maps nested 10,000 deep", make: func(lr plog.LogRecord) {
		m := lr.Body().SetEmptyMap()
		for range 10_000 {
			m = m.PutEmptyMap("d")
		}
	}},
	{name: "100,000 attributes", make: func(lr plog.LogRecord) {
		raw := make(map[string]any, 100_000)
		for i := range 100_000 {
			raw["attribute."+itoa(i)] = i
		}
		_ = lr.Attributes().FromRaw(raw) // Put would check for duplicates: quadratic
	}},
	{name: "empty event name", make: func(lr plog.LogRecord) {
		lr.SetEventName("")
		lr.Attributes().PutStr("event.name", "")
	}},
	{name: "very long event name", make: func(lr plog.LogRecord) {
		lr.SetEventName(strings.Repeat("long.", 20_000))
	}},
	{name: "control characters in event name", make: func(lr plog.LogRecord) {
		lr.SetEventName("\x00\x01\t\n\r\x1b[31mred\x7f")
	}},
	{name: "timestamp 0", make: func(lr plog.LogRecord) {
		lr.SetTimestamp(0)
		lr.SetObservedTimestamp(0)
	}},
	{name: "negative timestamp", make: func(lr plog.LogRecord) {
		lr.SetTimestamp(pcommon.Timestamp(uint64(math.MaxUint64 - 1_000))) // -1001 ns as a signed number
	}, dropped: true},
	{name: "year 2262, the last representable", make: func(lr plog.LogRecord) {
		lr.SetTimestamp(pcommon.Timestamp(math.MaxInt64))
	}},
	{name: "largest OTLP timestamp (year 2554)", make: func(lr plog.LogRecord) {
		// OTLP's uint64 nanoseconds end in 2554, before the year 3000.
		lr.SetTimestamp(pcommon.Timestamp(math.MaxUint64))
	}, dropped: true},
	{name: "year 3000 in a timestamp column", make: func(lr plog.LogRecord) {
		lr.Attributes().PutStr("t", "3000-01-01T00:00:00Z") // written as null, counted
	}},
}

// TestBadInput sends each bad record with two ordinary ones to greptimetest,
// which applies GreptimeDB's checks: the server accepts every call, the
// ordinary records land, and the bad one lands or is dropped and counted.
func TestBadInput(t *testing.T) {
	for _, tt := range badRecords {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setup{configure: func(cfg *Config) { *cfg = *withAddr(everyColumnConfig(), cfg) }})
			ld := logsOfTypes("ordinary", "ordinary", "ordinary")
			bad := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1)
			bad.SetEventName("bad")
			tt.make(bad)

			require.NoError(t, h.exp.ConsumeLogs(context.Background(), ld))

			assert.Empty(t, h.srv.Rejected(), "GreptimeDB accepts every call")
			rows := 0
			for _, name := range h.srv.Tables("public") {
				rows += h.srv.RowCount("public", name)
			}
			if tt.dropped {
				assert.Equal(t, 2, rows)
				assertRecordsDropped(t, h.tel, counts{"invalid": 1})
				assert.Len(t, h.logs.FilterMessage("Dropped records that cannot be stored (type and error of the first)").All(), 1)
			} else {
				assert.Equal(t, 3, rows)
				assertRecordsDropped(t, h.tel, nil)
			}
		})
	}
}

// everyColumnConfig maps every kind of extra column, so bad values meet
// every conversion.
func everyColumnConfig() *Config {
	cfg := defaultConfig()
	cfg.Payload = PayloadConfig{Body: true, Attributes: true, Resource: true, Scope: true, Severity: true, Trace: true}
	cfg.Events = map[string]EventConfig{"*": {Columns: []ColumnConfig{
		{Name: "s", Source: "attributes.s", SemanticType: "tag"},
		{Name: "i", Source: "attributes.i", Type: ColumnTypeInt64},
		{Name: "f", Source: "body.f", Type: ColumnTypeFloat64},
		{Name: "b", Source: "attributes.b", Type: ColumnTypeBool},
		{Name: "t", Source: "attributes.t", Type: ColumnTypeTimestamp},
		{Name: "j", Source: "body", Type: ColumnTypeJSON},
		{Name: "e", Source: "attributes.list", Type: ColumnTypeString, Expand: true},
		{Name: "trace", Source: "trace_id"},
	}}}
	return cfg
}

// withAddr is cfg with the connection settings of base (the harness's server).
func withAddr(cfg, base *Config) *Config {
	cfg.ClientConfig = base.ClientConfig
	cfg.QueueConfig = base.QueueConfig
	cfg.RetryConfig = base.RetryConfig
	return cfg
}

func itoa(i int) string { return strconv.Itoa(i) }
