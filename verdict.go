package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/greptime-events/greptimeeventsexporter/internal/mapping"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

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
	// verdictDenied: GreptimeDB denies the exporter's user the call's
	// database, a decision it takes per (catalog, schema)
	// (src/auth/src/user_provider.rs:53-66, src/frontend/src/instance/grpc.rs:79-88).
	// The records are dead-lettered into the exporter's database when the
	// call's is another (a tenant's); a denial of the exporter's own database
	// is handled as refused credentials.
	verdictDenied
	// verdictNoDatabase: the call's database does not exist. GreptimeDB
	// creates none on insert; the records are dead-lettered into the
	// exporter's database, or the tenant's database is created first when
	// tenants::create_databases allows it.
	verdictNoDatabase
	// verdictTooLarge: GreptimeDB refuses the request for its size; it is
	// split and its parts sent again, down to single records.
	verdictTooLarge
)

func (v verdict) String() string {
	return [...]string{"retry", "throttled retry", "permanent", "refused credentials", "denied database", "missing database", "too large"}[v]
}

// statusVerdicts is the verdict for every GreptimeDB StatusCode
// (src/common/error/src/status_code.rs:23-130). GreptimeDB marks most errors
// non_retryable (src/common/error/src/ext.rs:123-125), including some a
// retry fixes, so the verdict comes from what the code means on the insert
// path, not from the hint. docs/status-codes.md gives each row's reason and
// source; TestStatusCodeTable keeps the two in step and drives every row
// through a real call.
var statusVerdicts = map[int]verdict{
	1000: verdictRetry,    // Unknown: masked (ext.rs:144-146), nothing says it lasts
	1001: verdictReject,   // Unsupported: e.g. a read-only schema (src/operator/src/error.rs:990-994)
	1002: verdictRetry,    // Unexpected: metadata races in auto-create/alter (src/common/meta/src/error.rs:1190,1200,1202)
	1003: verdictRetry,    // Internal: an unreachable datanode, a WAL or metasrv failure
	1004: verdictReject,   // InvalidArguments: the data, or the database, is refused (see refine)
	1005: verdictRetry,    // Cancelled: the frontend's datanode timeout (src/common/grpc/src/channel_manager.rs:404)
	1006: verdictRetry,    // IllegalState
	1007: verdictRetry,    // External: not produced by inserts
	1008: verdictRetry,    // DeadlineExceeded
	1009: verdictThrottle, // Suspended (src/frontend/src/server.rs:259-268)
	2000: verdictReject,   // InvalidSyntax: not produced by inserts
	3000: verdictReject,   // PlanQuery: not produced by inserts
	3001: verdictRetry,    // EngineExecuteQuery: not produced by inserts
	4000: verdictRetry,    // TableAlreadyExists: a concurrent create; the retry finds the table
	4001: verdictRetry,    // TableNotFound: a stale route or a concurrent drop (src/partition/src/error.rs:268)
	4002: verdictRetry,    // TableColumnNotFound: a concurrent alter
	4003: verdictRetry,    // TableColumnExists: a concurrent alter
	4004: verdictReject,   // DatabaseNotFound: not produced by inserts (an unknown database is 1004)
	4005: verdictRetry,    // RegionNotFound: region migration or failover (src/datanode/src/region_server.rs:1255-1260)
	4006: verdictRetry,    // RegionAlreadyExists: not produced by inserts
	4007: verdictRetry,    // RegionReadonly: not produced by inserts; a region changing hands
	4008: verdictRetry,    // RegionNotReady: e.g. a leader being downgraded (src/mito2/src/worker/handle_write.rs:379-389)
	4009: verdictThrottle, // RegionBusy (src/mito2/src/flush.rs:1374)
	4010: verdictRetry,    // TableUnavailable: a region without a leader (src/partition/src/manager.rs:236-241)
	4011: verdictRetry,    // DatabaseAlreadyExists: not produced by inserts
	5000: verdictRetry,    // StorageUnavailable: write buffer full, object store (src/mito2/src/error.rs:582-586)
	5001: verdictRetry,    // RequestOutdated: not produced by inserts
	6000: verdictThrottle, // RuntimeResourcesExhausted
	6001: verdictThrottle, // RateLimited: the frontend's write-bytes limiter (src/servers/src/grpc/database.rs:54-59)
	7000: verdictRefused,  // UserNotFound (src/auth/src/user_provider.rs:536-538)
	7001: verdictRefused,  // UnsupportedPasswordType
	7002: verdictRefused,  // UserPasswordMismatch (src/auth/src/user_provider.rs:548-557)
	7003: verdictRefused,  // AuthHeaderNotFound (src/servers/src/grpc/context_auth.rs:135-142)
	7004: verdictRefused,  // InvalidAuthHeader
	7005: verdictDenied,   // AccessDenied: the user provider's authorize, per database (src/auth/src/user_provider.rs:53-66, src/auth/src/error.rs:66-76)
	7006: verdictDenied,   // PermissionDenied: the permission checker, given the call's database (src/frontend/src/instance/grpc.rs:79-88, src/auth/src/permission.rs:226-233)
	8000: verdictReject,   // FlowAlreadyExists: not produced by inserts
	8001: verdictReject,   // FlowNotFound: not produced by inserts
	9000: verdictReject,   // TriggerAlreadyExists: not produced by inserts
	9001: verdictReject,   // TriggerNotFound: not produced by inserts
}

// refine reads the messages of the codes GreptimeDB uses for causes that
// call for different verdicts: InvalidArguments (1004) and RateLimited (6001).
func refine(v verdict, code int, msg string) verdict {
	if code == 6001 && strings.Contains(msg, memoryLimitExceeded) {
		// The write-bytes limiter refuses a request larger than its whole
		// limit at once, every time, though retryable
		// (src/common/memory-manager/src/manager.rs:139-145, error.rs:29-35, :64-68;
		// 6001 from src/servers/src/error.rs:103-108, :847); the wait for quota
		// that times out, "Timeout waiting for memory quota", is a throttle.
		return verdictTooLarge
	}
	if v != verdictReject || code != 1004 {
		return v
	}
	switch {
	case strings.Contains(msg, schemaNotFound):
		// No database is created on insert (src/operator/src/statement/ddl.rs:441-457,
		// SchemaNotFound: src/operator/src/error.rs:320-325, 1004 at :954).
		return verdictNoDatabase
	case strings.Contains(msg, "Illegal param: blank password"), strings.Contains(msg, "Illegal param: blank username"):
		// The auth layer's refusal of blank credentials
		// (src/auth/src/user_provider.rs:530-535,542-547; "Illegal param: {msg}",
		// src/auth/src/error.rs:27).
		return verdictRefused
	case strings.Contains(msg, "Partition expr version mismatch"):
		// A region being repartitioned: transient, though non_retryable
		// (src/mito2/src/worker/handle_write.rs:408-416, src/mito2/src/error.rs:649).
		return verdictRetry
	}
	return v
}

// The messages refine reads: GreptimeDB's SchemaNotFound and the
// write-bytes limiter's MemoryLimitExceeded.
const (
	schemaNotFound      = "Failed to find schema"
	memoryLimitExceeded = "Memory limit exceeded"
)

// sizeLimitPattern reads the limit a size refusal names: tonic's "…found N
// bytes, the limit is: L bytes" (tonic 0.14.2, tonic/src/codec/decode.rs:185-195)
// or the limiter's "…requested N bytes, limit L bytes"
// (src/common/memory-manager/src/error.rs:29-35).
var sizeLimitPattern = regexp.MustCompile(`limit(?: is:)? (\d+) bytes`)

// sizeLimit is the request size the server's refusal names as its limit,
// or 0 when it names none.
func (f callFailure) sizeLimit() int {
	m := sizeLimitPattern.FindStringSubmatch(f.grpc.Message())
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0
	}
	return n
}

// unknownColumns reports a rejection of columns a table does not have: the
// region's check (src/mito2/src/request.rs:257-263). A first write meets it
// when another first write created the table with other columns at the same
// time: the frontend that lost the race writes against its own idea of the
// table (src/operator/src/statement/ddl.rs:499,511-525), and GreptimeDB adds
// the columns on the next insert that names them.
func (f callFailure) unknownColumns() bool {
	return f.code == 1004 && strings.Contains(f.grpc.Message(), "unknown columns")
}

// grpcVerdict is the verdict for a failure without GreptimeDB's trailers (a
// proxy, the transport, or a code this exporter does not know): transient
// server and transport states are retried, request and auth problems not.
// OutOfRange is how tonic refuses a message over the server's
// max_recv_message_size, before GreptimeDB sees it (tonic 0.14.2 in
// GreptimeDB's Cargo.lock, tonic/src/codec/decode.rs:185-195; the limit is
// set at src/servers/src/grpc/builder.rs:62).
func grpcVerdict(c codes.Code) verdict {
	switch c {
	case codes.OutOfRange:
		return verdictTooLarge
	case codes.ResourceExhausted:
		return verdictThrottle
	case codes.Unauthenticated, codes.PermissionDenied:
		return verdictRefused
	case codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.Unimplemented,
		codes.FailedPrecondition:
		return verdictReject
	default: // Unavailable, DeadlineExceeded, Aborted, Internal, Unknown, Canceled, DataLoss
		return verdictRetry
	}
}

// callFailure is a failed call, classified.
type callFailure struct {
	verdict verdict
	grpc    *status.Status
	code    int   // GreptimeDB's StatusCode; 0 when the trailers carried none
	err     error // for exporterhelper: plain (retried), a throttle, or permanent
	cause   error // the failure described, not classified
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
	v = refine(v, code, f.grpc.Message())
	if v == verdictReject && firstValue(trailer, errRetryHintTrailer) == retryHintRetryable {
		v = verdictRetry
	}
	f.verdict = v

	f.cause = &insertError{status: f.grpc, code: f.code, err: callErr}
	switch v {
	case verdictReject, verdictRefused, verdictDenied, verdictNoDatabase, verdictTooLarge:
		f.err = consumererror.NewPermanent(f.cause)
	case verdictThrottle:
		f.err = exporterhelper.NewThrottleRetry(f.cause, throttleDelay)
	default:
		f.err = f.cause
	}
	return f
}

// tlsToPlaintext reports a TLS handshake answered by a server that speaks
// plain gRPC: TLS is on by default (configtls), and GreptimeDB serves plain
// gRPC unless configured for TLS. Go's TLS client says so in these words
// (crypto/tls, conn.go), and gRPC passes them on in an Unavailable status.
func (f callFailure) tlsToPlaintext() bool {
	return f.grpc != nil && f.grpc.Code() == codes.Unavailable &&
		strings.Contains(f.grpc.Message(), "first record does not look like a TLS handshake")
}

// encodeFailure is a request the exporter cannot encode: a name that is not
// valid UTF-8, which Validate and tenants keep out. It is permanent.
func encodeFailure(err error) callFailure {
	f := callFailure{verdict: verdictReject, grpc: status.New(codes.InvalidArgument, err.Error())}
	f.cause = &insertError{status: f.grpc, err: err}
	f.err = consumererror.NewPermanent(f.cause)
	return f
}

// insertError describes a failed call. It wraps the call's error, so that
// exporterhelper's send_failed metrics find its gRPC code (error.type).
type insertError struct {
	status *status.Status
	code   int // GreptimeDB's StatusCode, 0 if none
	err    error
}

func (e *insertError) Error() string {
	if e.code == 0 {
		return fmt.Sprintf("GreptimeDB insert failed: %s: %s", e.status.Code(), e.status.Message())
	}
	return fmt.Sprintf("GreptimeDB insert failed: %s: %s (GreptimeDB status %d)", e.status.Code(), e.status.Message(), e.code)
}

func (e *insertError) Unwrap() error { return e.err }

func greptimeCode(md metadata.MD) (int, bool) {
	v := firstValue(md, errCodeTrailer)
	if v == "" {
		return 0, false
	}
	code, err := strconv.Atoi(v)
	return code, err == nil
}

func firstValue(md metadata.MD, key string) string {
	if vs := md.Get(key); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// When GreptimeDB declines to create or alter a table for a first write,
// the exporter's error log gives the statement an operator can run
// instead: the table the exporter's config needs, as SQL.

// remedy is the SQL that would let GreptimeDB take a rejected first write of
// layout l: CREATE TABLE when it would not create the table, ALTER TABLE
// when it would not add the columns; "" for any other rejection.
func (f callFailure) remedy(l *mapping.Layout) string {
	switch {
	case f.tableMissing():
		return l.CreateTableSQL()
	case f.unknownColumns():
		return l.AddColumnsSQL(unknownColumnNames(f.grpc.Message()))
	}
	return ""
}

// json2Column reports GreptimeDB's refusal of a JSON value for a JSON2
// column: a table whose column was made with SQL JSON2, GreptimeDB 1.2's
// native JSON type (src/operator/src/statement/ddl.rs:2441-2456), whose
// values travel as JsonValue, which greptime-proto v0.15.0 does not have.
// Neither JSON text nor JSONB passes the region's type check
// (src/mito2/src/request.rs:196-216, src/api/src/helper.rs:889-900).
func (f callFailure) json2Column() bool {
	return f.code == 1004 && strings.Contains(f.grpc.Message(), "expect type Json(JsonType { format: Json2")
}

// json2Reason says, in the log, what to do about a JSON2 column.
const json2Reason = "the table has a JSON2 column (GreptimeDB's native JSON type), which this exporter cannot write: " +
	"give these event types a table of their own (events.<type>.table), or make the table with JSON columns"

// tableMissing reports GreptimeDB's refusal to create a missing table: "Table
// `x` does not exist, and auto-create table is disabled by frontend config"
// (src/operator/src/insert.rs:590-598, the reason from :496-515). The
// exporter's own first writes never turn the hint off, so for them it is the
// frontend's configuration.
func (f callFailure) tableMissing() bool {
	return f.code == 1004 && strings.Contains(f.grpc.Message(), "does not exist, and")
}

// unknownColumnsPattern reads the names in the region's "unknown columns:
// [\"a\", \"b\"]" (src/mito2/src/request.rs:257-263, a Rust Vec's Debug form).
var unknownColumnsPattern = regexp.MustCompile(`unknown columns: \[([^\]]*)\]`)

// unknownColumnNames is the columns an "unknown columns" rejection names.
func unknownColumnNames(msg string) []string {
	m := unknownColumnsPattern.FindStringSubmatch(msg)
	if m == nil {
		return nil
	}
	var names []string
	for _, part := range strings.Split(m[1], ",") {
		if name := strings.Trim(strings.TrimSpace(part), `"`); name != "" {
			names = append(names, name)
		}
	}
	return names
}
