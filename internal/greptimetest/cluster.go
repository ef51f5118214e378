package greptimetest

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// Citations of src/...:line are of GreptimeDB's source at v1.3 (commit 7fd0a7bb).

// clusterPortAttempts bounds the search for a port free on every host.
const clusterPortAttempts = 50

// StartCluster starts one server per host, the frontends of one GreptimeDB
// cluster: they share a Store (cfg.Store, else a new store of
// cfg.Databases), as a cluster's frontends share its metadata (a frontend
// finds tables through its catalog manager, src/operator/src/insert.rs:928-938)
// and datanodes (it writes to each region's datanode, src/operator/src/insert.rs:427-438),
// while each has its own listener, faults, latency and recorded calls, and
// stops on its own. Unlike a cluster's frontend, each still serves a call
// whose client has given up (see SetLatency). Every server listens on the
// same port, one free on all hosts (cfg.Addr is ignored): with hosts
// 127.0.0.1, 127.0.0.2 and 127.0.0.3, all loopback on Linux, one DNS name
// can resolve to all of them. The servers are returned in the order of hosts.
func StartCluster(cfg Config, hosts ...string) ([]*Server, error) {
	if len(hosts) == 0 {
		return nil, errors.New("greptimetest: StartCluster needs at least one host")
	}
	if cfg.Store == nil {
		st, err := NewStore(cfg.Databases...)
		if err != nil {
			return nil, err
		}
		cfg.Store, cfg.Databases = st, nil
	}
	listeners, err := listenOnePort(hosts)
	if err != nil {
		return nil, err
	}
	servers := make([]*Server, 0, len(hosts))
	for i, l := range listeners {
		s, err := serve(cfg, l)
		if err != nil {
			for _, started := range servers {
				started.Stop()
			}
			for _, rest := range listeners[i:] {
				_ = rest.Close()
			}
			return nil, err
		}
		servers = append(servers, s)
	}
	return servers, nil
}

// listenOnePort listens on the same TCP port on every host: it takes a free
// port on the first host and tries it on the others, again with another port
// while one is taken.
func listenOnePort(hosts []string) ([]net.Listener, error) {
	var taken error
	for range clusterPortAttempts {
		first, err := net.Listen("tcp", net.JoinHostPort(hosts[0], "0"))
		if err != nil {
			return nil, fmt.Errorf("greptimetest: listen on %s: %w", hosts[0], err)
		}
		port := strconv.Itoa(first.Addr().(*net.TCPAddr).Port)
		listeners := []net.Listener{first}
		for _, h := range hosts[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(h, port))
			if err != nil {
				taken = err
				break
			}
			listeners = append(listeners, l)
		}
		if len(listeners) == len(hosts) {
			return listeners, nil
		}
		for _, l := range listeners {
			_ = l.Close()
		}
		if !errors.Is(taken, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("greptimetest: listen: %w", taken)
		}
	}
	return nil, fmt.Errorf("greptimetest: no port free on all of %v after %d attempts: %w", hosts, clusterPortAttempts, taken)
}
