package jsonb

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Parse reads JSON text as the crate's parse_value does and returns the
// document its to_vec writes (src/parser.rs:31-34, src/value.rs:218-222).
func Parse(text []byte) ([]byte, error) {
	p := parser{buf: text}
	v, err := p.parse()
	if err != nil {
		return nil, err
	}
	return document(v), nil
}

// parseValue reads JSON text into the value tree Decode returns, objects
// sorted by key and without duplicates, as the crate holds them.
func parseValue(text []byte) (any, error) {
	p := parser{buf: text}
	return p.parse()
}

// parser follows the crate's parser (src/parser.rs), including what it
// accepts beyond JSON: raw control characters in strings, the two-character
// escapes \n, \r, \t and the four-character \x0C between tokens, \u{XXXX}
// escapes, and lone surrogate escapes kept as their escape text.
type parser struct {
	buf   []byte
	idx   int
	depth int
}

type syntaxError struct {
	msg string
	pos int
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("jsonb: %s at offset %d", e.msg, e.pos)
}

func (p *parser) fail(msg string) error {
	return &syntaxError{msg: msg, pos: p.idx}
}

func (p *parser) eof() error {
	return p.fail("unexpected end of input")
}

// parse reads one value and then only whitespace (src/parser.rs:54-62).
func (p *parser) parse() (any, error) {
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.idx < len(p.buf) {
		return nil, p.fail("trailing characters")
	}
	return v, nil
}

// skipSpace skips ASCII whitespace (Rust's is_ascii_whitespace: space,
// \t, \n, \f, \r) and, outside strings, the escapes \n, \r, \t and \x0C
// written out as text (src/parser.rs:164-191).
func (p *parser) skipSpace() {
	for p.idx < len(p.buf) {
		switch c := p.buf[p.idx]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r':
			p.idx++
		case c != '\\':
			return
		case p.idx+1 < len(p.buf) && (p.buf[p.idx+1] == 'n' || p.buf[p.idx+1] == 'r' || p.buf[p.idx+1] == 't'):
			p.idx += 2
		case p.idx+3 < len(p.buf) && string(p.buf[p.idx+1:p.idx+4]) == "x0C":
			p.idx += 4
		default:
			return
		}
	}
}

// value reads one value after any whitespace (src/parser.rs:64-80).
func (p *parser) value() (any, error) {
	p.skipSpace()
	if p.idx >= len(p.buf) {
		return nil, p.eof()
	}
	switch c := p.buf[p.idx]; {
	case c == 'n':
		return nil, p.literal("null")
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == '"':
		return p.string()
	case c == '[':
		return p.array()
	case c == '{':
		return p.object()
	default:
		p.idx++
		return nil, p.fail("expected a value")
	}
}

// literal reads word byte by byte (src/parser.rs:193-215).
func (p *parser) literal(word string) error {
	for i := range len(word) {
		if p.idx >= len(p.buf) {
			return p.eof()
		}
		c := p.buf[p.idx]
		p.idx++
		if c != word[i] {
			return p.fail("expected " + word)
		}
	}
	return nil
}

// number reads JSON's number grammar, then classifies the text as the crate
// does (src/parser.rs:217-278; see appendIntegerText).
func (p *parser) number() (any, error) {
	start := p.idx
	integer := true
	if p.buf[p.idx] == '-' {
		p.idx++
	}
	if p.idx < len(p.buf) && p.buf[p.idx] == '0' {
		p.idx++
		if p.idx < len(p.buf) && isDigit(p.buf[p.idx]) {
			p.idx++
			return nil, p.fail("invalid number")
		}
	} else if err := p.digits(); err != nil {
		return nil, err
	}
	if p.idx < len(p.buf) && p.buf[p.idx] == '.' {
		integer = false
		p.idx++
		if err := p.digits(); err != nil {
			return nil, err
		}
	}
	if p.idx < len(p.buf) && (p.buf[p.idx] == 'e' || p.buf[p.idx] == 'E') {
		integer = false
		p.idx++
		if p.idx < len(p.buf) && (p.buf[p.idx] == '+' || p.buf[p.idx] == '-') {
			p.idx++
		}
		if err := p.digits(); err != nil {
			return nil, err
		}
	}
	text := p.buf[start:p.idx]
	if integer {
		if text[0] != '-' {
			if u, ok := parseDigits(text); ok {
				return u, nil
			}
		} else if mag, ok := parseDigits(text[1:]); ok && mag <= 1<<63 {
			if mag == 0 {
				return uint64(0), nil // "-0": the format has one zero
			}
			return -int64(mag), nil // 1<<63 wraps to MinInt64, as wanted
		}
	}
	// Anything else is read as a float, correctly rounded, which overflows
	// to ±Inf (the crate's fast_float2 does the same); the text is a JSON
	// number, so ParseFloat can fail with nothing but ErrRange.
	f, _ := strconv.ParseFloat(string(text), 64)
	return f, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digits reads one or more digits (src/parser.rs:133-147, and the callers'
// checks of the count).
func (p *parser) digits() error {
	if p.idx >= len(p.buf) {
		return p.eof()
	}
	start := p.idx
	for p.idx < len(p.buf) && isDigit(p.buf[p.idx]) {
		p.idx++
	}
	if p.idx == start {
		p.idx++
		return p.fail("invalid number")
	}
	return nil
}

// string reads a string in two passes, as the crate does: the first finds
// the closing quote, stepping over an escape's bytes without checking them,
// the second unescapes what lies between the quotes (src/parser.rs:280-326).
func (p *parser) string() (any, error) {
	p.idx++ // the opening quote
	start := p.idx
	escapes := false
	for {
		if p.idx >= len(p.buf) {
			return nil, p.eof()
		}
		switch p.buf[p.idx] {
		case '\\':
			escapes = true
			p.idx++
			if p.idx >= len(p.buf) {
				return nil, p.eof()
			}
			if p.buf[p.idx] != 'u' {
				p.idx++
				continue
			}
			p.idx++
			if p.idx >= len(p.buf) {
				return nil, p.eof()
			}
			if p.buf[p.idx] == '{' {
				p.idx += 6 // {XXXX}
			} else {
				p.idx += 4
			}
			continue
		case '"':
			p.idx++
		default:
			p.idx++
			continue
		}
		break
	}
	raw := p.buf[start : p.idx-1]
	if !escapes {
		if !utf8.Valid(raw) {
			return nil, p.fail("invalid UTF-8 in string")
		}
		return string(raw), nil
	}
	s, err := unescape(raw)
	if err != nil {
		return nil, &syntaxError{msg: err.Error(), pos: p.idx}
	}
	return s, nil
}

var errShortEscape = errors.New("truncated escape")

// unescape decodes the escapes of a string's raw bytes and checks that the
// result is UTF-8 (src/util.rs:45-193).
func unescape(raw []byte) (string, error) {
	out := make([]byte, 0, len(raw))
	for len(raw) > 0 {
		c := raw[0]
		raw = raw[1:]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if len(raw) == 0 {
			return "", errShortEscape
		}
		c = raw[0]
		raw = raw[1:]
		switch c {
		case '\\', '"', '/':
			out = append(out, c)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			var err error
			out, raw, err = unescapeUnicode(out, raw)
			if err != nil {
				return "", err
			}
		default:
			return "", fmt.Errorf("invalid escape %q", c)
		}
	}
	if !utf8.Valid(out) {
		return "", errors.New("invalid UTF-8 in string")
	}
	return string(out), nil
}

// unescapeUnicode decodes what follows \u: four hex digits, or four in
// braces. A surrogate pair becomes its character; a surrogate that is not
// part of a pair is kept as the six characters of its escape, and so is the
// escape after a high surrogate when that is not a low one
// (src/util.rs:81-154, 161-169: RFC 8259 allows such strings).
func unescapeUnicode(out, raw []byte) ([]byte, []byte, error) {
	hi, digits, raw, err := hexEscape(raw)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case hi >= 0xDC00 && hi <= 0xDFFF:
		return appendEscapeText(out, digits), raw, nil
	case hi < 0xD800 || hi > 0xDBFF:
		return utf8.AppendRune(out, rune(hi)), raw, nil
	}
	if len(raw) < 2 || raw[0] != '\\' || raw[1] != 'u' {
		return appendEscapeText(out, digits), raw, nil
	}
	lo, loDigits, rest, err := hexEscape(raw[2:])
	if err != nil {
		return nil, nil, err
	}
	if lo < 0xDC00 || lo > 0xDFFF {
		out = appendEscapeText(out, digits)
		return appendEscapeText(out, loDigits), rest, nil
	}
	r := (rune(hi)-0xD800)<<10 | (rune(lo) - 0xDC00) + 0x10000
	return utf8.AppendRune(out, r), rest, nil
}

// hexEscape reads XXXX or {XXXX} and returns the code unit, its digits as
// written, and what follows.
func hexEscape(raw []byte) (uint16, []byte, []byte, error) {
	braced := len(raw) > 0 && raw[0] == '{'
	if braced {
		raw = raw[1:]
	}
	if len(raw) < 4 {
		return 0, nil, nil, errShortEscape
	}
	digits := raw[:4]
	raw = raw[4:]
	if braced {
		if len(raw) == 0 || raw[0] != '}' {
			return 0, nil, nil, errors.New("expected } after a hex escape")
		}
		raw = raw[1:]
	}
	var n uint16
	for _, d := range digits {
		v, ok := hexValue(d)
		if !ok {
			return 0, nil, nil, fmt.Errorf("invalid hex digit %q", d)
		}
		n = n<<4 | v
	}
	return n, digits, raw, nil
}

func hexValue(c byte) (uint16, bool) {
	switch {
	case c >= '0' && c <= '9':
		return uint16(c - '0'), true
	case c >= 'a' && c <= 'f':
		return uint16(c - 'a' + 10), true
	case c >= 'A' && c <= 'F':
		return uint16(c - 'A' + 10), true
	}
	return 0, false
}

func appendEscapeText(out, digits []byte) []byte {
	return append(append(out, '\\', 'u'), digits...)
}

// array reads the elements of an array (src/parser.rs:328-351).
func (p *parser) array() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.idx++ // [
	values := []any{}
	for {
		p.skipSpace()
		if p.idx >= len(p.buf) {
			return nil, p.eof()
		}
		if p.buf[p.idx] == ']' {
			p.idx++
			break
		}
		if len(values) > 0 {
			if p.buf[p.idx] != ',' {
				return nil, p.fail("expected , or ]")
			}
			p.idx++
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		values = append(values, v)
	}
	p.depth--
	return values, nil
}

// object reads the members of an object (src/parser.rs:353-388), then sorts
// them by key, the last of each key winning, as inserting them into the
// crate's BTreeMap does.
func (p *parser) object() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.idx++ // {
	obj := Object{}
	for {
		p.skipSpace()
		if p.idx >= len(p.buf) {
			return nil, p.eof()
		}
		if p.buf[p.idx] == '}' {
			p.idx++
			break
		}
		if len(obj) > 0 {
			if p.buf[p.idx] != ',' {
				return nil, p.fail("expected , or }")
			}
			p.idx++
		}
		// The crate reads any value here, and only then checks that it
		// is a string.
		k, err := p.value()
		if err != nil {
			return nil, err
		}
		key, ok := k.(string)
		if !ok {
			return nil, p.fail("object key is not a string")
		}
		p.skipSpace()
		if p.idx >= len(p.buf) {
			return nil, p.eof()
		}
		if p.buf[p.idx] != ':' {
			return nil, p.fail("expected :")
		}
		p.idx++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		obj = append(obj, Member{Key: key, Value: v})
	}
	p.depth--
	return sortMembers(obj), nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxNesting {
		return p.fail(fmt.Sprintf("nested deeper than %d levels", maxNesting))
	}
	return nil
}

// sortMembers sorts members by key, bytewise, keeping the last of each key.
func sortMembers(obj Object) Object {
	slices.SortStableFunc(obj, func(a, b Member) int { return strings.Compare(a.Key, b.Key) })
	n := 0
	for i := range obj {
		if i+1 < len(obj) && obj[i].Key == obj[i+1].Key {
			continue
		}
		obj[n] = obj[i]
		n++
	}
	return obj[:n]
}

// document writes a value tree as a document: a container is the root
// itself, any other value is wrapped in a scalar header (src/ser.rs:33-56).
func document(v any) []byte {
	switch v := v.(type) {
	case []any:
		return appendArray(nil, v)
	case Object:
		return appendObject(nil, v)
	}
	b, at := beginScalar(nil)
	b, je := appendTreeValue(b, v)
	putUint32(b, at, je)
	return b
}
