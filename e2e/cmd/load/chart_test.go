package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/plotter"
)

// result is a step's result as the load measures it: rate offered, events
// accepted and refused by the collector, arrived at the server, over elapsed
// seconds of load, with the collector's CPU seconds; failure "" if sustained.
func result(rate float64, accepted, refused, arrived int64, elapsed, cpu float64, failure string) stepResult {
	return stepResult{
		rate:      rate,
		gen:       genRun{accepted: accepted, refused: refused, elapsed: time.Duration(elapsed * float64(time.Second))},
		delivered: arrived,
		cpu:       cpu,
		failure:   failure,
	}
}

// fixedRuns are a make load run with 10 s steps, shortened: each path's
// search (doubling, then bisecting) and its final runs, one of which failed.
func fixedRuns() []measured {
	const full = "collector refused events"
	return []measured{
		measure("greptime_events", searchStep, result(10000, 100000, 0, 100000, 10, 0.8, "")),
		measure("greptime_events", searchStep, result(20000, 200000, 0, 200000, 10, 1.6, "")),
		measure("greptime_events", searchStep, result(40000, 400000, 0, 400000, 10, 2.4, "")),
		measure("greptime_events", searchStep, result(80000, 800000, 0, 500000, 10, 4.0, full)),
		measure("greptime_events", searchStep, result(60000, 600000, 0, 600000, 10, 3.0, "")),
		measure("greptime_events", finalRun, result(60000, 600000, 0, 550000, 10, 3.3, full)),
		measure("greptime_events", finalRun, result(54000, 540000, 0, 540000, 10, 2.7, "")),
		measure("otlp_grpc", searchStep, result(10000, 100000, 0, 100000, 10, 0.7, "")),
		measure("otlp_grpc", searchStep, result(20000, 200000, 0, 200000, 10, 1.2, "")),
		measure("otlp_grpc", searchStep, result(40000, 400000, 0, 400000, 10, 2.0, "")),
		measure("otlp_grpc", searchStep, result(80000, 800000, 0, 800000, 10, 3.6, "")),
		measure("otlp_grpc", searchStep, result(160000, 1000000, 600000, 1000000, 10, 6.0, full)),
		measure("otlp_grpc", finalRun, result(80000, 800000, 0, 800000, 10, 3.5, "")),
		measure("otlp_grpc", finalRun, result(54000, 540000, 0, 540000, 10, 2.4, "")),
	}
}

func fixedInfo() chartInfo {
	return chartInfo{
		machine: "AMD EPYC, 2 CPUs, Linux 6.18.44, driver built with go1.26.8",
		step:    10 * time.Second, duration: time.Minute,
		date: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC), commit: "f4f09cc",
	}
}

func TestMeasure(t *testing.T) {
	// 250000 events arrived in 5 s of load: 50000/s; 2.5 CPU s for them: 10 µs each.
	m := measure("otlp_grpc", finalRun, result(64000, 300000, 20000, 250000, 5, 2.5, "lost"))
	want := measured{path: "otlp_grpc", kind: finalRun, rate: 64000, arrived: 50000, cpuPerEvent: 10, sustained: false}
	if math.Abs(m.cpuPerEvent-want.cpuPerEvent) > 1e-9 {
		t.Errorf("cpuPerEvent %g, want %g", m.cpuPerEvent, want.cpuPerEvent)
	}
	m.cpuPerEvent = want.cpuPerEvent
	if m != want {
		t.Errorf("measure: %+v, want %+v", m, want)
	}
	if m := measure("x", searchStep, stepResult{rate: 1000}); m.arrived != 0 || m.cpuPerEvent != 0 || !m.sustained {
		t.Errorf("a step that sent nothing: %+v", m)
	}
}

func TestSeriesCarryThePoints(t *testing.T) {
	runs := fixedRuns()
	xy := func(x, y float64) plotter.XY { return plotter.XY{X: x, Y: y} }
	eq := func(name string, got, want plotter.XYs) {
		t.Helper()
		if !slices.EqualFunc(got, want, func(a, b plotter.XY) bool {
			return math.Abs(a.X-b.X) < 1e-9 && math.Abs(a.Y-b.Y) < 1e-9
		}) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}

	// Throughput, thousand events/s: the line goes by rate through the
	// sustained search steps (60k was bisected after 80k failed).
	ours := seriesOf(runs, "greptime_events", arrivedK)
	eq("ours line", ours.line, plotter.XYs{xy(10, 10), xy(20, 20), xy(40, 40), xy(60, 60)})
	eq("ours sustained", ours.sustained, plotter.XYs{xy(10, 10), xy(20, 20), xy(40, 40), xy(60, 60)})
	eq("ours not sustained", ours.notSustained, plotter.XYs{xy(80, 50)})
	eq("ours final", ours.finalOK, plotter.XYs{xy(54, 54)})
	eq("ours final failed", ours.finalFailed, plotter.XYs{xy(60, 55)})

	// CPU per event, µs: 0.8 CPU s for 100000 events is 8 µs.
	peer := seriesOf(runs, "otlp_grpc", cpuPerEvent)
	eq("peer line", peer.line, plotter.XYs{xy(10, 7), xy(20, 6), xy(40, 5), xy(80, 4.5)})
	eq("peer not sustained", peer.notSustained, plotter.XYs{xy(160, 6)})
	eq("peer finals", peer.finalOK, plotter.XYs{xy(80, 4.375), xy(54, 2.4/540000*1e6)})
	if len(peer.finalFailed) != 0 {
		t.Errorf("peer final failed: %v", peer.finalFailed)
	}

	// Without a search (-rate), the line joins the final runs.
	var finals []measured
	for _, m := range runs {
		if m.kind == finalRun {
			finals = append(finals, m)
		}
	}
	eq("-rate line", seriesOf(finals, "otlp_grpc", arrivedK).line, plotter.XYs{xy(54, 54), xy(80, 80)})
}

func TestWriteChartPNG(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bin", "load.png") // bin/ does not exist yet
	if err := writeChart(file, fixedInfo(), fixedRuns()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		t.Fatal("the chart is empty")
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if got := img.Bounds().Size(); got != (image.Point{X: chartWidth, Y: chartHeight}) {
		t.Errorf("the chart is %v pixels, want %dx%d", got, chartWidth, chartHeight)
	}
	// Both paths are drawn, each in its own color.
	for _, p := range chartPaths {
		if n := countColor(img, p.color); n < 200 {
			t.Errorf("%s: %d pixels of its color, want its lines and markers", p.name, n)
		}
	}
}

// countColor counts the pixels of img that are exactly c.
func countColor(img image.Image, c color.Color) int {
	r0, g0, b0, _ := c.RGBA()
	n := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			if r, g, b, _ := img.At(x, y).RGBA(); r == r0 && g == g0 && b == b0 {
				n++
			}
		}
	}
	return n
}

func TestWriteChartSVG(t *testing.T) {
	file := filepath.Join(t.TempDir(), "load.svg")
	if err := writeChart(file, fixedInfo(), fixedRuns()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	svg := string(b)
	if !strings.Contains(svg, "<svg") {
		t.Fatalf("not an SVG: %.100q", svg)
	}
	for _, text := range []string{
		"greptime_events (this exporter)", "otlp_grpc (the collector", "offered rate (thousand events/s)",
		"collector CPU per event (µs, user + system)", "arrived (thousand events/s)", "commit f4f09cc", "(10 s each;", "final runs (60 s each)",
	} {
		if !strings.Contains(svg, text) {
			t.Errorf("the SVG has no %q", text)
		}
	}
}

func TestWriteChartRefusesNothing(t *testing.T) {
	if err := writeChart(filepath.Join(t.TempDir(), "x.png"), fixedInfo(), nil); err == nil {
		t.Error("a chart of no runs was written")
	}
}

func TestNiceTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		labels []string
	}{
		{0, 336, []string{"0", "50", "100", "150", "200", "250", "300"}},
		{0, 11.3, []string{"0", "2", "4", "6", "8", "10"}},
		{0, 0.9, []string{"0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"}},
		{0, 172.8, []string{"0", "20", "40", "60", "80", "100", "120", "140", "160"}},
		{0, 8, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8"}},
	} {
		var labels []string
		minor := 0
		for _, tk := range niceTicks(c.lo, c.hi) {
			if tk.Value < c.lo || tk.Value > c.hi {
				t.Errorf("%g..%g: tick %g outside", c.lo, c.hi, tk.Value)
			}
			if tk.Label == "" {
				minor++
				continue
			}
			labels = append(labels, tk.Label)
		}
		if !slices.Equal(labels, c.labels) {
			t.Errorf("%g..%g: labels %v, want %v", c.lo, c.hi, labels, c.labels)
		}
		if minor < len(labels)-1 {
			t.Errorf("%g..%g: %d minor ticks", c.lo, c.hi, minor)
		}
	}
}
