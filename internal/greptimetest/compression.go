package greptimetest

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // GreptimeDB accepts gzip; registers grpc-go's standard gzip compressor
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// GreptimeDB's GreptimeDatabase service accepts gzip and zstd requests and
// nothing else (accept_compressed, src/servers/src/grpc/builder.rs:64-65).
// It is built with tonic 0.14 (src/servers/Cargo.toml:136-137 pin tonic-web
// and tonic-reflection 0.14; GreptimeDB's Cargo.lock has tonic 0.14.2,
// Cargo.lock:15422-15424). tonic answers any other grpc-encoding, before the
// request is decoded, with Unimplemented, "Content is compressed with
// `<encoding>` which isn't supported", and a grpc-accept-encoding of the
// encodings it accepts, in the order they were enabled, then identity
// (CompressionEncoding::from_encoding_header, tonic/src/codec/compression.rs:131-174;
// into_accept_encoding_header_value, :48-61; enable, :26-37; called from
// tonic/src/server/grpc.rs:372).
//
// grpc-go decompresses with whatever compressor is registered under the
// request's encoding, and the collector's configgrpc registers snappy and
// zstd in every binary that links it. So the server checks the encoding
// itself, before the request is decoded: a stats handler notes each call's
// grpc-encoding (stats.InHeader, delivered before the handler runs), and
// every method handler refuses an encoding other than identity, gzip and
// zstd before it reads the request.
//
// Decompressing is grpc-go's: gzip with its standard compressor, registered
// by the import above; zstd with the compressor registered under "zstd",
// which configgrpc registers in any binary that links it (the exporter's
// tests; cmd/greptime-standin imports configgrpc for it). This package does
// not register one itself: it is also built by the e2e module, whose
// dependencies include no zstd implementation. When the client's encoding is
// registered nowhere in the binary (zstd without configgrpc), grpc-go itself
// refuses the call before any handler, also with Unimplemented but with its
// own message ("grpc: Decompressor is not installed for grpc-encoding ..."),
// and the call is not recorded.

// acceptedEncodings are the encodings GreptimeDB decompresses, as tonic lists
// them in grpc-accept-encoding (src/servers/src/grpc/builder.rs:64-65; tonic
// 0.14.2's tonic/src/codec/compression.rs:48-61).
const acceptedEncodings = "gzip,zstd,identity"

// encodingKey is the context key of a call's *encodingBox.
type encodingKey struct{}

// encodingBox holds a call's grpc-encoding, filled in by encodingTagger.
type encodingBox struct{ encoding string }

// encodingTagger is a stats.Handler that records each call's grpc-encoding in
// its context.
type encodingTagger struct{}

// TagRPC gives the call a box for its encoding.
func (encodingTagger) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return context.WithValue(ctx, encodingKey{}, &encodingBox{})
}

// HandleRPC fills the box from the call's headers. grpc-go delivers
// InHeader, with the same context, before the call's handler starts.
func (encodingTagger) HandleRPC(ctx context.Context, st stats.RPCStats) {
	if in, ok := st.(*stats.InHeader); ok {
		if b, ok := ctx.Value(encodingKey{}).(*encodingBox); ok {
			b.encoding = in.Compression
		}
	}
}

// TagConn returns ctx unchanged.
func (encodingTagger) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

// HandleConn does nothing.
func (encodingTagger) HandleConn(context.Context, stats.ConnStats) {}

// requestEncoding returns the call's grpc-encoding ("" if none or identity).
func requestEncoding(ctx context.Context) string {
	if b, ok := ctx.Value(encodingKey{}).(*encodingBox); ok && b.encoding != "identity" {
		return b.encoding
	}
	return ""
}

// encodingError is tonic's answer to a request compressed with an encoding
// the service does not accept, or nil (tonic 0.14.2's
// tonic/src/codec/compression.rs:152-171).
func encodingError(ctx context.Context) *greptimeError {
	switch enc := requestEncoding(ctx); enc {
	case "", "gzip", "zstd":
		return nil
	default:
		return &greptimeError{
			grpcCode: codes.Unimplemented,
			msg:      fmt.Sprintf("Content is compressed with `%s` which isn't supported", enc),
			trailer:  metadata.Pairs("grpc-accept-encoding", acceptedEncodings),
		}
	}
}

// checkEncodings returns a copy of desc whose handlers refuse an unaccepted
// encoding before decoding the request.
func (s *Server) checkEncodings(desc *grpc.ServiceDesc) *grpc.ServiceDesc {
	out := *desc
	out.Methods = make([]grpc.MethodDesc, len(desc.Methods))
	for i, m := range desc.Methods {
		handler := m.Handler
		m.Handler = func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			if gerr := encodingError(ctx); gerr != nil {
				s.refuse(ctx, gerr)
				return nil, gerr.send(ctx)
			}
			return handler(srv, ctx, dec, interceptor)
		}
		out.Methods[i] = m
	}
	out.Streams = make([]grpc.StreamDesc, len(desc.Streams))
	for i, sd := range desc.Streams {
		handler := sd.Handler
		sd.Handler = func(srv any, stream grpc.ServerStream) error {
			if gerr := encodingError(stream.Context()); gerr != nil {
				s.refuse(stream.Context(), gerr)
				return gerr.send(stream.Context())
			}
			return handler(srv, stream)
		}
		out.Streams[i] = sd
	}
	return &out
}

// refuse records a call refused before its request was read (not in count-only mode).
func (s *Server) refuse(ctx context.Context, gerr *greptimeError) {
	if s.countOnly {
		return
	}
	md, _ := metadata.FromIncomingContext(ctx)
	s.record(Call{
		Time:     time.Now(),
		Hints:    extractHints(md),
		Encoding: requestEncoding(ctx),
		Code:     gerr.grpcCode,
		Message:  gerr.msg,
	})
}
