package fsbench

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

var palette = []color.RGBA{
	{R: 0x3b, G: 0x6e, B: 0xa8, A: 0xff}, // strata: blue
	{R: 0x9a, G: 0x9a, B: 0x9a, A: 0xff}, // overlay: grey
	{R: 0xd9, G: 0x7a, B: 0x2b, A: 0xff}, // fuse-overlayfs: orange
}

// WriteChart draws every workload phase's median time on each contender,
// as a ratio to the reference contender (1 = as fast), in format ("svg",
// "png" or "pdf").
func (r *Result) WriteChart(w io.Writer, format string) error {
	rows := r.Rows()
	ref := r.Reference()
	var labels []string
	seen := map[string]int{}
	for _, row := range rows {
		k := row.Workload + " " + row.Phase
		if _, ok := seen[k]; !ok {
			seen[k] = len(labels)
			labels = append(labels, k)
		}
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: time relative to %s (lower is faster)", r.Image, ref)
	p.X.Label.Text = "median time / " + ref + "'s"
	p.X.Min = 0
	n := len(r.Contenders)
	width := vg.Points(float64(min(40, 180/max(n, 1))) / 2)
	top := 1.0
	for ci, c := range r.Contenders {
		vals := make(plotter.Values, len(labels))
		for _, row := range rows {
			if row.Contender == c {
				// The y axis grows upwards; the first workload goes on top.
				vals[len(labels)-1-seen[row.Workload+" "+row.Phase]] = row.Ratio
				top = max(top, row.Ratio)
			}
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		bars.Horizontal = true
		bars.Color = palette[indexOf(AllContenders, c)%len(palette)]
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(float64(n-1-ci)-float64(n-1)/2) * width
		p.Add(bars)
		p.Legend.Add(c, bars)
	}
	one, err := plotter.NewLine(plotter.XYs{{X: 1, Y: -0.5}, {X: 1, Y: float64(len(labels)) - 0.5}})
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	one.LineStyle.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	p.Add(one)
	names := make([]string, len(labels))
	for i, l := range labels {
		names[len(labels)-1-i] = l
	}
	p.NominalY(names...)
	p.X.Max = top * 1.3 // room for the legend
	p.Legend.Top = true
	wt, err := p.WriterTo(7*vg.Inch, vg.Length(1.2+0.32*float64(len(labels)*max(n, 1)))*vg.Inch/2+2*vg.Inch, format)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}
