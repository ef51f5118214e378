// Command benchratio reads `go test -bench` output on stdin and prints, from
// the medians of every run, the per-record cost of each benchmark and the
// ratios of BenchmarkPush/greptime_events to BenchmarkPush/otlp for each batch size: CPU time
// per record, wall time per record, and allocations per record.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// benchLine matches "BenchmarkPush/batch=1000-2  123  456 ns/op ..." and
// captures the name without its GOMAXPROCS suffix and the metrics.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func main() {
	samples := map[string]map[string][]float64{} // benchmark -> unit -> values
	var order []string
	scanner := bufio.NewScanner(os.Stdin)
	for scanner.Scan() {
		m := benchLine.FindStringSubmatch(scanner.Text())
		if m == nil {
			continue
		}
		name := m[1]
		if samples[name] == nil {
			samples[name] = map[string][]float64{}
			order = append(order, name)
		}
		fields := strings.Fields(m[2])
		for i := 0; i+1 < len(fields); i += 2 {
			if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
				samples[name][fields[i+1]] = append(samples[name][fields[i+1]], v)
			}
		}
	}
	if len(order) == 0 {
		fmt.Fprintln(os.Stderr, "benchratio: no benchmark results on stdin")
		os.Exit(1)
	}

	fmt.Printf("\n%-32s %12s %14s %12s %14s  (medians of %d runs)\n", "benchmark", "ns/record", "cpu-ns/record", "B/record", "allocs/record", len(samples[order[0]]["ns/record"]))
	for _, name := range order {
		s := samples[name]
		fmt.Printf("%-32s %12.1f %14.1f %12.1f %14.3f\n", name, median(s["ns/record"]), median(s["cpu-ns/record"]), median(s["B/record"]), median(s["allocs/record"]))
	}
	fmt.Println()
	for _, batch := range []string{"1000", "100"} {
		push, peer := samples["BenchmarkPush/greptime_events/batch="+batch], samples["BenchmarkPush/otlp/batch="+batch]
		if push == nil || peer == nil {
			fmt.Fprintf(os.Stderr, "benchratio: no push or peer result for batch %s\n", batch)
			os.Exit(1)
		}
		// CPU time is what a user pays: the calls' work done in parallel,
		// which wall time hides.
		fmt.Printf("push/peer cpu-ns-per-record ratio: %.2f (batch %s)\n", median(push["cpu-ns/record"])/median(peer["cpu-ns/record"]), batch)
		fmt.Printf("push/peer ns-per-record ratio: %.2f (batch %s)\n", median(push["ns/record"])/median(peer["ns/record"]), batch)
		fmt.Printf("push allocs/record: %.2f, peer %.2f (batch %s)\n", median(push["allocs/record"]), median(peer["allocs/record"]), batch)
	}
}

func median(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	v := slices.Clone(values)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
