package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"strconv"
	"strings"
	"time"
)

// hintsHeader carries table options to GreptimeDB, which applies them when an
// insert creates the table (hints on later inserts change nothing).
const hintsHeader = "x-greptime-hints"

// formatHints renders a table policy as the x-greptime-hints value:
// comma-separated key=value pairs, durations in humantime. A table with
// event ids is non-append and keeps the last row of each (tags, timestamp).
func formatHints(p tablePolicy) string {
	var parts []string
	if p.TTL > 0 {
		parts = append(parts, "ttl="+formatHumantime(p.TTL))
	}
	if p.EventID.Enabled {
		parts = append(parts, "append_mode=false", "merge_mode=last_row")
	} else {
		parts = append(parts, "append_mode="+strconv.FormatBool(p.AppendMode))
	}
	o := p.TableOptions
	if o.CompactionTimeWindow > 0 {
		parts = append(parts, "compaction.twcs.time_window="+formatHumantime(o.CompactionTimeWindow))
	}
	return strings.Join(parts, ", ")
}

// formatHumantime writes d in the duration grammar of Rust's humantime crate
// ("90d", "1h 30m", "250ms"), which GreptimeDB parses table options with.
func formatHumantime(d time.Duration) string {
	units := []struct {
		name string
		size time.Duration
	}{
		{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second},
		{"ms", time.Millisecond}, {"us", time.Microsecond}, {"ns", time.Nanosecond},
	}
	var parts []string
	for _, u := range units {
		if n := d / u.size; n > 0 {
			parts = append(parts, strconv.FormatInt(int64(n), 10)+u.name)
			d -= n * u.size
		}
	}
	if len(parts) == 0 {
		return "0s"
	}
	return strings.Join(parts, " ")
}
