package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import (
	"context"
	"sync/atomic"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"github.com/cenkalti/backoff/v7"
	lru "github.com/hashicorp/golang-lru/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/greptime-events/greptimeeventsexporter/internal/mapping"
	"github.com/greptime-events/greptimeeventsexporter/internal/wire"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// hintsKey is the gRPC metadata that carries table options to GreptimeDB
// (src/session/src/hints.rs:16, GreptimeDB v1.3), applied when an insert
// creates a table.
const hintsKey = "x-greptime-hints"

// maxDatabases bounds the request headers kept, one per database, when a
// pattern allows any number of tenants; the least recently used goes first.
const maxDatabases = 10_000

// caller makes every call the exporter makes to GreptimeDB, on one gRPC
// connection: the pushes' inserts, dead letters, the event catalog and
// CREATE DATABASE. It knows each database's request header and the largest
// request GreptimeDB accepts.
type caller struct {
	conn *grpc.ClientConn
	// codec sends wire requests as the writer wrote them.
	codec   grpc.CallOption
	timeout time.Duration // of one call; 0: none
	// throttle is the least pause after GreptimeDB sheds load.
	throttle time.Duration
	auth     *greptimev1.AuthHeader
	catalog  string // the catalog option
	headers  *lru.Cache[string, []byte]
	// limit is the largest request: max_request_bytes, lowered when
	// GreptimeDB refuses a request for its size.
	limit atomic.Int64
}

func newCaller(cfg *Config) (*caller, error) {
	headers, err := lru.New[string, []byte](maxDatabases)
	if err != nil {
		return nil, err
	}
	c := &caller{
		codec:    grpc.ForceCodecV2(wire.NewCodec()),
		timeout:  cfg.TimeoutConfig.Timeout,
		throttle: cfg.RetryConfig.MaxInterval,
		catalog:  cfg.Catalog,
		headers:  headers,
	}
	if cfg.Username != "" {
		c.auth = &greptimev1.AuthHeader{AuthScheme: &greptimev1.AuthHeader_Basic{
			Basic: &greptimev1.Basic{Username: cfg.Username, Password: string(cfg.Password)},
		}}
	}
	c.limit.Store(int64(cfg.MaxRequestBytes))
	return c, nil
}

// requestLimit is the largest request to send.
func (c *caller) requestLimit() int { return int(c.limit.Load()) }

// dbname is how a request names database db: "<catalog>-<db>" with the
// catalog option, as GreptimeDB splits a dbname at its first '-'
// (src/common/catalog/src/lib.rs:74-80), else db itself, in the default
// catalog.
func (c *caller) dbname(db string) string {
	if c.catalog == "" {
		return db
	}
	return c.catalog + "-" + db
}

// header is the request header of database db in wire form. It fails only
// on a name that is not valid UTF-8, which tenants keep out.
func (c *caller) header(db string) ([]byte, error) {
	if b, ok := c.headers.Get(db); ok {
		return b, nil
	}
	b, err := wire.EncodeHeader(&greptimev1.RequestHeader{Dbname: c.dbname(db), Authorization: c.auth})
	if err != nil {
		return nil, err
	}
	c.headers.Add(db, b)
	return b, nil
}

// callState is what a push's calls reuse from call to call.
type callState struct {
	inserts  []wire.Insert
	request  wire.Request
	response greptimev1.GreptimeResponse
	trailer  metadata.MD
	opts     []grpc.CallOption // the codec, and the trailer into trailer
}

func (c *caller) newCallState() *callState {
	st := new(callState)
	st.opts = []grpc.CallOption{c.codec, grpc.Trailer(&st.trailer)}
	return st
}

// writeAttempts bounds the tries of the exporter's own writes, which the
// sending queue does not carry: dead letters, the event catalog and CREATE
// DATABASE must not retry for ever.
const writeAttempts = 3

// writeBriefly sends inserts, all of database db, as one request with
// hints, up to writeAttempts times, backing off from 100 ms while its
// failures are retryable.
func (c *caller) writeBriefly(ctx context.Context, db string, inserts []mapping.Insert, hints string) error {
	header, err := c.header(db)
	if err != nil {
		return encodeFailure(err).err
	}
	ws := make([]wire.Insert, len(inserts))
	for i, in := range inserts {
		ws[i] = in.Insert
	}
	_, err = c.callBriefly(metadata.AppendToOutgoingContext(ctx, hintsKey, hints), wire.NewRequest(header, ws))
	return err
}

// query runs a SQL statement in the database db, briefly as writeBriefly:
// a Handle call carrying a query (src/frontend/src/instance/grpc.rs:74-88),
// answered with the affected rows (src/servers/src/grpc/database.rs:62-77).
func (c *caller) query(ctx context.Context, db, sql string) (callFailure, error) {
	return c.callBriefly(ctx, &greptimev1.GreptimeRequest{
		Header:  &greptimev1.RequestHeader{Dbname: c.dbname(db), Authorization: c.auth},
		Request: &greptimev1.GreptimeRequest_Query{Query: &greptimev1.QueryRequest{Query: &greptimev1.QueryRequest_Sql{Sql: sql}}},
	})
}

// callBriefly makes the call of req (a *wire.Request, or a generated
// GreptimeRequest, which the codec marshals as protobuf) with the backoff
// of the exporter's own writes: from 100 ms, doubling, without jitter.
// Each attempt is bounded by the exporter's timeout, when it has one.
func (c *caller) callBriefly(ctx context.Context, req any) (callFailure, error) {
	b := &backoff.ExponentialBackOff{InitialInterval: 100 * time.Millisecond, Multiplier: 2, MaxInterval: time.Second}
	f, err := backoff.Retry(ctx, func() (callFailure, error) {
		var trailer metadata.MD
		callCtx, cancel := c.callContext(ctx)
		defer cancel()
		err := c.conn.Invoke(callCtx, wire.HandleMethod, req, new(greptimev1.GreptimeResponse), c.codec, grpc.Trailer(&trailer))
		if err == nil {
			return callFailure{}, nil
		}
		f := classify(err, trailer, 0)
		if f.verdict != verdictRetry && f.verdict != verdictThrottle {
			return f, backoff.Permanent(f.err)
		}
		return f, f.err
	}, backoff.WithBackOff(b), backoff.WithMaxTries(writeAttempts))
	if err != nil {
		return f, f.err
	}
	return f, nil
}

// callContext bounds one call by the exporter's timeout; timeout 0 means
// none, as it does for exporterhelper.
func (c *caller) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout > 0 {
		return context.WithTimeout(ctx, c.timeout)
	}
	return context.WithCancel(ctx)
}
