package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"fmt"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// GreptimeDB sets these trailers on failed calls: its own status code
// (common_error StatusCode) and, in newer releases, whether retrying can help.
const (
	errCodeTrailer      = "x-greptime-err-code"
	errRetryHintTrailer = "x-greptime-err-retry-hint"
)

// GreptimeDB status codes that refine the gRPC code.
const (
	statusUnexpected                = 1002
	statusInternal                  = 1003
	statusInvalidArguments          = 1004
	statusSuspended                 = 1009
	statusInvalidSyntax             = 2000
	statusRegionNotReady            = 4008
	statusRegionBusy                = 4009
	statusTableUnavailable          = 4010
	statusStorageUnavailable        = 5000
	statusRuntimeResourcesExhausted = 6000
	statusRateLimited               = 6001
)

// errorClass is what the exporter does about a failed insert.
type errorClass int

const (
	classRetryable errorClass = iota
	classThrottled            // retryable, after a longer pause
	classPermanent
)

// classify turns a failed Handle call into a retryable, throttled or
// permanent error. The gRPC code decides first; GreptimeDB's status code and
// retry hint, where the trailers carry them, refine it.
func classify(err error, trailer metadata.MD, throttleDelay time.Duration) error {
	st := status.Convert(err)
	class := classOfCode(st.Code())
	code, hasCode := greptimeCode(trailer)
	hint := first(trailer, errRetryHintTrailer)
	switch {
	case hasCode && (code == statusRateLimited || code == statusRuntimeResourcesExhausted ||
		code == statusRegionBusy || code == statusSuspended):
		class = classThrottled
	case hasCode && (code == statusStorageUnavailable || code == statusRegionNotReady ||
		code == statusTableUnavailable || code == statusInternal):
		// The codes GreptimeDB itself retried before it had retry hints.
		class = classRetryable
	case hint == "retryable" && class == classPermanent:
		class = classRetryable
	case hint == "non_retryable" && hasCode && (code == statusInvalidArguments ||
		code == statusInvalidSyntax || code == statusUnexpected):
		// A request the server cannot take (e.g. a JSON value it cannot
		// read, reported as Internal); sending it again cannot help.
		class = classPermanent
	}

	msg := st.Message()
	if hasCode {
		msg = fmt.Sprintf("%s (GreptimeDB status %d)", msg, code)
	}
	wrapped := fmt.Errorf("GreptimeDB insert failed: %s: %s", st.Code(), msg)
	switch class {
	case classPermanent:
		return consumererror.NewPermanent(wrapped)
	case classThrottled:
		return exporterhelper.NewThrottleRetry(wrapped, throttleDelay)
	default:
		return wrapped
	}
}

// classOfCode classifies gRPC status codes as DESIGN.md lays out: transient
// server or transport states are retryable, request and auth problems are not.
func classOfCode(c codes.Code) errorClass {
	switch c {
	case codes.InvalidArgument, codes.Unauthenticated, codes.PermissionDenied, codes.NotFound,
		codes.AlreadyExists, codes.Unimplemented, codes.FailedPrecondition, codes.OutOfRange:
		return classPermanent
	case codes.ResourceExhausted:
		return classThrottled
	default: // Unavailable, DeadlineExceeded, Aborted, Internal, Unknown, Canceled, DataLoss
		return classRetryable
	}
}

// isAuthFailure reports whether GreptimeDB refused the credentials: the
// gRPC codes of its auth errors, or one of its auth status codes (7000-7999;
// an unknown user comes back as NotFound).
func isAuthFailure(err error, trailer metadata.MD) bool {
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied:
		return true
	}
	code, ok := greptimeCode(trailer)
	return ok && code >= 7000 && code < 8000
}

func greptimeCode(md metadata.MD) (int, bool) {
	v := first(md, errCodeTrailer)
	if v == "" {
		return 0, false
	}
	code, err := strconv.Atoi(v)
	return code, err == nil
}

func first(md metadata.MD, key string) string {
	if vs := md.Get(key); len(vs) > 0 {
		return vs[0]
	}
	return ""
}
