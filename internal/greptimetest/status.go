package greptimetest

import (
	"context"
	"fmt"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Metadata keys GreptimeDB attaches to a failed gRPC call. They travel in the
// trailers (GreptimeDB answers an error as a trailers-only response).
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

// The two retry hints GreptimeDB sends.
const (
	// RetryHintRetryable says retrying the same request may succeed.
	RetryHintRetryable RetryHint = "retryable"
	// RetryHintNonRetryable says retrying the same request is not expected to help (GreptimeDB's default).
	RetryHintNonRetryable RetryHint = "non_retryable"
)

// StatusCode is GreptimeDB's own error code (common_error::status_code::StatusCode).
type StatusCode uint32

// GreptimeDB status codes. The numbers are GreptimeDB's.
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
)

// GRPCCode returns the gRPC code GreptimeDB maps this status code to (status_to_tonic_code).
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
	case StatusTableAlreadyExists, StatusTableColumnExists, StatusRegionAlreadyExists, StatusDatabaseAlreadyExists:
		return codes.AlreadyExists
	case StatusTableNotFound, StatusRegionNotFound, StatusTableColumnNotFound, StatusDatabaseNotFound, StatusUserNotFound:
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

// statusForGRPCCode picks a representative GreptimeDB status code for a gRPC code,
// used when a fault names only the gRPC code.
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
}

// Error returns the status message.
func (e *greptimeError) Error() string { return e.msg }

// newError builds the error GreptimeDB returns for status code c: gRPC code from
// the mapping, message masked for Unknown/Internal as GreptimeDB's output_msg does.
func newError(c StatusCode, format string, args ...any) *greptimeError {
	msg := fmt.Sprintf(format, args...)
	if c == StatusUnknown || c == StatusInternal {
		msg = fmt.Sprintf("Internal error: %d", uint32(c))
	}
	return &greptimeError{grpcCode: c.GRPCCode(), code: c, hint: RetryHintNonRetryable, msg: msg}
}

// send sets the trailers (if any) on ctx and returns the gRPC status error.
func (e *greptimeError) send(ctx context.Context) error {
	if e.code != StatusSuccess {
		hint := e.hint
		if hint == "" {
			hint = RetryHintNonRetryable
		}
		// SetTrailer fails only when the stream is already gone; nothing to do then.
		_ = grpc.SetTrailer(ctx, metadata.Pairs(
			HeaderErrCode, strconv.FormatUint(uint64(e.code), 10),
			HeaderErrRetryHint, string(hint),
		))
	}
	return status.Error(e.grpcCode, e.msg)
}
