package greptimetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"google.golang.org/protobuf/proto"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonb"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// DecodeValue converts a protocol value to the plain Go value stored in
// Table.Rows: nil for null; int64 for INT8..INT64, DATE (days), DATETIME and
// every TIMESTAMP_* / TIME_* type (in the column's own unit, so nanoseconds
// for TIMESTAMP_NANOSECOND); uint64 for UINT8..UINT64; float64 for FLOAT32/64;
// bool; string for STRING; []byte for BINARY and VECTOR; for JSON (JSON
// text, or JSONB in a Binary column with the JSON extension) the value as
// encoding/json decodes its JSON text (map[string]any, []any, float64,
// string, bool or nil);
// the proto message's text for DECIMAL128 and INTERVAL_* values.
func DecodeValue(dt greptimev1.ColumnDataType, v *greptimev1.Value) (any, error) {
	if v == nil || v.GetValueData() == nil {
		return nil, nil
	}
	switch x := v.GetValueData().(type) {
	case *greptimev1.Value_I8Value:
		return int64(x.I8Value), nil
	case *greptimev1.Value_I16Value:
		return int64(x.I16Value), nil
	case *greptimev1.Value_I32Value:
		return int64(x.I32Value), nil
	case *greptimev1.Value_I64Value:
		return x.I64Value, nil
	case *greptimev1.Value_U8Value:
		return uint64(x.U8Value), nil
	case *greptimev1.Value_U16Value:
		return uint64(x.U16Value), nil
	case *greptimev1.Value_U32Value:
		return uint64(x.U32Value), nil
	case *greptimev1.Value_U64Value:
		return x.U64Value, nil
	case *greptimev1.Value_F32Value:
		return float64(x.F32Value), nil
	case *greptimev1.Value_F64Value:
		return x.F64Value, nil
	case *greptimev1.Value_BoolValue:
		return x.BoolValue, nil
	case *greptimev1.Value_BinaryValue:
		if dt == greptimev1.ColumnDataType_JSON {
			return decodeJSONB(x.BinaryValue)
		}
		return slices.Clone(x.BinaryValue), nil
	case *greptimev1.Value_StringValue:
		if dt == greptimev1.ColumnDataType_JSON {
			return decodeJSON(x.StringValue)
		}
		return x.StringValue, nil
	case *greptimev1.Value_DateValue:
		return int64(x.DateValue), nil
	case *greptimev1.Value_DatetimeValue:
		return x.DatetimeValue, nil
	case *greptimev1.Value_TimestampSecondValue:
		return x.TimestampSecondValue, nil
	case *greptimev1.Value_TimestampMillisecondValue:
		return x.TimestampMillisecondValue, nil
	case *greptimev1.Value_TimestampMicrosecondValue:
		return x.TimestampMicrosecondValue, nil
	case *greptimev1.Value_TimestampNanosecondValue:
		return x.TimestampNanosecondValue, nil
	case *greptimev1.Value_TimeSecondValue:
		return x.TimeSecondValue, nil
	case *greptimev1.Value_TimeMillisecondValue:
		return x.TimeMillisecondValue, nil
	case *greptimev1.Value_TimeMicrosecondValue:
		return x.TimeMicrosecondValue, nil
	case *greptimev1.Value_TimeNanosecondValue:
		return x.TimeNanosecondValue, nil
	case *greptimev1.Value_IntervalYearMonthValue:
		return fmt.Sprintf("%d months", x.IntervalYearMonthValue), nil
	case *greptimev1.Value_IntervalDayTimeValue:
		return fmt.Sprintf("%d day-time", x.IntervalDayTimeValue), nil
	case *greptimev1.Value_IntervalMonthDayNanoValue:
		return x.IntervalMonthDayNanoValue.String(), nil
	case *greptimev1.Value_Decimal128Value:
		return x.Decimal128Value.String(), nil
	}
	return nil, fmt.Errorf("unsupported value %T", v.GetValueData())
}

// valueKind is the column type a protocol value carries (GreptimeDB's proto_value_type,
// src/api/src/helper.rs:993-1027; its List, Struct and Json values are not in
// the Go greptime-proto this package uses).
func valueKind(v *greptimev1.Value) (greptimev1.ColumnDataType, bool) {
	switch v.GetValueData().(type) {
	case nil:
		return 0, false
	case *greptimev1.Value_I8Value:
		return greptimev1.ColumnDataType_INT8, true
	case *greptimev1.Value_I16Value:
		return greptimev1.ColumnDataType_INT16, true
	case *greptimev1.Value_I32Value:
		return greptimev1.ColumnDataType_INT32, true
	case *greptimev1.Value_I64Value:
		return greptimev1.ColumnDataType_INT64, true
	case *greptimev1.Value_U8Value:
		return greptimev1.ColumnDataType_UINT8, true
	case *greptimev1.Value_U16Value:
		return greptimev1.ColumnDataType_UINT16, true
	case *greptimev1.Value_U32Value:
		return greptimev1.ColumnDataType_UINT32, true
	case *greptimev1.Value_U64Value:
		return greptimev1.ColumnDataType_UINT64, true
	case *greptimev1.Value_F32Value:
		return greptimev1.ColumnDataType_FLOAT32, true
	case *greptimev1.Value_F64Value:
		return greptimev1.ColumnDataType_FLOAT64, true
	case *greptimev1.Value_BoolValue:
		return greptimev1.ColumnDataType_BOOLEAN, true
	case *greptimev1.Value_BinaryValue:
		return greptimev1.ColumnDataType_BINARY, true
	case *greptimev1.Value_StringValue:
		return greptimev1.ColumnDataType_STRING, true
	case *greptimev1.Value_DateValue:
		return greptimev1.ColumnDataType_DATE, true
	case *greptimev1.Value_DatetimeValue:
		return greptimev1.ColumnDataType_DATETIME, true
	case *greptimev1.Value_TimestampSecondValue:
		return greptimev1.ColumnDataType_TIMESTAMP_SECOND, true
	case *greptimev1.Value_TimestampMillisecondValue:
		return greptimev1.ColumnDataType_TIMESTAMP_MILLISECOND, true
	case *greptimev1.Value_TimestampMicrosecondValue:
		return greptimev1.ColumnDataType_TIMESTAMP_MICROSECOND, true
	case *greptimev1.Value_TimestampNanosecondValue:
		return greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND, true
	case *greptimev1.Value_TimeSecondValue:
		return greptimev1.ColumnDataType_TIME_SECOND, true
	case *greptimev1.Value_TimeMillisecondValue:
		return greptimev1.ColumnDataType_TIME_MILLISECOND, true
	case *greptimev1.Value_TimeMicrosecondValue:
		return greptimev1.ColumnDataType_TIME_MICROSECOND, true
	case *greptimev1.Value_TimeNanosecondValue:
		return greptimev1.ColumnDataType_TIME_NANOSECOND, true
	case *greptimev1.Value_IntervalYearMonthValue:
		return greptimev1.ColumnDataType_INTERVAL_YEAR_MONTH, true
	case *greptimev1.Value_IntervalDayTimeValue:
		return greptimev1.ColumnDataType_INTERVAL_DAY_TIME, true
	case *greptimev1.Value_IntervalMonthDayNanoValue:
		return greptimev1.ColumnDataType_INTERVAL_MONTH_DAY_NANO, true
	case *greptimev1.Value_Decimal128Value:
		return greptimev1.ColumnDataType_DECIMAL128, true
	}
	return 0, false
}

func isTimestampType(dt greptimev1.ColumnDataType) bool {
	switch dt {
	case greptimev1.ColumnDataType_TIMESTAMP_SECOND, greptimev1.ColumnDataType_TIMESTAMP_MILLISECOND,
		greptimev1.ColumnDataType_TIMESTAMP_MICROSECOND, greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND:
		return true
	}
	return false
}

func isIntervalType(dt greptimev1.ColumnDataType) bool {
	switch dt {
	case greptimev1.ColumnDataType_INTERVAL_YEAR_MONTH, greptimev1.ColumnDataType_INTERVAL_DAY_TIME,
		greptimev1.ColumnDataType_INTERVAL_MONTH_DAY_NANO:
		return true
	}
	return false
}

// isJSONB reports whether a request column is JSONB: Binary with the JSON
// extension, whatever its value; Binary with any other extension (decimal,
// vector) stays Binary (src/api/src/helper.rs:104-113).
func isJSONB(s *greptimev1.ColumnSchema) bool {
	_, json := s.GetDatatypeExtension().GetTypeExt().(*greptimev1.ColumnDataTypeExtension_JsonType)
	return s.GetDatatype() == greptimev1.ColumnDataType_BINARY && json
}

// columnType is a request column's type as GreptimeDB sees it: JSON text
// and JSONB are both the JSON type (src/api/src/helper.rs:104-123).
func columnType(s *greptimev1.ColumnSchema) greptimev1.ColumnDataType {
	if isJSONB(s) {
		return greptimev1.ColumnDataType_JSON
	}
	return s.GetDatatype()
}

// sameType reports whether a request column has the stored column's type
// (data type, plus the decimal/vector extension where it is part of the
// type). Nothing a client sends is JSON2 (see Column.JSON2).
func sameType(c Column, s *greptimev1.ColumnSchema) bool {
	if c.Type != columnType(s) || c.JSON2 {
		return false
	}
	switch c.Type {
	case greptimev1.ColumnDataType_DECIMAL128, greptimev1.ColumnDataType_VECTOR:
		return proto.Equal(c.Extension, s.GetDatatypeExtension())
	}
	return true
}

// typeName renders a data type the way GreptimeDB's SQL shows it.
func typeName(c Column) string {
	if c.JSON2 {
		return "JSON2"
	}
	switch c.Type {
	case greptimev1.ColumnDataType_BOOLEAN:
		return "BOOLEAN"
	case greptimev1.ColumnDataType_INT8:
		return "TINYINT"
	case greptimev1.ColumnDataType_INT16:
		return "SMALLINT"
	case greptimev1.ColumnDataType_INT32:
		return "INT"
	case greptimev1.ColumnDataType_INT64:
		return "BIGINT"
	case greptimev1.ColumnDataType_UINT8:
		return "TINYINT UNSIGNED"
	case greptimev1.ColumnDataType_UINT16:
		return "SMALLINT UNSIGNED"
	case greptimev1.ColumnDataType_UINT32:
		return "INT UNSIGNED"
	case greptimev1.ColumnDataType_UINT64:
		return "BIGINT UNSIGNED"
	case greptimev1.ColumnDataType_FLOAT32:
		return "FLOAT"
	case greptimev1.ColumnDataType_FLOAT64:
		return "DOUBLE"
	case greptimev1.ColumnDataType_BINARY:
		return "VARBINARY"
	case greptimev1.ColumnDataType_STRING:
		return "STRING"
	case greptimev1.ColumnDataType_DATE:
		return "DATE"
	case greptimev1.ColumnDataType_DATETIME:
		return "TIMESTAMP(6)"
	case greptimev1.ColumnDataType_TIMESTAMP_SECOND:
		return "TIMESTAMP(0)"
	case greptimev1.ColumnDataType_TIMESTAMP_MILLISECOND:
		return "TIMESTAMP(3)"
	case greptimev1.ColumnDataType_TIMESTAMP_MICROSECOND:
		return "TIMESTAMP(6)"
	case greptimev1.ColumnDataType_TIMESTAMP_NANOSECOND:
		return "TIMESTAMP(9)"
	case greptimev1.ColumnDataType_TIME_SECOND:
		return "TIME(0)"
	case greptimev1.ColumnDataType_TIME_MILLISECOND:
		return "TIME(3)"
	case greptimev1.ColumnDataType_TIME_MICROSECOND:
		return "TIME(6)"
	case greptimev1.ColumnDataType_TIME_NANOSECOND:
		return "TIME(9)"
	case greptimev1.ColumnDataType_JSON:
		return "JSON"
	case greptimev1.ColumnDataType_DECIMAL128:
		if d := c.Extension.GetDecimalType(); d != nil {
			return fmt.Sprintf("DECIMAL(%d, %d)", d.GetPrecision(), d.GetScale())
		}
		return "DECIMAL(38, 10)"
	case greptimev1.ColumnDataType_VECTOR:
		return fmt.Sprintf("VECTOR(%d)", c.Extension.GetVectorType().GetDim())
	}
	return c.Type.String()
}

// deepCopy copies decoded values (JSON trees and byte slices).
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	case []byte:
		return slices.Clone(x)
	}
	return v
}

// decodeJSONB decodes a JSONB document into what decodeJSON makes of its
// JSON text: maps, slices, strings, bools, nil, and every number a float64
// (±Inf beyond its range, as the jsonb crate's parser stores them).
func decodeJSONB(doc []byte) (any, error) {
	tree, err := jsonb.Decode(doc)
	if err != nil {
		return nil, err
	}
	return plainJSON(tree), nil
}

// plainJSON turns a jsonb value tree into encoding/json's shapes; of an
// object's duplicate keys, which JSONB cannot hold, the last would win.
func plainJSON(v any) any {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainJSON(e)
		}
		return out
	case jsonb.Object:
		out := make(map[string]any, len(x))
		for _, m := range x {
			out[m.Key] = plainJSON(m.Value)
		}
		return out
	}
	return v
}

// decodeJSON decodes JSON text as encoding/json does into an any, except
// that a number beyond float64's range becomes ±Inf instead of an error:
// text that json.Valid accepts always decodes.
func decodeJSON(text string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return numbersToFloat(out), nil
}

// numbersToFloat replaces the json.Numbers in v by float64s.
func numbersToFloat(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := strconv.ParseFloat(string(x), 64) // ±Inf (or 0) with ErrRange out of range
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbersToFloat(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbersToFloat(e)
		}
	}
	return v
}
