package jsonb

import (
	"math"
	"math/bits"
	"strconv"
)

// The crate reads a number without a fraction or an exponent as an integer:
// unsigned when it has no sign, signed when it has one, so "-0" is a signed
// zero, which is stored as the same 0x00 as an unsigned one. When the
// integer does not fit 64 bits, or the text has a fraction or an exponent,
// it reads a float: "1.0" and "1e5" are floats, and so is
// "-9223372036854775809" (src/parser.rs:264-277).

// appendIntegerText appends the number of the text of an integer, text
// being an optional '-' and decimal digits, and reports false, appending
// nothing, when it does not fit the integer the crate would read, which then
// reads it as a float.
func appendIntegerText(b, text []byte) ([]byte, bool) {
	neg := len(text) > 0 && text[0] == '-'
	if neg {
		text = text[1:]
	}
	mag, ok := parseDigits(text)
	switch {
	case !ok:
		return b, false
	case !neg:
		return appendUint(b, mag), true
	case mag <= 1<<63:
		return appendInt(b, -int64(mag)), true // 1<<63 wraps to MinInt64, as wanted
	default:
		return b, false
	}
}

// parseDigits reads decimal digits as an unsigned integer, reporting false
// when there are none, one is not a digit, or the value overflows 64 bits.
func parseDigits(text []byte) (uint64, bool) {
	if len(text) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range text {
		d := uint64(c) - '0'
		if d > 9 {
			return 0, false
		}
		hi, lo := bits.Mul64(v, 10)
		lo, carry := bits.Add64(lo, d, 0)
		if hi != 0 || carry != 0 {
			return 0, false
		}
		v = lo
	}
	return v, true
}

// appendDouble appends the number GreptimeDB makes of the text jsonenc
// writes for a finite double: encoding/json's shortest form, 'f' format
// unless |f| < 1e-6 or |f| >= 1e21. The text round-trips, and the crate
// reads floats correctly rounded, so a float it reads is f itself; what is
// left to decide is whether the text is an integer.
func appendDouble(b []byte, f float64) []byte {
	abs := math.Abs(f)
	switch {
	case f != math.Trunc(f) || abs >= 1e21:
		// A fraction, or 'e' format: read as a float. (|f| < 1e-6 but not
		// zero has a fraction too.)
		return appendFloat(b, f)
	case abs < 1<<53:
		// An integer below 2^53 is its own shortest form: the text is
		// exactly int64(f), and -0 is "-0", a zero.
		if f < 0 {
			return appendInt(b, int64(f))
		}
		return appendUint(b, uint64(f))
	}
	// A larger integer is written as its shortest digits padded with zeros,
	// which need not be f's exact value (2^63 is "9223372036854776000"):
	// read that text as the crate would.
	var tmp [32]byte
	text := strconv.AppendFloat(tmp[:0], f, 'f', -1, 64)
	if out, ok := appendIntegerText(b, text); ok {
		return out
	}
	return appendFloat(b, f)
}
