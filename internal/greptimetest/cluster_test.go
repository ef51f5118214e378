package greptimetest

import (
	"net"
	"testing"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
)

func TestStartCluster(t *testing.T) {
	frontends, err := StartCluster(Config{Databases: []string{"public", "events"}}, "127.0.0.1", "127.0.0.2", "127.0.0.3")
	require.NoError(t, err)
	for _, f := range frontends {
		t.Cleanup(f.Stop)
	}
	require.Len(t, frontends, 3)
	var port string
	for i, f := range frontends {
		host, p, err := net.SplitHostPort(f.Addr())
		require.NoError(t, err)
		assert.Equal(t, []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}[i], host)
		if i == 0 {
			port = p
		}
		assert.Equal(t, port, p, "one port on every host")
		assert.Same(t, frontends[0].Store(), f.Store())
	}

	ctx := ctxT(t)
	ev := func(ts int64) req {
		return req{db: "events", inserts: []*greptimev1.RowInsertRequest{insert("t", eventSchema(), event("a", `{}`, ts))}}
	}
	clients := make([]greptimev1.GreptimeDatabaseClient, len(frontends))
	for i, f := range frontends {
		clients[i] = dial(t, f.Addr(), nil)
		requireOK(t, do(ctx, clients[i], ev(int64(i))))
	}
	// One table, created once, holding the rows written through every frontend.
	assert.Equal(t, []string{"t"}, frontends[2].Tables("events"))
	assert.Equal(t, 3, frontends[0].RowCount("events", "t"))
	assert.Equal(t, 3, frontends[0].Store().RowCount("events", "t"))

	// Faults, latency and calls are each frontend's own.
	frontends[1].FailNextStatus(1, StatusRegionBusy)
	requireOK(t, do(ctx, clients[0], ev(10)))
	requireStatus(t, do(ctx, clients[1], ev(11)), codes.ResourceExhausted, StatusRegionBusy, "is busy")
	for i, f := range frontends {
		want := 1
		if i < 2 {
			want = 2
		}
		assert.Len(t, f.Calls(), want, "frontend %d", i)
	}

	// Stopping one leaves the others serving the same store.
	frontends[0].Stop()
	requireOK(t, do(ctx, clients[2], ev(12)))
	assert.Equal(t, 5, frontends[1].RowCount("events", "t"))
}

func TestSharedStore(t *testing.T) {
	st, err := NewStore()
	require.NoError(t, err)
	a := startServer(t, Config{Store: st})
	b := startServer(t, Config{Store: st})
	ctx := ctxT(t)
	requireOK(t, do(ctx, dial(t, a.Addr(), nil), req{inserts: []*greptimev1.RowInsertRequest{insert("x", eventSchema(), event("a", `{}`, 1))}}))
	requireOK(t, do(ctx, dial(t, b.Addr(), nil), req{inserts: []*greptimev1.RowInsertRequest{insert("y", eventSchema(), event("a", `{}`, 1))}}))
	assert.Equal(t, []string{"x", "y"}, st.Tables(""))
	x, _ := st.Table("public", "x")
	y, _ := st.Table("public", "y")
	assert.Equal(t, []uint32{1024, 1025}, []uint32{tableID(st, "x"), tableID(st, "y")}, "one table id sequence")
	assert.Len(t, x.Rows, 1)
	assert.Len(t, y.Rows, 1)

	_, err = Start(Config{Store: st, Databases: []string{"public"}})
	require.Error(t, err)
	_, err = NewStore("other-")
	require.Error(t, err, "a catalog without a schema")
	_, err = StartCluster(Config{})
	require.Error(t, err)
}

func tableID(st *Store, name string) uint32 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.database("public")[name].id
}
