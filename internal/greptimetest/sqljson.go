package greptimetest

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// This file holds everything the SQL executor knows about JSON column values.
// Only jsonTree knows how the store keeps them (today what decodeJSON
// returns; JSONB bytes once internal/jsonb decodes them): the functions below
// work on the tree it returns, of nil, bool, string, float64, int64, uint64,
// json.Number, []any and map[string]any.

// jsonTree returns a stored JSON column value as a tree.
func jsonTree(v any) (any, error) {
	switch v.(type) {
	case nil, bool, string, float64, int64, uint64, json.Number, []any, map[string]any:
		return v, nil
	}
	return nil, fmt.Errorf("greptimetest: stored JSON value of type %T", v)
}

// renderJSONColumn is the value of a JSON column in GreptimeDB's HTTP
// results, as JSON text: the JSONB value rendered as text
// (datatypes::types::jsonb_to_string) and parsed again with serde_json
// (jsonb_to_serde_json, src/datatypes/src/types/json_type.rs:382-399, called
// for JSON columns, binary in Arrow (src/datatypes/src/types/json_type.rs:349-351),
// by HttpOutputWriter::write_bytes, src/servers/src/http/result.rs:182-185, :61-70),
// so an object, array, string, number, boolean or null in the response, not
// text. serde_json then writes it: object keys sorted (JSONB keeps them
// sorted, and so does serde_json's map without preserve_order, which
// GreptimeDB's workspace does not enable, Cargo.toml:236), integers as
// integers, other numbers as serde_json prints an f64.
//
// This is the one place that renders a stored JSON value for HTTP.
func renderJSONColumn(v any) ([]byte, error) {
	tree, err := jsonTree(v)
	if err != nil {
		return nil, err
	}
	return appendJSONValue(nil, tree, true), nil
}

// jsonText renders a JSON value as GreptimeDB's json_to_string does
// (jsonb_to_string, src/common/function/src/scalars/json/json_to_string.rs:64-86,
// src/datatypes/src/types/json_type.rs:382-393): compact, keys sorted,
// numbers as jsonb's Number prints them (an f64 with Rust's Display, no
// exponent), strings with jsonb's escapes.
func jsonText(tree any) string {
	return string(appendJSONValue(nil, tree, false))
}

// appendJSONValue writes tree as JSON. serde selects serde_json's number and
// string forms, else jsonb's text forms.
func appendJSONValue(b []byte, tree any, serde bool) []byte {
	switch x := tree.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case string:
		if serde {
			return appendSerdeString(b, x)
		}
		return appendJSONBString(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return appendJSONNumber(b, f, serde)
		}
		return append(b, x...)
	case float64:
		return appendJSONNumber(b, x, serde)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONValue(b, e, serde)
		}
		return append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			if serde {
				b = appendSerdeString(b, k)
			} else {
				b = appendJSONBString(b, k)
			}
			b = append(b, ':')
			b = appendJSONValue(b, x[k], serde)
		}
		return append(b, '}')
	}
	return appendSerdeString(b, fmt.Sprint(tree))
}

// jsonInt reports whether a tree number is an integer JSONB would hold as
// one. The store keeps every number as a float64 (doc.go), so an integral
// float64 in range counts as an integer: JSONB keeps "12" as an integer, and
// prints a float 12.0 as "12" too.
func jsonInt(f float64) (int64, bool) {
	if f != math.Trunc(f) || math.IsInf(f, 0) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

func appendJSONNumber(b []byte, f float64, serde bool) []byte {
	if n, ok := jsonInt(f); ok {
		return strconv.AppendInt(b, n, 10)
	}
	if serde {
		// jsonb prints the f64 without exponent; serde_json parses that text
		// back into an f64 and writes it with ryu.
		return append(b, formatRyu(f)...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64) // Rust's f64 Display: shortest round-trip digits, no exponent
}

// appendJSONBString quotes s as jsonb's escape_scalar_string does: only \\, ",
// \b, \f, \n, \r and \t are escaped (jsonb 0.4's src/functions.rs, not in
// GreptimeDB's source tree).
func appendJSONBString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendSerdeString quotes s as serde_json does: ", \ and control characters
// escaped, everything else (non-ASCII, <, >, &) as it is.
func appendSerdeString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
			i++
			continue
		}
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\b':
			b = append(b, `\b`...)
		case r == '\f':
			b = append(b, `\f`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// formatRyu writes a finite f64 as serde_json does (the ryu crate's
// format64): the shortest round-trip digits, as an integer with ".0", a
// decimal, or with an exponent below 1e-5 and from 1e16 on.
func formatRyu(f float64) string {
	s := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	mant, expText, _ := strings.Cut(s, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expText)
	kk := exp + 1         // position of the decimal point
	k := kk - len(digits) // exponent of the last digit
	switch {
	case k >= 0 && kk <= 16: // 1234e7 -> 12340000000.0
		return sign + digits + strings.Repeat("0", k) + ".0"
	case kk > 0 && kk <= 16: // 1234e-2 -> 12.34
		return sign + digits[:kk] + "." + digits[kk:]
	case kk > -5 && kk <= 0: // 1234e-6 -> 0.001234
		return sign + "0." + strings.Repeat("0", -kk) + digits
	case len(digits) == 1: // 1e30
		return sign + digits + "e" + strconv.Itoa(kk-1)
	}
	return sign + digits[:1] + "." + digits[1:] + "e" + strconv.Itoa(kk-1) // 1234e30 -> 1.234e33
}

// jsonStep is one step of a JSON path: an object key or an array index.
type jsonStep struct {
	key   string
	index int
	isIdx bool
}

// parseJSONPath parses the JSON paths the stand-in follows, a subset of
// those jsonb::jsonpath::parse_json_path accepts (called by GreptimeDB's
// json_get_* functions, src/common/function/src/scalars/json/json_get.rs:34-47):
// an optional leading $, then keys joined by '.' or ':' ('a.b', 'a:b.c'),
// ["key"] and [index]. Wildcards, filters and the like are refused.
func parseJSONPath(path string) ([]jsonStep, *greptimeError) {
	bad := func() *greptimeError {
		return standinUnsupported("the JSON path '%s' (it follows keys joined by '.' or ':', [\"key\"] and [index])", path)
	}
	s, rooted := strings.CutPrefix(path, "$")
	if !rooted && s != "" && !strings.ContainsAny(s[:1], ".:[") {
		s = "." + s // the first key may stand alone: 'a.b'
	}
	if !rooted && s == "" {
		return nil, bad()
	}
	var steps []jsonStep
	for s != "" {
		switch s[0] {
		case '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, bad()
			}
			inner := strings.TrimSpace(s[1:end])
			s = s[end+1:]
			if len(inner) >= 2 && (inner[0] == '"' || inner[0] == '\'') && inner[len(inner)-1] == inner[0] {
				steps = append(steps, jsonStep{key: inner[1 : len(inner)-1]})
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil || n < 0 {
				return nil, bad()
			}
			steps = append(steps, jsonStep{index: n, isIdx: true})
		case '.', ':':
			s = s[1:]
			end := strings.IndexAny(s, ".:[")
			if end < 0 {
				end = len(s)
			}
			key := s[:end]
			if key == "" || strings.ContainsAny(key, "*?@()\"' \t]") {
				return nil, bad()
			}
			steps = append(steps, jsonStep{key: key})
			s = s[end:]
		default:
			return nil, bad()
		}
	}
	return steps, nil
}

// jsonGet follows path in tree; found is false when a step has nothing to
// follow (GreptimeDB's json_get_* then answer null).
func jsonGet(tree any, path []jsonStep) (any, bool) {
	for _, st := range path {
		switch x := tree.(type) {
		case map[string]any:
			if st.isIdx {
				return nil, false
			}
			v, ok := x[st.key]
			if !ok {
				return nil, false
			}
			tree = v
		case []any:
			if !st.isIdx || st.index >= len(x) {
				return nil, false
			}
			tree = x[st.index]
		default:
			return nil, false
		}
	}
	return tree, true
}

// The conversions of json_get_string, json_get_int, json_get_float and
// json_get_bool: jsonb's to_str, to_i64, to_f64 and to_bool
// (src/common/function/src/scalars/json/json_get.rs:76-89, :119-134,
// :164-179, :209-224; the jsonb functions are jsonb 0.4's, not in GreptimeDB's
// source tree). A value that does not convert is null.

// jsonToString: a string as it is, true/false, a number as jsonb prints it;
// not null, an object or an array.
func jsonToString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64, int64, uint64, json.Number:
		return string(appendJSONValue(nil, x, false)), true
	}
	return "", false
}

// jsonToInt: an integer, true as 1 and false as 0, a string that parses as
// an i64.
func jsonToInt(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return jsonInt(x)
	case int64:
		return x, true
	case uint64:
		return int64(x), x <= math.MaxInt64
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// jsonToFloat: a number, true as 1 and false as 0, a string that parses as an f64.
func jsonToFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

// jsonToBool: a boolean, or the string "true" or "false" in any case.
func jsonToBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(x) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}
