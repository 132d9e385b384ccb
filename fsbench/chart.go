package fsbench

import (
	"fmt"
	"io"

	"github.com/strata-engine/strata/chart"
)

var colors = map[string]string{
	Strata:        "#3b6ea8", // blue
	Overlay:       "#9a9a9a", // grey
	FuseOverlayfs: "#d97a2b", // orange
}

// WriteChart draws every workload phase's median time on each contender
// as a ratio to the reference contender's (1 = as fast), as SVG.
func (r *Result) WriteChart(w io.Writer) error {
	rows := r.Rows()
	ref := r.Reference()
	var labels []string
	at := map[string]int{}
	for _, row := range rows {
		k := row.Workload + " " + row.Phase
		if _, ok := at[k]; !ok {
			at[k] = len(labels)
			labels = append(labels, k)
		}
	}
	var series []chart.Series
	for _, c := range r.Contenders {
		vals := make([]float64, len(labels))
		for i := range vals {
			vals[i] = -1 // no sample: no bar
		}
		for _, row := range rows {
			if row.Contender == c {
				vals[at[row.Workload+" "+row.Phase]] = row.Ratio
			}
		}
		color := colors[c]
		if color == "" {
			color = "#555555"
		}
		series = append(series, chart.Series{Name: c, Color: color, Values: vals})
	}
	b := &chart.Bars{
		Title:      fmt.Sprintf("%s: median time relative to %s (lower is faster)", r.Image, ref),
		XLabel:     "median time / " + ref + "'s",
		Categories: labels,
		Series:     series,
		Label:      func(v float64) string { return fmt.Sprintf("%.2fx", v) },
		Ref:        1,
	}
	return b.WriteSVG(w)
}
