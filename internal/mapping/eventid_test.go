package mapping

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// idRecord is a record with every identifying part set, for changing one.
func idRecord() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "shop")
	rl.Resource().Attributes().PutStr("host.name", "shop-1")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("shop/orders")
	sl.Scope().SetVersion("1.0.0")
	sl.Scope().Attributes().PutStr("team", "payments")
	lr := sl.LogRecords().AppendEmpty()
	lr.SetEventName("order.placed")
	lr.SetTimestamp(1_764_158_400_000_000_000)
	lr.SetObservedTimestamp(1_764_158_400_000_000_500)
	body := lr.Body().SetEmptyMap()
	body.PutInt("total", 42)
	body.PutEmptyMap("shipping").PutStr("country", "NZ")
	lr.Attributes().PutStr("order.id", "o-1")
	lr.Attributes().PutBool("gift", false)
	return ld
}

func recordOf(ld plog.Logs) (plog.ResourceLogs, plog.ScopeLogs, plog.LogRecord) {
	rl := ld.ResourceLogs().At(0)
	sl := rl.ScopeLogs().At(0)
	return rl, sl, sl.LogRecords().At(0)
}

// idOf is the event id the exporter writes for the only record of ld.
func idOf(t *testing.T, ld plog.Logs) string {
	t.Helper()
	spec := defaultSpec()
	spec.Other.Options.EventID = true
	m := mapLogs(t, spec, ld, 8<<20)
	require.Empty(t, m.dropped.Unstorable)
	require.Len(t, m.rowInserts(), 1)
	req := m.rowInserts()[0]
	require.Len(t, req.Rows.Rows, 1)
	require.Equal(t, columnEventID, req.Rows.Schema[3].ColumnName)
	id := req.Rows.Rows[0].Values[3].GetStringValue()
	require.Len(t, id, EventIDHexLen)
	return id
}

func TestEventIDIsStable(t *testing.T) {
	assert.Equal(t, idOf(t, idRecord()), idOf(t, idRecord()), "the same record, exported twice")
	// Pinned: an id that changes between releases stops a replay after an
	// upgrade from collapsing into the rows written before it.
	assert.Equal(t, "4377e55cbbcd0ec4a3ad67b81ff5ecd1", idOf(t, idRecord()))
}

// everyValueRecord is a record that carries every pcommon value type in
// its body and attributes, empty and nested ones included.
func everyValueRecord() plog.Logs {
	ld := idRecord()
	_, _, lr := recordOf(ld)
	fill := func(m pcommon.Map) {
		m.PutStr("str", "café")
		m.PutStr("empty_str", "")
		m.PutInt("int", -7)
		m.PutDouble("double", 2.5)
		m.PutDouble("negative_zero", math.Copysign(0, -1))
		m.PutDouble("nan", math.NaN())
		m.PutDouble("inf", math.Inf(1))
		m.PutBool("bool", true)
		m.PutEmptyBytes("bytes").FromRaw([]byte{0, 1, 0xff})
		m.PutEmptyBytes("empty_bytes")
		m.PutEmpty("empty")
		m.PutEmptyMap("empty_map")
		m.PutEmptySlice("empty_slice")
		nested := m.PutEmptyMap("map")
		nested.PutInt("a", 1)
		nested.PutEmptyMap("b").PutEmptySlice("c").AppendEmpty().SetDouble(-1e300)
		list := m.PutEmptySlice("slice")
		list.AppendEmpty().SetStr("x")
		list.AppendEmpty().SetInt(1)
		list.AppendEmpty().SetBool(false)
		list.AppendEmpty().SetEmptyBytes().FromRaw([]byte("y"))
		list.AppendEmpty()
		list.AppendEmpty().SetEmptySlice().AppendEmpty().SetEmptyMap().PutDouble("z", 0.1)
	}
	fill(lr.Attributes())
	fill(lr.Body().SetEmptyMap())
	return ld
}

// TestEventIDIsPinnedForEveryValueType pins the id's encoding of every value
// type: a change to how any of them is hashed changes this id.
func TestEventIDIsPinnedForEveryValueType(t *testing.T) {
	assert.Equal(t, "a7074a77cb215f56bec90c73f464e23c", idOf(t, everyValueRecord()))
	// Each value type counts: changing one changes the id.
	base := idOf(t, everyValueRecord())
	for _, change := range []func(pcommon.Map){
		func(m pcommon.Map) { m.PutDouble("double", 2.25) },
		func(m pcommon.Map) { m.PutDouble("negative_zero", 0) },
		func(m pcommon.Map) { m.PutEmptyBytes("bytes").FromRaw([]byte{0, 1, 0xfe}) },
		func(m pcommon.Map) { m.PutEmptySlice("empty_slice").AppendEmpty() },
		func(m pcommon.Map) { m.PutEmptyMap("empty_map").PutEmpty("k") },
		func(m pcommon.Map) { v, _ := m.Get("slice"); v.Slice().At(4).SetStr("") },
		func(m pcommon.Map) { m.PutStr("empty", "") },
	} {
		ld := everyValueRecord()
		_, _, lr := recordOf(ld)
		change(lr.Attributes())
		assert.NotEqual(t, base, idOf(t, ld))
	}
}

func TestEventIDChangesWithEveryIdentifyingPart(t *testing.T) {
	base := idOf(t, idRecord())
	changes := map[string]func(plog.ResourceLogs, plog.ScopeLogs, plog.LogRecord){
		"resource attribute": func(rl plog.ResourceLogs, _ plog.ScopeLogs, _ plog.LogRecord) {
			rl.Resource().Attributes().PutStr("host.name", "shop-2")
		},
		"scope name":    func(_ plog.ResourceLogs, sl plog.ScopeLogs, _ plog.LogRecord) { sl.Scope().SetName("shop/refunds") },
		"scope version": func(_ plog.ResourceLogs, sl plog.ScopeLogs, _ plog.LogRecord) { sl.Scope().SetVersion("1.0.1") },
		"scope attribute": func(_ plog.ResourceLogs, sl plog.ScopeLogs, _ plog.LogRecord) {
			sl.Scope().Attributes().PutStr("team", "risk")
		},
		"event type": func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) { lr.SetEventName("order.cancelled") },
		"timestamp":  func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) { lr.SetTimestamp(lr.Timestamp() + 1) },
		"body value": func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) { lr.Body().Map().PutInt("total", 43) },
		"nested body value": func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) {
			sh, _ := lr.Body().Map().Get("shipping")
			sh.Map().PutStr("country", "AU")
		},
		"body value type": func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) { lr.Body().Map().PutStr("total", "42") },
		"attribute value": func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) {
			lr.Attributes().PutStr("order.id", "o-2")
		},
		"attribute added": func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) { lr.Attributes().PutStr("coupon", "") },
		"key moved between maps": func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) {
			lr.Attributes().Remove("gift")
			lr.Body().Map().PutBool("gift", false)
		},
	}
	seen := map[string]string{base: "the original"}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			ld := idRecord()
			change(recordOf(ld))
			id := idOf(t, ld)
			other, dup := seen[id]
			assert.False(t, dup, "same id as %s", other)
			seen[id] = name
		})
	}
}

func TestEventIDIgnoresWhatDoesNotIdentify(t *testing.T) {
	base := idOf(t, idRecord())
	ld := idRecord()
	_, _, lr := recordOf(ld)
	lr.SetObservedTimestamp(lr.ObservedTimestamp() + 1_000)
	lr.SetSeverityText("INFO")
	lr.SetTraceID(pcommon.TraceID{1})
	assert.Equal(t, base, idOf(t, ld))
}

func TestEventIDIgnoresKeyOrder(t *testing.T) {
	base := idOf(t, idRecord())

	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("host.name", "shop-1")
	rl.Resource().Attributes().PutStr("service.name", "shop")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("shop/orders")
	sl.Scope().SetVersion("1.0.0")
	sl.Scope().Attributes().PutStr("team", "payments")
	lr := sl.LogRecords().AppendEmpty()
	lr.Attributes().PutBool("gift", false)
	lr.Attributes().PutStr("order.id", "o-1")
	body := lr.Body().SetEmptyMap()
	body.PutEmptyMap("shipping").PutStr("country", "NZ")
	body.PutInt("total", 42)
	lr.SetTimestamp(1_764_158_400_000_000_000)
	lr.SetEventName("order.placed")

	assert.Equal(t, base, idOf(t, ld))
}

func TestEventIDFromSource(t *testing.T) {
	spec := defaultSpec()
	spec.Other.Options.EventID, spec.Other.Options.EventIDSource = true, "attributes.order.id"
	ld := idRecord()
	_, sl, _ := recordOf(ld)
	lacking := sl.LogRecords().AppendEmpty()
	lacking.SetEventName("order.placed") // no order.id: hashed instead
	m := mapLogs(t, spec, ld, 8<<20)
	require.Len(t, m.rowInserts(), 1)
	req := m.rowInserts()[0]

	require.Len(t, req.Rows.Rows, 2)
	assert.Equal(t, "o-1", req.Rows.Rows[0].Values[3].GetStringValue())
	assert.Len(t, req.Rows.Rows[1].Values[3].GetStringValue(), EventIDHexLen)
}
