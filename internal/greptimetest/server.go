package greptimetest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// DefaultMaxRecvMsgSize is the GreptimeDB frontend's default max_recv_message_size, 512 MiB
// (src/servers/src/grpc.rs:149, src/common/grpc/src/channel_manager.rs:39).
const DefaultMaxRecvMsgSize = 512 << 20

// defaultCatalog is GreptimeDB's default catalog (src/common/catalog/build.rs:17-18,
// src/common/catalog/src/consts.rs:21).
const defaultCatalog = "greptime"

// Config configures a Server.
type Config struct {
	// Addr is the listen address; default "127.0.0.1:0" (a free loopback port).
	Addr string
	// Users are the basic-auth users (name -> password). Nil or empty disables
	// auth, as a GreptimeDB without a user provider: credentials are then ignored
	// (src/servers/src/grpc/context_auth.rs:131-133).
	Users map[string]string
	// TLS, when set, makes the server speak TLS only (mutual TLS if it requires client certificates).
	TLS *tls.Config
	// Databases are the known databases (schemas of catalog "greptime"); default {"public"}.
	// "greptime-<schema>" is accepted too (src/common/catalog/src/lib.rs:63-81). Writing to
	// another database fails as in GreptimeDB (SchemaNotFound, src/operator/src/statement/ddl.rs:442-457).
	// Leave it empty when Store is set: the store has its databases.
	Databases []string
	// Store, when set, is where the server keeps its tables: servers started
	// with the same Store share them, as the frontends of one GreptimeDB
	// cluster do (see StartCluster). Default: a new store of Databases.
	Store *Store
	// MaxRecvMsgSize is the largest request accepted, in bytes; default DefaultMaxRecvMsgSize.
	// A larger request fails with OutOfRange, as GreptimeDB's tonic server answers
	// (src/servers/src/grpc/builder.rs:62; for compressed requests see sizeInterceptor).
	MaxRecvMsgSize int
	// DatabaseAccess, when set, lists the databases (dbnames as sent,
	// "public" or "greptime-public") each user may use; a user not listed may
	// use every one, as with GreptimeDB's bundled user providers
	// (src/auth/src/user_provider/static_user_provider.rs:78-86). Others
	// answer AccessDenied (7005) from the provider's authorize, which
	// GreptimeDB calls per (catalog, schema) right after authentication
	// (src/auth/src/user_provider.rs:53-66, src/servers/src/grpc/context_auth.rs:145-153).
	// Needs Users.
	DatabaseAccess map[string][]string
	// DisableAutoCreateTable is the frontend option auto_create_table =
	// false (src/frontend/src/frontend.rs:45-51): no table is created or
	// altered by an insert, whatever its hints (src/operator/src/insert.rs:496-515, :579-612).
	DisableAutoCreateTable bool
	// MaxInFlightWriteBytes is the frontend's max_in_flight_write_bytes
	// (src/frontend/src/frontend.rs:52-57; default 0, no limit). A request
	// larger than the whole limit is refused at once with 6001 RateLimited,
	// "Memory limit exceeded" (src/common/memory-manager/src/manager.rs:139-145,
	// src/servers/src/grpc/database.rs:54-59, src/servers/src/error.rs:103-108, :847, :888).
	// Concurrent requests do not wait for one another here: only that
	// check is modelled.
	MaxInFlightWriteBytes int
	// CountOnly makes the server a lightweight sink for load tests (see
	// count.go): it checks each request's header (database, basic auth) and
	// counts the rows per table from the wire bytes (Counted, CountedRows),
	// but stores nothing, checks no schema and records no Call. Injected
	// faults and latency do not apply.
	CountOnly bool
	// HTTPAddr, when set, is where GreptimeDB's HTTP SQL API is served
	// (POST/GET /v1/sql; see http.go), DefaultHTTPAddr being GreptimeDB's
	// address; "127.0.0.1:0" picks a free port (give that to StartCluster,
	// whose servers each listen on it). Empty: no HTTP.
	HTTPAddr string
}

// InsertStat is one RowInsertRequest of a call: the table and its row count.
type InsertStat struct {
	// Table is the table name as sent.
	Table string
	// Rows is the number of rows sent for it.
	Rows int
}

// Call records one Handle call.
type Call struct {
	// Time is when the call arrived.
	Time time.Time
	// Duration is how long the server took to answer, latency included.
	Duration time.Duration
	// DB is RequestHeader.dbname as sent.
	DB string
	// User is the basic-auth username sent in the RequestHeader ("" if none); the password is never kept.
	User string
	// Hints are the parsed write hints.
	Hints map[string]string
	// Inserts lists the row inserts of the request, in order.
	Inserts []InsertStat
	// AffectedRows is the affected_rows answered (0 on failure).
	AffectedRows uint32
	// Code is the gRPC code answered.
	Code codes.Code
	// Message is the gRPC status message ("" on success).
	Message string
	// Status is the x-greptime-err-code trailer sent (StatusSuccess if none).
	Status StatusCode
	// RetryHint is the x-greptime-err-retry-hint trailer sent ("" if none).
	RetryHint RetryHint
	// Injected is true when the outcome came from an injected fault (Fail*, DropConnections, RejectTable*).
	Injected bool
	// Encoding is the request's grpc-encoding ("" when uncompressed).
	Encoding string
	// StoredRows is how many rows the call stored. It can be non-zero on a
	// failed call: GreptimeDB applies each table's region write on its own
	// (src/operator/src/insert.rs:427-445, src/datanode/src/region_server.rs:516-547, :237-243),
	// so the inserts of a request that did not fail are stored; and a call
	// may fail after applying (Fault.Apply, SetAnswerDelay and Stop).
	StoredRows int
}

// Tables returns the table names of the call's inserts, in order.
func (c Call) Tables() []string {
	out := make([]string, len(c.Inserts))
	for i, in := range c.Inserts {
		out[i] = in.Table
	}
	return out
}

// RowCount returns the number of rows sent in the call.
func (c Call) RowCount() int {
	n := 0
	for _, in := range c.Inserts {
		n += in.Rows
	}
	return n
}

func (c Call) clone() Call {
	c.Hints = maps.Clone(c.Hints)
	c.Inserts = slices.Clone(c.Inserts)
	return c
}

// Server is a running GreptimeDB-protocol server. All methods are safe for concurrent use.
type Server struct {
	greptimev1.UnimplementedGreptimeDatabaseServer

	users     map[string]string
	access    map[string][]string
	noCreate  bool
	maxWrite  int
	maxRecv   int
	countOnly bool
	store     *Store
	lis       *trackingListener
	srv       *grpc.Server

	quit      chan struct{}
	stopOnce  sync.Once
	serveDone chan struct{}
	delayed   atomic.Int32 // calls waiting in SetLatency's or SetAnswerDelay's delay

	mu              sync.Mutex
	calls           []Call
	changed         chan struct{} // closed and replaced whenever a call is recorded
	faults          []faultSlot
	latency         time.Duration
	answerDelay     time.Duration
	rejected        map[string]*greptimeError // RejectTable: the whole call fails
	rejectedRegions map[string]Fault          // RejectTableStatus: the table's region write fails
	counted         counts                    // CountOnly mode

	http *httpAPI // Config.HTTPAddr; nil without
}

// Start listens on cfg.Addr and serves in the background until Stop.
func Start(cfg Config) (*Server, error) {
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("greptimetest: listen %s: %w", addr, err)
	}
	s, err := serve(cfg, l)
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	return s, nil
}

// serve serves on l (cfg.Addr is ignored) until Stop.
func serve(cfg Config, l net.Listener) (*Server, error) {
	maxRecv := cfg.MaxRecvMsgSize
	if maxRecv <= 0 {
		maxRecv = DefaultMaxRecvMsgSize
	}
	st := cfg.Store
	if st == nil {
		var err error
		if st, err = NewStore(cfg.Databases...); err != nil {
			return nil, err
		}
	} else if len(cfg.Databases) > 0 {
		return nil, errors.New("greptimetest: set Config.Databases or Config.Store, not both")
	}
	s := &Server{
		users:           maps.Clone(cfg.Users),
		access:          maps.Clone(cfg.DatabaseAccess),
		noCreate:        cfg.DisableAutoCreateTable,
		maxWrite:        cfg.MaxInFlightWriteBytes,
		maxRecv:         maxRecv,
		countOnly:       cfg.CountOnly,
		store:           st,
		quit:            make(chan struct{}),
		serveDone:       make(chan struct{}),
		changed:         make(chan struct{}),
		rejected:        map[string]*greptimeError{},
		rejectedRegions: map[string]Fault{},
	}
	s.lis = &trackingListener{Listener: l, conns: map[string]net.Conn{}}

	opts := []grpc.ServerOption{
		// The size limit is enforced in sizeInterceptor with GreptimeDB's (tonic's) code and
		// message (src/servers/src/grpc/builder.rs:62).
		grpc.MaxRecvMsgSize(math.MaxInt32),
		grpc.MaxSendMsgSize(DefaultMaxRecvMsgSize),
		grpc.UnaryInterceptor(s.sizeInterceptor),
		grpc.WaitForHandlers(true),
		// See compression.go: the encoding is checked before the request is decoded.
		grpc.StatsHandler(encodingTagger{}),
	}
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	if cfg.CountOnly {
		opts = append(opts, grpc.ForceServerCodecV2(countCodec{proto: encoding.GetCodecV2("proto")}))
	}
	s.srv = grpc.NewServer(opts...)
	if cfg.CountOnly {
		s.srv.RegisterService(s.checkEncodings(&countServiceDesc), s)
	} else {
		s.srv.RegisterService(s.checkEncodings(&greptimev1.GreptimeDatabase_ServiceDesc), s)
	}
	if err := s.startHTTP(cfg.HTTPAddr); err != nil {
		return nil, err
	}
	go func() {
		defer close(s.serveDone)
		// Serve returns when Stop closes the listener; there is no one to report an error to.
		_ = s.srv.Serve(s.lis)
	}()
	return s, nil
}

// Addr returns the address the server listens on (host:port).
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Stop stops listening, closes every connection and waits for running calls and
// the serving goroutine to finish. A call waiting in SetLatency's delay is
// aborted with Unavailable and applies nothing; one waiting in SetAnswerDelay's
// delay has stored its rows, and its client sees Unavailable. Servers sharing
// the store keep serving. Stop is idempotent.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		close(s.quit)
		s.srv.Stop()
		<-s.serveDone
		s.stopHTTP()
	})
}

// Store returns the store the server keeps its tables in.
func (s *Server) Store() *Store { return s.store }

// Tables returns the table names stored in database db, sorted. In all the
// query methods db is a dbname as a client sends it ("public", "greptime-public");
// "" means "public".
func (s *Server) Tables(db string) []string { return s.store.Tables(db) }

// Table returns a deep copy of table name in database db.
func (s *Server) Table(db, name string) (Table, bool) { return s.store.Table(db, name) }

// RowCount returns the number of rows stored in the table (after last_row
// merging on non-append tables); 0 if it does not exist.
func (s *Server) RowCount(db, name string) int { return s.store.RowCount(db, name) }

// Calls returns every Handle call so far, in completion order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		out[i] = c.clone()
	}
	return out
}

// Rejected returns the calls that failed, in completion order.
func (s *Server) Rejected() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if c.Code != codes.OK {
			out = append(out, c.clone())
		}
	}
	return out
}

// WaitForCalls blocks until at least n calls have been recorded or ctx is done.
// A call is recorded after its outcome is final (and its rows stored, if any).
func (s *Server) WaitForCalls(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		got, ch := len(s.calls), s.changed
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("greptimetest: %d of %d calls recorded: %w", got, n, ctx.Err())
		case <-ch:
		}
	}
}

// parseDBName splits a dbname as GreptimeDB does: "catalog-schema" at the first
// '-', else the whole name is the schema of catalog "greptime"
// (src/common/catalog/src/lib.rs:63-81).
func parseDBName(db string) (catalog, schema string) {
	if c, sch, ok := strings.Cut(db, "-"); ok {
		return c, sch
	}
	return defaultCatalog, db
}

// dbString is the name of catalog's schema as GreptimeDB writes it: the
// schema alone in the default catalog, else catalog-schema (build_db_string,
// src/common/catalog/src/lib.rs:37-43).
func dbString(catalog, schema string) string {
	if catalog == defaultCatalog {
		return schema
	}
	return catalog + "-" + schema
}

// headerDB resolves the catalog and schema of a request header as GreptimeDB's
// create_query_context (src/servers/src/grpc/greptime_handler.rs:196-222).
func headerDB(h *greptimev1.RequestHeader) (catalog, schema string) {
	if h == nil {
		return defaultCatalog, "public"
	}
	if h.GetDbname() != "" {
		return parseDBName(h.GetDbname())
	}
	catalog, schema = defaultCatalog, "public"
	if h.GetCatalog() != "" {
		catalog = strings.ToLower(h.GetCatalog())
	}
	if h.GetSchema() != "" {
		schema = strings.ToLower(h.GetSchema())
	}
	return catalog, schema
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	close(s.changed)
	s.changed = make(chan struct{})
}

// finish records the call with the outcome gerr (nil = success) and returns what Handle answers.
func (s *Server) finish(ctx context.Context, c *Call, resp *greptimev1.GreptimeResponse, gerr *greptimeError, injected bool) (*greptimev1.GreptimeResponse, error) {
	c.Duration = time.Since(c.Time)
	c.Injected = injected
	if gerr == nil {
		c.Code = codes.OK
		c.AffectedRows = resp.GetAffectedRows().GetValue()
		s.record(*c)
		return resp, nil
	}
	c.Code, c.Message = gerr.grpcCode, gerr.msg
	if gerr.code != StatusSuccess {
		c.Status = gerr.code
		c.RetryHint = gerr.retryHint()
	}
	s.record(*c)
	return nil, gerr.send(ctx)
}

var errStopping = &greptimeError{grpcCode: codes.Unavailable, msg: "greptimetest: server stopping"}

// Handle serves greptime.v1.GreptimeDatabase/Handle.
func (s *Server) Handle(ctx context.Context, req *greptimev1.GreptimeRequest) (*greptimev1.GreptimeResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	c := newCall(ctx, req, md)

	fault, faulty := s.nextFault()

	s.mu.Lock()
	latency, answerDelay := s.latency, s.answerDelay
	s.mu.Unlock()
	if latency > 0 && !s.wait(latency) {
		return s.finish(ctx, &c, nil, errStopping, faulty)
	}

	if faulty && !fault.Apply {
		if fault.DropConnection {
			return s.drop(ctx, &c)
		}
		return s.finish(ctx, &c, nil, fault.err(s.subject(req)), true)
	}

	out := s.process(req, c.Hints)
	c.StoredRows = out.stored
	if answerDelay > 0 && !s.wait(answerDelay) {
		return s.finish(ctx, &c, nil, errStopping, faulty)
	}
	if faulty && out.err == nil {
		if fault.DropConnection {
			return s.drop(ctx, &c)
		}
		return s.finish(ctx, &c, nil, fault.err(s.subject(req)), true)
	}
	return s.finish(ctx, &c, out.resp, out.err, out.injected)
}

func newCall(ctx context.Context, req *greptimev1.GreptimeRequest, md metadata.MD) Call {
	c := Call{
		Time:     time.Now(),
		DB:       req.GetHeader().GetDbname(),
		User:     req.GetHeader().GetAuthorization().GetBasic().GetUsername(),
		Hints:    extractHints(md),
		Encoding: requestEncoding(ctx),
	}
	for _, in := range req.GetRowInserts().GetInserts() {
		c.Inserts = append(c.Inserts, InsertStat{Table: in.GetTableName(), Rows: len(in.GetRows().GetRows())})
	}
	return c
}

// sizeInterceptor rejects requests larger than MaxRecvMsgSize the way tonic does
// (max_decoding_message_size, src/servers/src/grpc/builder.rs:62; tonic 0.14.2's
// tonic/src/codec/decode.rs:185-195). tonic measures a message as sent, so a
// compressed one by its compressed length; here the decoded size is checked.
func (s *Server) sizeInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if m, ok := req.(proto.Message); ok {
		if n := proto.Size(m); n > s.maxRecv {
			msg := fmt.Sprintf("Error, decoded message length too large: found %d bytes, the limit is: %d bytes", n, s.maxRecv)
			if r, ok := req.(*greptimev1.GreptimeRequest); ok {
				md, _ := metadata.FromIncomingContext(ctx)
				c := newCall(ctx, r, md)
				c.Duration = time.Since(c.Time)
				c.Code, c.Message = codes.OutOfRange, msg
				s.record(c)
			}
			return nil, status.Error(codes.OutOfRange, msg)
		}
	}
	return handler(ctx, req)
}
