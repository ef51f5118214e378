package mapping

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The reference's test_group_events_by_type: types A, B and C, grouped by type.
func TestGroupEventsByType(t *testing.T) {
	spec := withTypes(defaultSpec(), map[string]Table{"B": {Name: "table_B"}, "C": {Name: "table_C"}})
	ld := logsOfTypes("A", "B", "A", "C", "B", "C", "A")

	groups, dropped := groupLogs(t, spec, ld)

	assert.Equal(t, Drops{}, dropped)
	require.Len(t, groups, 3)
	sizes := map[string]int{}
	for _, g := range groups {
		sizes[g.Type] = len(g.Events)
		assert.Equal(t, "public", g.Database)
	}
	assert.Equal(t, map[string]int{"A": 3, "B": 2, "C": 2}, sizes)
}

func TestGroupsByDatabase(t *testing.T) {
	ld := plog.NewLogs()
	for _, tenant := range []string{"a", "b", "a", "denied"} {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("tenant", tenant)
		logsOfTypes("x", "y").ResourceLogs().At(0).ScopeLogs().MoveAndAppendTo(rl.ScopeLogs())
	}
	var gr Grouper
	groups, dropped := gr.GroupLogs(ld, mustCompile(t, defaultSpec()), exportTime, func(res pcommon.Resource) (string, bool) {
		v, _ := res.Attributes().Get("tenant")
		return v.Str(), v.Str() != "denied"
	})

	var keys []string
	for _, g := range groups {
		keys = append(keys, fmt.Sprintf("%s/%s:%d", g.Database, g.Type, len(g.Events)))
	}
	assert.Equal(t, []string{"a/x:2", "a/y:2", "b/x:1", "b/y:1"}, keys)
	require.Len(t, dropped.Denied, 2)
	assert.Equal(t, "denied", dropped.Denied[0].Database)
	assert.ErrorIs(t, dropped.Denied[0].Err, ErrNotAllowed)
	assert.Equal(t, int64(1_700_000_000_000_000_000), dropped.Denied[0].Event.Timestamp, "a denied record keeps its time for its dead letter")
}

func TestLogType(t *testing.T) {
	tests := []struct {
		name       string
		record     func(plog.LogRecord)
		attributes []string // default: event.name, event.type
		want       string
	}{
		{name: "otel.event.name wins over event.name by default", record: func(lr plog.LogRecord) {
			lr.Attributes().PutStr("event.name", "deprecated")
			lr.Attributes().PutStr("otel.event.name", "stable")
		}, attributes: defaultSpec().TypeAttributes, want: "stable"},
		{name: "event.name by default when otel.event.name is absent", record: func(lr plog.LogRecord) {
			lr.Attributes().PutStr("event.name", "deprecated")
		}, attributes: defaultSpec().TypeAttributes, want: "deprecated"},
		{name: "EventName wins over attributes", record: func(lr plog.LogRecord) {
			lr.SetEventName("from.field")
			lr.Attributes().PutStr("event.name", "from.attribute")
		}, want: "from.field"},
		{name: "first configured attribute present", record: func(lr plog.LogRecord) {
			lr.Attributes().PutStr("event.type", "second")
		}, want: "second"},
		{name: "attribute order decides", record: func(lr plog.LogRecord) {
			lr.Attributes().PutStr("event.type", "second")
			lr.Attributes().PutStr("event.name", "first")
		}, want: "first"},
		{name: "empty attribute is skipped", record: func(lr plog.LogRecord) {
			lr.Attributes().PutStr("event.name", "")
			lr.Attributes().PutStr("event.type", "second")
		}, want: "second"},
		{name: "non-string attribute is written as text", record: func(lr plog.LogRecord) {
			lr.Attributes().PutInt("event.name", 42)
		}, want: "42"},
		{name: "default when nothing names a type", record: func(plog.LogRecord) {}, want: "unknown"},
		{name: "invalid UTF-8 is replaced", record: func(lr plog.LogRecord) {
			lr.SetEventName("bad\xffname")
		}, want: "bad\uFFFDname"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := defaultSpec()
			spec.TypeAttributes, spec.DefaultType = []string{"event.name", "event.type"}, "unknown"
			if tt.attributes != nil {
				spec.TypeAttributes = tt.attributes
			}
			lr := plog.NewLogRecord()
			tt.record(lr)
			assert.Equal(t, tt.want, mustCompile(t, spec).LogType(lr))
		})
	}
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name             string
		include, exclude []string
		wantTypes        []string
		wantFiltered     int
	}{
		{name: "no filter keeps all", wantTypes: []string{"a", "b", "c"}},
		{name: "include", include: []string{"a", "c"}, wantTypes: []string{"a", "c"}, wantFiltered: 2},
		{name: "exclude", exclude: []string{"a"}, wantTypes: []string{"b", "c"}, wantFiltered: 2},
		{name: "exclude wins over include", include: []string{"a", "b"}, exclude: []string{"b"}, wantTypes: []string{"a"}, wantFiltered: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := defaultSpec()
			spec.Include, spec.Exclude = tt.include, tt.exclude
			assert.Equal(t, tt.include != nil || tt.exclude != nil, mustCompile(t, spec).Filters())
			groups, dropped := groupLogs(t, spec, logsOfTypes("a", "b", "a", "b", "c"))
			var types []string
			for _, g := range groups {
				types = append(types, g.Type)
			}
			assert.Equal(t, tt.wantTypes, types)
			assert.Equal(t, tt.wantFiltered, dropped.Filtered)
		})
	}
}

func TestLogTimestamp(t *testing.T) {
	tests := []struct {
		name      string
		timestamp uint64
		observed  uint64
		want      int64
		wantErr   bool
	}{
		{name: "timestamp", timestamp: 1_700_000_000_000_000_001, observed: 5, want: 1_700_000_000_000_000_001},
		{name: "observed when timestamp is unset", observed: 1_700_000_000_000_000_002, want: 1_700_000_000_000_000_002},
		{name: "export time when both are unset", want: exportTime.UnixNano()},
		{name: "largest representable", timestamp: math.MaxInt64, want: math.MaxInt64},
		{name: "year 3000 is out of range", timestamp: uint64(math.MaxInt64) + 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			lr.SetTimestamp(pcommon.Timestamp(tt.timestamp))
			lr.SetObservedTimestamp(pcommon.Timestamp(tt.observed))
			got, err := LogTimestamp(lr, exportTime)
			if tt.wantErr {
				assert.ErrorIs(t, err, ErrTimestampRange)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestUnstorableRecordIsDroppedAlone(t *testing.T) {
	ld := logsOfTypes("a", "a", "b")
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1).SetTimestamp(pcommon.Timestamp(math.MaxUint64))

	groups, dropped := groupLogs(t, defaultSpec(), ld)

	require.Len(t, dropped.Unstorable, 1)
	assert.Equal(t, "a", dropped.Unstorable[0].Type)
	assert.Equal(t, "public", dropped.Unstorable[0].Database)
	assert.ErrorIs(t, dropped.Unstorable[0].Err, ErrTimestampRange)
	require.Len(t, groups, 2)
	assert.Len(t, groups[0].Events, 1)
	assert.Len(t, groups[1].Events, 1)
}

func TestAppendLogsKeepsResourceAndScope(t *testing.T) {
	ld := plog.NewLogs()
	for r := range 2 {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutInt("resource", int64(r))
		rl.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
		for s := range 2 {
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName("scope")
			sl.Scope().Attributes().PutInt("scope", int64(s))
			for _, eventType := range []string{"a", "b"} {
				lr := sl.LogRecords().AppendEmpty()
				lr.SetEventName(eventType)
				lr.Attributes().PutStr("at", eventType)
			}
		}
	}
	groups, _ := groupLogs(t, defaultSpec(), ld)
	require.Len(t, groups, 2)

	got := plog.NewLogs()
	AppendLogs(got, ld, groups[0].Events)

	require.Equal(t, 2, got.ResourceLogs().Len())
	assert.Equal(t, 4, got.LogRecordCount())
	for r, rl := range got.ResourceLogs().All() {
		assert.Equal(t, map[string]any{"resource": int64(r)}, rl.Resource().Attributes().AsRaw())
		assert.Equal(t, "https://opentelemetry.io/schemas/1.26.0", rl.SchemaUrl())
		require.Equal(t, 2, rl.ScopeLogs().Len())
		for s, sl := range rl.ScopeLogs().All() {
			assert.Equal(t, map[string]any{"scope": int64(s)}, sl.Scope().Attributes().AsRaw())
			require.Equal(t, 1, sl.LogRecords().Len())
			lr := sl.LogRecords().At(0)
			assert.Equal(t, "a", lr.EventName())
			assert.Equal(t, pcommon.Timestamp(exportTime.UnixNano()), lr.ObservedTimestamp(), "the time it was given, kept for a retry")
		}
	}
}

func TestGroupManyTypes(t *testing.T) {
	var types []string
	for i := range 3 * fewGroups {
		types = append(types, fmt.Sprintf("type-%02d", i))
	}
	ld := logsOfTypes(append(types, types...)...) // each type twice, far apart

	groups, _ := groupLogs(t, defaultSpec(), ld)

	require.Len(t, groups, len(types))
	for i, g := range groups {
		assert.Equal(t, types[i], g.Type)
		assert.Len(t, g.Events, 2)
	}
}

func TestGrouperReusesItsGroups(t *testing.T) {
	m := mustCompile(t, defaultSpec())
	var gr Grouper
	ld := logsOfTypes("a", "b", "a")
	gr.GroupLogs(ld, m, exportTime, atHome)
	gr.Reset()
	allocs := testing.AllocsPerRun(100, func() {
		gr.GroupLogs(ld, m, exportTime, atHome)
		gr.Reset()
	})
	assert.Zero(t, allocs, "no allocation per batch once the groups have grown")
}

func TestCompileRefusesWhatValidateRefuses(t *testing.T) {
	for name, spec := range map[string]Spec{
		"no default type": {Other: Table{Name: "events"}},
		"bad source":      withTypes(defaultSpec(), map[string]Table{"a": {Name: "a", Columns: []Column{{Name: "c", Source: "span.x"}}}}),
		"bad type":        withTypes(defaultSpec(), map[string]Table{"a": {Name: "a", Columns: []Column{{Name: "c", Source: "body", Type: "varchar"}}}}),
		"two expand": withTypes(defaultSpec(), map[string]Table{"a": {Name: "a", Columns: []Column{
			{Name: "c", Source: "body", Expand: true}, {Name: "d", Source: "body", Expand: true},
		}}}),
		"bad id source":         withTypes(defaultSpec(), map[string]Table{"a": {Name: "a", Options: Options{EventID: true, EventIDSource: "x"}}}),
		"table not UTF-8":       withTypes(defaultSpec(), map[string]Table{"a": {Name: "a\xff"}}),
		"column name not UTF-8": withTypes(defaultSpec(), map[string]Table{"a": {Name: "a", Columns: []Column{{Name: "c\xff", Source: "body"}}}}),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Compile(spec)
			assert.Error(t, err)
		})
	}
}
