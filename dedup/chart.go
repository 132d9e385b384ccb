package dedup

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	units "github.com/docker/go-units"

	"github.com/strata-engine/strata/chart"
)

// CheckChartName checks that a file name asks for a chart format there
// is: SVG, the one the reports draw.
func CheckChartName(name string) error {
	ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(name)), ".")
	if ext != "svg" {
		return fmt.Errorf("chart %s: unknown format %q (want a name ending in .svg)", name, ext)
	}
	return nil
}

// WriteChart draws the strategies' stored sizes as horizontal bars, with
// the compressed layer blobs below them, as SVG.
func (r *Report) WriteChart(w io.Writer) error {
	var names []string
	var stored, blobs []float64
	for _, s := range r.Strategies {
		names = append(names, s.Name)
		stored = append(stored, float64(s.Stored)/1e6)
		blobs = append(blobs, -1) // no bar
	}
	// The compressed blobs are not a strategy but a reference point: a
	// row of their own, in grey.
	names = append(names, "compressed blobs")
	stored = append(stored, -1)
	blobs = append(blobs, float64(r.CompressedLayers)/1e6)
	b := &chart.Bars{
		Title:      fmt.Sprintf("Storage of %d image(s) by deduplication strategy", len(r.Images)),
		XLabel:     "stored content (MB)",
		Categories: names,
		Series: []chart.Series{
			{Name: "stored", Color: "#3b6ea8", Values: stored},
			{Name: "registry", Color: "#9a9a9a", Values: blobs},
		},
		Label: func(v float64) string { return units.HumanSize(v * 1e6) },
	}
	return b.WriteSVG(w)
}
