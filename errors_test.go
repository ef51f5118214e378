package greptimeeventsexporter

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestClassify(t *testing.T) {
	trailer := func(kv ...string) metadata.MD { return metadata.Pairs(kv...) }
	tests := []struct {
		name    string
		err     error
		trailer metadata.MD
		want    errorClass
	}{
		{name: "unavailable", err: status.Error(codes.Unavailable, "down"), want: classRetryable},
		{name: "deadline exceeded", err: status.Error(codes.DeadlineExceeded, "slow"), want: classRetryable},
		{name: "aborted", err: status.Error(codes.Aborted, "conflict"), want: classRetryable},
		{name: "internal", err: status.Error(codes.Internal, "oops"), want: classRetryable},
		{name: "transport error", err: errors.New("connection reset"), want: classRetryable},
		{name: "resource exhausted", err: status.Error(codes.ResourceExhausted, "busy"), want: classThrottled},
		{name: "invalid argument", err: status.Error(codes.InvalidArgument, "bad"), want: classPermanent},
		{name: "unauthenticated", err: status.Error(codes.Unauthenticated, "who"), want: classPermanent},
		{name: "permission denied", err: status.Error(codes.PermissionDenied, "no"), want: classPermanent},
		{name: "not found", err: status.Error(codes.NotFound, "user"), want: classPermanent},
		{name: "already exists", err: status.Error(codes.AlreadyExists, "table"), want: classPermanent},
		{name: "unimplemented", err: status.Error(codes.Unimplemented, "no"), want: classPermanent},

		{name: "rate limited", err: status.Error(codes.ResourceExhausted, "limit"), trailer: trailer(errCodeTrailer, "6001"), want: classThrottled},
		{name: "region busy", err: status.Error(codes.ResourceExhausted, "busy"), trailer: trailer(errCodeTrailer, "4009"), want: classThrottled},
		{name: "storage unavailable", err: status.Error(codes.Unavailable, "s3"), trailer: trailer(errCodeTrailer, "5000", errRetryHintTrailer, "non_retryable"), want: classRetryable},
		{name: "server says retryable", err: status.Error(codes.InvalidArgument, "later"), trailer: trailer(errCodeTrailer, "1004", errRetryHintTrailer, "retryable"), want: classRetryable},
		{name: "unexpected request reported as internal", err: status.Error(codes.Internal, "json"), trailer: trailer(errCodeTrailer, "1002", errRetryHintTrailer, "non_retryable"), want: classPermanent},
		{name: "internal stays retryable", err: status.Error(codes.Internal, "Internal error: 1003"), trailer: trailer(errCodeTrailer, "1003", errRetryHintTrailer, "non_retryable"), want: classRetryable},
		{name: "garbage code is ignored", err: status.Error(codes.Unavailable, "x"), trailer: trailer(errCodeTrailer, "abc"), want: classRetryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify(tt.err, tt.trailer, time.Second)
			assert.Equal(t, tt.want == classPermanent, consumererror.IsPermanent(err), "permanent")
			assert.Equal(t, tt.want == classThrottled, isThrottle(err), "throttled")
		})
	}
}

func TestClassifyMessageNamesTheServerStatus(t *testing.T) {
	err := classify(status.Error(codes.InvalidArgument, "Invalid request to region 1, reason: column x expect type Int64"),
		metadata.Pairs(errCodeTrailer, "1004"), time.Second)
	assert.EqualError(t, err, "Permanent error: GreptimeDB insert failed: InvalidArgument: Invalid request to region 1, reason: column x expect type Int64 (GreptimeDB status 1004)")
}

// isThrottle tells exporterhelper's throttle error, whose type is internal,
// by the message it starts with: "Throttle (<delay>), error: ...".
func isThrottle(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "Throttle (")
}
