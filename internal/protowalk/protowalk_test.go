package protowalk

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

func TestFields(t *testing.T) {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, "one")
	b = protowire.AppendTag(b, 2, protowire.VarintType) // skipped
	b = protowire.AppendVarint(b, 300)
	b = protowire.AppendTag(b, 3, protowire.Fixed64Type) // skipped
	b = protowire.AppendFixed64(b, 7)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendString(b, "four")

	var got []string
	require.NoError(t, Fields(b, func(num protowire.Number, v []byte) error {
		got = append(got, string(rune('0'+num))+"="+string(v))
		return nil
	}))
	assert.Equal(t, []string{"1=one", "4=four"}, got)

	stop := errors.New("stop")
	assert.ErrorIs(t, Fields(b, func(protowire.Number, []byte) error { return stop }), stop)
	assert.Error(t, Fields(b[:len(b)-2], func(protowire.Number, []byte) error { return nil }), "truncated")
}
