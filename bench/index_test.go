package bench

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-engine/strata/layers/index"
)

// image40k builds the index of a 40,000-file tree shaped like a distribution
// image: 1,000 directories in two levels, 40 files each, realistic names.
func image40k(tb testing.TB) *index.Index {
	tb.Helper()
	b := index.NewBuilder()
	n := 0
	for d := 0; d < 1000; d++ {
		dir := fmt.Sprintf("usr/lib/pkg-%03d/module-%d", d/10, d%10)
		for f := 0; f < 40; f++ {
			n++
			e := index.Entry{Mode: index.TypeReg | 0o644, Size: int64(100 + n%5000), Mtime: 1700000000,
				Digest: sha256.Sum256([]byte(fmt.Sprint(n)))}
			if err := b.Add(fmt.Sprintf("%s/file_%02d_%s.py", dir, f, "implementation"), e); err != nil {
				tb.Fatal(err)
			}
		}
	}
	x, err := b.Build()
	if err != nil {
		tb.Fatal(err)
	}
	return x
}

// BenchmarkIndexLoad40k is the cost of loading an image's flattened index
// from disk (page cache warm) and checking it: what a container start pays.
func BenchmarkIndexLoad40k(b *testing.B) {
	x := image40k(b)
	path := filepath.Join(b.TempDir(), "image.index")
	if err := os.WriteFile(path, x.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(x.Bytes()))/float64(x.Len()), "bytes/entry")
	b.ReportMetric(float64(x.Len()), "entries")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := index.Load(path); err != nil {
			b.Fatal(err)
		}
	}
}
