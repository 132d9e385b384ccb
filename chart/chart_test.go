package chart

import (
	"bytes"
	"strings"
	"testing"
)

func TestTicks(t *testing.T) {
	for _, tc := range []struct{ top, step, end float64 }{
		{0, 1, 1},
		{1, 0.2, 1},
		{3.2, 1, 4},
		{7, 2, 8},
		{363.3, 100, 400},
		{0.004, 0.001, 0.004},
		{12, 5, 15},
	} {
		step, end := ticks(tc.top)
		if !near(step, tc.step) || !near(end, tc.end) {
			t.Errorf("ticks(%v): got step %v end %v, want %v %v", tc.top, step, end, tc.step, tc.end)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestWriteSVG(t *testing.T) {
	b := &Bars{
		Title:      "a <title> & more",
		XLabel:     "x",
		Categories: []string{"one", "two"},
		Series: []Series{
			{Name: "s1", Color: "#000000", Values: []float64{1, 2}},
			{Name: "s2", Color: "#ffffff", Values: []float64{-1, 3}},
		},
		Ref: 1,
	}
	var buf bytes.Buffer
	if err := b.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`<svg xmlns="http://www.w3.org/2000/svg"`,
		"a &lt;title&gt; &amp; more",
		">one</text>", ">two</text>", ">s1</text>", ">s2</text>",
		`stroke-dasharray="4 3"`,
		"</svg>\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("svg lacks %q:\n%s", want, out)
		}
	}
	// Three bars: the negative value has none.
	if n := strings.Count(out, "<title>"); n != 3 {
		t.Errorf("got %d bars, want 3", n)
	}

	b.Series[1].Values = []float64{1}
	if err := b.WriteSVG(&bytes.Buffer{}); err == nil {
		t.Errorf("a series with too few values: got no error")
	}
}
