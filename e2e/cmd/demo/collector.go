package main

import (
	"fmt"
	"io"
	"time"

	"github.com/greptime-events/greptimeeventsexporter/e2e/internal/otelcol"
)

// runningCollector is the demo's collector and its OTLP/gRPC address.
type runningCollector struct {
	*otelcol.Collector
	grpcAddr string
}

// startCollector starts the collector with o.config, writing to the
// GreptimeDB at endpoint. Its OTLP receiver gets free ports, so that the demo
// runs beside another collector, and its own metrics are off for the same
// reason; the event catalog and the dead-letter table are on.
func startCollector(w io.Writer, o options, endpoint string) (*runningCollector, error) {
	grpcAddr, err := otelcol.FreeAddr()
	if err != nil {
		return nil, err
	}
	httpAddr, err := otelcol.FreeAddr()
	if err != nil {
		return nil, err
	}
	set := []string{
		"receivers::otlp::protocols::grpc::endpoint=" + grpcAddr,
		"receivers::otlp::protocols::http::endpoint=" + httpAddr,
		"service::telemetry::metrics::level=none",
	}
	set = append(set, optInSet()...) // the event catalog and the dead-letter table
	set = append(set, tracesPipelineSet()...)
	set = append(set, o.set...)
	fmt.Fprintf(w, "collector   %s --config %s\n", o.collector, o.config)
	for _, s := range set {
		fmt.Fprintf(w, "              --set %s\n", s)
	}
	began := time.Now()
	c, err := otelcol.Start(otelcol.Options{
		Binary:    o.collector,
		Configs:   []string{o.config},
		Set:       set,
		Env:       []string{"GREPTIMEDB_ENDPOINT=" + endpoint},
		ReadyAddr: grpcAddr,
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "            pid %d, serving OTLP/gRPC on %s and OTLP/HTTP on %s after %s\n\n",
		c.Pid(), grpcAddr, httpAddr, time.Since(began).Round(time.Millisecond))
	return &runningCollector{Collector: c, grpcAddr: grpcAddr}, nil
}

// stopCollector stops the collector with SIGTERM; it drains its queue first.
// If it did not shut down cleanly, its output is printed.
func stopCollector(w io.Writer, c *runningCollector) error {
	fmt.Fprintf(w, "Stopping the collector (SIGTERM; it sends what its queue still holds) ... ")
	began := time.Now()
	if err := c.Stop(); err != nil {
		fmt.Fprintf(w, "failed\n--- collector output ---\n%s", c.Output())
		return err
	}
	fmt.Fprintf(w, "done in %s.\n\n", time.Since(began).Round(time.Millisecond))
	return nil
}
