package greptimetest

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
)

// dumpSampleRows is how many rows Dump prints per table.
const dumpSampleRows = 3

// Dump writes a human-readable summary of database db to w: per table a
// SHOW CREATE TABLE-like schema with its options, the row count, the row count
// per value of a "type" column if the table has one, and a few sample rows.
// Write errors are ignored (it is meant for terminals and logs).
func (s *Server) Dump(w io.Writer, db string) { dump(w, s.store, db) }

func dump(w io.Writer, st *Store, db string) {
	names := st.Tables(db)
	if len(names) == 0 {
		fmt.Fprintf(w, "database %q: no tables\n", db)
		return
	}
	for i, name := range names {
		t, ok := st.Table(db, name)
		if !ok {
			continue
		}
		if i > 0 {
			fmt.Fprintln(w)
		}
		writeCreateTable(w, t)
		fmt.Fprintf(w, "rows: %d\n", len(t.Rows))
		if c, ok := t.Column("type"); ok && c.Type == greptimev1.ColumnDataType_STRING {
			counts := map[string]int{}
			for _, r := range t.Rows {
				counts[fmt.Sprint(r["type"])]++
			}
			keys := make([]string, 0, len(counts))
			for k := range counts {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(w, "  type=%s: %d\n", k, counts[k])
			}
		}
		n := min(dumpSampleRows, len(t.Rows))
		if n > 0 {
			fmt.Fprintf(w, "sample rows (first %d):\n", n)
		}
		for _, r := range t.Rows[:n] {
			parts := make([]string, 0, len(t.Columns))
			for _, c := range t.Columns {
				parts = append(parts, c.Name+"="+renderValue(r[c.Name]))
			}
			fmt.Fprintf(w, "  %s\n", strings.Join(parts, " "))
		}
	}
}

func writeCreateTable(w io.Writer, t Table) {
	fmt.Fprintf(w, "CREATE TABLE IF NOT EXISTS %q (\n", t.Name)
	for _, c := range t.Columns {
		null := "NULL"
		if !c.Nullable {
			null = "NOT NULL"
		}
		fmt.Fprintf(w, "  %q %s %s,\n", c.Name, typeName(c), null)
	}
	fmt.Fprintf(w, "  TIME INDEX (%q)", t.TimeIndex)
	if len(t.PrimaryKey) > 0 {
		quoted := make([]string, len(t.PrimaryKey))
		for i, k := range t.PrimaryKey {
			quoted[i] = fmt.Sprintf("%q", k)
		}
		fmt.Fprintf(w, ",\n  PRIMARY KEY (%s)", strings.Join(quoted, ", "))
	}
	fmt.Fprint(w, "\n)\nENGINE=mito\n")
	if len(t.Options) > 0 {
		keys := make([]string, 0, len(t.Options))
		for k := range t.Options {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprint(w, "WITH(\n")
		for i, k := range keys {
			sep := ","
			if i == len(keys)-1 {
				sep = ""
			}
			fmt.Fprintf(w, "  '%s' = '%s'%s\n", k, t.Options[k], sep)
		}
		fmt.Fprint(w, ")\n")
	}
}

func renderValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return fmt.Sprintf("%q", x)
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
	return fmt.Sprint(v)
}
