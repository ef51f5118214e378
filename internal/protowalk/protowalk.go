// Package protowalk reads protobuf wire bytes without decoding them into
// messages: enough to count the rows or records of a request cheaply.
package protowalk // import "github.com/greptime-events/greptimeeventsexporter/internal/protowalk"

import "google.golang.org/protobuf/encoding/protowire"

// Fields calls f with each length-delimited field of the message in b (its
// number and bytes), skipping fields of other wire types, until f returns an
// error or b ends.
func Fields(b []byte, f func(protowire.Number, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := f(num, v); err != nil {
			return err
		}
	}
	return nil
}
