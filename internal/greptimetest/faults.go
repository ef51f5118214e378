package greptimetest

import (
	"context"
	"net"
	"sync"
	"time"

	greptimev1 "github.com/GreptimeTeam/greptime-proto/go/greptime/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// Fault describes how an injected failure answers a call.
// The zero Fault fails the call with Unavailable and no GreptimeDB trailers.
type Fault struct {
	// Code is the gRPC code. If it is OK, Status.GRPCCode() is used, or Unavailable when Status is unset too.
	Code codes.Code
	// Status, when non-zero, is sent as the x-greptime-err-code trailer together
	// with x-greptime-err-retry-hint, as GreptimeDB does on its own errors
	// (src/common/error/src/status_code.rs:273-293).
	// When zero no GreptimeDB trailer is sent (like a proxy or load balancer failing).
	Status StatusCode
	// RetryHint is the x-greptime-err-retry-hint value; default Status.RetryHint(),
	// the hint GreptimeDB sends with that code.
	RetryHint RetryHint
	// Message is the status message. Default: with a Status, the message
	// GreptimeDB sends with that code (about the call's first table and its
	// user); without, "greptimetest: injected fault". With Status Unknown or
	// Internal the message is always "Internal error: <code>", as GreptimeDB
	// masks those (src/common/error/src/ext.rs:143-147).
	Message string
	// Apply processes and stores the request first and fails afterwards, to model
	// "the write was applied but the client saw an error". If processing itself
	// fails, that error is answered instead (the fault is still used up).
	Apply bool
	// DropConnection closes the call's underlying connection instead of answering;
	// the client sees Unavailable (a transport error). Code, Status and Message are then ignored.
	DropConnection bool
}

// err is the error the fault answers a call about sub with.
func (f Fault) err(sub faultSubject) *greptimeError {
	code := f.Code
	if code == codes.OK {
		code = codes.Unavailable
		if f.Status != StatusSuccess {
			code = f.Status.GRPCCode()
		}
	}
	msg := f.Message
	switch {
	case f.Status.masked():
		msg = f.Status.message(sub)
	case msg == "" && f.Status != StatusSuccess:
		msg = f.Status.message(sub)
	case msg == "":
		msg = "greptimetest: injected fault"
	}
	e := &greptimeError{grpcCode: code, code: f.Status, msg: msg}
	if f.Status != StatusSuccess {
		e.hint = f.RetryHint
		if e.hint == "" {
			e.hint = f.Status.RetryHint()
		}
	}
	return e
}

type faultSlot struct {
	fault Fault
	left  int
}

// FailNext makes the next n calls fail with code and msg without applying
// anything and without GreptimeDB trailers (see FailNextWith for those).
func (s *Server) FailNext(n int, code codes.Code, msg string) {
	s.FailNextWith(n, Fault{Code: code, Message: msg})
}

// FailNextStatus makes the next n calls fail, applying nothing, exactly as
// GreptimeDB answers an error with status code: its gRPC code, the trailers
// x-greptime-err-code and x-greptime-err-retry-hint (code.RetryHint()), and
// its message (code's default, see Fault.Message)
// (src/common/error/src/status_code.rs:273-293, :300-343).
func (s *Server) FailNextStatus(n int, code StatusCode) {
	s.FailNextWith(n, Fault{Status: code})
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
// As in a standalone GreptimeDB, which runs a request on its own runtime so
// that a client going away does not cancel it (src/servers/src/grpc/greptime_handler.rs:123-141,
// runtime set only without a meta client, src/frontend/src/server.rs:230-235),
// a call whose client has already given up (deadline, cancel) is still
// processed and its rows stored after the delay. A cluster's frontend has no
// such runtime: the request is dropped when the client gives up
// (src/servers/src/grpc/database.rs:83-94), and only the region writes
// already sent go on (src/operator/src/insert.rs:434, src/servers/src/grpc/region_server.rs:65-88).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetAnswerDelay delays every answer by d after the call was processed and
// its rows stored (0 turns it off): a frontend whose datanodes have written
// the rows but which has not answered yet. Stopping the server then ends the
// call with Unavailable, rows stored.
func (s *Server) SetAnswerDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answerDelay = d
}

// Delayed returns how many calls are waiting in SetLatency's or
// SetAnswerDelay's delay right now.
func (s *Server) Delayed() int { return int(s.delayed.Load()) }

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

// RejectTableStatus makes the region writes into table name (in any
// database) fail with status code as a datanode's would, e.g. RegionNotFound
// while a region moves: the table is created or altered as usual, the other
// inserts of the call are applied (each region write succeeds or fails on its
// own, see doc.go), and the call fails with code's gRPC code, trailers and
// message (code's default, see Fault.Message).
func (s *Server) RejectTableStatus(name string, code StatusCode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectedRegions[name] = Fault{Status: code}
}

// Reset clears every injected fault: queued failures and drops, latency,
// answer delay and rejected tables. Stored tables and recorded calls are kept.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	s.latency = 0
	s.answerDelay = 0
	s.rejected = map[string]*greptimeError{}
	s.rejectedRegions = map[string]Fault{}
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

// wait sleeps d, counted in Delayed. It returns false when Stop interrupts it.
func (s *Server) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	s.delayed.Add(1)
	defer s.delayed.Add(-1)
	select {
	case <-t.C:
		return true
	case <-s.quit:
		return false
	}
}

// subject is what an injected fault's default message names: the request's
// first table (its id if it exists, else the id it would get) and user.
func (s *Server) subject(req *greptimev1.GreptimeRequest) faultSubject {
	catalog, schema := headerDB(req.GetHeader())
	sub := faultSubject{
		user:     req.GetHeader().GetAuthorization().GetBasic().GetUsername(),
		database: catalog + "-" + schema,
	}
	if ins := req.GetRowInserts().GetInserts(); len(ins) > 0 {
		sub.table = ins[0].GetTableName()
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	sub.tableID = s.store.nextTableID
	if t := s.store.schema(catalog, schema)[sub.table]; t != nil {
		sub.tableID = t.id
	}
	return sub
}

// drop closes the connection the call came in on.
func (s *Server) drop(ctx context.Context, c *Call) (*greptimev1.GreptimeResponse, error) {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		s.lis.closeConn(p.Addr.String())
	}
	return s.finish(ctx, c, nil, &greptimeError{grpcCode: codes.Unavailable, msg: "greptimetest: connection dropped"}, true)
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
