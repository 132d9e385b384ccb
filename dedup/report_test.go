package dedup

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/archive"
	"github.com/strata-engine/strata/layers/index"
)

type file struct{ name, body, link string }

func layerTar(t *testing.T, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, ModTime: time.Unix(1700000000, 0),
			Typeflag: tar.TypeReg, Size: int64(len(f.body))}
		if f.link != "" {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, f.link, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var (
	bigA   = strings.Repeat("A", 100000)
	shared = strings.Repeat("s", 5000)
	small  = strings.Repeat("e", 300)
)

// testStore holds three images: one: [A]; two: [A, B]; three: [C].
// A has /a (bigA), /b (shared) and /c, a hard link to /b; B has /d (bigA
// again) and /e (small); C has /x (shared).
func testStore(t *testing.T) (*layers.Store, []*layers.Image) {
	t.Helper()
	ctx := context.Background()
	s, err := layers.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tx, err := s.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	newLayer := func(files ...file) *layers.Layer {
		l, err := tx.NewLayer(ctx, bytes.NewReader(layerTar(t, files...)), archive.Gzip)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a := newLayer(file{name: "a", body: bigA}, file{name: "b", body: shared}, file{name: "c", link: "b"})
	b := newLayer(file{name: "d", body: bigA}, file{name: "e", body: small})
	c := newLayer(file{name: "x", body: shared})
	var imgs []*layers.Image
	for _, im := range []struct {
		ref    string
		layers []*layers.Layer
	}{{"one:1", []*layers.Layer{a}}, {"two:1", []*layers.Layer{a, b}}, {"three:1", []*layers.Layer{c}}} {
		cfg := ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}}
		img, err := tx.CreateImage(ctx, cfg, im.layers, []string{im.ref})
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	return s, imgs
}

func TestAnalyse(t *testing.T) {
	s, imgs := testStore(t)
	r, err := Analyse(context.Background(), s, Options{
		Images: imgs, Top: 10, Chunks: &ChunkOptions{Size: 4096},
	})
	if err != nil {
		t.Fatal(err)
	}

	wantImages := []struct {
		logical, unique, shared int64
		files                   int
	}{
		{105000, 0, 105000, 2},
		{205300, 300, 105000, 4},
		{5000, 0, 5000, 1},
	}
	for i, w := range wantImages {
		got := r.Images[i]
		if got.Logical != w.logical || got.Unique != w.unique || got.Shared != w.shared || got.Files != w.files {
			t.Errorf("image %s: got logical %d unique %d shared %d files %d, want %d %d %d %d",
				got.Ref, got.Logical, got.Unique, got.Shared, got.Files, w.logical, w.unique, w.shared, w.files)
		}
	}

	// Fixed 4 KiB blocks: bigA is 24 equal blocks and a 1696-byte tail,
	// shared one block and a 904-byte tail, small one short block.
	want := map[string]struct{ stored, units int64 }{
		"none":  {105000 + 205300 + 5000, 4},
		"layer": {105000 + 100300 + 5000, 3},
		"file":  {100000 + 5000 + 300, 3},
		"fixed": {4096 + 1696 + 4096 + 904 + 300, 5},
	}
	for _, st := range r.Strategies {
		w, ok := want[st.Name]
		if !ok {
			continue
		}
		if st.Stored != w.stored || st.Units != w.units {
			t.Errorf("strategy %s: got %d bytes in %d units, want %d in %d", st.Name, st.Stored, st.Units, w.stored, w.units)
		}
		delete(want, st.Name)
	}
	if len(want) > 0 {
		t.Errorf("strategies missing: %v", want)
	}
	cdc := r.Strategies[len(r.Strategies)-1]
	if cdc.Name != "cdc" || cdc.Stored <= 0 || cdc.Stored > 105300 {
		t.Errorf("cdc strategy: got %+v, want at most the file strategy's 105300 bytes", cdc)
	}

	if r.Files != 5 || r.Contents != 3 || r.Layers != 3 || r.SharedAcrossLayers != 2 || r.SharedAcrossImages != 2 {
		t.Errorf("got files %d contents %d layers %d shared across layers %d, images %d; want 5 3 3 2 2",
			r.Files, r.Contents, r.Layers, r.SharedAcrossLayers, r.SharedAcrossImages)
	}
	if len(r.Top) != 2 || r.Top[0].Path != "/a" || r.Top[0].Saved != 100000 || r.Top[0].Images != 2 ||
		r.Top[1].Path != "/b" || r.Top[1].Saved != 5000 || r.Top[1].Images != 3 || r.Top[1].Layers != 2 {
		t.Errorf("top shared: got %+v", r.Top)
	}
	if r.CompressedLayers <= 0 {
		t.Errorf("compressed layers: got %d, want the blobs' size", r.CompressedLayers)
	}

	// The report is the same whatever the order and whatever the workers.
	r2, err := Analyse(context.Background(), s, Options{
		Images: []*layers.Image{imgs[2], imgs[1], imgs[0]}, Top: 1, Chunks: &ChunkOptions{Size: 4096, Workers: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.Strategies {
		if r.Strategies[i] != r2.Strategies[i] {
			t.Errorf("strategy %d: got %+v in reverse order, %+v in order", i, r2.Strategies[i], r.Strategies[i])
		}
	}
	if len(r2.Top) != 1 {
		t.Errorf("Top 1: got %d entries", len(r2.Top))
	}
}

func TestAnalyseErrors(t *testing.T) {
	s, imgs := testStore(t)
	ctx := context.Background()
	for _, size := range []int{1000, 3 << 10, 96 << 10} {
		if _, err := Analyse(ctx, s, Options{Images: imgs, Chunks: &ChunkOptions{Size: size}}); err == nil ||
			!strings.Contains(err.Error(), "power of two") {
			t.Errorf("chunk size %d: got %v, want an error asking for a power of two", size, err)
		}
	}

	// A content missing from the object store is named, and only the
	// chunk strategies need contents.
	sum := sha256.Sum256([]byte(small))
	if err := os.Remove(s.ObjectPath(index.Digest(sum))); err != nil {
		t.Fatal(err)
	}
	if _, err := Analyse(ctx, s, Options{Images: imgs}); err != nil {
		t.Errorf("without chunks: %v", err)
	}
	_, err := Analyse(ctx, s, Options{Images: imgs, Chunks: &ChunkOptions{Size: 4096}})
	if err == nil || !strings.Contains(err.Error(), "sha256:"+hex.EncodeToString(sum[:])) {
		t.Errorf("missing content: got %v, want an error naming it", err)
	}

	ctxDone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Analyse(ctxDone, s, Options{Images: imgs}); err == nil {
		t.Errorf("cancelled context: got no error")
	}
}

func TestChartFormats(t *testing.T) {
	s, imgs := testStore(t)
	r, err := Analyse(context.Background(), s, Options{Images: imgs})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteChart(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", ">none</text>", ">file</text>", ">compressed blobs</text>", "</svg>"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	for _, name := range []string{"x.svg", "x.SVG"} {
		if err := CheckChartName(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := CheckChartName("chart.png"); err == nil {
		t.Errorf("chart.png: got no error")
	}
}
