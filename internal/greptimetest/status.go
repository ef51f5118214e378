package greptimetest

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// Metadata keys GreptimeDB attaches to a failed gRPC call
// (src/common/error/src/status_code.rs:273-293). They travel in the trailers:
// GreptimeDB answers an error as a trailers-only response (tonic 0.14.2 turns
// an error Status into a response of headers only, tonic/src/server/grpc.rs:16-22,
// :429, tonic/src/status.rs:605-613).
const (
	// HeaderErrCode carries the GreptimeDB StatusCode as a decimal number.
	HeaderErrCode = "x-greptime-err-code"
	// HeaderErrRetryHint carries RetryHintRetryable or RetryHintNonRetryable.
	HeaderErrRetryHint = "x-greptime-err-retry-hint"
	// HeaderErrMsg is the error-message key GreptimeDB sets on HTTP responses; its gRPC
	// frontend does not set it (the message is the gRPC status message), and neither does this server.
	HeaderErrMsg = "x-greptime-err-msg"
	// HeaderHints is the metadata key that carries the write hints ("k=v, k2=v2").
	HeaderHints = "x-greptime-hints"
)

// RetryHint is the value of the x-greptime-err-retry-hint trailer.
type RetryHint string

// The two retry hints GreptimeDB sends (src/common/error/src/ext.rs:41-42).
const (
	// RetryHintRetryable says retrying the same request may succeed.
	RetryHintRetryable RetryHint = "retryable"
	// RetryHintNonRetryable says retrying the same request is not expected to help
	// (GreptimeDB's default, src/common/error/src/ext.rs:123-125).
	RetryHintNonRetryable RetryHint = "non_retryable"
)

// StatusCode is GreptimeDB's own error code (common_error::status_code::StatusCode,
// src/common/error/src/status_code.rs:23).
type StatusCode uint32

// GreptimeDB status codes. The numbers are GreptimeDB's (src/common/error/src/status_code.rs:26-128).
const (
	StatusSuccess                   StatusCode = 0    // Success.
	StatusUnknown                   StatusCode = 1000 // Unknown error.
	StatusUnsupported               StatusCode = 1001 // Unsupported operation.
	StatusUnexpected                StatusCode = 1002 // Unexpected error, maybe a bug.
	StatusInternal                  StatusCode = 1003 // Internal server error.
	StatusInvalidArguments          StatusCode = 1004 // Invalid arguments.
	StatusCancelled                 StatusCode = 1005 // Task cancelled.
	StatusIllegalState              StatusCode = 1006 // Illegal state.
	StatusExternal                  StatusCode = 1007 // Error from an external system.
	StatusDeadlineExceeded          StatusCode = 1008 // Deadline exceeded (server side).
	StatusSuspended                 StatusCode = 1009 // Service suspended.
	StatusInvalidSyntax             StatusCode = 2000 // SQL syntax error.
	StatusPlanQuery                 StatusCode = 3000 // Planning failed.
	StatusEngineExecuteQuery        StatusCode = 3001 // Query execution failed.
	StatusTableAlreadyExists        StatusCode = 4000 // Table already exists.
	StatusTableNotFound             StatusCode = 4001 // Table not found.
	StatusTableColumnNotFound       StatusCode = 4002 // Column not found.
	StatusTableColumnExists         StatusCode = 4003 // Column already exists.
	StatusDatabaseNotFound          StatusCode = 4004 // Database not found.
	StatusRegionNotFound            StatusCode = 4005 // Region not found.
	StatusRegionAlreadyExists       StatusCode = 4006 // Region already exists.
	StatusRegionReadonly            StatusCode = 4007 // Region is read-only.
	StatusRegionNotReady            StatusCode = 4008 // Region not ready.
	StatusRegionBusy                StatusCode = 4009 // Region busy.
	StatusTableUnavailable          StatusCode = 4010 // Table temporarily unavailable.
	StatusDatabaseAlreadyExists     StatusCode = 4011 // Database already exists.
	StatusStorageUnavailable        StatusCode = 5000 // Storage temporarily unavailable.
	StatusRequestOutdated           StatusCode = 5001 // Request outdated.
	StatusRuntimeResourcesExhausted StatusCode = 6000 // Runtime resources exhausted.
	StatusRateLimited               StatusCode = 6001 // Rate limit exceeded.
	StatusUserNotFound              StatusCode = 7000 // User does not exist.
	StatusUnsupportedPasswordType   StatusCode = 7001 // Unsupported password type.
	StatusUserPasswordMismatch      StatusCode = 7002 // Wrong password.
	StatusAuthHeaderNotFound        StatusCode = 7003 // No authorization in the request.
	StatusInvalidAuthHeader         StatusCode = 7004 // Invalid authorization.
	StatusAccessDenied              StatusCode = 7005 // Access to the database denied.
	StatusPermissionDenied          StatusCode = 7006 // Operation not permitted.
	StatusFlowAlreadyExists         StatusCode = 8000 // Flow already exists.
	StatusFlowNotFound              StatusCode = 8001 // Flow not found.
	StatusTriggerAlreadyExists      StatusCode = 9000 // Trigger already exists.
	StatusTriggerNotFound           StatusCode = 9001 // Trigger not found.
)

// statusInfo is what the server knows about one status code: its name as
// GreptimeDB displays it (the Rust variant name, src/common/error/src/status_code.rs:208-213), the
// retry hint GreptimeDB sends with the error that typically carries the code
// on the insert path, and that error's message, where {region}, {table_id},
// {table}, {database} and {user} stand for the call's first table and its user.
type statusInfo struct {
	name string
	hint RetryHint
	msg  string
}

// statusInfos lists every status code in order. A hint's citation names the
// retry_hint() arm GreptimeDB takes; a message's, the error's display. Where
// an error does not opt in, retry_hint() falls back to non_retryable
// (src/common/error/src/ext.rs:123-125), and the message is the status
// code's doc comment in status_code.rs.
var statusInfos = []struct {
	code StatusCode
	statusInfo
}{
	{StatusSuccess, statusInfo{"Success", "", ""}},
	// Masked: src/common/error/src/ext.rs:143-147.
	{StatusUnknown, statusInfo{"Unknown", RetryHintNonRetryable, "Internal error: 1000"}},
	// operator NotSupported: src/operator/src/error.rs:430, hint src/operator/src/error.rs:1152.
	{StatusUnsupported, statusInfo{"Unsupported", RetryHintNonRetryable, "Not supported: injected by greptimetest"}},
	// Metadata races (TableRouteNotFound, TableInfoNotFound, RegionOperatingRace):
	// src/common/meta/src/error.rs:250 and :1200, hint src/common/meta/src/error.rs:1366.
	{StatusUnexpected, statusInfo{"Unexpected", RetryHintNonRetryable, "Failed to find table route for table id {table_id}"}},
	// Masked: src/common/error/src/ext.rs:143-147. mito's worker errors (Join,
	// WorkerStopped) are non_retryable (src/mito2/src/error.rs:1663); only a
	// failed channel to a datanode is retryable (src/common/grpc/src/error.rs:139).
	{StatusInternal, statusInfo{"Internal", RetryHintNonRetryable, "Internal error: 1003"}},
	// mito InvalidRequest: src/mito2/src/error.rs:239, hint src/mito2/src/error.rs:1663.
	{StatusInvalidArguments, statusInfo{"InvalidArguments", RetryHintNonRetryable, "Invalid request to region {region}, reason: injected by greptimetest"}},
	// mito RegionClosed: src/mito2/src/error.rs:558 and :1491, hint src/mito2/src/error.rs:1663.
	{StatusCancelled, statusInfo{"Cancelled", RetryHintNonRetryable, "Region {region} is closed"}},
	{StatusIllegalState, statusInfo{"IllegalState", RetryHintNonRetryable, "Illegal state, can be exposed to users."}},
	{StatusExternal, statusInfo{"External", RetryHintNonRetryable, "Caused by some error originated from external system."}},
	// A datanode call that timed out: src/common/error/src/status_code.rs:237 and :243-245.
	{StatusDeadlineExceeded, statusInfo{"DeadlineExceeded", RetryHintNonRetryable, "The request is deadline exceeded (typically server-side)."}},
	// frontend Suspended: src/frontend/src/error.rs:360 and :442, hint src/frontend/src/error.rs:485.
	{StatusSuspended, statusInfo{"Suspended", RetryHintNonRetryable, "Service suspended"}},
	{StatusInvalidSyntax, statusInfo{"InvalidSyntax", RetryHintNonRetryable, "SQL Syntax error."}},
	{StatusPlanQuery, statusInfo{"PlanQuery", RetryHintNonRetryable, "Fail to create a plan for the query."}},
	{StatusEngineExecuteQuery, statusInfo{"EngineExecuteQuery", RetryHintNonRetryable, "The query engine fail to execute query."}},
	// operator TableAlreadyExists: src/operator/src/error.rs:34.
	{StatusTableAlreadyExists, statusInfo{"TableAlreadyExists", RetryHintNonRetryable, "Table already exists: `{table}`"}},
	// operator TableNotFound: src/operator/src/error.rs:238, hint src/operator/src/error.rs:1152.
	{StatusTableNotFound, statusInfo{"TableNotFound", RetryHintNonRetryable, "Table not found: {table}"}},
	{StatusTableColumnNotFound, statusInfo{"TableColumnNotFound", RetryHintNonRetryable, "Table column not found."}},
	{StatusTableColumnExists, statusInfo{"TableColumnExists", RetryHintNonRetryable, "Table column already exists."}},
	{StatusDatabaseNotFound, statusInfo{"DatabaseNotFound", RetryHintNonRetryable, "Database not found."}},
	// datanode RegionNotFound (a stale route during region migration):
	// src/datanode/src/error.rs:262 and :490, hint src/datanode/src/error.rs:554.
	{StatusRegionNotFound, statusInfo{"RegionNotFound", RetryHintNonRetryable, "RegionId {region} not found"}},
	{StatusRegionAlreadyExists, statusInfo{"RegionAlreadyExists", RetryHintNonRetryable, "Region already exists."}},
	{StatusRegionReadonly, statusInfo{"RegionReadonly", RetryHintNonRetryable, "Region is read-only in current state."}},
	// datanode RegionNotReady: src/datanode/src/error.rs:269 and :491, hint src/datanode/src/error.rs:527-530.
	{StatusRegionNotReady, statusInfo{"RegionNotReady", RetryHintRetryable, "Region {region} not ready"}},
	// datanode RegionBusy: src/datanode/src/error.rs:276 and :492, hint src/datanode/src/error.rs:527-530.
	{StatusRegionBusy, statusInfo{"RegionBusy", RetryHintRetryable, "Region {region} is busy"}},
	// partition FindLeader (no leader for a region while routing the write):
	// src/partition/src/error.rs:119 and :250, hint src/partition/src/error.rs:289.
	{StatusTableUnavailable, statusInfo{"TableUnavailable", RetryHintRetryable, "Failed to find leader of table id {table_id} region {region}"}},
	{StatusDatabaseAlreadyExists, statusInfo{"DatabaseAlreadyExists", RetryHintNonRetryable, "Database already exists."}},
	// mito RejectWrite (write buffer full): src/mito2/src/error.rs:582-586 and :1494, hint src/mito2/src/error.rs:1596.
	{StatusStorageUnavailable, statusInfo{"StorageUnavailable", RetryHintRetryable, "Engine write buffer is full, rejecting write requests of region {region}"}},
	{StatusRequestOutdated, statusInfo{"RequestOutdated", RetryHintNonRetryable, "Request is outdated, e.g., version mismatch."}},
	// servers TooManyConcurrentRequests: src/servers/src/error.rs:180-184 and :815, hint src/servers/src/error.rs:891.
	{StatusRuntimeResourcesExhausted, statusInfo{"RuntimeResourcesExhausted", RetryHintRetryable, "Too many concurrent large requests, limit: 1GiB, request size: 1GiB"}},
	// The request memory limiter (max_in_flight_write_bytes, src/servers/src/grpc/database.rs:54-59)
	// under its default policy, wait 10s (src/common/memory-manager/src/policy.rs:21, :33-39,
	// src/common/memory-manager/src/manager.rs:197-210): servers MemoryLimitExceeded
	// (src/servers/src/error.rs:847), whose hint is its source's
	// (src/servers/src/error.rs:888, src/common/memory-manager/src/error.rs:66-67)
	// and whose message is its source's (src/common/memory-manager/src/error.rs:40-42).
	{StatusRateLimited, statusInfo{"RateLimited", RetryHintRetryable, "Timeout waiting for memory quota: requested 1048576 bytes, waited 10s"}},
	// auth errors: src/auth/src/error.rs:57-87, hint src/auth/src/error.rs:127.
	{StatusUserNotFound, statusInfo{"UserNotFound", RetryHintNonRetryable, "User not found, username: {user}"}},
	{StatusUnsupportedPasswordType, statusInfo{"UnsupportedPasswordType", RetryHintNonRetryable, "Unsupported password type: pg_md5"}},
	{StatusUserPasswordMismatch, statusInfo{"UserPasswordMismatch", RetryHintNonRetryable, "Username and password does not match, username: {user}"}},
	// servers NotFoundAuthHeader: src/servers/src/error.rs:351.
	{StatusAuthHeaderNotFound, statusInfo{"AuthHeaderNotFound", RetryHintNonRetryable, "Not found http or grpc authorization header"}},
	// servers UnsupportedAuthScheme: src/servers/src/error.rs:357.
	{StatusInvalidAuthHeader, statusInfo{"InvalidAuthHeader", RetryHintNonRetryable, "Unsupported http auth scheme, name: Token AuthScheme"}},
	{StatusAccessDenied, statusInfo{"AccessDenied", RetryHintNonRetryable, "Access denied for user '{user}' to database '{database}'"}},
	{StatusPermissionDenied, statusInfo{"PermissionDenied", RetryHintNonRetryable, "User is not authorized to perform this action"}},
	// src/common/meta/src/error.rs:409 and :453.
	{StatusFlowAlreadyExists, statusInfo{"FlowAlreadyExists", RetryHintNonRetryable, "Flow already exists: injected"}},
	{StatusFlowNotFound, statusInfo{"FlowNotFound", RetryHintNonRetryable, "Flow not found: 'injected'"}},
	{StatusTriggerAlreadyExists, statusInfo{"TriggerAlreadyExists", RetryHintNonRetryable, "Trigger already exists."}},
	{StatusTriggerNotFound, statusInfo{"TriggerNotFound", RetryHintNonRetryable, "Trigger not found."}},
}

var statusByCode = func() map[StatusCode]statusInfo {
	m := make(map[StatusCode]statusInfo, len(statusInfos))
	for _, s := range statusInfos {
		m[s.code] = s.statusInfo
	}
	return m
}()

// AllStatusCodes returns every GreptimeDB status code, in numeric order
// (Success first; src/common/error/src/status_code.rs:23-130).
func AllStatusCodes() []StatusCode {
	out := make([]StatusCode, len(statusInfos))
	for i, s := range statusInfos {
		out[i] = s.code
	}
	return out
}

// String returns the code's name as GreptimeDB displays it ("RegionNotFound",
// src/common/error/src/status_code.rs:208-213), or its number for a code
// GreptimeDB does not define.
func (c StatusCode) String() string {
	if s, ok := statusByCode[c]; ok {
		return s.name
	}
	return strconv.FormatUint(uint64(c), 10)
}

// RetryHint returns the x-greptime-err-retry-hint GreptimeDB sends with the
// error that typically carries code c on the insert path: retryable for
// RegionNotReady, RegionBusy, TableUnavailable, StorageUnavailable,
// RuntimeResourcesExhausted and RateLimited, non_retryable (GreptimeDB's
// default, src/common/error/src/ext.rs:123-125) for every other code,
// RegionNotFound and Unexpected included. The citations per code are in
// statusInfos.
func (c StatusCode) RetryHint() RetryHint {
	if s, ok := statusByCode[c]; ok && s.hint != "" {
		return s.hint
	}
	return RetryHintNonRetryable
}

// GRPCCode returns the gRPC code GreptimeDB maps this status code to:
// status_to_tonic_code, src/common/error/src/status_code.rs:300-343.
func (c StatusCode) GRPCCode() codes.Code {
	switch c {
	case StatusSuccess:
		return codes.OK
	case StatusUnknown, StatusExternal:
		return codes.Unknown
	case StatusUnsupported:
		return codes.Unimplemented
	case StatusUnexpected, StatusIllegalState, StatusInternal, StatusPlanQuery, StatusEngineExecuteQuery:
		return codes.Internal
	case StatusInvalidArguments, StatusInvalidSyntax, StatusRequestOutdated:
		return codes.InvalidArgument
	case StatusCancelled:
		return codes.Canceled
	case StatusDeadlineExceeded:
		return codes.DeadlineExceeded
	case StatusTableAlreadyExists, StatusTableColumnExists, StatusRegionAlreadyExists, StatusDatabaseAlreadyExists,
		StatusTriggerAlreadyExists, StatusFlowAlreadyExists:
		return codes.AlreadyExists
	case StatusTableNotFound, StatusRegionNotFound, StatusTableColumnNotFound, StatusDatabaseNotFound, StatusUserNotFound,
		StatusTriggerNotFound, StatusFlowNotFound:
		return codes.NotFound
	case StatusTableUnavailable, StatusStorageUnavailable, StatusRegionNotReady:
		return codes.Unavailable
	case StatusRuntimeResourcesExhausted, StatusRateLimited, StatusRegionBusy, StatusSuspended:
		return codes.ResourceExhausted
	case StatusUnsupportedPasswordType, StatusUserPasswordMismatch, StatusAuthHeaderNotFound, StatusInvalidAuthHeader:
		return codes.Unauthenticated
	case StatusAccessDenied, StatusPermissionDenied, StatusRegionReadonly:
		return codes.PermissionDenied
	}
	return codes.Unknown
}

// masked reports whether GreptimeDB replaces the message of an error with
// this code by "Internal error: <code>" (output_msg, src/common/error/src/ext.rs:143-147).
func (c StatusCode) masked() bool { return c == StatusUnknown || c == StatusInternal }

// faultSubject is what an injected fault's default message talks about.
type faultSubject struct {
	tableID  uint32
	table    string
	user     string
	database string
}

// message renders the message GreptimeDB sends for code c about subject: the
// display of the error cited for c in statusInfos (output_msg,
// src/common/error/src/ext.rs:139-163), masked for Unknown and Internal (:143-147).
func (c StatusCode) message(sub faultSubject) string {
	if c.masked() {
		return fmt.Sprintf("Internal error: %d", uint32(c))
	}
	s, ok := statusByCode[c]
	if !ok || s.msg == "" {
		return "greptimetest: injected fault"
	}
	return strings.NewReplacer(
		"{region}", regionName(sub.tableID),
		"{table_id}", strconv.FormatUint(uint64(sub.tableID), 10),
		"{table}", sub.table,
		"{database}", sub.database,
		"{user}", sub.user,
	).Replace(s.msg)
}

// regionName renders region 0 of a table as GreptimeDB's RegionId Display
// does: the u64 id, then (table id, region number)
// (src/store-api/src/storage/descriptors.rs:120-136).
func regionName(tableID uint32) string {
	return fmt.Sprintf("%d(%d, 0)", uint64(tableID)<<32, tableID)
}

// statusForGRPCCode picks a representative GreptimeDB status code for a gRPC code,
// used when a fault names only the gRPC code: one that status_to_tonic_code maps
// back to c (src/common/error/src/status_code.rs:300-343); Unknown for a code
// GreptimeDB never answers with.
func statusForGRPCCode(c codes.Code) StatusCode {
	switch c {
	case codes.OK:
		return StatusSuccess
	case codes.Unimplemented:
		return StatusUnsupported
	case codes.Internal:
		return StatusInternal
	case codes.InvalidArgument:
		return StatusInvalidArguments
	case codes.Canceled:
		return StatusCancelled
	case codes.DeadlineExceeded:
		return StatusDeadlineExceeded
	case codes.AlreadyExists:
		return StatusTableAlreadyExists
	case codes.NotFound:
		return StatusTableNotFound
	case codes.Unavailable:
		return StatusTableUnavailable
	case codes.ResourceExhausted:
		return StatusRateLimited
	case codes.Unauthenticated:
		return StatusUserPasswordMismatch
	case codes.PermissionDenied:
		return StatusPermissionDenied
	}
	return StatusUnknown
}

// greptimeError is an error the server answers with: a gRPC status plus,
// when code is non-zero, GreptimeDB's trailers.
type greptimeError struct {
	grpcCode codes.Code
	code     StatusCode // 0: no greptime trailers
	hint     RetryHint
	msg      string
	// trailer is extra trailer metadata (tonic's grpc-accept-encoding on an unsupported encoding).
	trailer metadata.MD
}

// Error returns the status message.
func (e *greptimeError) Error() string { return e.msg }

// newError builds the error GreptimeDB returns for status code c: gRPC code
// from status_to_tonic_code, the code's default retry hint, and the message
// masked for Unknown/Internal as GreptimeDB's output_msg does
// (src/common/error/src/ext.rs:143-147).
func newError(c StatusCode, format string, args ...any) *greptimeError {
	msg := fmt.Sprintf(format, args...)
	if c.masked() {
		msg = fmt.Sprintf("Internal error: %d", uint32(c))
	}
	return &greptimeError{grpcCode: c.GRPCCode(), code: c, hint: c.RetryHint(), msg: msg}
}

// retryHint is the hint the trailers carry: the error's own, else its code's default.
func (e *greptimeError) retryHint() RetryHint {
	if e.hint != "" {
		return e.hint
	}
	return e.code.RetryHint()
}

// send sets the trailers (if any) on ctx and returns the gRPC status error.
// GreptimeDB sets both trailers on every error it converts to a tonic
// status (define_into_tonic_status, src/common/error/src/status_code.rs:273-293).
func (e *greptimeError) send(ctx context.Context) error {
	md := e.trailer.Copy()
	if e.code != StatusSuccess {
		md = metadata.Join(md, metadata.Pairs(
			HeaderErrCode, strconv.FormatUint(uint64(e.code), 10),
			HeaderErrRetryHint, string(e.retryHint()),
		))
	}
	if len(md) > 0 {
		// SetTrailer fails only when the stream is already gone; nothing to do then.
		_ = grpc.SetTrailer(ctx, md)
	}
	return status.Error(e.grpcCode, e.msg)
}
