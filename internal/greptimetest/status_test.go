package greptimetest

import (
	"fmt"
	"slices"
	"strconv"
	"testing"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestAllStatusCodes(t *testing.T) {
	all := AllStatusCodes()
	require.Len(t, all, 41, "every StatusCode of src/common/error/src/status_code.rs:26-128")
	assert.True(t, slices.IsSorted(all))
	assert.Equal(t, StatusSuccess, all[0])
	assert.Equal(t, StatusTriggerNotFound, all[len(all)-1])
	names := map[string]bool{}
	for _, c := range all {
		assert.NotEqual(t, strconv.Itoa(int(c)), c.String(), "%d has a name", c)
		assert.False(t, names[c.String()], "%s twice", c)
		names[c.String()] = true
	}
	assert.Equal(t, "RegionNotFound", StatusRegionNotFound.String())
	assert.Equal(t, "12345", StatusCode(12345).String())
}

func TestStatusCodeRetryHints(t *testing.T) {
	// What GreptimeDB sends with the error that typically carries each code
	// on the insert path; every other code is non_retryable.
	retryable := map[StatusCode]bool{
		StatusRegionNotReady:            true, // datanode RegionNotReady
		StatusRegionBusy:                true, // datanode RegionBusy
		StatusTableUnavailable:          true, // partition FindLeader
		StatusStorageUnavailable:        true, // mito RejectWrite
		StatusRuntimeResourcesExhausted: true, // servers TooManyConcurrentRequests
		StatusRateLimited:               true, // servers MemoryLimitExceeded
	}
	for _, c := range AllStatusCodes() {
		want := RetryHintNonRetryable
		if retryable[c] {
			want = RetryHintRetryable
		}
		assert.Equal(t, want, c.RetryHint(), "%s", c)
	}
	// As GreptimeDB sends them, though a retry often helps.
	assert.Equal(t, RetryHintNonRetryable, StatusRegionNotFound.RetryHint())
	assert.Equal(t, RetryHintNonRetryable, StatusUnexpected.RetryHint())
}

func TestStatusCodeMappingNewCodes(t *testing.T) {
	assert.Equal(t, codes.AlreadyExists, StatusFlowAlreadyExists.GRPCCode())
	assert.Equal(t, codes.NotFound, StatusFlowNotFound.GRPCCode())
	assert.Equal(t, codes.AlreadyExists, StatusTriggerAlreadyExists.GRPCCode())
	assert.Equal(t, codes.NotFound, StatusTriggerNotFound.GRPCCode())
	assert.Equal(t, codes.PermissionDenied, StatusRegionReadonly.GRPCCode())
	assert.Equal(t, codes.Unknown, StatusCode(12345).GRPCCode())
}

// TestFailNextStatus fails a call with every status code over a real
// connection: the gRPC code, both trailers and the message are GreptimeDB's.
func TestFailNextStatus(t *testing.T) {
	s := startServer(t, Config{Users: map[string]string{"alice": "pw"}})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	ev := req{user: "alice", pass: "pw", inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{}`, 1))}}
	requireOK(t, do(ctx, c, ev)) // table events gets id 1024

	messages := map[StatusCode]string{
		StatusUnknown:                   "Internal error: 1000",
		StatusInternal:                  "Internal error: 1003",
		StatusRegionNotFound:            "RegionId 4398046511104(1024, 0) not found",
		StatusRegionNotReady:            "Region 4398046511104(1024, 0) not ready",
		StatusRegionBusy:                "Region 4398046511104(1024, 0) is busy",
		StatusTableUnavailable:          "Failed to find leader of table id 1024 region 4398046511104(1024, 0)",
		StatusStorageUnavailable:        "Engine write buffer is full, rejecting write requests of region 4398046511104(1024, 0)",
		StatusUnexpected:                "Failed to find table route for table id 1024",
		StatusTableNotFound:             "Table not found: events",
		StatusUserNotFound:              "User not found, username: alice",
		StatusAccessDenied:              "Access denied for user 'alice' to database 'greptime-public'",
		StatusPermissionDenied:          "User is not authorized to perform this action",
		StatusSuspended:                 "Service suspended",
		StatusRateLimited:               "Timeout waiting for memory quota: requested 1048576 bytes, waited 10s",
		StatusRuntimeResourcesExhausted: "Too many concurrent large requests, limit: 1GiB, request size: 1GiB",
	}
	calls := 1
	for _, code := range AllStatusCodes() {
		if code == StatusSuccess {
			continue
		}
		t.Run(code.String(), func(t *testing.T) {
			s.FailNextStatus(1, code)
			res := do(ctx, c, ev)
			calls++
			require.Error(t, res.err)
			st := status.Convert(res.err)
			assert.Equal(t, code.GRPCCode(), st.Code())
			assert.Equal(t, []string{strconv.Itoa(int(code))}, res.trailer.Get(HeaderErrCode))
			assert.Equal(t, []string{string(code.RetryHint())}, res.trailer.Get(HeaderErrRetryHint))
			assert.Empty(t, res.trailer.Get(HeaderErrMsg))
			if want, ok := messages[code]; ok {
				assert.Equal(t, want, st.Message())
			} else {
				assert.NotEmpty(t, st.Message())
				assert.NotContains(t, st.Message(), "{", "placeholders filled in")
			}

			require.NoError(t, s.WaitForCalls(ctx, calls))
			call := s.Calls()[calls-1]
			assert.True(t, call.Injected)
			assert.Equal(t, code, call.Status)
			assert.Equal(t, code.RetryHint(), call.RetryHint)
			assert.Zero(t, call.StoredRows)
		})
	}
	assert.Equal(t, 1, s.RowCount("public", "events"), "no injected fault applied anything")
}

func TestFaultMessages(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	ev := req{inserts: []*greptimev1.RowInsertRequest{insert("events", eventSchema(), event("a", `{}`, 1))}}

	// GreptimeDB masks Internal whatever the error said.
	s.FailNextWith(1, Fault{Status: StatusInternal, Message: "disk on fire"})
	res := do(ctx, c, ev)
	requireStatus(t, res, codes.Internal, StatusInternal, "Internal error: 1003")
	assert.Equal(t, "Internal error: 1003", status.Convert(res.err).Message())

	// An explicit message and hint win otherwise.
	s.FailNextWith(1, Fault{Status: StatusRegionNotFound, RetryHint: RetryHintRetryable, Message: "region moved"})
	res = do(ctx, c, ev)
	requireStatus(t, res, codes.NotFound, StatusRegionNotFound, "region moved")
	assert.Equal(t, []string{string(RetryHintRetryable)}, res.trailer.Get(HeaderErrRetryHint))

	// A table that does not exist yet is named with the id it would get.
	s.FailNextStatus(1, StatusRegionNotFound)
	res = do(ctx, c, ev)
	requireStatus(t, res, codes.NotFound, StatusRegionNotFound, "RegionId 4398046511104(1024, 0) not found")

	// Without a status: no trailers, the fault's own message.
	s.FailNext(1, codes.Unavailable, "")
	res = do(ctx, c, ev)
	requireStatus(t, res, codes.Unavailable, StatusSuccess, "greptimetest: injected fault")
	assert.Empty(t, res.trailer.Get(HeaderErrRetryHint))
	assert.Zero(t, s.RowCount("public", "events"))
}

// TestRejectTableStatus fails one table's region write as a datanode would:
// the other inserts of the call are applied.
func TestRejectTableStatus(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr(), nil)
	ctx := ctxT(t)
	s.RejectTableStatus("moving", StatusRegionNotFound)

	res := do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{
		insert("stays", eventSchema(), event("a", `{}`, 1), event("a", `{}`, 2)),
		insert("moving", eventSchema(), event("a", `{}`, 1)),
	}})
	requireStatus(t, res, codes.NotFound, StatusRegionNotFound, "RegionId 4402341478400(1025, 0) not found")
	assert.Equal(t, []string{string(RetryHintNonRetryable)}, res.trailer.Get(HeaderErrRetryHint))
	assert.Equal(t, 2, s.RowCount("public", "stays"))
	assert.Equal(t, []string{"moving", "stays"}, s.Tables("public"), "the table is created before its region write fails")
	assert.Zero(t, s.RowCount("public", "moving"))

	calls := s.Calls()
	require.Len(t, calls, 1)
	assert.True(t, calls[0].Injected)
	assert.Equal(t, 2, calls[0].StoredRows)
	assert.Zero(t, calls[0].AffectedRows)

	// Reset lifts it.
	s.Reset()
	requireOK(t, do(ctx, c, req{inserts: []*greptimev1.RowInsertRequest{insert("moving", eventSchema(), event("a", `{}`, 1))}}))
	assert.Equal(t, 1, s.RowCount("public", "moving"))
}

func ExampleServer_FailNextStatus() {
	s, err := Start(Config{})
	if err != nil {
		panic(err)
	}
	defer s.Stop()
	// The next call fails exactly as a datanode's RegionNotFound would.
	s.FailNextStatus(1, StatusRegionNotFound)
	fmt.Println(StatusRegionNotFound.GRPCCode(), StatusRegionNotFound.RetryHint())
	// Output: NotFound non_retryable
}
