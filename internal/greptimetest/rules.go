package greptimetest

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"google.golang.org/grpc/metadata"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// tableNamePattern is GreptimeDB's NAME_PATTERN for table names
// (src/common/base/src/regex_pattern.rs:18), checked when a table is created
// (src/operator/src/statement/ddl.rs:485-490).
var tableNamePattern = regexp.MustCompile(`^[a-zA-Z_:-][a-zA-Z0-9_:\-.@#]*$`)

// ValidTableName reports whether GreptimeDB accepts name as a table name.
func ValidTableName(name string) bool { return tableNamePattern.MatchString(name) }

// internalColumns are the column names GreptimeDB reserves
// (src/store-api/src/storage/consts.rs:85-102).
var internalColumns = map[string]bool{"__sequence": true, "__op_type": true, "__primary_key": true}

// legacyHintKeys are the keys GreptimeDB reads from x-greptime-hint-<key> headers
// when x-greptime-hints is absent (HINT_KEYS, src/session/src/hints.rs:35-43).
var legacyHintKeys = []string{"auto_create_table", "ttl", "append_mode", "merge_mode", "physical_table", "skip_wal", "read_preference"}

// reservedHintKeys are dropped by GreptimeDB before they reach the query context
// (RESERVED_EXTENSION_KEYS, src/session/src/hints.rs:27-32; dropped at
// src/servers/src/grpc/greptime_handler.rs:245-255).
var reservedHintKeys = map[string]bool{
	"remote_query_id":                           true,
	"initial_remote_dyn_filter_registrations":   true,
	"query.support_flight_metrics_before_batch": true,
	"query.live_analyze_metrics":                true,
}

// hint is one key=value pair, in header order.
type hint struct{ key, value string }

// ParseHints parses an x-greptime-hints value ("k=v, k2=v2") as GreptimeDB does
// (extract_hints, src/servers/src/hint_headers.rs:19-30): split on ',', each
// part split once on '=', key and value trimmed, parts without '=' ignored.
// Later duplicates win in the returned map.
func ParseHints(v string) map[string]string {
	out := map[string]string{}
	for _, h := range parseHintList(v) {
		out[h.key] = h.value
	}
	return out
}

func parseHintList(v string) []hint {
	var hints []hint
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		hints = append(hints, hint{strings.TrimSpace(k), strings.TrimSpace(val)})
	}
	return hints
}

// extractHints reads the hints from incoming metadata like GreptimeDB's
// extract_hints (src/servers/src/hint_headers.rs:19-38: x-greptime-hints, and
// only without it the legacy headers), then drops reserved keys. The map
// holds the last value per key.
func extractHints(md metadata.MD) map[string]string {
	out := map[string]string{}
	if vs := md.Get(HeaderHints); len(vs) > 0 {
		for _, h := range parseHintList(vs[0]) {
			out[h.key] = h.value
		}
	} else {
		for _, k := range legacyHintKeys {
			if vs := md.Get("x-greptime-hint-" + k); len(vs) > 0 {
				out[k] = strings.TrimSpace(vs[0])
			}
		}
	}
	for k := range out {
		if reservedHintKeys[k] {
			delete(out, k)
		}
	}
	return out
}

// tableOptionKeys are GreptimeDB's VALID_TABLE_OPTION_KEYS
// (src/table/src/requests.rs:78-95): hints with these keys become table
// options when a table is auto-created (src/operator/src/insert.rs:1242-1246).
var tableOptionKeys = []string{
	"write_buffer_size", "ttl", "storage", "comment", "skip_wal", "sst_format",
	"location", "format", "pattern",
	"physical_metric_table", "on_physical_table",
	"table_data_model", "otlp_metric_compat", "repartition.column.hint",
}

// Option keys GreptimeDB copies from hints for plain row inserts, besides
// tableOptionKeys (src/operator/src/insert.rs:1263-1276; a time window also
// sets compaction.type=twcs).
const (
	optAppendMode     = "append_mode"
	optMergeMode      = "merge_mode"
	optTimeWindow     = "compaction.twcs.time_window"
	optCompactionType = "compaction.type"
	optTTL            = "ttl"
	hintAutoCreate    = "auto_create_table"
	hintReadPref      = "read_preference"
	hintPhysicalTable = "physical_table"
)

// tableOptionsFromHints returns the options a new table gets from the hints,
// validated as GreptimeDB validates them at CREATE TABLE: ttl,
// write_buffer_size and skip_wal by TableOptions::try_from_iter
// (src/table/src/requests.rs:181-229), append_mode, merge_mode and the
// compaction window by the region options (src/mito2/src/region/options.rs:68-75, :126-131).
func tableOptionsFromHints(hints map[string]string) (map[string]string, *greptimeError) {
	opts := map[string]string{}
	for _, k := range tableOptionKeys {
		if v, ok := hints[k]; ok {
			opts[k] = v
		}
	}
	for _, k := range []string{optAppendMode, optMergeMode} {
		if v, ok := hints[k]; ok {
			opts[k] = v
		}
	}
	if v, ok := hints[optTimeWindow]; ok {
		opts[optTimeWindow] = v
		opts[optCompactionType] = "twcs"
	}
	if gerr := checkTableOptions(opts); gerr != nil {
		return nil, gerr
	}
	if gerr := checkRegionOptions(opts); gerr != nil {
		return nil, gerr
	}
	return opts, nil
}

// checkTableOptions parses ttl, write_buffer_size and skip_wal as
// TableOptions::try_from_iter does (src/table/src/requests.rs:181-229).
func checkTableOptions(opts map[string]string) *greptimeError {
	parseErr := func(k, v string) *greptimeError {
		return newError(StatusInvalidArguments, "Failed to parse table option, key: %s, value: %s", k, v)
	}
	if v, ok := opts[optTTL]; ok {
		if _, err := ParseTTL(v); err != nil {
			return parseErr(optTTL, v)
		}
	}
	if v, ok := opts["write_buffer_size"]; ok {
		if _, err := parseReadableSize(v); err != nil {
			return parseErr("write_buffer_size", v)
		}
	}
	if v, ok := opts["skip_wal"]; ok {
		if _, err := parseRustBool(v); err != nil {
			return parseErr("skip_wal", v)
		}
	}
	return nil
}

// checkRegionOptions validates the region (mito) options append_mode,
// merge_mode and compaction (type and window), as the datanode does when it
// creates the region (src/mito2/src/region/options.rs:68-75, :126-131, :186-281).
func checkRegionOptions(opts map[string]string) *greptimeError {
	appendMode := false
	if v, ok := opts[optAppendMode]; ok {
		b, err := parseRustBool(v)
		if err != nil {
			return newError(StatusInvalidArguments, "Invalid options: invalid value %q for append_mode, expected true or false", v)
		}
		appendMode = b
	}
	if v, ok := opts[optMergeMode]; ok {
		switch v {
		case "", "last_row", "last_non_null":
		default:
			return newError(StatusInvalidArguments, "Invalid options: unknown variant `%s`, expected `last_row` or `last_non_null`", v)
		}
		if appendMode && v == "last_non_null" {
			return newError(StatusInvalidArguments, "Invalid region options, only last_row merge_mode is allowed when append_mode is enabled")
		}
	}
	if v, ok := opts[optTimeWindow]; ok {
		if _, err := ParseHumantime(v); err != nil {
			return newError(StatusInvalidArguments, "Invalid options: %s", err)
		}
	}
	// compaction.twcs.* options need compaction.type (validate_enum_options,
	// src/mito2/src/region/options.rs:197-198, :522-554), whose only variant
	// is twcs (CompactionOptions, a serde enum tagged by compaction.type,
	// :296-304). The insert path sets it with the window (tableOptionsFromHints).
	t, hasType := opts[optCompactionType]
	if !hasType {
		for k := range opts {
			if strings.HasPrefix(k, "compaction.twcs.") {
				return newError(StatusInvalidArguments, "Invalid region options, missing key %s in options", optCompactionType)
			}
		}
	} else if t != "twcs" {
		return newError(StatusInvalidArguments, "Invalid options: unknown variant `%s`, expected `twcs`", t)
	}
	return nil
}

// parseRustBool accepts exactly "true" or "false", as Rust's bool::from_str
// (used for auto_create_table, src/operator/src/insert.rs:496-507, and skip_wal,
// src/table/src/requests.rs:213-220).
func parseRustBool(s string) (bool, error) {
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errors.New("provided string was not `true` or `false`")
}

// ParseTTL parses a table TTL as GreptimeDB does (TimeToLive::from_humantime_or_str,
// src/common/time/src/ttl.rs:131-140, :167-176): "instant", "forever" or ""
// (case-insensitive), or a humantime duration; a zero duration means forever.
// It returns -1 for instant and 0 for forever.
func ParseTTL(s string) (time.Duration, error) {
	switch strings.ToLower(s) {
	case "instant":
		return -1, nil
	case "forever", "":
		return 0, nil
	}
	return ParseHumantime(s)
}

// ParseHumantime parses a duration in the grammar of Rust's humantime crate
// (used by GreptimeDB for ttl, src/common/time/src/ttl.rs:136, and compaction
// windows): one or more
// "<integer><unit>" spans, optionally separated by whitespace; units
// ns/nsec/nanos, us/usec/µs, ms/msec/millis, s/sec/secs/second/seconds,
// m/min/mins/minute/minutes, h/hr/hrs/hour/hours, d/day/days, w/week/weeks,
// M/month/months (30.44 days), y/year/years (365.25 days). A number without a
// unit is an error.
func ParseHumantime(s string) (time.Duration, error) {
	rs := []rune(s)
	i := 0
	skipSpace := func() {
		for i < len(rs) && unicode.IsSpace(rs[i]) {
			i++
		}
	}
	var total time.Duration
	skipSpace()
	if i == len(rs) {
		return 0, errors.New("value was empty")
	}
	for i < len(rs) {
		if rs[i] < '0' || rs[i] > '9' {
			return 0, errors.New("expected number at " + strconv.Itoa(i))
		}
		var n uint64
		for i < len(rs) && (rs[i] >= '0' && rs[i] <= '9' || unicode.IsSpace(rs[i])) {
			if !unicode.IsSpace(rs[i]) {
				if n > (math.MaxUint64-9)/10 {
					return 0, errors.New("number is too large")
				}
				n = n*10 + uint64(rs[i]-'0')
			}
			i++
		}
		start := i
		for i < len(rs) && (rs[i] >= 'a' && rs[i] <= 'z' || rs[i] >= 'A' && rs[i] <= 'Z' || rs[i] == 'µ') {
			i++
		}
		if i < len(rs) && !unicode.IsSpace(rs[i]) && (rs[i] < '0' || rs[i] > '9') {
			return 0, errors.New("invalid character at " + strconv.Itoa(i))
		}
		unit := string(rs[start:i])
		var per time.Duration
		switch unit {
		case "nanos", "nsec", "ns":
			per = time.Nanosecond
		case "usec", "us", "µs":
			per = time.Microsecond
		case "millis", "msec", "ms":
			per = time.Millisecond
		case "seconds", "second", "secs", "sec", "s":
			per = time.Second
		case "minutes", "minute", "min", "mins", "m":
			per = time.Minute
		case "hours", "hour", "hr", "hrs", "h":
			per = time.Hour
		case "days", "day", "d":
			per = 24 * time.Hour
		case "weeks", "week", "w":
			per = 7 * 24 * time.Hour
		case "months", "month", "M":
			per = 2_630_016 * time.Second
		case "years", "year", "y":
			per = 31_557_600 * time.Second
		case "":
			return 0, errors.New("time unit needed, for example " + strconv.FormatUint(n, 10) + "sec or " + strconv.FormatUint(n, 10) + "ms")
		default:
			return 0, errors.New("unknown time unit " + strconv.Quote(unit))
		}
		if n > uint64(math.MaxInt64/int64(per)) || total > math.MaxInt64-time.Duration(n)*per {
			return 0, errors.New("number is too large")
		}
		total += time.Duration(n) * per
		skipSpace()
	}
	return total, nil
}

// parseReadableSize parses GreptimeDB's ReadableSize ("64MB", "1.5GiB", "1024"),
// as write_buffer_size is parsed (src/table/src/requests.rs:191-199).
func parseReadableSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("not a valid size")
	}
	n := 0
	for n < len(t) && (t[n] >= '0' && t[n] <= '9' || strings.ContainsRune(".eE-+", rune(t[n]))) {
		n++
	}
	var unit float64
	switch strings.TrimSpace(t[n:]) {
	case "K", "KB", "KiB":
		unit = 1 << 10
	case "M", "MB", "MiB":
		unit = 1 << 20
	case "G", "GB", "GiB":
		unit = 1 << 30
	case "T", "TB", "TiB":
		unit = 1 << 40
	case "P", "PB", "PiB":
		unit = 1 << 50
	case "B", "":
		unit = 1
	default:
		return 0, errors.New("unsupported unit")
	}
	f, err := strconv.ParseFloat(t[:n], 64)
	if err != nil {
		return 0, err
	}
	return uint64(f * unit), nil
}
