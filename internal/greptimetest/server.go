package greptimetest

import (
	"context"
	"crypto/tls"
	"fmt"
	"maps"
	"math"
	"net"
	"slices"
	"sort"
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
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// DefaultMaxRecvMsgSize is the GreptimeDB frontend's default max_recv_message_size (512 MiB).
const DefaultMaxRecvMsgSize = 512 << 20

// defaultCatalog is GreptimeDB's default catalog.
const defaultCatalog = "greptime"

// Config configures a Server.
type Config struct {
	// Addr is the listen address; default "127.0.0.1:0" (a free loopback port).
	Addr string
	// Users are the basic-auth users (name -> password). Nil or empty disables
	// auth, as a GreptimeDB without a user provider: credentials are then ignored.
	Users map[string]string
	// TLS, when set, makes the server speak TLS only (mutual TLS if it requires client certificates).
	TLS *tls.Config
	// Databases are the known databases (schemas of catalog "greptime"); default {"public"}.
	// "greptime-<schema>" is accepted too. Writing to another database fails as in GreptimeDB.
	Databases []string
	// MaxRecvMsgSize is the largest request accepted, in bytes; default DefaultMaxRecvMsgSize.
	// A larger request fails with OutOfRange, as GreptimeDB's tonic server answers.
	MaxRecvMsgSize int
	// CountOnly makes the server a lightweight sink for load tests (see
	// count.go): it checks each request's header (database, basic auth) and
	// counts the rows per table from the wire bytes (Counted, CountedRows),
	// but stores nothing, checks no schema and records no Call. Injected
	// faults and latency do not apply.
	CountOnly bool
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
	// Injected is true when the outcome came from an injected fault (Fail*, DropConnections, RejectTable).
	Injected bool
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

// Fault describes how an injected failure answers a call.
// The zero Fault fails the call with Unavailable and no GreptimeDB trailers.
type Fault struct {
	// Code is the gRPC code. If it is OK, Status.GRPCCode() is used, or Unavailable when Status is unset too.
	Code codes.Code
	// Status, when non-zero, is sent as the x-greptime-err-code trailer together
	// with x-greptime-err-retry-hint, as GreptimeDB does on its own errors.
	// When zero no GreptimeDB trailer is sent (like a proxy or load balancer failing).
	Status StatusCode
	// RetryHint is the x-greptime-err-retry-hint value; default RetryHintNonRetryable (GreptimeDB's default).
	RetryHint RetryHint
	// Message is the status message; default "greptimetest: injected fault".
	Message string
	// Apply processes and stores the request first and fails afterwards, to model
	// "the write was applied but the client saw an error". If processing itself
	// fails, that error is answered instead (the fault is still used up).
	Apply bool
	// DropConnection closes the call's underlying connection instead of answering;
	// the client sees Unavailable (a transport error). Code, Status and Message are then ignored.
	DropConnection bool
}

func (f Fault) err() *greptimeError {
	code := f.Code
	if code == codes.OK {
		code = codes.Unavailable
		if f.Status != StatusSuccess {
			code = f.Status.GRPCCode()
		}
	}
	msg := f.Message
	if msg == "" {
		msg = "greptimetest: injected fault"
	}
	e := &greptimeError{grpcCode: code, code: f.Status, msg: msg}
	if f.Status != StatusSuccess {
		e.hint = f.RetryHint
		if e.hint == "" {
			e.hint = RetryHintNonRetryable
		}
	}
	return e
}

type faultSlot struct {
	fault Fault
	left  int
}

// Server is a running GreptimeDB-protocol server. All methods are safe for concurrent use.
type Server struct {
	greptimev1.UnimplementedGreptimeDatabaseServer

	users   map[string]string
	maxRecv int
	lis     *trackingListener
	srv     *grpc.Server

	quit      chan struct{}
	stopOnce  sync.Once
	serveDone chan struct{}
	delayed   atomic.Int32 // calls waiting in SetLatency's delay

	mu          sync.Mutex
	dbs         map[string]map[string]*table // schema -> table name -> table
	nextTableID uint32
	calls       []Call
	changed     chan struct{} // closed and replaced whenever a call is recorded
	faults      []faultSlot
	latency     time.Duration
	rejected    map[string]*greptimeError
	counted     counts // CountOnly mode
}

// Start listens on cfg.Addr and serves in the background until Stop.
func Start(cfg Config) (*Server, error) {
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	maxRecv := cfg.MaxRecvMsgSize
	if maxRecv <= 0 {
		maxRecv = DefaultMaxRecvMsgSize
	}
	s := &Server{
		users:       maps.Clone(cfg.Users),
		maxRecv:     maxRecv,
		quit:        make(chan struct{}),
		serveDone:   make(chan struct{}),
		dbs:         map[string]map[string]*table{},
		nextTableID: 1024, // GreptimeDB's first user table id
		changed:     make(chan struct{}),
		rejected:    map[string]*greptimeError{},
	}
	dbs := cfg.Databases
	if len(dbs) == 0 {
		dbs = []string{"public"}
	}
	for _, db := range dbs {
		catalog, schema := parseDBName(db)
		if catalog != defaultCatalog || schema == "" {
			return nil, fmt.Errorf("greptimetest: database %q is not in catalog %q", db, defaultCatalog)
		}
		s.dbs[schema] = map[string]*table{}
	}

	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("greptimetest: listen %s: %w", addr, err)
	}
	s.lis = &trackingListener{Listener: l, conns: map[string]net.Conn{}}

	opts := []grpc.ServerOption{
		// The size limit is enforced in sizeInterceptor with GreptimeDB's (tonic's) code and message.
		grpc.MaxRecvMsgSize(math.MaxInt32),
		grpc.MaxSendMsgSize(DefaultMaxRecvMsgSize),
		grpc.UnaryInterceptor(s.sizeInterceptor),
		grpc.WaitForHandlers(true),
	}
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	if cfg.CountOnly {
		opts = append(opts, grpc.ForceServerCodecV2(countCodec{proto: encoding.GetCodecV2("proto")}))
	}
	s.srv = grpc.NewServer(opts...)
	if cfg.CountOnly {
		s.srv.RegisterService(&countServiceDesc, s)
	} else {
		greptimev1.RegisterGreptimeDatabaseServer(s.srv, s)
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
// aborted with Unavailable and applies nothing. Stop is idempotent.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		close(s.quit)
		s.srv.Stop()
		<-s.serveDone
	})
}

// Tables returns the table names stored in database db, sorted. In all the
// query methods db is a dbname as a client sends it ("public", "greptime-public");
// "" means "public".
func (s *Server) Tables(db string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tables := s.database(db)
	out := make([]string, 0, len(tables))
	for name := range tables {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Table returns a deep copy of table name in database db.
func (s *Server) Table(db, name string) (Table, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.database(db)[name]
	if !ok {
		return Table{}, false
	}
	return t.snapshot(), true
}

// RowCount returns the number of rows stored in the table (after last_row
// merging on non-append tables); 0 if it does not exist.
func (s *Server) RowCount(db, name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.database(db)[name]; ok {
		return len(t.Rows)
	}
	return 0
}

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

// FailNext makes the next n calls fail with code and msg without applying
// anything and without GreptimeDB trailers (see FailNextWith for those).
func (s *Server) FailNext(n int, code codes.Code, msg string) {
	s.FailNextWith(n, Fault{Code: code, Message: msg})
}

// FailNextWith makes the next n calls fail as f describes. Faults queue up in
// the order they were added; each call consumes one when it arrives.
func (s *Server) FailNextWith(n int, f Fault) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faultSlot{fault: f, left: n})
}

// DropConnections makes the next n calls close their underlying connection
// mid-call without applying anything; the client sees Unavailable.
func (s *Server) DropConnections(n int) {
	s.FailNextWith(n, Fault{DropConnection: true})
}

// SetLatency delays every call by d before it is processed (0 turns it off).
// As in GreptimeDB, which runs a request on its own runtime so that a client
// going away does not cancel it, a call whose client has already given up
// (deadline, cancel) is still processed and its rows stored after the delay.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// RejectTable makes every call that inserts rows into a table of that name (in
// any database) fail as a whole, applying nothing, with code and msg and the
// trailers x-greptime-err-code (a status code matching code, e.g. 1004 for
// InvalidArgument, 4010 for Unavailable) and x-greptime-err-retry-hint non_retryable.
// It takes effect after authentication and the request-shape checks.
func (s *Server) RejectTable(name string, code codes.Code, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejected[name] = &greptimeError{grpcCode: code, code: statusForGRPCCode(code), hint: RetryHintNonRetryable, msg: msg}
}

// Reset clears every injected fault: queued failures and drops, latency and rejected tables.
// Stored tables and recorded calls are kept.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	s.latency = 0
	s.rejected = map[string]*greptimeError{}
}

// database returns the tables of db ("public", "greptime-public"; "" means
// "public" as an empty dbname does); s.mu held.
func (s *Server) database(db string) map[string]*table {
	if db == "" {
		db = "public"
	}
	catalog, schema := parseDBName(db)
	if catalog != defaultCatalog {
		return nil
	}
	return s.dbs[schema]
}

// parseDBName splits a dbname as GreptimeDB does: "catalog-schema" at the first
// '-', else the whole name is the schema of catalog "greptime".
func parseDBName(db string) (catalog, schema string) {
	if c, sch, ok := strings.Cut(db, "-"); ok {
		return c, sch
	}
	return defaultCatalog, db
}

// headerDB resolves the catalog and schema of a request header as GreptimeDB's create_query_context.
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

func (s *Server) nextFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	f := s.faults[0].fault
	s.faults[0].left--
	if s.faults[0].left == 0 {
		s.faults = s.faults[1:]
	}
	return f, true
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	close(s.changed)
	s.changed = make(chan struct{})
}

// finish records the call with the outcome err (nil = success) and returns what Handle answers.
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
		c.RetryHint = gerr.hint
		if c.RetryHint == "" {
			c.RetryHint = RetryHintNonRetryable
		}
	}
	s.record(*c)
	return nil, gerr.send(ctx)
}

// Handle serves greptime.v1.GreptimeDatabase/Handle.
func (s *Server) Handle(ctx context.Context, req *greptimev1.GreptimeRequest) (*greptimev1.GreptimeResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	c := newCall(req, md)

	fault, faulty := s.nextFault()

	s.mu.Lock()
	delay := s.latency
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		s.delayed.Add(1)
		select {
		case <-t.C:
			s.delayed.Add(-1)
		case <-s.quit:
			s.delayed.Add(-1)
			t.Stop()
			return s.finish(ctx, &c, nil, &greptimeError{grpcCode: codes.Unavailable, msg: "greptimetest: server stopping"}, faulty)
		}
	}

	if faulty && !fault.Apply {
		if fault.DropConnection {
			return s.drop(ctx, &c)
		}
		return s.finish(ctx, &c, nil, fault.err(), true)
	}

	resp, gerr, injected := s.process(req, c.Hints)
	if faulty && gerr == nil {
		if fault.DropConnection {
			return s.drop(ctx, &c)
		}
		return s.finish(ctx, &c, nil, fault.err(), true)
	}
	return s.finish(ctx, &c, resp, gerr, injected)
}

func newCall(req *greptimev1.GreptimeRequest, md metadata.MD) Call {
	c := Call{
		Time:  time.Now(),
		DB:    req.GetHeader().GetDbname(),
		User:  req.GetHeader().GetAuthorization().GetBasic().GetUsername(),
		Hints: extractHints(md),
	}
	for _, in := range req.GetRowInserts().GetInserts() {
		c.Inserts = append(c.Inserts, InsertStat{Table: in.GetTableName(), Rows: len(in.GetRows().GetRows())})
	}
	return c
}

// drop closes the connection the call came in on.
func (s *Server) drop(ctx context.Context, c *Call) (*greptimev1.GreptimeResponse, error) {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		s.lis.closeConn(p.Addr.String())
	}
	return s.finish(ctx, c, nil, &greptimeError{grpcCode: codes.Unavailable, msg: "greptimetest: connection dropped"}, true)
}

// sizeInterceptor rejects requests larger than MaxRecvMsgSize the way tonic does.
func (s *Server) sizeInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if m, ok := req.(proto.Message); ok {
		if n := proto.Size(m); n > s.maxRecv {
			msg := fmt.Sprintf("Error, decoded message length too large: found %d bytes, the limit is: %d bytes", n, s.maxRecv)
			if r, ok := req.(*greptimev1.GreptimeRequest); ok {
				md, _ := metadata.FromIncomingContext(ctx)
				c := newCall(r, md)
				c.Duration = time.Since(c.Time)
				c.Code, c.Message = codes.OutOfRange, msg
				s.record(c)
			}
			return nil, status.Error(codes.OutOfRange, msg)
		}
	}
	return handler(ctx, req)
}

// trackingListener remembers accepted connections by remote address so a call can drop its own.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[string]net.Conn
}

// Accept accepts a connection and remembers it by its remote address.
func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[c.RemoteAddr().String()] = tc
	l.mu.Unlock()
	return tc, nil
}

func (l *trackingListener) closeConn(remote string) {
	l.mu.Lock()
	c := l.conns[remote]
	l.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

// Close forgets the connection and closes it.
func (c *trackedConn) Close() error {
	c.once.Do(func() {
		key := c.RemoteAddr().String()
		c.l.mu.Lock()
		if c.l.conns[key] == net.Conn(c) {
			delete(c.l.conns, key)
		}
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
