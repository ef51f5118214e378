package mapping

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHints(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{name: "defaults", opts: defaultOptions, want: "ttl=90d, append_mode=true, compaction.twcs.time_window=1d"},
		{name: "no ttl, no window", opts: Options{AppendMode: false}, want: "append_mode=false"},
		{name: "mixed units", opts: Options{TTL: 36*time.Hour + 90*time.Second, AppendMode: true, CompactionTimeWindow: 2*time.Hour + 250*time.Millisecond},
			want: "ttl=1d 12h 1m 30s, append_mode=true, compaction.twcs.time_window=2h 250ms"},
		{name: "event ids make the table keep the last row", opts: Options{TTL: 24 * time.Hour, AppendMode: true, EventID: true},
			want: "ttl=1d, append_mode=false, merge_mode=last_row"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.opts.Hints())
		})
	}
}

func TestFormatHumantime(t *testing.T) {
	tests := map[time.Duration]string{
		0:                          "0s",
		time.Nanosecond:            "1ns",
		1500 * time.Microsecond:    "1ms 500us",
		time.Minute:                "1m",
		2160 * time.Hour:           "90d",
		25*time.Hour + time.Second: "1d 1h 1s",
	}
	for d, want := range tests {
		assert.Equal(t, want, formatHumantime(d), d.String())
	}
}

func TestBaseColumns(t *testing.T) {
	for _, name := range []string{"type", "payload", "timestamp", "event_id"} {
		assert.True(t, IsBaseColumn(name), name)
	}
	assert.False(t, IsBaseColumn("user"))
}

// TestSQLOfALayout: the statements the exporter's log gives an operator when
// GreptimeDB will not create or alter a table itself.
func TestSQLOfALayout(t *testing.T) {
	spec := defaultSpec()
	spec.Other.Options.EventID = true
	spec.Other.Columns = []Column{
		{Name: "user", Source: "attributes.user", Tag: true},
		{Name: "n", Source: "attributes.n", Type: TypeInt64},
		{Name: "ok", Source: "attributes.ok", Type: TypeBool},
		{Name: "ratio", Source: "attributes.ratio", Type: TypeFloat64},
		{Name: "at", Source: "attributes.at", Type: TypeTimestamp},
		{Name: "doc", Source: "body", Type: TypeJSON},
	}
	l := mustCompile(t, spec).LayoutOf("any")
	assert.Equal(t, `CREATE TABLE IF NOT EXISTS "events" (`+
		`"type" STRING NULL, "payload" JSON NULL, "timestamp" TIMESTAMP(9) NOT NULL, "event_id" STRING NULL, `+
		`"user" STRING NULL, "n" BIGINT NULL, "ok" BOOLEAN NULL, "ratio" DOUBLE NULL, "at" TIMESTAMP(9) NULL, "doc" JSON NULL, `+
		`TIME INDEX ("timestamp"), PRIMARY KEY ("type", "event_id", "user")) `+
		`WITH ('ttl' = '90d', 'append_mode' = 'false', 'merge_mode' = 'last_row', 'compaction.type' = 'twcs', 'compaction.twcs.time_window' = '1d')`,
		l.CreateTableSQL())
	assert.Equal(t, `ALTER TABLE "events" ADD COLUMN IF NOT EXISTS "user" STRING PRIMARY KEY, ADD COLUMN IF NOT EXISTS "doc" JSON`,
		l.AddColumnsSQL([]string{"user", "doc"}))
	all := l.AddColumnsSQL(nil)
	assert.Contains(t, all, `ADD COLUMN IF NOT EXISTS "type" STRING PRIMARY KEY`)
	assert.NotContains(t, all, `"timestamp"`, "the time index is never added")
}

func TestLayoutKeysTellColumnsApart(t *testing.T) {
	spec := withTypes(defaultSpec(), map[string]Table{
		"a": {Name: "events", Options: defaultOptions},
		"b": {Name: "events", Options: defaultOptions, Columns: []Column{{Name: "c", Source: "body"}}},
		"c": {Name: "other", Options: defaultOptions},
	})
	m := mustCompile(t, spec)
	assert.Equal(t, m.LayoutOf("a").Key(), m.LayoutOf("zzz").Key(), "same table, same columns")
	assert.NotEqual(t, m.LayoutOf("a").Key(), m.LayoutOf("b").Key())
	assert.NotEqual(t, m.LayoutOf("a").Key(), m.LayoutOf("c").Key())
	require.ElementsMatch(t, []string{"events", "other"}, m.Tables())
}
