package greptimetest

import (
	"strings"
	"testing"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "go.opentelemetry.io/collector/config/configgrpc" // registers snappy and zstd, as in the collector
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
)

func TestCompression(t *testing.T) {
	for _, name := range []string{"gzip", "zstd", "snappy"} {
		require.NotNil(t, encoding.GetCompressor(name), "%s registered in this test binary", name)
	}
	cases := []struct {
		encoding string
		refused  bool
	}{
		{encoding: ""},
		{encoding: "gzip"},
		{encoding: "zstd"},
		{encoding: "snappy", refused: true},
	}
	for _, tc := range cases {
		t.Run("encoding "+tc.encoding, func(t *testing.T) {
			for _, countOnly := range []bool{false, true} {
				s := startServer(t, Config{CountOnly: countOnly})
				c := dial(t, s.Addr(), nil)
				ctx := ctxT(t)
				var opts []grpc.CallOption
				if tc.encoding != "" {
					opts = append(opts, grpc.UseCompressor(tc.encoding))
				}
				res := do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{
					insert("events", eventSchema(), event("a", `{"k":"`+strings.Repeat("x", 64)+`"}`, 1), event("b", `{}`, 2)),
				}}, opts...)

				if tc.refused {
					require.Error(t, res.err)
					st := status.Convert(res.err)
					assert.Equal(t, codes.Unimplemented, st.Code())
					assert.Equal(t, "Content is compressed with `snappy` which isn't supported", st.Message())
					assert.Contains(t, res.trailer.Get("grpc-accept-encoding"), "gzip,zstd,identity")
					assert.Empty(t, res.trailer.Get(HeaderErrCode), "tonic refuses it before GreptimeDB sees the request")
					assert.Zero(t, s.RowCount("public", "events"))
					calls, rows := s.Counted()
					assert.Zero(t, calls+rows)
					if !countOnly {
						got := s.Calls()
						require.Len(t, got, 1)
						assert.Equal(t, "snappy", got[0].Encoding)
						assert.Equal(t, codes.Unimplemented, got[0].Code)
						assert.Empty(t, got[0].Inserts, "the request was not decoded")
					}
					continue
				}
				require.NoError(t, res.err)
				assert.Equal(t, uint32(2), res.affected)
				if countOnly {
					assert.Equal(t, int64(2), s.CountedRows("public", "events"))
					continue
				}
				assert.Equal(t, 2, s.RowCount("public", "events"))
				got := s.Calls()
				require.Len(t, got, 1)
				assert.Equal(t, tc.encoding, got[0].Encoding)
			}
		})
	}
}
