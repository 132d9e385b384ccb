// Package chart draws the horizontal bar charts of Strata's reports
// (`bench fs`, `dedup report`) as SVG.
//
// It is written here rather than taken from a plotting library because
// every package linked into strata runs its initialisation in every strata
// process, and a container start runs three: gonum/plot, which drew these
// charts first, parses its fonts at init and cost 27 ms a process. This
// package does no work until it is asked for a chart.
package chart

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
)

// Bars is a horizontal bar chart: a row per category, top to bottom, and
// in each row a bar per series.
type Bars struct {
	Title  string
	XLabel string
	// Categories name the rows; every series has a value per category.
	Categories []string
	Series     []Series
	// Label formats a bar's value for the text at its end (default %.3g).
	Label func(float64) string
	// Ref, when not zero, draws a dashed vertical line at that value (a
	// ratio's 1, say).
	Ref float64
}

// Series is one set of bars, in one colour ("#3b6ea8").
type Series struct {
	Name   string
	Color  string
	Values []float64
}

// Layout, in SVG user units (pixels).
const (
	width     = 760
	barHeight = 14
	rowGap    = 10
	charWidth = 6.6 // of the 12px sans-serif the labels use, roughly
	titleH    = 34.0
	axisH     = 44.0
)

// WriteSVG writes the chart as an SVG document.
func (b *Bars) WriteSVG(w io.Writer) error {
	for _, s := range b.Series {
		if len(s.Values) != len(b.Categories) {
			return fmt.Errorf("chart: series %q has %d values for %d categories", s.Name, len(s.Values), len(b.Categories))
		}
	}
	label := b.Label
	if label == nil {
		label = func(v float64) string { return fmt.Sprintf("%.3g", v) }
	}
	top := b.Ref
	for _, s := range b.Series {
		for _, v := range s.Values {
			if v > top && !math.IsInf(v, 0) {
				top = v
			}
		}
	}
	step, max := ticks(top)
	labelW := 0.0
	for _, c := range b.Categories {
		labelW = math.Max(labelW, float64(len(c))*charWidth)
	}
	left := labelW + 16
	right := 90.0 // room for the value text at the end of the longest bar
	legendH := 0.0
	if len(b.Series) > 1 {
		legendH = 22
	}
	rowH := float64(len(b.Series)*barHeight + rowGap)
	plotTop := titleH + legendH
	plotH := rowH * float64(len(b.Categories))
	height := plotTop + plotH + axisH
	plotW := width - left - right
	x := func(v float64) float64 { return left + plotW*v/max }

	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%.0f" viewBox="0 0 %d %.0f" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="%d" y="20" font-size="14" text-anchor="middle">%s</text>`+"\n", width/2, esc(b.Title))
	if legendH > 0 {
		lx := left
		for _, s := range b.Series {
			p(`<rect x="%.1f" y="%.1f" width="12" height="12" fill="%s"/>`, lx, titleH, esc(s.Color))
			p(`<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+16, titleH+10, esc(s.Name))
			lx += 16 + float64(len(s.Name))*charWidth + 20
		}
	}
	// Grid and axis.
	for v := 0.0; v <= max*1.0000001; v += step {
		gx := x(v)
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e4e4"/>`+"\n", gx, plotTop, gx, plotTop+plotH)
		p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#444">%s</text>`+"\n", gx, plotTop+plotH+16, esc(trimFloat(v)))
	}
	p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444"/>`+"\n", left, plotTop+plotH, left+plotW, plotTop+plotH)
	p(`<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", left+plotW/2, plotTop+plotH+36, esc(b.XLabel))
	// Bars.
	for i, c := range b.Categories {
		ry := plotTop + float64(i)*rowH + rowGap/2
		p(`<text x="%.1f" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n",
			left-8, ry+float64(len(b.Series)*barHeight)/2, esc(c))
		for k, s := range b.Series {
			v := s.Values[i]
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				continue
			}
			by := ry + float64(k*barHeight)
			p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s"><title>%s: %s</title></rect>`,
				left, by+1, x(v)-left, barHeight-2, esc(s.Color), esc(s.Name), esc(label(v)))
			p(`<text x="%.1f" y="%.1f" dominant-baseline="middle" font-size="11" fill="#333">%s</text>`+"\n",
				x(v)+4, by+barHeight/2, esc(label(v)))
		}
	}
	if b.Ref > 0 {
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#222" stroke-dasharray="4 3"/>`+"\n",
			x(b.Ref), plotTop, x(b.Ref), plotTop+plotH)
	}
	p("</svg>\n")
	return bw.Flush()
}

// ticks picks a tick step of 1, 2 or 5 times a power of ten giving about
// five ticks up to top, and the axis end: the first tick at or past top.
func ticks(top float64) (step, end float64) {
	if top <= 0 {
		return 1, 1
	}
	raw := top / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if step = m * mag; step >= raw {
			break
		}
	}
	end = math.Ceil(top/step) * step
	if end == 0 {
		end = step
	}
	return step, end
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.6f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
