package greptimeeventsexporter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestFormatHints(t *testing.T) {
	tests := []struct {
		name string
		opts tablePolicy
		want string
	}{
		{name: "defaults", opts: defaultConfig().policyOf(EventConfig{}), want: "ttl=90d, append_mode=true, compaction.twcs.time_window=1d"},
		{name: "no ttl, no window", opts: tablePolicy{TableOptions: TableOptions{AppendMode: false}}, want: "append_mode=false"},
		{name: "mixed units", opts: tablePolicy{TableOptions: TableOptions{TTL: 36*time.Hour + 90*time.Second, AppendMode: true, CompactionTimeWindow: 2*time.Hour + 250*time.Millisecond}},
			want: "ttl=1d 12h 1m 30s, append_mode=true, compaction.twcs.time_window=2h 250ms"},
		{name: "event ids make the table keep the last row", opts: tablePolicy{TableOptions: TableOptions{TTL: 24 * time.Hour, AppendMode: true}, EventID: EventIDConfig{Enabled: true}},
			want: "ttl=1d, append_mode=false, merge_mode=last_row"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, formatHints(tt.opts))
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
