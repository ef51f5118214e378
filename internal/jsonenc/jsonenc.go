// Package jsonenc writes pdata values as JSON text into byte slices. It is
// the payload writer of the greptime_events exporter and nothing else: no
// reflection, no intermediate maps, and output that is always valid JSON.
package jsonenc // import "github.com/greptime-events/greptimeeventsexporter/internal/jsonenc"

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// MaxDepth bounds the nesting written into a payload. Deeper maps and
// slices are replaced by DepthMarker, which keeps the writer off deep stacks
// and stays well under the recursion limits of JSON parsers (serde_json: 128).
const MaxDepth = 64

// DepthMarker stands in for a value nested deeper than MaxDepth: the JSON
// string "(truncated: nested deeper than 64 levels)".
var DepthMarker = `"(truncated: nested deeper than ` + strconv.Itoa(MaxDepth) + ` levels)"`

// AppendValue appends v as JSON. It never fails: invalid UTF-8 becomes
// U+FFFD, NaN and ±Inf become null, bytes become base64 strings.
func AppendValue(buf []byte, v pcommon.Value, depth int) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return AppendString(buf, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(buf, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return appendFloat(buf, v.Double())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(buf, v.Bool())
	case pcommon.ValueTypeBytes:
		return appendBytes(buf, v.Bytes().AsRaw())
	case pcommon.ValueTypeMap:
		return AppendMap(buf, v.Map(), depth)
	case pcommon.ValueTypeSlice:
		return appendSlice(buf, v.Slice(), depth)
	default:
		return append(buf, "null"...)
	}
}

// AppendMap appends m as a JSON object. depth counts the containers
// already open around it.
func AppendMap(buf []byte, m pcommon.Map, depth int) []byte {
	if depth >= MaxDepth {
		return append(buf, DepthMarker...)
	}
	buf = append(buf, '{')
	first := true
	for k, v := range m.All() {
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = AppendString(buf, k)
		buf = append(buf, ':')
		buf = AppendValue(buf, v, depth+1)
	}
	return append(buf, '}')
}

func appendSlice(buf []byte, s pcommon.Slice, depth int) []byte {
	if depth >= MaxDepth {
		return append(buf, DepthMarker...)
	}
	buf = append(buf, '[')
	for i := range s.Len() {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = AppendValue(buf, s.At(i), depth+1)
	}
	return append(buf, ']')
}

// appendFloat writes f as encoding/json does; NaN and ±Inf, which JSON
// cannot hold, become null.
func appendFloat(buf []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(buf, "null"...)
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(buf, f, 'e', -1, 64)
	}
	return strconv.AppendFloat(buf, f, 'f', -1, 64)
}

func appendBytes(buf, b []byte) []byte {
	buf = append(buf, '"')
	buf = base64.StdEncoding.AppendEncode(buf, b)
	return append(buf, '"')
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 is replaced by
// U+FFFD; quotes, backslashes and control characters are escaped.
func AppendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	if !needsEscape(s) { // the common case: copy it whole
		buf = append(buf, s...)
		return append(buf, '"')
	}
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain ASCII bytes at a time: most text needs no escaping.
		for i+8 <= len(s) && !needsEscape8(load8(s, i)) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// plainJSON marks the bytes a JSON string holds as they are: printable
// ASCII but the quote and the backslash.
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// needsEscape reports whether any byte of s needs escaping or checking,
// eight bytes at a time (the last word overlapping the one before it), or
// byte by byte for a string shorter than a word.
func needsEscape(s string) bool {
	n := len(s)
	if n < 8 {
		for i := range n {
			if !plainJSON[s[i]] {
				return true
			}
		}
		return false
	}
	for i := 0; i+8 <= n; i += 8 {
		if needsEscape8(load8(s, i)) {
			return true
		}
	}
	return n%8 != 0 && needsEscape8(load8(s, n-8))
}

// load8 reads the 8 bytes of s at i as a little-endian word. The compiler
// turns the eight byte loads into one after a single bounds check: an unsafe
// load measured no faster (BenchmarkAppendString, 6.3 ns/string both ways).
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// needsEscape8 reports whether any of 8 bytes is a control character, a
// quote, a backslash or not ASCII, testing all eight at once (the "has a
// zero byte" bit trick on the bytes, and on their XOR with '"' and '\\').
func needsEscape8(w uint64) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	q := w ^ '"'*ones
	bs := w ^ '\\'*ones
	return ((w-0x20*ones)&^w|(q-ones)&^q|(bs-ones)&^bs|w)&highs != 0
}
