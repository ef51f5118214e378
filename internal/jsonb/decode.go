package jsonb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Object is a decoded object: its members in the order the document stores
// them. The crate, Encoder and Parse store them sorted by key, compared
// bytewise, with no key twice; Decode does not check that.
type Object []Member

// Member is one member of an Object.
type Member struct {
	Key   string
	Value any
}

var (
	errTruncated = errors.New("jsonb: truncated document")
	errTrailing  = errors.New("jsonb: trailing bytes")
)

// Decode reads a document into a value tree of nil, bool, string, int64,
// uint64, float64, []any and Object. As in the crate, a number stored as a
// signed integer is an int64, one stored unsigned (every integer the crate
// parses from text without a sign) a uint64, and zero, stored without a
// sign, uint64(0) (src/number.rs:97-132).
//
// Decode checks what the crate's decoder takes on trust (src/de.rs:92-190):
// every length and count must fit the document, a container's JEntry must
// give its exact length, and nothing may follow the root value; strings and
// keys must be UTF-8. It refuses offset JEntries, which 0.4.4 never writes,
// and documents nested deeper than 10000 levels.
func Decode(b []byte) (any, error) {
	return decodeContainer(b, 1)
}

// decodeContainer decodes the container that is all of b: the root of a
// document, or a member's data. depth counts it and those around it.
func decodeContainer(b []byte, depth int) (any, error) {
	if len(b) < 4 {
		return nil, errTruncated
	}
	header := binary.BigEndian.Uint32(b)
	n := int(header & headerCount)
	switch header & headerType {
	case scalarHeader:
		if header != scalarHeader {
			return nil, fmt.Errorf("jsonb: bad scalar header %#08x", header)
		}
		if len(b) < 8 {
			return nil, errTruncated
		}
		je := binary.BigEndian.Uint32(b[4:])
		data := b[8:]
		if l := int(je & jLenMask); l != len(data) {
			return nil, lengthError(l, len(data))
		}
		return decodeMember(je, data, depth)
	case arrayHeader:
		if n > (len(b)-4)/4 {
			return nil, errTruncated
		}
		entries, data := b[4:4+4*n], b[4+4*n:]
		values := make([]any, n)
		for i := range values {
			v, rest, err := decodeNext(binary.BigEndian.Uint32(entries[4*i:]), data, depth)
			if err != nil {
				return nil, err
			}
			values[i], data = v, rest
		}
		if len(data) > 0 {
			return nil, errTrailing
		}
		return values, nil
	case objectHeader:
		if n > (len(b)-4)/8 {
			return nil, errTruncated
		}
		entries, data := b[4:4+8*n], b[4+8*n:]
		obj := make(Object, n)
		for i := range obj {
			je := binary.BigEndian.Uint32(entries[4*i:])
			if je&(jOffsetFlag|jTypeMask) != jString {
				return nil, fmt.Errorf("jsonb: object key with JEntry %#08x, not a string", je)
			}
			k, rest, err := decodeNext(je, data, depth)
			if err != nil {
				return nil, err
			}
			obj[i].Key, data = k.(string), rest
		}
		for i := range obj {
			v, rest, err := decodeNext(binary.BigEndian.Uint32(entries[4*(n+i):]), data, depth)
			if err != nil {
				return nil, err
			}
			obj[i].Value, data = v, rest
		}
		if len(data) > 0 {
			return nil, errTrailing
		}
		return obj, nil
	default:
		return nil, fmt.Errorf("jsonb: bad container header %#08x", header)
	}
}

// decodeNext decodes the member whose JEntry is je from the start of data,
// and returns what follows it.
func decodeNext(je uint32, data []byte, depth int) (any, []byte, error) {
	l := int(je & jLenMask)
	if l > len(data) {
		return nil, nil, lengthError(l, len(data))
	}
	v, err := decodeMember(je, data[:l], depth)
	return v, data[l:], err
}

func lengthError(want, have int) error {
	if want > have {
		return fmt.Errorf("jsonb: member of %d bytes where %d remain", want, have)
	}
	return errTrailing
}

// decodeMember decodes a member's data, all of b, by its JEntry.
func decodeMember(je uint32, b []byte, depth int) (any, error) {
	if je&jOffsetFlag != 0 {
		return nil, fmt.Errorf("jsonb: offset JEntry %#08x", je)
	}
	switch je & jTypeMask {
	case jNull, jTrue, jFalse:
		if len(b) != 0 {
			return nil, fmt.Errorf("jsonb: JEntry %#08x gives data to a null or boolean", je)
		}
		switch je & jTypeMask {
		case jTrue:
			return true, nil
		case jFalse:
			return false, nil
		}
		return nil, nil
	case jString:
		if !utf8.Valid(b) {
			return nil, errors.New("jsonb: invalid UTF-8 in a string")
		}
		return string(b), nil
	case jNumber:
		return decodeNumber(b)
	case jContainer:
		if depth >= maxNesting {
			return nil, fmt.Errorf("jsonb: nested deeper than %d levels", maxNesting)
		}
		return decodeContainer(b, depth+1)
	default:
		return nil, fmt.Errorf("jsonb: bad JEntry type %#08x", je)
	}
}

// decodeNumber decodes a number's data (src/number.rs:97-132). The crate
// reads an integer in 1, 2, 4 or 8 bytes whatever its value, so we do too;
// it is stricter than the crate only where the crate would panic or ignore
// bytes.
func decodeNumber(b []byte) (any, error) {
	if len(b) == 0 {
		return nil, errors.New("jsonb: empty number")
	}
	tag, v := b[0], b[1:]
	switch {
	case tag == numZero && len(v) == 0:
		return uint64(0), nil
	case tag == numNaN && len(v) == 0:
		return math.NaN(), nil
	case tag == numInf && len(v) == 0:
		return math.Inf(1), nil
	case tag == numNegInf && len(v) == 0:
		return math.Inf(-1), nil
	case tag == numFloat && len(v) == 8:
		return math.Float64frombits(binary.BigEndian.Uint64(v)), nil
	case tag == numInt:
		switch len(v) {
		case 1:
			return int64(int8(v[0])), nil
		case 2:
			return int64(int16(binary.BigEndian.Uint16(v))), nil
		case 4:
			return int64(int32(binary.BigEndian.Uint32(v))), nil
		case 8:
			return int64(binary.BigEndian.Uint64(v)), nil
		}
	case tag == numUint:
		switch len(v) {
		case 1:
			return uint64(v[0]), nil
		case 2:
			return uint64(binary.BigEndian.Uint16(v)), nil
		case 4:
			return uint64(binary.BigEndian.Uint32(v)), nil
		case 8:
			return binary.BigEndian.Uint64(v), nil
		}
	}
	return nil, fmt.Errorf("jsonb: bad number % x", b)
}

// appendTreeValue appends a member's data and returns its JEntry
// (src/ser.rs:127-159).
func appendTreeValue(b []byte, v any) ([]byte, uint32) {
	start := len(b)
	switch v := v.(type) {
	case bool:
		return b, boolJEntry(v)
	case string:
		b = append(b, v...)
		return b, jentry(jString, len(b)-start)
	case int64:
		b = appendInt(b, v)
		return b, jentry(jNumber, len(b)-start)
	case uint64:
		b = appendUint(b, v)
		return b, jentry(jNumber, len(b)-start)
	case float64:
		b = appendFloat(b, v)
		return b, jentry(jNumber, len(b)-start)
	case []any:
		b = appendArray(b, v)
		return b, jentry(jContainer, len(b)-start)
	case Object:
		b = appendObject(b, v)
		return b, jentry(jContainer, len(b)-start)
	default: // nil, or what a value tree does not hold
		return b, jNull
	}
}

func appendArray(b []byte, values []any) []byte {
	b, at := beginContainer(b, arrayHeader, len(values), len(values))
	for _, v := range values {
		var je uint32
		b, je = appendTreeValue(b, v)
		putUint32(b, at, je)
		at += 4
	}
	return b
}

// appendObject writes obj's members in their order: it is for objects
// already sorted, as Parse and Decode make them.
func appendObject(b []byte, obj Object) []byte {
	b, at := beginContainer(b, objectHeader, len(obj), 2*len(obj))
	for _, m := range obj {
		b = append(b, m.Key...)
		putUint32(b, at, jentry(jString, len(m.Key)))
		at += 4
	}
	for _, m := range obj {
		var je uint32
		b, je = appendTreeValue(b, m.Value)
		putUint32(b, at, je)
		at += 4
	}
	return b
}
