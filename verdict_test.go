package greptimeeventsexporter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

func TestClassify(t *testing.T) {
	greptime := func(code, hint string) metadata.MD {
		return metadata.Pairs(errCodeTrailer, code, errRetryHintTrailer, hint)
	}
	tests := []struct {
		name    string
		err     error
		trailer metadata.MD
		want    verdict
	}{
		// Without GreptimeDB's trailers (a proxy, the transport), the gRPC code decides.
		{name: "unavailable", err: status.Error(codes.Unavailable, "down"), want: verdictRetry},
		{name: "deadline exceeded", err: status.Error(codes.DeadlineExceeded, "slow"), want: verdictRetry},
		{name: "aborted", err: status.Error(codes.Aborted, "conflict"), want: verdictRetry},
		{name: "internal", err: status.Error(codes.Internal, "oops"), want: verdictRetry},
		{name: "transport error", err: errors.New("connection reset"), want: verdictRetry},
		{name: "resource exhausted", err: status.Error(codes.ResourceExhausted, "busy"), want: verdictThrottle},
		{name: "invalid argument", err: status.Error(codes.InvalidArgument, "bad"), want: verdictReject},
		{name: "not found", err: status.Error(codes.NotFound, "gone"), want: verdictReject},
		{name: "already exists", err: status.Error(codes.AlreadyExists, "table"), want: verdictReject},
		{name: "unimplemented", err: status.Error(codes.Unimplemented, "snappy"), want: verdictReject},
		{name: "out of range: tonic's size limit", err: status.Error(codes.OutOfRange, "Error, decoded message length too large: found 600 bytes, the limit is: 512 bytes"), want: verdictTooLarge},
		{name: "unauthenticated", err: status.Error(codes.Unauthenticated, "who"), want: verdictRefused},
		{name: "permission denied", err: status.Error(codes.PermissionDenied, "no"), want: verdictRefused},

		// GreptimeDB's StatusCode decides over the gRPC code and a non_retryable hint.
		{name: "region not found during migration", err: status.Error(codes.NotFound, "Region 4398046511104(1024, 0) not found"), trailer: greptime("4005", "non_retryable"), want: verdictRetry},
		{name: "metadata race reported as unexpected", err: status.Error(codes.Internal, "Table route not found"), trailer: greptime("1002", "non_retryable"), want: verdictRetry},
		{name: "region readonly during migration", err: status.Error(codes.PermissionDenied, "Region is read-only"), trailer: greptime("4007", "non_retryable"), want: verdictRetry},
		{name: "storage unavailable", err: status.Error(codes.Unavailable, "s3"), trailer: greptime("5000", "non_retryable"), want: verdictRetry},
		{name: "rate limited", err: status.Error(codes.ResourceExhausted, "limit"), trailer: greptime("6001", "non_retryable"), want: verdictThrottle},
		{name: "region busy", err: status.Error(codes.ResourceExhausted, "busy"), trailer: greptime("4009", "retryable"), want: verdictThrottle},
		{name: "type conflict", err: status.Error(codes.InvalidArgument, "column x expect type Int64"), trailer: greptime("1004", "non_retryable"), want: verdictReject},
		{name: "unknown user", err: status.Error(codes.NotFound, "User not found, username: x"), trailer: greptime("7000", "non_retryable"), want: verdictRefused},
		{name: "read-only user", err: status.Error(codes.PermissionDenied, "User is not authorized to perform this action"), trailer: greptime("7006", "non_retryable"), want: verdictDenied},
		{name: "database denied", err: status.Error(codes.PermissionDenied, "Access denied for user 'u' to database 'greptime-shop'"), trailer: greptime("7005", "non_retryable"), want: verdictDenied},
		{name: "missing database", err: status.Error(codes.InvalidArgument, "Failed to find schema, schema info: shop"), trailer: greptime("1004", "non_retryable"), want: verdictNoDatabase},
		{name: "request over the write-bytes limit", err: status.Error(codes.ResourceExhausted, "Memory limit exceeded: requested 9000000 bytes, limit 8388608 bytes"), trailer: greptime("6001", "retryable"), want: verdictTooLarge},
		{name: "write-bytes limiter timed out", err: status.Error(codes.ResourceExhausted, "Timeout waiting for memory quota: requested 100 bytes, waited 10s"), trailer: greptime("6001", "retryable"), want: verdictThrottle},
		{name: "blank password", err: status.Error(codes.InvalidArgument, "Illegal param: blank password"), trailer: greptime("1004", "non_retryable"), want: verdictRefused},
		{name: "blank username", err: status.Error(codes.InvalidArgument, "Illegal param: blank username"), trailer: greptime("1004", "non_retryable"), want: verdictRefused},

		// A retryable hint makes a rejection a retry, never refused credentials.
		{name: "server says retryable", err: status.Error(codes.InvalidArgument, "later"), trailer: greptime("1004", "retryable"), want: verdictRetry},
		{name: "retryable hint cannot retry refused credentials", err: status.Error(codes.Unauthenticated, "no"), trailer: greptime("7002", "retryable"), want: verdictRefused},

		// Codes this exporter does not know fall back to the gRPC code.
		{name: "unknown status code", err: status.Error(codes.Unavailable, "new"), trailer: greptime("12345", "non_retryable"), want: verdictRetry},
		{name: "garbage code is ignored", err: status.Error(codes.InvalidArgument, "x"), trailer: metadata.Pairs(errCodeTrailer, "abc"), want: verdictReject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := classify(tt.err, tt.trailer, time.Second)
			assert.Equal(t, tt.want.String(), f.verdict.String())
			permanent := tt.want != verdictRetry && tt.want != verdictThrottle
			assert.Equal(t, permanent, consumererror.IsPermanent(f.err), "permanent")
			assert.Equal(t, tt.want == verdictThrottle, isThrottle(f.err), "throttled")
		})
	}
}

func TestClassifyMessageNamesTheServerStatus(t *testing.T) {
	f := classify(status.Error(codes.InvalidArgument, "Invalid request to region 1, reason: column x expect type Int64"),
		metadata.Pairs(errCodeTrailer, "1004"), time.Second)
	assert.EqualError(t, f.err, "Permanent error: GreptimeDB insert failed: InvalidArgument: Invalid request to region 1, reason: column x expect type Int64 (GreptimeDB status 1004)")
	assert.Equal(t, 1004, f.code)
	assert.Equal(t, codes.InvalidArgument, f.grpc.Code())
}

// isThrottle tells exporterhelper's throttle error, whose type is internal,
// by the message it starts with: "Throttle (<delay>), error: ...".
func isThrottle(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "Throttle (")
}

// statusRow is a row of docs/status-codes.md.
type statusRow struct {
	code                         int
	name, grpcCode, hint, action string
}

// statusTable reads the table of docs/status-codes.md.
func statusTable(t *testing.T) []statusRow {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("docs", "status-codes.md"))
	require.NoError(t, err)
	var rows []statusRow
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 7 {
			continue
		}
		code, err := strconv.Atoi(strings.TrimSpace(cells[1]))
		if err != nil {
			continue // the header
		}
		rows = append(rows, statusRow{code: code, name: strings.TrimSpace(cells[2]), grpcCode: strings.TrimSpace(cells[3]),
			hint: strings.TrimSpace(cells[4]), action: strings.TrimSpace(cells[5])})
	}
	return rows
}

// TestStatusCodeTable keeps docs/status-codes.md and the exporter's rules in
// step, and drives every row through a real call: the server fails the
// first insert with the row's code, its gRPC code and GreptimeDB's hint,
// and the test checks what became of the records.
func TestStatusCodeTable(t *testing.T) {
	rows := statusTable(t)
	var documented []int
	for _, r := range rows {
		documented = append(documented, r.code)
	}
	var all []int
	for _, c := range greptimetest.AllStatusCodes() {
		if c != greptimetest.StatusSuccess {
			all = append(all, int(c))
		}
	}
	assert.Equal(t, all, documented, "one row per GreptimeDB status code, in order")
	assert.Len(t, statusVerdicts, len(all))

	for _, row := range rows {
		t.Run(fmt.Sprintf("%d %s", row.code, row.name), func(t *testing.T) {
			code := greptimetest.StatusCode(row.code)
			assert.Equal(t, row.grpcCode, code.GRPCCode().String(), "GreptimeDB's gRPC code")
			assert.Equal(t, row.action, statusVerdicts[row.code].String(), "the exporter's verdict")

			h := newHarness(t, setup{configure: func(cfg *Config) {
				withFastRetries(cfg)
				cfg.RetryConfig.MaxInterval = 50 * time.Millisecond // the throttle pause
				cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
			}})
			fault := greptimetest.Fault{Status: code, Message: fmt.Sprintf("injected %s", row.name)}
			if row.hint != "—" {
				fault.RetryHint = greptimetest.RetryHint(row.hint)
			}
			h.srv.FailNextWith(1, fault)

			err := h.exp.ConsumeLogs(context.Background(), logsOfTypes("a", "a"))

			calls := h.srv.Calls()
			switch row.action {
			case "retry", "throttled retry":
				require.NoError(t, err)
				assert.Equal(t, 2, h.srv.RowCount("public", "events"), "landed once, after the retry")
				require.Len(t, calls, 2)
				if row.action == "throttled retry" {
					pause := calls[1].Time.Sub(calls[0].Time.Add(calls[0].Duration))
					assert.GreaterOrEqual(t, pause, 50*time.Millisecond, "paused for max_interval")
				}
				assertRecordsDropped(t, h.tel, nil)
			case "permanent":
				require.NoError(t, err, "dead-lettered, not failed")
				assert.Zero(t, h.srv.RowCount("public", "events"))
				letters, ok := h.srv.Table("public", "events_rejected")
				require.True(t, ok)
				require.Len(t, letters.Rows, 2)
				assert.Equal(t, int64(row.code), letters.Rows[0]["error_code"])
				assert.Equal(t, row.grpcCode, letters.Rows[0]["grpc_code"])
				assertDeadLettered(t, h.tel, counts{"events": 2})
			case "refused credentials", "denied database":
				// A denied database is the exporter's own here: its dead
				// letters would be denied too (tenants: TestTenantDatabaseDenied).
				require.Error(t, err)
				assert.True(t, consumererror.IsPermanent(err))
				assert.Empty(t, h.srv.Tables("public"), "nothing written, not even a dead letter")
				assertRecordsDropped(t, h.tel, counts{"rejected": 2})
				want := "refused the exporter's credentials"
				if row.action == "denied database" {
					want = "denied the exporter's user its database"
				}
				assert.Equal(t, 1, h.logs.FilterMessageSnippet(want).FilterLevelExact(zapcore.ErrorLevel).Len())
			default:
				t.Fatalf("unknown action %q", row.action)
			}
		})
	}
}

// TestBlankPasswordIsRefusedCredentials: GreptimeDB's auth layer refuses a
// blank password with 1004 (src/auth/src/user_provider.rs:542-547), a code
// that otherwise means bad data; the exporter treats it as refused
// credentials: logged once, and nothing dead-lettered.
func TestBlankPasswordIsRefusedCredentials(t *testing.T) {
	h := newHarness(t, setup{configure: func(cfg *Config) {
		cfg.DeadLetter = configoptional.Some(DeadLetterConfig{Table: "events_rejected"})
	}})
	h.srv.FailNextWith(2, greptimetest.Fault{Status: greptimetest.StatusInvalidArguments, Message: "Illegal param: blank password"})

	for range 2 {
		err := h.exp.ConsumeLogs(context.Background(), logsOfTypes("a"))
		require.Error(t, err)
		assert.True(t, consumererror.IsPermanent(err))
	}

	assert.Len(t, h.srv.Calls(), 2, "no dead-letter write")
	assertRecordsDropped(t, h.tel, counts{"rejected": 2})
	assert.Equal(t, 1, h.logs.FilterMessageSnippet("refused the exporter's credentials").FilterLevelExact(zapcore.ErrorLevel).Len())
}
