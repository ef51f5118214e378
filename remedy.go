package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
)

// When GreptimeDB declines to create or alter a table for a first write,
// the exporter's error log gives the statement an operator can run
// instead: the table the exporter's config needs, as SQL.

// remedy is the SQL that would let GreptimeDB take a rejected first write of
// layout l: CREATE TABLE when it would not create the table, ALTER TABLE
// when it would not add the columns; "" for any other rejection.
func (f callFailure) remedy(l *layout) string {
	switch {
	case f.tableMissing():
		return createTableSQL(l)
	case f.unknownColumns():
		return addColumnsSQL(l, unknownColumnNames(f.grpc.Message()))
	}
	return ""
}

// tableMissing reports GreptimeDB's refusal to create a missing table: "Table
// `x` does not exist, and auto-create table is disabled by frontend config"
// (src/operator/src/insert.rs:590-598, the reason from :496-515). The
// exporter's own first writes never turn the hint off, so for them it is the
// frontend's configuration.
func (f callFailure) tableMissing() bool {
	return f.code == 1004 && strings.Contains(f.grpc.Message(), "does not exist, and")
}

// unknownColumnsPattern reads the names in the region's "unknown columns:
// [\"a\", \"b\"]" (src/mito2/src/request.rs:257-263, a Rust Vec's Debug form).
var unknownColumnsPattern = regexp.MustCompile(`unknown columns: \[([^\]]*)\]`)

// unknownColumnNames is the columns an "unknown columns" rejection names.
func unknownColumnNames(msg string) []string {
	m := unknownColumnsPattern.FindStringSubmatch(msg)
	if m == nil {
		return nil
	}
	var names []string
	for _, part := range strings.Split(m[1], ",") {
		if name := strings.Trim(strings.TrimSpace(part), `"`); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// sqlTypes are the SQL types of the column data types a layout uses
// (src/sql/src/statements.rs, sql_data_type_to_concrete_data_type).
var sqlTypes = map[greptimev1.ColumnDataType]string{
	greptimev1.ColumnDataType_STRING:               "STRING",
	greptimev1.ColumnDataType_JSON:                 "JSON",
	greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND: "TIMESTAMP(9)",
	greptimev1.ColumnDataType_INT64:                "BIGINT",
	greptimev1.ColumnDataType_FLOAT64:              "DOUBLE",
	greptimev1.ColumnDataType_BOOLEAN:              "BOOLEAN",
}

// quoteIdent quotes a table or column name, which Validate holds to
// GreptimeDB's name pattern: no quote can occur in it.
func quoteIdent(name string) string { return `"` + name + `"` }

// createTableSQL is the CREATE TABLE of layout l: its columns, time index,
// tags as the primary key, and its table options as GreptimeDB takes them
// from the hints (src/operator/src/insert.rs:1262-1276, where a compaction
// window also sets compaction.type).
func createTableSQL(l *layout) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (", quoteIdent(l.table))
	var timeIndex string
	var tags []string
	for i, c := range l.columns {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", quoteIdent(c.ColumnName), sqlTypes[c.Datatype])
		switch c.SemanticType {
		case greptimev1.SemanticType_TIMESTAMP:
			timeIndex = c.ColumnName
			b.WriteString(" NOT NULL")
		case greptimev1.SemanticType_TAG:
			tags = append(tags, quoteIdent(c.ColumnName))
			b.WriteString(" NULL")
		default:
			b.WriteString(" NULL")
		}
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

// tableOptionsSQL writes the hints of a layout as the options of a WITH
// clause.
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

// addColumnsSQL is the ALTER TABLE that adds the named columns of layout l
// (all its columns but the time index when names is empty), as GreptimeDB's
// automatic alter would: nullable, tags in the primary key.
func addColumnsSQL(l *layout, names []string) string {
	var adds []string
	for _, c := range l.columns {
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
