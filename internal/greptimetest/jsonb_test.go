package greptimetest

import (
	"testing"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonb"
)

// jsonbSchema is eventSchema with the payload as JSONB: a Binary column with
// the JSON extension, as GreptimeDB's event recorder declares it.
func jsonbSchema() []*greptimev1.ColumnSchema {
	schema := eventSchema()
	schema[1] = &greptimev1.ColumnSchema{
		ColumnName: "payload", Datatype: greptimev1.ColumnDataType_BINARY, SemanticType: greptimev1.SemanticType_FIELD,
		DatatypeExtension: &greptimev1.ColumnDataTypeExtension{TypeExt: &greptimev1.ColumnDataTypeExtension_JsonType{}},
	}
	return schema
}

func jsonbEvent(t *testing.T, typ, payload string, ts int64) []*greptimev1.Value {
	t.Helper()
	doc, err := jsonb.Parse([]byte(payload))
	require.NoError(t, err)
	return []*greptimev1.Value{str(typ), {ValueData: &greptimev1.Value_BinaryValue{BinaryValue: doc}}, tsns(ts)}
}

// TestJSONTextAndJSONBAreOneType: JSON text in a JSON column and JSONB in a
// Binary column with the JSON extension are the same column type
// (src/api/src/helper.rs:104-123): a table created by one takes the other,
// and both read back alike.
func TestJSONTextAndJSONBAreOneType(t *testing.T) {
	for _, first := range []string{"text", "jsonb"} {
		t.Run(first+" first", func(t *testing.T) {
			s := startServer(t, Config{})
			c := dial(t, s.Addr(), nil)
			ctx := ctxT(t)
			const payload = `{"body":{"n":1,"x":[2.5,"y"]},"attributes":{"k":null}}`
			text := insert("events", eventSchema(), event("a", payload, 1))
			binary := insert("events", jsonbSchema(), jsonbEvent(t, "a", payload, 2))
			if first == "jsonb" {
				text, binary = binary, text
			}
			requireOK(t, do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{text}}))
			requireOK(t, do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{binary}}))

			tbl, ok := s.Table("public", "events")
			require.True(t, ok)
			col, _ := tbl.Column("payload")
			assert.Equal(t, greptimev1.ColumnDataType_JSON, col.Type)
			require.Len(t, tbl.Rows, 2)
			assert.Equal(t, tbl.Rows[0]["payload"], tbl.Rows[1]["payload"])
			assert.Equal(t, map[string]any{"n": float64(1), "x": []any{2.5, "y"}}, tbl.Rows[0]["payload"].(map[string]any)["body"])
		})
	}
}

// TestMalformedJSONBFailsTheCall: GreptimeDB stores a client's JSONB
// unchecked, and fails only when it is read; the stand-in refuses it at
// once, so that a test sees it (doc.go).
func TestMalformedJSONBFailsTheCall(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	bad := jsonbEvent(t, "a", `{"k":"v"}`, 1)
	doc := bad[1].GetBinaryValue()
	bad[1].ValueData = &greptimev1.Value_BinaryValue{BinaryValue: doc[:len(doc)-1]}

	res := do(ctxT(t), c, req{inserts: []*greptimev1.RowInsertRequest{insert("events", jsonbSchema(), bad)}})

	requireStatus(t, res, codes.InvalidArgument, StatusInvalidArguments, "malformed JSONB in column payload")
	assert.Empty(t, s.Tables("public"))
}

// TestInvalidJSONTextIsGreptimeDBsParsersCall: JSON text is parsed with the
// jsonb crate's parser, as GreptimeDB parses it
// (src/operator/src/req_convert/common.rs:40-52).
func TestInvalidJSONTextIsGreptimeDBsParsersCall(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	res := do(ctxT(t), c, req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{"k":}`, 1))}})
	requireStatus(t, res, codes.InvalidArgument, StatusInvalidArguments, `Invalid json text: {"k":}`)
}

// TestJSON2ColumnTakesNoJSONOrJSONB: a JSON2 column (GreptimeDB 1.2's native
// JSON type) needs append mode, and refuses the JSON and JSONB values of a
// greptime-proto v0.15.0 client at the region's type check.
func TestJSON2ColumnTakesNoJSONOrJSONB(t *testing.T) {
	s := startServer(t, Config{})
	_, err := s.Store().ExecSQL("public", `CREATE TABLE events ("type" STRING, payload JSON2, "timestamp" TIMESTAMP(9) TIME INDEX, PRIMARY KEY ("type"))`)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "JSON2 column `payload` requires append_mode='true'")
	_, err = s.Store().ExecSQL("public", `CREATE TABLE events ("type" STRING, payload JSON2, "timestamp" TIMESTAMP(9) TIME INDEX, PRIMARY KEY ("type")) WITH (append_mode = 'true')`)
	require.NoError(t, err)
	c := dial(t, s.Addr(), nil)

	for _, in := range []*greptimev1.RowInsertRequest{
		insert("events", eventSchema(), event("a", `{"k":1}`, 1)),
		insert("events", jsonbSchema(), jsonbEvent(t, "a", `{"k":1}`, 1)),
	} {
		res := do(ctxT(t), c, req{inserts: []*greptimev1.RowInsertRequest{in}})
		requireStatus(t, res, codes.InvalidArgument, StatusInvalidArguments, "column payload expect type Json(JsonType { format: Json2(")
	}
	assert.Zero(t, s.RowCount("public", "events"))
}

// TestOnlyTheJSONExtensionMakesBinaryJSON: Binary is the JSON type only with
// the JSON extension; with a decimal or vector extension, or none, it stays
// Binary (src/api/src/helper.rs:104-113).
func TestOnlyTheJSONExtensionMakesBinaryJSON(t *testing.T) {
	binary := func(ext *greptimev1.ColumnDataTypeExtension) *greptimev1.ColumnSchema {
		return &greptimev1.ColumnSchema{ColumnName: "c", Datatype: greptimev1.ColumnDataType_BINARY, DatatypeExtension: ext}
	}
	for name, tc := range map[string]struct {
		ext  *greptimev1.ColumnDataTypeExtension
		want greptimev1.ColumnDataType
	}{
		"json":    {&greptimev1.ColumnDataTypeExtension{TypeExt: &greptimev1.ColumnDataTypeExtension_JsonType{JsonType: greptimev1.JsonTypeExtension_JSON_BINARY}}, greptimev1.ColumnDataType_JSON},
		"none":    {nil, greptimev1.ColumnDataType_BINARY},
		"vector":  {&greptimev1.ColumnDataTypeExtension{TypeExt: &greptimev1.ColumnDataTypeExtension_VectorType{VectorType: &greptimev1.VectorTypeExtension{Dim: 3}}}, greptimev1.ColumnDataType_BINARY},
		"decimal": {&greptimev1.ColumnDataTypeExtension{TypeExt: &greptimev1.ColumnDataTypeExtension_DecimalType{DecimalType: &greptimev1.DecimalTypeExtension{Precision: 10, Scale: 2}}}, greptimev1.ColumnDataType_BINARY},
	} {
		if got := columnType(binary(tc.ext)); got != tc.want {
			t.Errorf("%s: Binary is %v, want %v", name, got, tc.want)
		}
	}
}
