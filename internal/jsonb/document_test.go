package jsonb

// appendDocument writes a value tree as a document: a container is the
// root itself, any other value is wrapped in a scalar header
// (src/ser.rs:33-56).
func appendDocument(b []byte, v any) []byte {
	switch v := v.(type) {
	case []any:
		return appendArray(b, v)
	case Object:
		return appendObject(b, v)
	}
	b, at := beginScalar(b)
	b, je := appendTreeValue(b, v)
	putUint32(b, at, je)
	return b
}
