package main

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The chart of make load: for each path, every run it measured (the search
// steps and the final runs), as events per second that arrived at the server
// and collector CPU per event, against the rate offered. The rate axis is
// linear: the search spends its steps (bisections, final runs) near the
// highest rate sustained, and that is where the paths part.

// chartWidth and chartHeight are the size of the chart, in pixels at chartDPI.
const (
	chartWidth  = 1200
	chartHeight = 1350
	chartDPI    = 96
)

// runKind says which part of make load a run belongs to.
type runKind int

const (
	searchStep runKind = iota // a step of the search for the highest lossless rate
	finalRun                  // a -duration run on a fresh collector
)

// measured is one run of one path, as the chart draws it.
type measured struct {
	path        string  // the exporter: greptime_events or otlp_grpc
	kind        runKind // search step or final run
	rate        float64 // the rate offered (the generator's target), events/s
	arrived     float64 // events that arrived at the server per second of load
	cpuPerEvent float64 // collector CPU (user + system) per event arrived, µs
	sustained   bool    // no loss, nothing refused, queue at most half full, in time
}

// measure turns a step's result into what the chart draws.
func measure(path string, kind runKind, r stepResult) measured {
	m := measured{path: path, kind: kind, rate: r.rate, cpuPerEvent: r.cpuPer1000() * 1000, sustained: r.failure == ""}
	if s := r.gen.elapsed.Seconds(); s > 0 {
		m.arrived = float64(r.delivered) / s
	}
	return m
}

// chartInfo is what the chart says about the run besides the measurements.
type chartInfo struct {
	machine  string        // machine()
	step     time.Duration // each search step; 0 if there was no search (-rate)
	duration time.Duration // each final run
	date     time.Time
	commit   string // the checkout's commit, "" if unknown
}

// chartPath is how one path is drawn: its color, line and markers.
type chartPath struct {
	name   string // the exporter, as in measured.path
	label  string // in the legend
	color  color.Color
	dashes []vg.Length
	glyph  draw.GlyphDrawer // a sustained run
	hollow draw.GlyphDrawer // a run that was not sustained
}

// chartPaths are ours and the peer, in colors that stay apart for the
// color-blind (Okabe-Ito blue and vermillion) and in shapes and line styles
// that stay apart in grey.
var chartPaths = []chartPath{
	{name: "greptime_events", label: "greptime_events (this exporter)", color: color.RGBA{0x00, 0x72, 0xb2, 0xff},
		glyph: draw.CircleGlyph{}, hollow: draw.RingGlyph{}},
	{name: "otlp_grpc", label: "otlp_grpc (the collector's OTLP exporter)", color: color.RGBA{0xd5, 0x5e, 0x00, 0xff},
		dashes: []vg.Length{vg.Points(7), vg.Points(4)}, glyph: draw.PyramidGlyph{}, hollow: draw.TriangleGlyph{}},
}

// series are the points of one path: the line through its sustained search
// steps, and its runs by kind and outcome. X is the rate offered in thousand
// events/s, Y the panel's value.
type series struct {
	line, sustained, notSustained, finalOK, finalFailed plotter.XYs
}

// seriesOf picks path's runs out of runs, with y giving each run's value.
func seriesOf(runs []measured, path string, y func(measured) float64) series {
	var s series
	for _, m := range runs {
		if m.path != path || m.rate <= 0 {
			continue // a log axis has no place for a rate of 0
		}
		pt := plotter.XY{X: m.rate / 1000, Y: y(m)}
		switch {
		case m.kind == searchStep && m.sustained:
			s.sustained = append(s.sustained, pt)
			s.line = append(s.line, pt)
		case m.kind == searchStep:
			s.notSustained = append(s.notSustained, pt)
		case m.sustained:
			s.finalOK = append(s.finalOK, pt)
		default:
			s.finalFailed = append(s.finalFailed, pt)
		}
	}
	// The search goes up, then bisects: the line goes by rate. Without a
	// search (-rate), it joins the final runs.
	if len(s.line) == 0 {
		s.line = append(s.line, s.finalOK...)
	}
	slices.SortStableFunc(s.line, func(a, b plotter.XY) int {
		switch {
		case a.X < b.X:
			return -1
		case a.X > b.X:
			return 1
		}
		return 0
	})
	return s
}

func arrivedK(m measured) float64    { return m.arrived / 1000 }
func cpuPerEvent(m measured) float64 { return m.cpuPerEvent }

// writeChart draws runs into file, a PNG or, if its name ends in .svg, an SVG.
func writeChart(file string, info chartInfo, runs []measured) error {
	if len(runs) == 0 {
		return errors.New("no runs to draw")
	}
	w, h := vg.Length(chartWidth)*vg.Inch/chartDPI, vg.Length(chartHeight)*vg.Inch/chartDPI
	var c vg.CanvasWriterTo
	if strings.EqualFold(filepath.Ext(file), ".svg") {
		c = vgsvg.New(w, h)
	} else {
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(chartDPI))}
	}
	if err := drawChart(draw.New(c), info, runs); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// drawChart draws the title, the caption and the two panels onto dc.
func drawChart(dc draw.Canvas, info chartInfo, runs []measured) error {
	top := plot.New()
	top.Title.Text = "Throughput: events per second that arrived at the server"
	top.Y.Label.Text = "arrived (thousand events/s)"
	bottom := plot.New()
	bottom.Title.Text = "Cost: collector CPU per event that arrived"
	bottom.Y.Label.Text = "collector CPU per event (µs, user + system)"

	// arrived = offered: where every event offered arrived.
	maxRate := 0.0
	for _, m := range runs {
		maxRate = max(maxRate, m.rate/1000)
	}
	if maxRate <= 0 {
		return errors.New("no run with a rate above 0")
	}
	xMax := maxRate * 1.08
	ideal, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: xMax, Y: xMax}})
	if err != nil {
		return err
	}
	ideal.Color = color.Gray{0x99}
	ideal.Width = vg.Points(1)
	ideal.Dashes = []vg.Length{vg.Points(2), vg.Points(3)}
	top.Add(ideal)
	top.Legend.Add("arrived = offered (no loss)", ideal)

	for _, p := range chartPaths {
		for _, panel := range []struct {
			plot *plot.Plot
			y    func(measured) float64
		}{{top, arrivedK}, {bottom, cpuPerEvent}} {
			s := seriesOf(runs, p.name, panel.y)
			thumbs, err := addSeries(panel.plot, p, s)
			if err != nil {
				return err
			}
			if panel.plot == top && thumbs != nil {
				top.Legend.Add(p.label, thumbs...)
			}
		}
	}
	// What the markers mean, in grey: a filled marker is a sustained run.
	grey := color.Gray{0x55}
	keys := []struct {
		label string
		sty   draw.GlyphStyle
	}{
		{"hollow: not sustained (events lost or refused, queue over half full, or late)", draw.GlyphStyle{Color: grey, Radius: vg.Points(4), Shape: draw.RingGlyph{}}},
		{finalLabel(info), draw.GlyphStyle{Color: grey, Radius: vg.Points(7), Shape: draw.CircleGlyph{}}},
	}
	for _, k := range keys {
		sc, err := plotter.NewScatter(plotter.XYs{{X: 1, Y: 1}})
		if err != nil {
			return err
		}
		sc.GlyphStyle = k.sty
		top.Legend.Add(k.label, sc)
	}
	top.Legend.Top, top.Legend.Left = true, true
	top.Legend.XOffs, top.Legend.YOffs = vg.Points(10), -vg.Points(6)
	top.Legend.Padding = vg.Points(3)
	top.Legend.ThumbnailWidth = vg.Points(36)

	for _, p := range []*plot.Plot{top, bottom} {
		p.Title.TextStyle.Font.Size = vg.Points(14)
		p.Title.Padding = vg.Points(8)
		p.X.Label.Text = "offered rate (thousand events/s)"
		p.X.Min, p.X.Max = 0, xMax
		p.Y.Min = 0
		p.Y.Max *= 1.08
		p.X.Tick.Marker = plot.TickerFunc(niceTicks)
		p.Y.Tick.Marker = plot.TickerFunc(niceTicks)
		for _, a := range []*plot.Axis{&p.X, &p.Y} {
			a.Label.TextStyle.Font.Size = vg.Points(12)
			a.Tick.Label.Font.Size = vg.Points(11)
		}
		p.Legend.TextStyle.Font.Size = vg.Points(11)
		p.Add(plotter.NewGrid())
	}
	// The top panel reaches a little above the most that arrived (the
	// diagonal is cut there): its legend sits in the upper left, where the
	// points are low.
	maxArrived := 0.0
	for _, m := range runs {
		maxArrived = max(maxArrived, arrivedK(m))
	}
	top.Y.Max = max(maxArrived, maxRate/10) * 1.3

	title := plot.New().Title.TextStyle
	title.Font.Size = vg.Points(18)
	caption := title
	caption.Font.Size = vg.Points(11)
	caption.Color = color.Gray{0x33}
	x := dc.Center().X
	y := dc.Max.Y - vg.Points(10)
	dc.FillText(title, vg.Point{X: x, Y: y}, "make load: greptime_events against the collector's OTLP exporter")
	y -= title.Height("M") + vg.Points(6)
	for _, line := range captionLines(info) {
		dc.FillText(caption, vg.Point{X: x, Y: y}, line)
		y -= caption.Height("M") + vg.Points(2)
	}
	dc.Max.Y = y - vg.Points(4)

	canvases := plot.Align([][]*plot.Plot{{top}, {bottom}}, draw.Tiles{
		Rows: 2, Cols: 1,
		PadY: vg.Points(24), PadTop: vg.Points(4), PadBottom: vg.Points(8),
		PadLeft: vg.Points(8), PadRight: vg.Points(20),
	}, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	return nil
}

// addSeries adds one path's points to a panel and returns what its legend
// entry shows (nil if the path has no point).
func addSeries(p *plot.Plot, cp chartPath, s series) ([]plot.Thumbnailer, error) {
	if len(s.line)+len(s.notSustained)+len(s.finalFailed) == 0 {
		return nil, nil
	}
	var thumbs []plot.Thumbnailer
	if len(s.line) > 0 {
		l, err := plotter.NewLine(s.line)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width, l.Dashes = cp.color, vg.Points(2), cp.dashes
		p.Add(l)
		thumbs = append(thumbs, l)
	}
	for _, g := range []struct {
		xys    plotter.XYs
		shape  draw.GlyphDrawer
		radius vg.Length
	}{
		{s.sustained, cp.glyph, 4},
		{s.notSustained, cp.hollow, 4},
		{s.finalOK, cp.glyph, 7},
		{s.finalFailed, cp.hollow, 7},
	} {
		if len(g.xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(g.xys)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: cp.color, Radius: vg.Points(float64(g.radius)), Shape: g.shape}
		p.Add(sc)
	}
	marker, err := plotter.NewScatter(plotter.XYs{{X: 1, Y: 1}})
	if err != nil {
		return nil, err
	}
	marker.GlyphStyle = draw.GlyphStyle{Color: cp.color, Radius: vg.Points(4), Shape: cp.glyph}
	return append(thumbs, marker), nil
}

// finalLabel is the legend's entry for the final runs.
func finalLabel(info chartInfo) string {
	return fmt.Sprintf("large: final run (%s at one rate, fresh collector); small: search step", seconds(info.duration))
}

// captionLines say what the chart shows and where it was measured.
func captionLines(info chartInfo) []string {
	var what string
	if info.step > 0 {
		what = fmt.Sprintf("Every run make load measured: the search steps (%s each; the rate doubles until a step is not sustained, then bisects)"+
			" and the final runs (%s each).", seconds(info.step), seconds(info.duration))
	} else {
		what = fmt.Sprintf("The final runs of make load with -rate (%s each, no search).", seconds(info.duration))
	}
	where := info.machine
	if d := info.date.Format("2006-01-02"); !info.date.IsZero() {
		where += ", " + d
	}
	if info.commit != "" {
		where += ", commit " + info.commit
	}
	return []string{
		what,
		"Filled: sustained. Each path's line joins its sustained search steps and ends at the highest rate its search found.",
		where,
	}
}

// seconds writes d as "10 s", "60 s", "2.5 s".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}

// niceTicks labels multiples of 1, 2 or 5 times a power of ten, at most 10
// steps from lo to hi, with a minor tick halfway between labels.
func niceTicks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'f', -1, 64)}}
	}
	step := math.Pow(10, math.Floor(math.Log10((hi-lo)/10)))
	for _, m := range []float64{1, 2, 5, 10} {
		if (hi-lo)/(m*step) <= 10 {
			step *= m
			break
		}
	}
	scale := math.Pow(10, max(0, -math.Floor(math.Log10(step))+1)) // rounds 0.6000000000000001 to 0.6
	var ticks []plot.Tick
	for i := math.Ceil(lo / step * 2); i/2*step <= hi; i++ {
		v := math.Round(i/2*step*scale) / scale
		t := plot.Tick{Value: v}
		if math.Mod(i, 2) == 0 {
			t.Label = strconv.FormatFloat(v, 'f', -1, 64)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// gitCommit is the short commit of the checkout the driver runs in, with
// "+changes" if tracked files differ from it; "" outside a git checkout.
func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	commit := strings.TrimSpace(string(out))
	if out, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(out) > 0 {
		commit += " + uncommitted changes"
	}
	return commit
}

// chartNote prints where the chart went, or why it did not.
func chartNote(w io.Writer, file string, err error) {
	if err != nil {
		fmt.Fprintf(w, "\nchart: %s not written: %v\n", file, err)
		return
	}
	fmt.Fprintf(w, "\nchart: %s (events/s and collector CPU per event of both paths at every rate measured)\n", file)
}
