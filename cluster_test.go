package greptimeeventsexporter

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/grpc/codes"

	"github.com/greptime-events/greptimeeventsexporter/internal/greptimetest"
)

// The cluster scenario: one exporter in front of a GreptimeDB cluster of
// three frontends sharing one store, reached as README's scale-out section
// configures it, dns:///<service>:<port> with balancer_name round_robin.
// Calls spread over every frontend; one frontend dies with writes in flight
// and every event still lands exactly once.

const (
	clusterDNSName   = "greptime.frontends.test."
	clusterBatch     = 10                   // events per ConsumeLogs
	clusterPace      = 5 * time.Millisecond // between two ConsumeLogs
	clusterAfterKill = 12                   // successful calls the survivors serve after the kill before sending stops
	clusterWait      = 20 * time.Second     // bound of every wait
)

var clusterHosts = []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}

func TestClusterOfFrontends(t *testing.T) {
	frontends, h, dnsQueries := startClusterExporter(t)
	p := startClusterProducer(h.exp)
	defer p.stop()

	// Calls spread over all three frontends.
	require.Eventually(t, func() bool {
		for _, f := range frontends {
			if okCalls(f) == 0 {
				return false
			}
		}
		return true
	}, clusterWait, time.Millisecond, "every frontend serves calls")
	assert.Positive(t, dnsQueries.Load(), "the frontends were found through the test's DNS server")

	survivors := killOneMidWrite(t, frontends)

	// Keep sending until the survivors have served a few more calls.
	servedBefore := okCalls(survivors...)
	require.Eventually(t, func() bool { return okCalls(survivors...) >= servedBefore+clusterAfterKill },
		clusterWait, time.Millisecond, "the survivors keep serving")
	sent := p.stop()
	require.NoError(t, p.err())

	// Every event lands: with event ids the table keeps one row per event,
	// so its row count reaches the number sent exactly when all have landed.
	store := frontends[0].Store()
	require.Eventually(t, func() bool { return store.RowCount("public", "events") >= sent },
		clusterWait, 5*time.Millisecond, "events still missing")
	h.shutdown()

	stored := assertEachEventOnce(t, store, sent)
	written, applied := assertFailedWritesCollapsed(t, frontends, sent)
	for i, f := range frontends {
		ok, failed := callOutcomes(f)
		t.Logf("frontend %d (%s): %d calls served, %d failed", i, f.Addr(), ok, failed)
	}
	t.Logf("%d events sent, %d rows stored, %d rows written, %d of them applied by calls that failed and collapsed, %d DNS queries",
		sent, stored, written, applied, dnsQueries.Load())
}

// startClusterExporter starts three frontends sharing one store, a DNS
// server that names them, and an exporter that finds them through it and
// spreads its calls over them, with event ids, a deep queue, small batches
// and fast retries.
func startClusterExporter(t *testing.T) ([]*greptimetest.Server, *harness, *atomic.Int64) {
	t.Helper()
	frontends, err := greptimetest.StartCluster(greptimetest.Config{}, clusterHosts...)
	require.NoError(t, err)
	for _, f := range frontends {
		t.Cleanup(f.Stop) // Stop is idempotent
	}
	_, port, err := net.SplitHostPort(frontends[0].Addr())
	require.NoError(t, err)
	dnsAddr, dnsQueries := startClusterDNS(t, clusterDNSName, clusterHosts)

	h := newHarness(t, setup{ownServers: true, queue: true, configure: func(cfg *Config) {
		cfg.ClientConfig.Endpoint = "dns://" + dnsAddr + "/" + strings.TrimSuffix(clusterDNSName, ".") + ":" + port
		cfg.ClientConfig.BalancerName = "round_robin"
		cfg.TimeoutConfig.Timeout = 2 * time.Second
		// Event ids make a write that a dying frontend applied before its
		// client saw the failure collapse with its retry.
		cfg.EventID.Enabled = true
		queue := cfg.QueueConfig.Get()
		queue.QueueSize = 1_000_000 // the test never fills it
		batch := queue.Batch.Get()
		batch.MinSize = clusterBatch
		batch.FlushTimeout = 10 * time.Millisecond
		cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
		cfg.RetryConfig.MaxInterval = 100 * time.Millisecond
		cfg.RetryConfig.MaxElapsedTime = clusterWait
	}})
	return frontends, h, dnsQueries
}

// killOneMidWrite kills the second frontend while it holds a write it has
// applied but not yet answered, so that its client sees the call fail and
// retries it elsewhere. It returns the survivors.
func killOneMidWrite(t *testing.T, frontends []*greptimetest.Server) []*greptimetest.Server {
	t.Helper()
	victim := frontends[1]
	victim.SetAnswerDelay(time.Hour)
	require.Eventually(t, func() bool { return victim.Delayed() > 0 }, clusterWait, time.Millisecond,
		"a write applied by the victim waits for its answer")
	victim.Stop()
	return []*greptimetest.Server{frontends[0], frontends[2]}
}

// assertEachEventOnce checks that the table holds exactly one row of each
// of the sent events (numbered by their seq attribute), and returns its
// rows.
func assertEachEventOnce(t *testing.T, store *greptimetest.Store, sent int) int {
	t.Helper()
	tbl, ok := store.Table("public", "events")
	require.True(t, ok)
	rowsPerSeq := map[int]int{}
	for _, row := range tbl.Rows {
		payload, _ := row["payload"].(map[string]any)
		attrs, _ := payload["attributes"].(map[string]any)
		seq, ok := attrs["seq"].(float64)
		require.True(t, ok, "row without seq: %v", row)
		rowsPerSeq[int(seq)]++
	}
	assert.Len(t, rowsPerSeq, sent, "one seq per event sent")
	for seq := range sent {
		assert.Equal(t, 1, rowsPerSeq[seq], "rows of event %d", seq)
	}
	return len(tbl.Rows)
}

// assertFailedWritesCollapsed checks that the victim stored rows of calls
// its client saw fail, and that their retries wrote them again through the
// survivors, where the event ids collapsed them. It returns the rows
// written in all, and those applied by calls that failed.
func assertFailedWritesCollapsed(t *testing.T, frontends []*greptimetest.Server, sent int) (written, applied int) {
	t.Helper()
	for _, f := range frontends {
		for _, c := range f.Calls() {
			written += c.StoredRows
			if c.Code != codes.OK && c.StoredRows > 0 {
				applied += c.StoredRows
			}
		}
	}
	assert.Positive(t, applied, "the victim applied rows of calls that failed")
	assert.GreaterOrEqual(t, written-sent, applied, "those rows were written again and collapsed")
	return written, applied
}

// callOutcomes counts a frontend's calls that succeeded and failed.
func callOutcomes(f *greptimetest.Server) (ok, failed int) {
	for _, c := range f.Calls() {
		if c.Code == codes.OK {
			ok++
		} else {
			failed++
		}
	}
	return ok, failed
}

// okCalls counts the successful calls the servers have recorded.
func okCalls(servers ...*greptimetest.Server) int {
	n := 0
	for _, s := range servers {
		for _, c := range s.Calls() {
			if c.Code == codes.OK {
				n++
			}
		}
	}
	return n
}

// clusterProducer hands numbered events to the exporter, clusterBatch every
// clusterPace, until stopped.
type clusterProducer struct {
	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	sent     int
	failure  error
}

func startClusterProducer(exp exporter.Logs) *clusterProducer {
	p := &clusterProducer{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(clusterPace)
		defer tick.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-tick.C:
			}
			if err := exp.ConsumeLogs(context.Background(), clusterLogs(p.sent, clusterBatch)); err != nil {
				p.failure = err
				return
			}
			p.sent += clusterBatch
		}
	}()
	return p
}

// stop stops sending and returns how many events were handed over.
func (p *clusterProducer) stop() int {
	p.stopOnce.Do(func() { close(p.quit) })
	<-p.done
	return p.sent
}

// err is the error a ConsumeLogs returned, if any; after stop.
func (p *clusterProducer) err() error { return p.failure }

// clusterLogs returns n events numbered from first by their "seq" attribute,
// each with a timestamp of its own.
func clusterLogs(first, n int) plog.Logs {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for seq := first; seq < first+n; seq++ {
		lr := records.AppendEmpty()
		lr.SetEventName("deploy")
		lr.SetTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(seq)))
		lr.Body().SetStr("deploy " + strconv.Itoa(seq))
		lr.Attributes().PutInt("seq", int64(seq))
	}
	return ld
}

// startClusterDNS serves DNS over UDP and TCP on one loopback port, answering
// A queries for name with ips (and nothing else). It returns its address and
// the count of queries it answered.
func startClusterDNS(t *testing.T, name string, ips []string) (string, *atomic.Int64) {
	t.Helper()
	dnsQueries := new(atomic.Int64)
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		dnsQueries.Add(1)
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		for _, q := range r.Question {
			if !strings.EqualFold(q.Name, name) {
				m.Rcode = dns.RcodeNameError
				continue
			}
			if q.Qtype != dns.TypeA {
				continue // the name exists, with no records of this type
			}
			for _, ip := range ips {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1},
					A:   net.ParseIP(ip).To4(),
				})
			}
		}
		_ = w.WriteMsg(m)
	})

	pc, l := listenUDPAndTCP(t)
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: l, Handler: handler}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		served := make(chan error, 1)
		go func() { served <- srv.ActivateAndServe() }()
		select {
		case <-started:
		case err := <-served:
			t.Fatalf("DNS server: %v", err)
		}
		t.Cleanup(func() {
			assert.NoError(t, srv.Shutdown())
			<-served
		})
	}
	return pc.LocalAddr().String(), dnsQueries
}

// listenUDPAndTCP listens on a loopback port free for both UDP and TCP.
func listenUDPAndTCP(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	var err error
	for range 50 {
		var pc net.PacketConn
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		require.NoError(t, err)
		var l net.Listener
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			return pc, l
		}
		_ = pc.Close()
		require.True(t, errors.Is(err, syscall.EADDRINUSE), "listen tcp: %v", err)
	}
	t.Fatalf("no port free for UDP and TCP: %v", err)
	return nil, nil
}
