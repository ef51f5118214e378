package greptimetest

import (
	"testing"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
)

// TestStoreCreateDatabase: a database created in the store takes inserts at
// once; names are checked and kept as they are.
func TestStoreCreateDatabase(t *testing.T) {
	s := startServer(t, Config{})
	st := s.Store()
	ctx := ctxT(t)
	c := dial(t, s.Addr(), nil)
	write := func(db string, ts int64) result {
		return do(ctx, c, req{db: db, inserts: []*greptimev1.RowInsertRequest{insert("t", eventSchema(), event("a", `{"n":1}`, ts))}})
	}

	requireStatus(t, write("Other", 1), codes.InvalidArgument, StatusInvalidArguments, "Failed to find schema, schema info: Other")
	require.NoError(t, st.CreateDatabase("Other", false))
	requireOK(t, write("Other", 1))
	requireOK(t, write("greptime-Other", 2))
	assert.Equal(t, 2, s.RowCount("Other", "t"))
	assert.Equal(t, []string{"Other", "public"}, st.Databases())

	for _, tc := range []struct {
		name        string
		ifNotExists bool
		code        StatusCode
		msg         string
	}{
		{"Other", false, StatusInvalidArguments, "Schema Other already exists"},
		{"public", false, StatusInvalidArguments, "Schema public already exists"},
		{"information_schema", false, StatusInvalidArguments, "Schema information_schema already exists"},
		{"pg_catalog", false, StatusInvalidArguments, "Schema pg_catalog already exists"},
		{"9lives", false, StatusUnexpected, "Unexpected, violated: Invalid database name: 9lives"},
		{"", true, StatusUnexpected, "Unexpected, violated: Invalid database name: "},
		{"a b", true, StatusUnexpected, "Unexpected, violated: Invalid database name: a b"},
	} {
		err := st.CreateDatabase(tc.name, tc.ifNotExists)
		code, ok := ErrorStatus(err)
		require.True(t, ok, tc.name)
		assert.Equal(t, tc.code, code, tc.name)
		assert.EqualError(t, err, tc.msg)
	}
	for _, name := range []string{"Other", "information_schema", "_x:y-z.w@v#u"} {
		require.NoError(t, st.CreateDatabase(name, true), name)
	}
	assert.Equal(t, []string{"Other", "_x:y-z.w@v#u", "public"}, st.Databases())
}
