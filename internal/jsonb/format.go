package jsonb

import (
	"encoding/binary"
	"math"
)

// Container headers: the top 3 bits name the container, the low 29 bits
// count its members (src/constants.rs:20-25).
const (
	arrayHeader  uint32 = 0x80000000
	objectHeader uint32 = 0x40000000
	scalarHeader uint32 = 0x20000000 // a document whose root is not a container: one JEntry, no count
	headerType   uint32 = 0xE0000000
	headerCount  uint32 = 0x1FFFFFFF
)

// JEntry tags: bit 31 would mark an offset (0.4.4 never writes one,
// src/constants.rs:44-46), bits 28-30 the type, the low 28 bits the length
// of the member's data (src/constants.rs:28-33 and 46-48).
const (
	jOffsetFlag uint32 = 0x80000000
	jTypeMask   uint32 = 0x70000000
	jLenMask    uint32 = 0x0FFFFFFF

	jNull      uint32 = 0x00000000
	jString    uint32 = 0x10000000
	jNumber    uint32 = 0x20000000
	jFalse     uint32 = 0x30000000
	jTrue      uint32 = 0x40000000
	jContainer uint32 = 0x50000000
)

// Number tags: the first byte of a number's data (src/constants.rs:36-42).
const (
	numZero   byte = 0x00
	numNaN    byte = 0x10
	numInf    byte = 0x20
	numNegInf byte = 0x30
	numInt    byte = 0x40
	numUint   byte = 0x50
	numFloat  byte = 0x60
)

// jentry makes the JEntry of a member whose data is n bytes long. The crate
// ORs the length, cut to 32 bits, into the tag without masking it
// (src/jentry.rs:51-74, src/ser.rs:116-124), so a member of 256 MiB or more
// spills into the type bits; we write the same bits so that the bytes stay
// those GreptimeDB writes, even there.
func jentry(tag uint32, n int) uint32 {
	return tag | uint32(n)
}

// putUint32 writes a header or JEntry, big endian as everything in the
// format (src/ser.rs:44, 116-124).
func putUint32(b []byte, at int, v uint32) {
	binary.BigEndian.PutUint32(b[at:], v)
}

// beginContainer appends a container header for n members and room for
// their JEntries (one per array element, two per object member: keys
// first, then values; src/ser.rs:60-105), and returns where the JEntries
// start. The crate writes the count unmasked too (src/ser.rs:61, 81).
func beginContainer(b []byte, header uint32, n, entries int) ([]byte, int) {
	b = binary.BigEndian.AppendUint32(b, header|uint32(n))
	at := len(b)
	return append(b, make([]byte, 4*entries)...), at
}

// beginScalar appends the header of a document whose root is a scalar and
// room for its one JEntry (src/ser.rs:42-56), and returns where the JEntry
// goes.
func beginScalar(b []byte) ([]byte, int) {
	b = binary.BigEndian.AppendUint32(b, scalarHeader)
	return append(b, 0, 0, 0, 0), len(b)
}

// appendInt appends v as a number's data in the fewest bytes that hold it
// as a signed integer: 0 is one tag byte, others a tag and 1, 2, 4 or 8
// big-endian bytes (src/number.rs:37-56).
func appendInt(b []byte, v int64) []byte {
	switch {
	case v == 0:
		return append(b, numZero)
	case v >= math.MinInt8 && v <= math.MaxInt8:
		return append(b, numInt, byte(v))
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return binary.BigEndian.AppendUint16(append(b, numInt), uint16(v))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return binary.BigEndian.AppendUint32(append(b, numInt), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(b, numInt), uint64(v))
	}
}

// appendUint is appendInt for unsigned integers (src/number.rs:57-76).
func appendUint(b []byte, v uint64) []byte {
	switch {
	case v == 0:
		return append(b, numZero)
	case v <= math.MaxUint8:
		return append(b, numUint, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, numUint), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, numUint), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(b, numUint), v)
	}
}

// appendFloat appends f as a number's data: NaN and the infinities are a
// tag alone, every other float (zeros included) a tag and its 8 IEEE 754
// bytes, big endian (src/number.rs:77-93).
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, numNaN)
	case math.IsInf(f, 1):
		return append(b, numInf)
	case math.IsInf(f, -1):
		return append(b, numNegInf)
	default:
		return binary.BigEndian.AppendUint64(append(b, numFloat), math.Float64bits(f))
	}
}

// maxNesting bounds the containers Parse and Decode open inside each other.
// The crate has no bound of its own: it recurses until its thread's stack
// runs out. Ours keeps Go's stack small; it is far above the MaxDepth of
// jsonenc, and so of anything the exporter writes.
const maxNesting = 10000
