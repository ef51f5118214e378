package mapping

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonb"
	"github.com/greptime-events/greptimeeventsexporter/internal/jsonenc"
	"github.com/greptime-events/greptimeeventsexporter/internal/wire"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// Layout is how a group's events are written: their table, its columns,
// each with the source it reads, and the table options GreptimeDB applies
// when an insert creates the table. Event tables, the dead-letter table and
// the event catalog each have a layout, and the same writer writes them all.
type Layout struct {
	table   string
	columns []column
	expand  int // index in columns of the expanding column, or -1
	// idSource is where the event id comes from; nil: the record's hash.
	idSource *source
	payload  Payload
	encoding Encoding // of the payload and the JSON columns
	hints    string
	// schema is the Rows.schema, wire the table name and columns encoded.
	schema []*greptimev1.ColumnSchema
	wire   wire.Table
	// key tells layouts apart: the table and its columns.
	key string
}

// column is a compiled Column, or a base column.
type column struct {
	name     string
	src      source
	typ      ColumnType
	semantic greptimev1.SemanticType
}

// Table is the layout's table.
func (l *Layout) Table() string { return l.table }

// Key tells layouts apart: two layouts of one table with other columns
// have other keys.
func (l *Layout) Key() string { return l.key }

// Hints is the x-greptime-hints value of the table's options.
func (l *Layout) Hints() string { return l.hints }

// Schema is the layout's columns as a Rows.schema.
func (l *Layout) Schema() []*greptimev1.ColumnSchema { return l.schema }

// dataTypes are the GreptimeDB types of the column types.
var dataTypes = map[ColumnType]greptimev1.ColumnDataType{
	TypeString:    greptimev1.ColumnDataType_STRING,
	TypeInt64:     greptimev1.ColumnDataType_INT64,
	TypeFloat64:   greptimev1.ColumnDataType_FLOAT64,
	TypeBool:      greptimev1.ColumnDataType_BOOLEAN,
	TypeTimestamp: greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND,
	TypeJSON:      greptimev1.ColumnDataType_JSON,
}

// The base columns of event tables and dead letters.
var (
	typeColumn      = column{name: columnType, src: source{kind: sourceType}, typ: TypeString, semantic: greptimev1.SemanticType_TAG}
	payloadColumn   = column{name: columnPayload, src: source{kind: sourcePayload}, typ: TypeJSON, semantic: greptimev1.SemanticType_FIELD}
	timestampColumn = column{name: columnTimestamp, src: source{kind: sourceTimestamp}, typ: TypeTimestamp, semantic: greptimev1.SemanticType_TIMESTAMP}
	eventIDColumn   = column{name: columnEventID, src: source{kind: sourceEventID}, typ: TypeString, semantic: greptimev1.SemanticType_TAG}
)

// compileTable lays out an event type's table: the base columns, the event
// id when enabled, then the extra columns.
func compileTable(t Table, payload Payload, enc Encoding) (*Layout, error) {
	columns := []column{typeColumn, payloadColumn, timestampColumn}
	var idSource *source
	if t.Options.EventID {
		columns = append(columns, eventIDColumn)
		if t.Options.EventIDSource != "" {
			src, err := parseSource(t.Options.EventIDSource)
			if err != nil {
				return nil, specError("event id source of table %q: %v", t.Name, err)
			}
			idSource = &src
		}
	}
	expand := -1
	for _, c := range t.Columns {
		src, err := parseSource(c.Source)
		if err != nil {
			return nil, specError("column %q of table %q: %v", c.Name, t.Name, err)
		}
		typ := c.Type
		if typ == "" {
			typ = TypeString
		}
		semantic := greptimev1.SemanticType_FIELD
		if c.Tag {
			semantic = greptimev1.SemanticType_TAG
		}
		if c.Expand {
			if expand >= 0 {
				return nil, specError("table %q: two columns expand", t.Name)
			}
			expand = len(columns)
		}
		columns = append(columns, column{name: c.Name, src: src, typ: typ, semantic: semantic})
	}
	l, err := newLayout(t.Name, columns, t.Options.Hints(), enc)
	if err != nil {
		return nil, err
	}
	l.expand, l.idSource, l.payload = expand, idSource, payload
	return l, nil
}

// DeadLetterLayout lays out the dead-letter table: type, payload (the
// rejected event's, written as payload chooses) and timestamp, then where
// the event was meant to go and why it was not stored, from its Rejection.
// The table is created append-only with opts' ttl and compaction window.
func DeadLetterLayout(table string, opts Options, payload Payload, enc Encoding) (*Layout, error) {
	opts.AppendMode, opts.EventID = true, false
	l, err := newLayout(table, []column{
		typeColumn, payloadColumn, timestampColumn,
		{name: "target_database", src: source{kind: sourceTargetDatabase}, typ: TypeString, semantic: greptimev1.SemanticType_TAG},
		{name: "target_table", src: source{kind: sourceTargetTable}, typ: TypeString, semantic: greptimev1.SemanticType_TAG},
		{name: "error_code", src: source{kind: sourceErrorCode}, typ: TypeInt64, semantic: greptimev1.SemanticType_FIELD},
		{name: "grpc_code", src: source{kind: sourceGRPCCode}, typ: TypeString, semantic: greptimev1.SemanticType_FIELD},
		{name: "error_message", src: source{kind: sourceErrorMessage}, typ: TypeString, semantic: greptimev1.SemanticType_FIELD},
	}, opts.Hints(), enc)
	if err != nil {
		return nil, err
	}
	l.payload = payload
	return l, nil
}

// maxPayloadPrefix is how much of a too-large record's payload its dead
// letter keeps.
const maxPayloadPrefix = 1024

// TruncatedPayload is the payload, in the layout's encoding, of the dead
// letter of a record too large to store: {"truncated":true,
// "record_bytes":N, "payload_prefix":"<the first 1 KiB of its payload as
// JSON text>"}.
func (l *Layout) TruncatedPayload(ev *Event, recordBytes int) []byte {
	prefix := strings.ToValidUTF8(truncateUTF8(string(AppendPayload(nil, ev, l.payload)), maxPayloadPrefix), "")
	if l.encoding == EncodingJSONB {
		var enc jsonb.Encoder
		o := enc.Object()
		o.PutBool("truncated", true)
		o.PutInt("record_bytes", int64(recordBytes))
		o.PutStr("payload_prefix", prefix)
		return o.AppendTo(nil)
	}
	out := append([]byte(nil), `{"truncated":true,"record_bytes":`...)
	out = strconv.AppendInt(out, int64(recordBytes), 10)
	out = append(out, `,"payload_prefix":`...)
	out = jsonenc.AppendString(out, prefix)
	return append(out, '}')
}

// catalogHints make a table that keeps the last row of each key (merge_mode
// last_row, src/mito2/src/region/options.rs:68-71; copied from the hints at
// src/operator/src/insert.rs:1262-1276): the catalog is rewritten every
// interval, and has no TTL so that a long-running collector's rows do not
// expire under it.
const catalogHints = "append_mode=false, merge_mode=last_row"

// CatalogLayout lays out the event catalog: one row per (table, type,
// collector), its CatalogRow, with the time the collector started (the
// event's Timestamp) as the time index.
func CatalogLayout(table string, enc Encoding) (*Layout, error) {
	return newLayout(table, []column{
		{name: "table_name", src: source{kind: sourceCatalogTable}, typ: TypeString, semantic: greptimev1.SemanticType_TAG},
		{name: columnType, src: source{kind: sourceCatalogType}, typ: TypeString, semantic: greptimev1.SemanticType_TAG},
		{name: "collector", src: source{kind: sourceCatalogCollector}, typ: TypeString, semantic: greptimev1.SemanticType_TAG},
		{name: "started_at", src: source{kind: sourceTimestamp}, typ: TypeTimestamp, semantic: greptimev1.SemanticType_TIMESTAMP},
		{name: "first_seen", src: source{kind: sourceCatalogFirstSeen}, typ: TypeTimestamp, semantic: greptimev1.SemanticType_FIELD},
		{name: "last_seen", src: source{kind: sourceCatalogLastSeen}, typ: TypeTimestamp, semantic: greptimev1.SemanticType_FIELD},
		{name: "events", src: source{kind: sourceCatalogEvents}, typ: TypeInt64, semantic: greptimev1.SemanticType_FIELD},
		{name: "payload_keys", src: source{kind: sourceCatalogPayloadKeys}, typ: TypeJSON, semantic: greptimev1.SemanticType_FIELD},
	}, catalogHints, enc)
}

// newLayout encodes a table's name and columns. It fails only on names
// that are not valid UTF-8, which the exporter's Validate keeps out.
func newLayout(table string, columns []column, hints string, enc Encoding) (*Layout, error) {
	l := &Layout{table: table, columns: columns, expand: -1, hints: hints, encoding: enc}
	var key strings.Builder
	key.WriteString(table)
	for _, c := range columns {
		dt, ok := dataTypes[c.typ]
		if !ok {
			return nil, specError("column %q of table %q: type %q is unknown (%s)", c.name, table, c.typ, ColumnTypes)
		}
		cs := &greptimev1.ColumnSchema{ColumnName: c.name, Datatype: dt, SemanticType: c.semantic}
		if c.typ == TypeJSON && enc == EncodingJSONB {
			// A Binary column marked as JSON, as GreptimeDB's event recorder
			// declares its payload (src/common/event-recorder/src/event_table.rs:60-81).
			cs.Datatype, cs.DatatypeExtension = greptimev1.ColumnDataType_BINARY, jsonExtension
		}
		l.schema = append(l.schema, cs)
		fmt.Fprintf(&key, "\x00%s:%d:%d", c.name, cs.Datatype, c.semantic)
	}
	var err error
	if l.wire, err = wire.EncodeTable(table, l.schema); err != nil {
		return nil, err
	}
	l.key = key.String()
	return l, nil
}

// jsonExtension marks a Binary column as JSON (JsonTypeExtension::JsonBinary).
var jsonExtension = &greptimev1.ColumnDataTypeExtension{
	TypeExt: &greptimev1.ColumnDataTypeExtension_JsonType{JsonType: greptimev1.JsonTypeExtension_JSON_BINARY},
}

// sqlTypes are the SQL types of the column data types
// (sql_data_type_to_concrete_data_type, src/sql/src/statements.rs:221-305).
var sqlTypes = map[greptimev1.ColumnDataType]string{
	greptimev1.ColumnDataType_STRING:               "STRING",
	greptimev1.ColumnDataType_JSON:                 "JSON",
	greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND: "TIMESTAMP(9)",
	greptimev1.ColumnDataType_INT64:                "BIGINT",
	greptimev1.ColumnDataType_FLOAT64:              "DOUBLE",
	greptimev1.ColumnDataType_BOOLEAN:              "BOOLEAN",
	greptimev1.ColumnDataType_BINARY:               "JSON", // with the JSON extension: the only binary columns here
}

// quoteIdent quotes a table or column name, which the exporter's Validate
// holds to GreptimeDB's name pattern: no quote can occur in it.
func quoteIdent(name string) string { return `"` + name + `"` }

// CreateTableSQL is the CREATE TABLE of the layout: its columns, time index,
// tags as the primary key, and its table options as GreptimeDB takes them
// from the hints (src/operator/src/insert.rs:1262-1276, where a compaction
// window also sets compaction.type).
func (l *Layout) CreateTableSQL() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (", quoteIdent(l.table))
	var timeIndex string
	var tags []string
	for i, c := range l.schema {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", quoteIdent(c.ColumnName), sqlTypes[c.Datatype])
		if c.SemanticType == greptimev1.SemanticType_TIMESTAMP {
			timeIndex = c.ColumnName
			b.WriteString(" NOT NULL")
			continue
		}
		if c.SemanticType == greptimev1.SemanticType_TAG {
			tags = append(tags, quoteIdent(c.ColumnName))
		}
		b.WriteString(" NULL")
	}
	fmt.Fprintf(&b, ", TIME INDEX (%s)", quoteIdent(timeIndex))
	if len(tags) > 0 {
		fmt.Fprintf(&b, ", PRIMARY KEY (%s)", strings.Join(tags, ", "))
	}
	b.WriteString(")")
	if opts := tableOptionsSQL(l.hints); opts != "" {
		b.WriteString(" WITH (" + opts + ")")
	}
	return b.String()
}

// tableOptionsSQL writes hints as the options of a WITH clause.
func tableOptionsSQL(hints string) string {
	var opts []string
	for _, part := range strings.Split(hints, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		if k == "compaction.twcs.time_window" {
			opts = append(opts, "'compaction.type' = 'twcs'")
		}
		opts = append(opts, fmt.Sprintf("'%s' = '%s'", k, v))
	}
	return strings.Join(opts, ", ")
}

// AddColumnsSQL is the ALTER TABLE that adds the named columns of the
// layout (all its columns but the time index when names is empty), as
// GreptimeDB's automatic alter would: nullable (the default), tags in the
// primary key (src/sql/src/parsers/alter_parser.rs:698-722).
func (l *Layout) AddColumnsSQL(names []string) string {
	var adds []string
	for _, c := range l.schema {
		if c.SemanticType == greptimev1.SemanticType_TIMESTAMP || len(names) > 0 && !slices.Contains(names, c.ColumnName) {
			continue
		}
		add := fmt.Sprintf("ADD COLUMN IF NOT EXISTS %s %s", quoteIdent(c.ColumnName), sqlTypes[c.Datatype])
		if c.SemanticType == greptimev1.SemanticType_TAG {
			add += " PRIMARY KEY"
		}
		adds = append(adds, add)
	}
	return fmt.Sprintf("ALTER TABLE %s %s", quoteIdent(l.table), strings.Join(adds, ", "))
}
