package fsbench

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/archive"
)

// Synthetic describes a generated image: Files regular files with sizes
// spread log-uniformly from MinSize to MaxSize, over Layers layers, plus
// one file of BigSize for the large-file workloads. Every layer after the
// first rewrites every 20th file of the layer below and deletes every
// 100th, so the layers have whiteouts and shadowed files as real ones do.
// The same description always makes the same image.
type Synthetic struct {
	Files            int
	MinSize, MaxSize int64
	Layers           int
	BigSize          int64
	Seed             uint64
}

// DefaultSynthetic is what `--synthetic` alone makes.
var DefaultSynthetic = Synthetic{Files: 20000, MinSize: 512, MaxSize: 64 << 10, Layers: 5, BigSize: 64 << 20, Seed: 1}

// ParseSynthetic reads "files=20000,size=512-64KiB,layers=5,big=64MiB,seed=1";
// missing keys keep DefaultSynthetic's values.
func ParseSynthetic(s string) (Synthetic, error) {
	out := DefaultSynthetic
	if s == "" || s == "default" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return out, fmt.Errorf("synthetic image %q: %q is not key=value", s, kv)
		}
		var err error
		switch k {
		case "files":
			out.Files, err = strconv.Atoi(v)
		case "layers":
			out.Layers, err = strconv.Atoi(v)
		case "seed":
			out.Seed, err = strconv.ParseUint(v, 10, 64)
		case "big":
			out.BigSize, err = units.RAMInBytes(v)
		case "size":
			lo, hi, ok := strings.Cut(v, "-")
			if !ok {
				err = fmt.Errorf("want MIN-MAX")
				break
			}
			if out.MinSize, err = units.RAMInBytes(lo); err == nil {
				out.MaxSize, err = units.RAMInBytes(hi)
			}
		default:
			err = fmt.Errorf("unknown key (files, size, layers, big, seed)")
		}
		if err != nil {
			return out, fmt.Errorf("synthetic image %q: %s: %v", s, k, err)
		}
	}
	switch {
	case out.Files < 1 || out.Files > 10_000_000:
		return out, fmt.Errorf("synthetic image %q: files=%d: want 1 to 10000000", s, out.Files)
	case out.Layers < 1 || out.Layers > 127:
		return out, fmt.Errorf("synthetic image %q: layers=%d: want 1 to 127", s, out.Layers)
	case out.MinSize < 0 || out.MaxSize < out.MinSize || out.MaxSize > 1<<30:
		return out, fmt.Errorf("synthetic image %q: size: want 0 <= MIN <= MAX <= 1GiB", s)
	case out.BigSize < 4096 || out.BigSize > 64<<30:
		return out, fmt.Errorf("synthetic image %q: big: want 4KiB to 64GiB", s)
	}
	return out, nil
}

// Ref is the image's name in the store: the description, so that a
// second run finds it.
func (s Synthetic) Ref() string {
	return fmt.Sprintf("strata-bench/synthetic:f%d-l%d-s%d-%d-b%d-r%d",
		s.Files, s.Layers, s.MinSize, s.MaxSize, s.BigSize, s.Seed)
}

// ContentSize is about how many bytes of content the image holds.
func (s Synthetic) ContentSize() int64 {
	mean := float64(s.MaxSize)
	if s.MaxSize > s.MinSize && s.MinSize > 0 {
		mean = float64(s.MaxSize-s.MinSize) / math.Log(float64(s.MaxSize)/float64(s.MinSize))
	}
	return int64(mean*float64(s.Files)*1.05) + s.BigSize
}

// path is where file k lives: 32 top directories of 64 subdirectories.
func (s Synthetic) path(k int) string {
	return fmt.Sprintf("d%02d/s%02d/f%07d", k%32, (k/32)%64, k)
}

// Make writes the image into the store and tags it Ref().
func (s Synthetic) Make(ctx context.Context, st *layers.Store) (*layers.Image, error) {
	tx, err := st.Begin()
	if err != nil {
		return nil, err
	}
	defer tx.Close()
	var ls []*layers.Layer
	var history []ocispec.History
	for l := 0; l < s.Layers; l++ {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(s.writeLayer(ctx, pw, l)) }()
		layer, err := tx.NewLayer(ctx, pr, archive.Gzip)
		pr.CloseWithError(io.ErrClosedPipe) // stops the writer if NewLayer gave up
		if err != nil {
			return nil, fmt.Errorf("synthetic layer %d: %w", l, err)
		}
		ls = append(ls, layer)
		history = append(history, ocispec.History{CreatedBy: fmt.Sprintf("strata bench: synthetic layer %d of %d", l+1, s.Layers)})
	}
	now := time.Now().UTC()
	cfg := ocispec.Image{
		Created:  &now,
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		History:  history,
	}
	return tx.CreateImage(ctx, cfg, ls, []string{s.Ref()})
}

// writeLayer writes layer l's tar.
func (s Synthetic) writeLayer(ctx context.Context, w io.Writer, l int) error {
	tw := tar.NewWriter(w)
	rnd := rand.New(rand.NewPCG(s.Seed, uint64(l)))
	data := rand.NewChaCha8([32]byte{byte(s.Seed), byte(s.Seed >> 8), byte(l)})
	mtime := time.Unix(1700000000, 0)
	dirs := map[string]bool{}
	mkdirs := func(p string) error {
		for i := 0; i < len(p); i++ {
			if p[i] != '/' || dirs[p[:i]] {
				continue
			}
			dirs[p[:i]] = true
			if err := tw.WriteHeader(&tar.Header{Name: p[:i] + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime}); err != nil {
				return err
			}
		}
		return nil
	}
	file := func(p string, size int64) error {
		if err := mkdirs(p); err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: p, Typeflag: tar.TypeReg, Mode: 0o644, Size: size, ModTime: mtime}); err != nil {
			return err
		}
		_, err := io.CopyN(tw, data, size)
		return err
	}
	size := func() int64 {
		if s.MaxSize <= s.MinSize || s.MinSize == 0 {
			return s.MaxSize
		}
		lo, hi := math.Log(float64(s.MinSize)), math.Log(float64(s.MaxSize))
		return int64(math.Exp(lo + rnd.Float64()*(hi-lo)))
	}

	per := (s.Files + s.Layers - 1) / s.Layers
	first, last := l*per, min((l+1)*per, s.Files)
	for k := first; k < last; k++ {
		if k%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := file(s.path(k), size()); err != nil {
			return err
		}
	}
	if l == 0 {
		if err := file("big/file", s.BigSize); err != nil {
			return err
		}
	} else {
		// Changes to the layer below: rewrites and deletions.
		prevFirst, prevLast := (l-1)*per, min(l*per, s.Files)
		for k := prevFirst; k < prevLast; k++ {
			switch {
			case k%100 == 0:
				p := s.path(k)
				if err := mkdirs(p); err != nil {
					return err
				}
				dir, base := p[:strings.LastIndexByte(p, '/')+1], p[strings.LastIndexByte(p, '/')+1:]
				if err := tw.WriteHeader(&tar.Header{Name: dir + ".wh." + base, Typeflag: tar.TypeReg, Mode: 0o644, ModTime: mtime}); err != nil {
					return err
				}
			case k%20 == 0:
				if err := file(s.path(k), size()); err != nil {
					return err
				}
			}
		}
	}
	return tw.Close()
}
