package greptimeeventsexporter

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonb"
)

// TestGoldenMapping checks the whole mapping of a configuration, record to
// RowInsertRequests, against testdata/golden; `go test -run TestGoldenMapping
// -update` rewrites them.
//
// The goldens show JSON as text; the same mapping with JSONB, the default,
// must write for every JSON value what GreptimeDB makes of that text.
func TestGoldenMapping(t *testing.T) {
	for name, cfg := range goldenConfigs() {
		t.Run(name, func(t *testing.T) {
			binary := rowInsertsOf(t, cfg, goldenLogs())
			cfg.PayloadEncoding = PayloadEncodingJSON
			text := rowInsertsOf(t, cfg, goldenLogs())
			assertJSONBIsTheParseOfTheText(t, text, binary)
			got := marshalGolden(t, text)

			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, got, 0o600))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
		})
	}
}

// assertJSONBIsTheParseOfTheText checks that the inserts written with JSONB
// hold, for every JSON value written as text, jsonb.Parse of that text (the
// bytes GreptimeDB stores for it), and the same otherwise.
func assertJSONBIsTheParseOfTheText(t *testing.T, text, binary []*greptimev1.RowInsertRequest) {
	t.Helper()
	require.Len(t, binary, len(text))
	for i, in := range text {
		for r, row := range in.Rows.Rows {
			for c, v := range row.Values {
				got := binary[i].Rows.Rows[r].Values[c]
				if in.Rows.Schema[c].Datatype != greptimev1.ColumnDataType_JSON || v.GetValueData() == nil {
					assert.True(t, proto.Equal(v, got))
					continue
				}
				assert.Equal(t, greptimev1.ColumnDataType_BINARY, binary[i].Rows.Schema[c].Datatype)
				want, err := jsonb.Parse([]byte(v.GetStringValue()))
				require.NoError(t, err)
				assert.Equal(t, want, got.GetBinaryValue(), "%s.%s", in.TableName, in.Rows.Schema[c].ColumnName)
			}
		}
	}
}

// marshalGolden renders row inserts for review: each table with its schema
// ("name DATATYPE SEMANTIC") and rows, payloads shown as the JSON they hold.
// It first checks that every value's kind matches its column's datatype.
func marshalGolden(t *testing.T, inserts []*greptimev1.RowInsertRequest) []byte {
	type table struct {
		Table  string   `json:"table"`
		Schema []string `json:"schema"`
		Rows   [][]any  `json:"rows"`
	}
	var tables []table
	for _, ins := range inserts {
		tb := table{Table: ins.TableName}
		for _, c := range ins.Rows.Schema {
			tb.Schema = append(tb.Schema, c.ColumnName+" "+c.Datatype.String()+" "+c.SemanticType.String())
		}
		for _, row := range ins.Rows.Rows {
			require.Len(t, row.Values, len(ins.Rows.Schema))
			var values []any
			for i, v := range row.Values {
				assertValueKind(t, ins.Rows.Schema[i], v)
				cell := cellOf(v)
				if s, ok := cell.(string); ok && ins.Rows.Schema[i].Datatype == greptimev1.ColumnDataType_JSON {
					require.True(t, json.Valid([]byte(s)), "JSON column value %q", s)
					cell = json.RawMessage(s)
				}
				values = append(values, cell)
			}
			tb.Rows = append(tb.Rows, values)
		}
		tables = append(tables, tb)
	}
	out, err := json.MarshalIndent(tables, "", "  ")
	require.NoError(t, err)
	return append(out, '\n')
}

// assertValueKind checks a value holds what its column's datatype takes, or null.
func assertValueKind(t *testing.T, col *greptimev1.ColumnSchema, v *greptimev1.Value) {
	var takes []greptimev1.ColumnDataType
	switch v.GetValueData().(type) {
	case nil:
		return
	case *greptimev1.Value_StringValue:
		takes = []greptimev1.ColumnDataType{greptimev1.ColumnDataType_STRING, greptimev1.ColumnDataType_JSON}
	case *greptimev1.Value_I64Value:
		takes = []greptimev1.ColumnDataType{greptimev1.ColumnDataType_INT64}
	case *greptimev1.Value_F64Value:
		takes = []greptimev1.ColumnDataType{greptimev1.ColumnDataType_FLOAT64}
	case *greptimev1.Value_BoolValue:
		takes = []greptimev1.ColumnDataType{greptimev1.ColumnDataType_BOOLEAN}
	case *greptimev1.Value_TimestampNanosecondValue:
		takes = []greptimev1.ColumnDataType{greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND}
	}
	assert.Contains(t, takes, col.Datatype, "value %v of column %q", v, col.ColumnName)
}
