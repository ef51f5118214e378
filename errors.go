package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// GreptimeDB sets these trailers on a failed call: its StatusCode and
// whether it thinks a retry can help (src/common/error/src/lib.rs:28,30,
// set by define_into_tonic_status in src/common/error/src/status_code.rs:277-285).
const (
	errCodeTrailer      = "x-greptime-err-code"
	errRetryHintTrailer = "x-greptime-err-retry-hint"
	retryHintRetryable  = "retryable" // src/common/error/src/ext.rs:41
)

// verdict is what the exporter does about a failed call.
type verdict uint8

const (
	// verdictRetry: the call is retried with retry_on_failure's backoff.
	verdictRetry verdict = iota
	// verdictThrottle: retried after a pause of retry_on_failure::max_interval.
	verdictThrottle
	// verdictReject: GreptimeDB refuses the data for good; it goes to the
	// dead-letter table, or is dropped and counted.
	verdictReject
	// verdictRefused: GreptimeDB refuses the credentials; the data is dropped
	// and counted, the failure logged once, nothing dead-lettered (the
	// dead-letter write would be refused too).
	verdictRefused
)

func (v verdict) String() string {
	return [...]string{"retry", "throttled retry", "permanent", "refused credentials"}[v]
}

// statusVerdicts is the verdict for every GreptimeDB StatusCode
// (src/common/error/src/status_code.rs:23-130). GreptimeDB marks most errors
// non_retryable (ext.rs:123-125), including some a retry fixes, so the
// verdict comes from what the code means on the insert path, not from the
// hint. docs/status-codes.md gives the reason for each row with its source;
// TestStatusCodeTable keeps the two in step and drives every row through a
// real call.
var statusVerdicts = map[int]verdict{
	1000: verdictRetry,    // Unknown: masked, could be anything transient
	1001: verdictReject,   // Unsupported: the same request is unsupported again
	1002: verdictRetry,    // Unexpected: metadata races (TableRouteNotFound, TableInfoNotFound, RegionOperatingRace)
	1003: verdictRetry,    // Internal
	1004: verdictReject,   // InvalidArguments: the data (or the database) is refused
	1005: verdictRetry,    // Cancelled
	1006: verdictRetry,    // IllegalState
	1007: verdictRetry,    // External: an object store or another system failed
	1008: verdictRetry,    // DeadlineExceeded (server side)
	1009: verdictThrottle, // Suspended: over a resource limit
	2000: verdictReject,   // InvalidSyntax
	3000: verdictReject,   // PlanQuery
	3001: verdictRetry,    // EngineExecuteQuery
	4000: verdictRetry,    // TableAlreadyExists: a concurrent create won; the retry finds the table
	4001: verdictRetry,    // TableNotFound: dropped or not yet visible; the retry creates it again
	4002: verdictRetry,    // TableColumnNotFound: a concurrent alter; the retry adds the column
	4003: verdictRetry,    // TableColumnExists: a concurrent alter won
	4004: verdictReject,   // DatabaseNotFound
	4005: verdictRetry,    // RegionNotFound: region migration or failover, stale route cache
	4006: verdictRetry,    // RegionAlreadyExists
	4007: verdictRetry,    // RegionReadonly: a leader being downgraded during migration
	4008: verdictRetry,    // RegionNotReady
	4009: verdictThrottle, // RegionBusy
	4010: verdictRetry,    // TableUnavailable
	4011: verdictRetry,    // DatabaseAlreadyExists
	5000: verdictRetry,    // StorageUnavailable
	5001: verdictRetry,    // RequestOutdated: the retry is planned on fresh metadata
	6000: verdictThrottle, // RuntimeResourcesExhausted
	6001: verdictThrottle, // RateLimited
	7000: verdictRefused,  // UserNotFound
	7001: verdictRefused,  // UnsupportedPasswordType
	7002: verdictRefused,  // UserPasswordMismatch
	7003: verdictRefused,  // AuthHeaderNotFound
	7004: verdictRefused,  // InvalidAuthHeader
	7005: verdictRefused,  // AccessDenied: no access to the database
	7006: verdictRefused,  // PermissionDenied: e.g. a read-only user
	8000: verdictReject,   // FlowAlreadyExists: not produced by inserts
	8001: verdictReject,   // FlowNotFound: not produced by inserts
	9000: verdictReject,   // TriggerAlreadyExists: not produced by inserts
	9001: verdictReject,   // TriggerNotFound: not produced by inserts
}

// grpcVerdict is the verdict for a failure without GreptimeDB's trailers (a
// proxy, the transport, or a code this exporter does not know): transient
// server and transport states are retried, request and auth problems not.
func grpcVerdict(c codes.Code) verdict {
	switch c {
	case codes.ResourceExhausted:
		return verdictThrottle
	case codes.Unauthenticated, codes.PermissionDenied:
		return verdictRefused
	case codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.Unimplemented,
		codes.FailedPrecondition, codes.OutOfRange:
		return verdictReject
	default: // Unavailable, DeadlineExceeded, Aborted, Internal, Unknown, Canceled, DataLoss
		return verdictRetry
	}
}

// callFailure is a failed call, classified.
type callFailure struct {
	verdict verdict
	grpc    *status.Status
	code    int // GreptimeDB's StatusCode; 0 when the trailers carried none
	err     error
}

// classify decides what to do about a failed Handle call. GreptimeDB's
// StatusCode decides when the trailers carry one; otherwise the gRPC code.
// A "retryable" hint turns a rejection into a retry: GreptimeDB says the
// same request may succeed; it never turns refused credentials into one.
// err is the error for exporterhelper: plain (retried), a throttle, or
// permanent.
func classify(callErr error, trailer metadata.MD, throttleDelay time.Duration) callFailure {
	f := callFailure{grpc: status.Convert(callErr)}
	code, hasCode := greptimeCode(trailer)
	v, known := statusVerdicts[code]
	if !hasCode || !known {
		v = grpcVerdict(f.grpc.Code())
	}
	if hasCode {
		f.code = code
	}
	if v == verdictReject && code == 1004 && blankCredentials(f.grpc.Message()) {
		v = verdictRefused
	}
	if v == verdictReject && first(trailer, errRetryHintTrailer) == retryHintRetryable {
		v = verdictRetry
	}
	f.verdict = v

	msg := f.grpc.Message()
	if hasCode {
		msg = fmt.Sprintf("%s (GreptimeDB status %d)", msg, code)
	}
	wrapped := fmt.Errorf("GreptimeDB insert failed: %s: %s", f.grpc.Code(), msg)
	switch v {
	case verdictReject, verdictRefused:
		f.err = consumererror.NewPermanent(wrapped)
	case verdictThrottle:
		f.err = exporterhelper.NewThrottleRetry(wrapped, throttleDelay)
	default:
		f.err = wrapped
	}
	return f
}

// blankCredentials reports whether an InvalidArguments message is the auth
// layer's refusal of a blank username or password
// (src/auth/src/user_provider.rs:533,545; "Illegal param: {msg}", src/auth/src/error.rs:27).
func blankCredentials(msg string) bool {
	return strings.Contains(msg, "Illegal param: blank password") || strings.Contains(msg, "Illegal param: blank username")
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
