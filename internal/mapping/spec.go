package mapping // import "github.com/greptime-events/greptimeeventsexporter/internal/mapping"

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// Spec is what the exporter's configuration says about turning records
// into events: how a record's type is found, what its payload holds, which
// types are kept, and the table of each type. The exporter builds it from
// its validated Config; Compile turns it into a Mapping.
type Spec struct {
	// TypeAttributes are the record attributes that name its type, tried
	// in order after the record's EventName.
	TypeAttributes []string
	// DefaultType is the type of records that name none.
	DefaultType string
	// Payload chooses the parts of a record its payload holds.
	Payload Payload
	// Encoding is how the payload and every JSON column travel.
	Encoding Encoding
	// Include, when not empty, lists the only types kept; Exclude lists
	// types never kept.
	Include, Exclude []string
	// Types are the event types with a table of their own, or columns.
	Types map[string]Table
	// Other is the table of every other type.
	Other Table
}

// Payload chooses the parts of a record written into its payload, each
// under its own key.
type Payload struct {
	Body, Attributes, Resource, Scope, Severity, Trace bool
	// Span writes a span event's span (name, kind, status, parent), and
	// SpanAttributes its attributes within it; a log record has none.
	Span, SpanAttributes bool
}

// Encoding is how JSON values travel to GreptimeDB.
type Encoding uint8

const (
	// EncodingJSONB writes JSONB (the format of the jsonb crate 0.4.4, which
	// GreptimeDB pins in its Cargo.lock) into a Binary column with the JSON
	// extension, as GreptimeDB's own event recorder does
	// (src/common/event-recorder/src/event_table.rs:60-81, :305-312): the
	// exporter encodes, and GreptimeDB stores the bytes as they are.
	EncodingJSONB Encoding = iota
	// EncodingJSON writes JSON text into a JSON column, which GreptimeDB
	// parses into JSONB row by row before the write
	// (src/operator/src/req_convert/common.rs:40-52). Both are the same
	// column type (src/api/src/helper.rs:104-123).
	EncodingJSON
)

// Table is the table of an event type: its name, extra columns and options.
type Table struct {
	Name    string
	Columns []Column
	Options Options
}

// Options are a table's options, which GreptimeDB applies when an insert
// creates the table, and whether its rows carry an event id.
type Options struct {
	// TTL is how long rows are kept; 0 sends none.
	TTL time.Duration
	// AppendMode keeps every row; ignored with EventID.
	AppendMode bool
	// CompactionTimeWindow is the TWCS window; 0 sends none.
	CompactionTimeWindow time.Duration
	// EventID adds an event_id tag and keeps the last row of each event.
	EventID bool
	// EventIDSource is where the id comes from, a source as a Column's;
	// empty, or absent from a record: a hash of the record.
	EventIDSource string
}

// Column is an extra column of an event type's table.
type Column struct {
	Name string
	// Source is where the value comes from (see CheckSource).
	Source string
	Type   ColumnType
	// Tag makes the column part of the primary key; else it is a field.
	Tag bool
	// Expand writes one row per element of an array-valued source.
	Expand bool
}

// ColumnType is the type of an extra column.
type ColumnType string

// The types an extra column can have.
const (
	TypeString    ColumnType = "string"
	TypeInt64     ColumnType = "int64"
	TypeFloat64   ColumnType = "float64"
	TypeBool      ColumnType = "bool"
	TypeTimestamp ColumnType = "timestamp"
	TypeJSON      ColumnType = "json"
)

// ColumnTypes lists the column types, for messages.
const ColumnTypes = "string, int64, float64, bool, timestamp, json"

// The base columns of every event table.
const (
	columnType      = "type"
	columnPayload   = "payload"
	columnTimestamp = "timestamp"
	columnEventID   = "event_id"
)

// BaseColumns names the base columns, for messages.
const BaseColumns = "type, payload, timestamp, event_id"

// IsBaseColumn reports whether name is a base column of event tables, which
// an extra column may not reuse.
func IsBaseColumn(name string) bool {
	switch name {
	case columnType, columnPayload, columnTimestamp, columnEventID:
		return true
	}
	return false
}

// CheckSource reports whether s names a source a column can read, with an
// error that lists the sources when it does not.
func CheckSource(s string) error {
	_, err := parseSource(s)
	return err
}

// Hints renders the options as the x-greptime-hints value: comma-separated
// key=value pairs (split on ',' then once on '=',
// src/servers/src/hint_headers.rs:22-23), durations in humantime
// (src/common/time/src/ttl.rs:131-140). GreptimeDB copies ttl, append_mode,
// merge_mode and compaction.twcs.time_window (with compaction.type=twcs)
// into the options of a table an insert creates
// (src/operator/src/insert.rs:1262-1276). A table with event ids is
// non-append and keeps the last row of each (tags, timestamp): merge_mode
// last_row (src/mito2/src/region/options.rs:68-71). GreptimeDB v1.3 source.
func (o Options) Hints() string {
	var parts []string
	if o.TTL > 0 {
		parts = append(parts, "ttl="+formatHumantime(o.TTL))
	}
	if o.EventID {
		parts = append(parts, "append_mode=false", "merge_mode=last_row")
	} else {
		parts = append(parts, "append_mode="+strconv.FormatBool(o.AppendMode))
	}
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

// errBadSpec marks a Spec that Compile cannot compile; the exporter's
// Validate keeps such specs out.
var errBadSpec = errors.New("invalid mapping spec")

func specError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errBadSpec}, args...)...)
}
