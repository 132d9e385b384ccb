package fsbench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-engine/strata/layers"
)

func sampleResult() *Result {
	r := &Result{Image: "img", Contenders: []string{Strata, Overlay}, Reps: 3}
	add := func(w, p, c string, secs ...float64) {
		for i, s := range secs {
			r.Samples = append(r.Samples, Sample{Workload: w, Phase: p, Contender: c, Rep: i, Seconds: s})
		}
	}
	// Out of order on purpose: rows come in workload, phase, contender order.
	add("rmtree", "cold", Overlay, 1, 1, 1)
	add("walk", "warm", Strata, 3, 1, 2)
	add("walk", "cold", Strata, 4, 8, 6)
	add("walk", "cold", Overlay, 2, 2, 3)
	add("walk", "warm", Overlay, 1, 1, 1)
	add("rmtree", "cold", Strata, 5, 5, 5)
	return r
}

func TestRows(t *testing.T) {
	rows := sampleResult().Rows()
	want := []Row{
		{"walk", "cold", Strata, 6, 4, 8, 3, 3},
		{"walk", "cold", Overlay, 2, 2, 3, 3, 1},
		{"walk", "warm", Strata, 2, 1, 3, 3, 2},
		{"walk", "warm", Overlay, 1, 1, 1, 3, 1},
		{"rmtree", "cold", Strata, 5, 5, 5, 3, 5},
		{"rmtree", "cold", Overlay, 1, 1, 1, 3, 1},
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d: got %+v, want %+v", i, rows[i], want[i])
		}
	}
	if m := median([]float64{1, 2, 3, 10}); m != 2.5 {
		t.Errorf("median of an even count: got %v, want 2.5", m)
	}
	// Without overlay the first contender is the reference.
	r := sampleResult()
	r.Contenders = []string{Strata}
	if ref := r.Reference(); ref != Strata {
		t.Errorf("reference without overlay: got %q", ref)
	}
}

func TestTableAndCompare(t *testing.T) {
	r := sampleResult()
	var buf bytes.Buffer
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"WORKLOAD  PHASE  STRATA   OVERLAY  STRATA/OVERLAY",
		"walk      cold   6s ±33%  2s ±25%  3.00x",
		"rmtree    cold   5s ±0%   1s ±0%   5.00x",
	} {
		if !strings.Contains(buf.String(), line+"\n") {
			t.Errorf("table lacks %q:\n%s", line, buf.String())
		}
	}

	name := filepath.Join(t.TempDir(), "run.json")
	buf.Reset()
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	old, err := ReadResult(name)
	if err != nil {
		t.Fatal(err)
	}
	cur := sampleResult()
	for i := range cur.Samples {
		cur.Samples[i].Seconds /= 2
	}
	buf.Reset()
	if err := WriteComparison(&buf, old, cur); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "walk      cold   strata      6s      3s     -50.0%\n") {
		t.Errorf("comparison:\n%s", buf.String())
	}

	// Runs with nothing in common, and files that are not runs.
	other := &Result{Contenders: []string{FuseOverlayfs}, Samples: []Sample{{Workload: "seqread", Phase: "cold", Contender: FuseOverlayfs, Seconds: 1}}}
	if err := WriteComparison(&bytes.Buffer{}, old, other); err == nil {
		t.Errorf("comparison of unrelated runs: got no error")
	}
	for _, body := range []string{"", "{}", "not json", `{"samples": []}`} {
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadResult(name); err == nil || !strings.Contains(err.Error(), "not a saved benchmark run") {
			t.Errorf("ReadResult(%q): got %v", body, err)
		}
	}

	buf.Reset()
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(buf.String(), "\n"); lines != len(r.Samples)+1 {
		t.Errorf("csv: got %d lines, want %d", lines, len(r.Samples)+1)
	}
	buf.Reset()
	if err := r.WriteChart(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", ">walk cold</text>", ">3.00x</text>", ">rmtree cold</text>", ">strata</text>"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("chart lacks %q", want)
		}
	}
}

func TestParseSynthetic(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Synthetic
		err  string
	}{
		{"", DefaultSynthetic, ""},
		{"files=10,layers=2", Synthetic{Files: 10, MinSize: 512, MaxSize: 64 << 10, Layers: 2, BigSize: 64 << 20, Seed: 1}, ""},
		{"size=1k-2MiB,big=1GiB,seed=7", Synthetic{Files: 20000, MinSize: 1 << 10, MaxSize: 2 << 20, Layers: 5, BigSize: 1 << 30, Seed: 7}, ""},
		{"files=0", Synthetic{}, "files=0"},
		{"layers=200", Synthetic{}, "layers=200"},
		{"size=2k-1k", Synthetic{}, "size"},
		{"size=2k", Synthetic{}, "want MIN-MAX"},
		{"big=1", Synthetic{}, "big"},
		{"colour=blue", Synthetic{}, "unknown key"},
		{"files", Synthetic{}, "not key=value"},
	} {
		got, err := ParseSynthetic(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: got %v, want an error with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// TestSynthetic makes a small generated image and checks its merged tree:
// the files of every layer, minus the deleted ones, plus the big file.
func TestSynthetic(t *testing.T) {
	ctx := context.Background()
	s, err := layers.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	syn := Synthetic{Files: 300, MinSize: 100, MaxSize: 5000, Layers: 3, BigSize: 1 << 20, Seed: 3}
	img, err := syn.Make(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Layers) != 3 || img.RepoTags[0] != syn.Ref() {
		t.Fatalf("got %d layers tagged %v", len(img.Layers), img.RepoTags)
	}
	x, err := s.ImageIndex(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	for i := uint32(0); int(i) < x.Len(); i++ {
		if x.Mode(i)&0o170000 == 0o100000 {
			files++
		}
	}
	// Layers 2 and 3 delete files 0 and 100 of layer 1's 0..99 and 100..199.
	if want := 300 - 2 + 1; files != want {
		t.Errorf("got %d files in the merged tree, want %d", files, want)
	}
	if _, ok := x.Resolve(syn.path(0)); ok {
		t.Errorf("%s: deleted by layer 2, still there", syn.path(0))
	}
	if i, ok := x.Resolve("big/file"); !ok || x.Size(i) != 1<<20 {
		t.Errorf("big/file: got present %v", ok)
	}
	tg, err := findTargets(x)
	if err != nil {
		t.Fatal(err)
	}
	if tg.bigFile != "/big/file" || len(tg.largest) != copyUpFiles || len(tg.small) != 298 || tg.rmTree == "" || len(tg.sources) == 0 {
		t.Errorf("targets: big %s, %d largest, %d small, rm %q, %d sources",
			tg.bigFile, len(tg.largest), len(tg.small), tg.rmTree, len(tg.sources))
	}
	// The same description makes the same layers.
	s2, err := layers.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	img2, err := syn.Make(ctx, s2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range img.Layers {
		if img.Layers[i].DiffID != img2.Layers[i].DiffID {
			t.Errorf("layer %d: %s, then %s", i, img.Layers[i].DiffID, img2.Layers[i].DiffID)
		}
	}
}
