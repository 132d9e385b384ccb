package dedup

import (
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"strings"

	units "github.com/docker/go-units"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// ChartFormats are the chart formats WriteChart knows, by file extension.
var ChartFormats = []string{"svg", "png", "pdf"}

// ChartFormat returns the chart format a file name asks for, or an error
// naming the ones there are.
func ChartFormat(name string) (string, error) {
	ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(name)), ".")
	for _, f := range ChartFormats {
		if ext == f {
			return f, nil
		}
	}
	return "", fmt.Errorf("chart %s: unknown format %q (want a name ending in .%s)",
		name, ext, strings.Join(ChartFormats, ", ."))
}

// WriteChart draws the strategies' stored sizes as horizontal bars, the
// compressed layer blobs beside them, in format (one of ChartFormats).
func (r *Report) WriteChart(w io.Writer, format string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Storage of %d image(s) by deduplication strategy", len(r.Images))
	p.X.Label.Text = "stored content (MB)"
	p.X.Min = 0

	names := make([]string, 0, len(r.Strategies)+1)
	values := make(plotter.Values, 0, len(r.Strategies)+1)
	// Bottom to top: the plot's Y axis grows upwards, and "none" reads
	// best on top.
	names = append(names, "compressed blobs")
	values = append(values, float64(r.CompressedLayers)/1e6)
	for i := len(r.Strategies) - 1; i >= 0; i-- {
		s := r.Strategies[i]
		names = append(names, s.Name)
		values = append(values, float64(s.Stored)/1e6)
	}
	// The strategies in blue; the compressed blobs, which are not a
	// strategy but a reference point, in grey below them.
	for _, b := range []struct {
		vals plotter.Values
		at   float64
		rgb  color.RGBA
	}{
		{values[:1], 0, color.RGBA{R: 0x9a, G: 0x9a, B: 0x9a, A: 0xff}},
		{values[1:], 1, color.RGBA{R: 0x3b, G: 0x6e, B: 0xa8, A: 0xff}},
	} {
		bars, err := plotter.NewBarChart(b.vals, vg.Points(18))
		if err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		bars.Horizontal = true
		bars.XMin = b.at
		bars.Color = b.rgb
		bars.LineStyle.Width = 0
		p.Add(bars)
	}
	p.NominalY(names...)

	// Each bar's size, as text at its end.
	labels := make([]string, len(values))
	xys := make(plotter.XYs, len(values))
	for i, v := range values {
		labels[i] = units.HumanSize(v * 1e6)
		xys[i] = plotter.XY{X: v, Y: float64(i)}
	}
	text, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	for i := range text.TextStyle {
		text.TextStyle[i].XAlign = 0.1
		text.TextStyle[i].YAlign = -0.5
	}
	p.Add(text)
	top := 0.0
	for _, v := range values {
		top = max(top, v)
	}
	if top > 0 {
		p.X.Max = top * 1.25 // room for the labels
	}

	wt, err := p.WriterTo(7*vg.Inch, 3.5*vg.Inch, format)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}
