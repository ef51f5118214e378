package otelcol

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// MetricsSet are the --set overrides that make a collector serve its own
// metrics in the Prometheus text format on addr (host:port), at level
// normal: the exporter's queue size and sent records among them.
func MetricsSet(addr string) ([]string, error) {
	host, port, ok := strings.Cut(addr, ":")
	if !ok {
		return nil, fmt.Errorf("otelcol: metrics address %q is not host:port", addr)
	}
	return []string{
		"service::telemetry::metrics::level=normal",
		fmt.Sprintf("service::telemetry::metrics::readers=[{pull: {exporter: {prometheus: {host: '%s', port: %s}}}}]", host, port),
	}, nil
}

// Metric scrapes http://addr/metrics and returns the sum of every series of
// the metric name (e.g. otelcol_exporter_queue_size), and whether there was one.
func Metric(ctx context.Context, addr, name string) (float64, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return 0, false, err
	}
	req.Close = true // no idle connection left behind
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("otelcol: scrape %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("otelcol: scrape %s: %s", addr, resp.Status)
	}
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		// name{label="value",...} 12 [timestamp]: label values may hold spaces.
		series, value := line, ""
		if i := strings.LastIndexByte(line, '}'); i >= 0 {
			series, value = line[:i+1], line[i+1:]
		} else if i := strings.IndexByte(line, ' '); i >= 0 {
			series, value = line[:i], line[i:]
		}
		fields := strings.Fields(value)
		if len(fields) == 0 || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, false, fmt.Errorf("otelcol: %s: %q: %w", addr, line, err)
		}
		sum += v
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, false, fmt.Errorf("otelcol: scrape %s: %w", addr, err)
	}
	return sum, found, nil
}
