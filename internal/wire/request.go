package wire

import (
	"slices"
	"sync"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// Buffer holds the inserts of one push, one after another, each with its
// framing in front. Callers append an insert's rows to B between
// BeginInsert and EndInsert. Buffers are pooled: a push reuses the memory
// an earlier one grew.
type Buffer struct {
	B []byte
}

// maxPooledBuffer keeps a rare huge push from pinning its memory in the pool.
const maxPooledBuffer = 16 << 20

var bufferPool = sync.Pool{New: func() any { return new(Buffer) }}

// GetBuffer returns an empty Buffer from the pool.
func GetBuffer() *Buffer { return bufferPool.Get().(*Buffer) }

// Release returns the buffer to the pool. Neither it nor any Insert or
// Request made from it may be used after.
func (b *Buffer) Release() {
	if cap(b.B) > maxPooledBuffer {
		return
	}
	b.B = b.B[:0]
	bufferPool.Put(b)
}

// BeginInsert starts an insert into t: it leaves room for the framing that
// only the rows' size decides, writes t's name and columns, and returns the
// mark EndInsert takes. Truncating B back to the mark discards the insert.
func (b *Buffer) BeginInsert(t Table) (mark int) {
	mark = len(b.B)
	room := framingRoom + len(t.name)
	b.B = slices.Grow(b.B, room+len(t.columns))[:mark+room]
	b.B = append(b.B, t.columns...)
	return mark
}

// EndInsert writes the framing of the insert begun at mark in front of its
// columns, now that the rows' size is known, and returns the insert.
func (b *Buffer) EndInsert(mark int, t Table) Insert {
	columnsAt := mark + framingRoom + len(t.name)
	rowsMsg := len(b.B) - columnsAt // Rows: the columns, then the rows
	insertMsg := len(t.name) + 1 + protowire.SizeVarint(uint64(rowsMsg)) + rowsMsg
	start := columnsAt - (1 + protowire.SizeVarint(uint64(rowsMsg))) - len(t.name) - (1 + protowire.SizeVarint(uint64(insertMsg)))
	p := protowire.AppendTag(b.B[start:start], fieldInserts, protowire.BytesType)
	p = protowire.AppendVarint(p, uint64(insertMsg))
	p = append(p, t.name...)
	p = protowire.AppendTag(p, fieldRows, protowire.BytesType)
	protowire.AppendVarint(p, uint64(rowsMsg))
	return Insert{buf: b, start: start, end: len(b.B)}
}

// Insert is one RowInsertRequest, as a RowInsertRequests.inserts entry,
// written in a Buffer.
type Insert struct {
	buf        *Buffer
	start, end int
}

// Size is the insert's size in a request.
func (in Insert) Size() int { return in.end - in.start }

func (in Insert) bytes() []byte { return in.buf.B[in.start:in.end] }

// Request is a GreptimeRequest: a request header and some inserts. The
// Codec sends it as written, without copying the inserts.
type Request struct {
	prefix  []byte // the header field, then the row_inserts tag and length
	inserts []Insert
}

// NewRequest frames inserts after header (from EncodeHeader) as one request.
func NewRequest(header []byte, inserts []Insert) *Request {
	r := new(Request)
	r.Reset(header, inserts)
	return r
}

// Reset makes r the request of header and inserts, reusing its memory: a
// push sends its calls one after another with one Request. A Request whose
// call failed must not be Reset: gRPC may still read it (see Codec.Marshal).
func (r *Request) Reset(header []byte, inserts []Insert) {
	n := 0
	for _, in := range inserts {
		n += in.Size()
	}
	r.prefix = append(r.prefix[:0], header...)
	r.prefix = protowire.AppendTag(r.prefix, fieldRequestRowInserts, protowire.BytesType)
	r.prefix = protowire.AppendVarint(r.prefix, uint64(n))
	r.inserts = inserts
}

// Codec sends Requests as written and hands every other message, such as
// the GreptimeResponse, to gRPC's proto codec. Calls select it with
// grpc.ForceCodecV2: that is how pre-encoded bytes reach grpc-go without
// being marshalled again, and it leaves the process's "proto" codec alone.
type Codec struct {
	proto encoding.CodecV2
}

// NewCodec returns the pass-through codec.
func NewCodec() Codec {
	return Codec{proto: encoding.GetCodecV2("proto")}
}

// Marshal returns a Request's parts as they are; gRPC copies them into its
// frames. gRPC may still read them after a call failed, so neither the
// Request nor the Buffer of a failed call is reused: the caller drops the
// Request, and releases the Buffer only once every call made from it
// succeeded.
func (c Codec) Marshal(v any) (mem.BufferSlice, error) {
	r, ok := v.(*Request)
	if !ok {
		return c.proto.Marshal(v)
	}
	out := make(mem.BufferSlice, 0, 1+len(r.inserts))
	out = append(out, mem.SliceBuffer(r.prefix))
	for _, in := range r.inserts {
		out = append(out, mem.SliceBuffer(in.bytes()))
	}
	return out, nil
}

// Unmarshal decodes with gRPC's proto codec.
func (c Codec) Unmarshal(data mem.BufferSlice, v any) error { return c.proto.Unmarshal(data, v) }

// Name is "proto": the bytes are ordinary protobuf, sent as application/grpc+proto.
func (Codec) Name() string { return "proto" }
