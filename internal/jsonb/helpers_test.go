package jsonb

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/greptime-events/greptimeeventsexporter/internal/jsonenc"
)

// putKeys makes dst a map holding keys in order, duplicates included, each
// with an empty value. pdata's API refuses to add a key twice, but a map
// read off the wire holds what the sender sent, so the map is read from an
// OTLP log record carrying keys as its attributes.
func putKeys(t testing.TB, dst pcommon.Value, keys ...string) pcommon.Map {
	var kvs []byte
	for _, k := range keys {
		kv := protowire.AppendTag(nil, 1, protowire.BytesType) // KeyValue.key
		kv = protowire.AppendString(kv, k)
		kvs = protowire.AppendTag(kvs, 6, protowire.BytesType) // LogRecord.attributes
		kvs = protowire.AppendBytes(kvs, kv)
	}
	scope := protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), kvs)      // ScopeLogs.log_records
	resource := protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), scope) // ResourceLogs.scope_logs
	data := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), resource)  // LogsData.resource_logs
	var u plog.ProtoUnmarshaler
	logs, err := u.UnmarshalLogs(data)
	if err != nil {
		t.Fatalf("unmarshal keys: %v", err)
	}
	attrs := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	if attrs.Len() != len(keys) {
		t.Fatalf("map holds %d keys, want %d", attrs.Len(), len(keys))
	}
	m := dst.SetEmptyMap()
	attrs.MoveTo(m)
	return m
}

// mapWithDuplicates returns a map value with keys in order, the i-th
// holding the int i.
func mapWithDuplicates(t testing.TB, keys ...string) pcommon.Value {
	v := pcommon.NewValueEmpty()
	m := putKeys(t, v, keys...)
	i := 0
	for _, mv := range m.All() {
		mv.SetInt(int64(i))
		i++
	}
	return v
}

// nested returns a value of depth containers, maps or slices, around leaf.
func nested(depth int, slices bool, leaf func(pcommon.Value)) pcommon.Value {
	root := pcommon.NewValueEmpty()
	v := root
	for range depth {
		if slices {
			v = v.SetEmptySlice().AppendEmpty()
		} else {
			v = v.SetEmptyMap().PutEmpty("k")
		}
	}
	leaf(v)
	return root
}

// fromText reads jsonenc's text with encoding/json, a parser independent of
// ours, into a value tree Decode's can be compared with: numbers are
// classified as the crate classifies them, objects become maps (the later
// of two duplicate keys winning, as in the crate).
func fromText(text []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(text))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return convertText(v)
}

func convertText(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		s := string(v)
		if !strings.ContainsAny(s, ".eE") {
			if u, err := strconv.ParseUint(s, 10, 64); err == nil {
				return u, nil
			}
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				if i == 0 {
					return uint64(0), nil
				}
				return i, nil
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !math.IsInf(f, 0) {
			return nil, err
		}
		return f, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			c, err := convertText(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			c, err := convertText(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	default:
		return v, nil
	}
}

// sameTree compares a decoded tree with one from fromText; it also checks
// that the decoded objects are sorted and free of duplicate keys.
func sameTree(decoded, text any) error {
	switch d := decoded.(type) {
	case Object:
		m, ok := text.(map[string]any)
		if !ok || len(m) != len(d) {
			return fmt.Errorf("object %v, want %v", d, text)
		}
		for i, mem := range d {
			if i > 0 && d[i-1].Key >= mem.Key {
				return fmt.Errorf("keys %q and %q out of order", d[i-1].Key, mem.Key)
			}
			if err := sameTree(mem.Value, m[mem.Key]); err != nil {
				return fmt.Errorf("%q: %w", mem.Key, err)
			}
		}
		return nil
	case []any:
		a, ok := text.([]any)
		if !ok || len(a) != len(d) {
			return fmt.Errorf("array %v, want %v", d, text)
		}
		for i := range d {
			if err := sameTree(d[i], a[i]); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return nil
	case float64:
		if f, ok := text.(float64); !ok || math.Float64bits(f) != math.Float64bits(d) {
			return fmt.Errorf("%T %v, want %T %v", decoded, decoded, text, text)
		}
		return nil
	default:
		if decoded != text {
			return fmt.Errorf("%T %v, want %T %v", decoded, decoded, text, text)
		}
		return nil
	}
}

// parseText is what GreptimeDB stores for jsonenc's text of v.
func parseText(t testing.TB, text []byte) []byte {
	t.Helper()
	want, err := Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	return want
}

// checkValue asserts that the Encoder writes what GreptimeDB makes of
// jsonenc's text of v, and that it decodes to what that text holds.
func checkValue(t testing.TB, v pcommon.Value) {
	t.Helper()
	text := jsonenc.AppendValue(nil, v, 0)
	want := parseText(t, text)
	var e Encoder
	got := e.AppendValue([]byte("prefix"), v)
	if !bytes.HasPrefix(got, []byte("prefix")) || !bytes.Equal(got[len("prefix"):], want) {
		t.Fatalf("text %q:\n got % x\nwant % x", text, got[min(len(got), len("prefix")):], want)
	}
	got = got[len("prefix"):]
	tree, err := Decode(got)
	if err != nil {
		t.Fatalf("Decode(% x) of %q: %v", got, text, err)
	}
	fromJSON, err := fromText(text)
	if err != nil {
		t.Fatalf("encoding/json of %q: %v", text, err)
	}
	if err := sameTree(tree, fromJSON); err != nil {
		t.Fatalf("text %q: %v", text, err)
	}
	if _, err := ToJSON(got); err != nil {
		t.Fatalf("ToJSON: %v", err)
	}
}

// unhex reads hex with optional spaces, for expected bytes.
func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}
