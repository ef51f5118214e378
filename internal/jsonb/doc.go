// Package jsonb writes and reads JSONB, the binary JSON GreptimeDB stores in
// its JSON columns, in the format of the Rust jsonb crate v0.4.4, the
// version GreptimeDB pins in its Cargo.lock. GreptimeDB turns the text it
// receives for a JSON column into this format with
// jsonb::parse_value(text)?.to_vec() (src/operator/src/req_convert/common.rs
// in GreptimeDB).
//
// The Encoder writes the document straight from pdata values, with no text
// in between. Its guarantee: for any value, the bytes are those GreptimeDB
// makes of the text package jsonenc writes of it, so that a row holds the
// same data whichever of the two the exporter sends. That means reproducing
// the parse of the text, not the pdata types: a double 1.0 is written "1" by
// jsonenc and read back as an integer, NaN is written null, bytes are base64
// strings, invalid UTF-8 becomes U+FFFD, values nested deeper than
// jsonenc.MaxDepth become jsonenc's marker string, and objects are sorted by
// key with the last of duplicate keys kept.
//
// Parse is the crate's parse_value followed by to_vec, for JSON text;
// Decode and ToJSON read documents back.
//
// # The format
//
// Citations are of the crate's files at tag v0.4.4.
//
// A document is a container: a 4-byte header whose top 3 bits say array
// (0x80000000), object (0x40000000) or scalar (0x20000000) and whose low 29
// bits count the members (src/constants.rs:20-25); a scalar document holds
// one value and a count of 0. JEntries follow, 4 bytes each: one per array
// element, one per object key then one per object value, one for a
// scalar's value. A JEntry's bits 28-30 give the member's type (null,
// string, number, false, true, container: src/constants.rs:28-33) and its
// low 28 bits the length of its data (src/constants.rs:46-48), which
// follows all the JEntries, in the same order (src/ser.rs:42-105). All
// integers are big endian. A string's data is its UTF-8 bytes, unescaped; a
// number's is a tag byte and 0, 1, 2, 4 or 8 bytes (src/number.rs:35-94); a
// container's is a whole nested container. Keys are sorted bytewise, each
// once (src/value.rs:25, a BTreeMap).
//
// # Where this package differs from the crate
//
// On what jsonenc writes, Parse accepts what the crate accepts and writes
// the same bytes. Elsewhere:
//   - Parse and Decode refuse nesting deeper than 10000 levels; the crate
//     recurses until its stack overflows.
//   - Parse reads floats with strconv.ParseFloat where the crate uses
//     fast_float2; both round correctly, so they agree.
//   - Decode and ToJSON refuse documents the crate would misread, panic on
//     or half ignore: lengths that do not add up, trailing bytes, a null or
//     boolean with data, a key that is not a string, a float not 8 bytes
//     long, invalid UTF-8, offset JEntries. The crate's from_slice instead
//     falls back to parsing bytes it cannot decode as JSON text, and its
//     to_string to printing them as text.
//   - Errors say what went wrong in this package's words, not the crate's.
package jsonb // import "github.com/greptime-events/greptimeeventsexporter/internal/jsonb"
