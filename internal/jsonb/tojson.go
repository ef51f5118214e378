package jsonb

import (
	"bytes"
	"math"
	"strconv"
)

// ToJSON renders a document as text, as the crate's to_string does
// (src/functions.rs:1557-1573 and 1616-1786): members in stored order, no
// spaces, strings with only \\, \", \b, \f, \n, \r and \t escaped (other
// control characters are written raw), integers in decimal and floats as
// Rust's ryu crate prints them (src/number.rs:251-271): "1.0", "1e21",
// "1.5e-7", "NaN", "inf", "-inf". The last three are not JSON; nor are raw
// control characters.
//
// Unlike to_string, which falls back to the bytes as text or to "null",
// ToJSON fails on what Decode refuses.
func ToJSON(b []byte) (string, error) {
	v, err := Decode(b)
	if err != nil {
		return "", err
	}
	return string(appendText(nil, v)), nil
}

func appendText(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, v)
	case string:
		return appendTextString(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case uint64:
		return strconv.AppendUint(b, v, 10)
	case float64:
		return appendRyu(b, v)
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendText(b, e)
		}
		return append(b, ']')
	case Object:
		b = append(b, '{')
		for i, m := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendTextString(b, m.Key)
			b = append(b, ':')
			b = appendText(b, m.Value)
		}
		return append(b, '}')
	}
	return b
}

// appendTextString quotes s as escape_scalar_string does
// (src/functions.rs:1757-1786).
func appendTextString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '\\':
			esc = `\\`
		case '"':
			esc = `\"`
		case '\b':
			esc = `\b`
		case '\f':
			esc = `\f`
		case '\n':
			esc = `\n`
		case '\r':
			esc = `\r`
		case '\t':
			esc = `\t`
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendRyu writes f as ryu::Buffer::format does: the shortest digits that
// read back as f (strconv's and ryu's are the same digits), laid out as
// plain decimals while the decimal exponent is small and in scientific
// notation otherwise, always with a '.' or an 'e' (ryu 1.0, src/pretty/mod.rs,
// format64).
func appendRyu(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case f == 0:
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	// strconv's 'e' form is d.ddde±XX: take its digits and its exponent.
	var tmp [32]byte
	sci := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	e := bytes.IndexByte(sci, 'e')
	exp, _ := strconv.Atoi(string(sci[e+1:]))
	digits := make([]byte, 0, len(sci))
	digits = append(digits, sci[0])
	digits = append(digits, sci[min(2, e):e]...) // drop the '.'
	n := len(digits)
	point := exp + 1 // the value is 0.digits × 10^point
	switch {
	case point >= n && point <= 16: // 1234e7 -> 12340000000.0
		b = append(b, digits...)
		b = append(b, "0000000000000000"[:point-n]...)
		return append(b, ".0"...)
	case point > 0 && point <= 16: // 1234e-2 -> 12.34
		b = append(b, digits[:point]...)
		b = append(b, '.')
		return append(b, digits[point:]...)
	case point > -5 && point <= 0: // 1234e-6 -> 0.001234
		b = append(b, "0."...)
		b = append(b, "0000"[:-point]...)
		return append(b, digits...)
	case n == 1: // 1e30
		b = append(b, digits...)
	default: // 1234e30 -> 1.234e33
		b = append(b, digits[0], '.')
		b = append(b, digits[1:]...)
	}
	b = append(b, 'e')
	return strconv.AppendInt(b, int64(point-1), 10)
}
