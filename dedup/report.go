package dedup

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/opencontainers/go-digest"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/index"
)

// Store is what a report reads: layer indexes and file contents.
// *layers.Store provides both.
type Store interface {
	LayerIndex(diffID digest.Digest) (*index.Index, error)
	OpenObject(d index.Digest) (io.ReadCloser, error)
}

// Options choose what a report covers.
type Options struct {
	// Images are the images to analyse, each once.
	Images []*layers.Image
	// Top is how many of the most shared contents to list.
	Top int
	// Chunks, when not nil, also computes the chunk strategies, reading
	// every distinct content once.
	Chunks *ChunkOptions
}

// Report is the result of an analysis.
type Report struct {
	Images []ImageReport `json:"images"`
	// Strategies are the storage each strategy needs, in the order none,
	// layer, file, then fixed and cdc when chunking was asked for.
	Strategies []Strategy `json:"strategies"`
	// CompressedLayers is the size of the distinct layer blobs as the
	// manifests list them: what a registry stores.
	CompressedLayers int64 `json:"compressedLayers"`

	Layers int `json:"layers"` // distinct layers
	// Files counts regular files with content across the distinct layers
	// (hard links once); Contents the distinct contents among them.
	Files    int `json:"files"`
	Contents int `json:"contents"`
	// SharedAcrossLayers counts contents found in more than one distinct
	// layer; SharedAcrossImages those found in more than one image.
	SharedAcrossLayers int `json:"sharedAcrossLayers"`
	SharedAcrossImages int `json:"sharedAcrossImages"`

	Top []SharedContent `json:"top"`
}

// ImageReport is one image's part.
type ImageReport struct {
	Ref    string        `json:"ref"` // a tag, or the short id when untagged
	ID     digest.Digest `json:"id"`
	Layers int           `json:"layers"`
	Files  int           `json:"files"`
	// Logical is the content of all its layers, each file counted in
	// every layer that has it.
	Logical int64 `json:"logical"`
	// Unique is its distinct content that no other analysed image has;
	// Shared the distinct content at least one other image has too.
	Unique int64 `json:"unique"`
	Shared int64 `json:"shared"`
}

// Strategy is the storage one strategy needs for all the images.
type Strategy struct {
	Name        string `json:"name"`        // none, layer, file, fixed, cdc
	Description string `json:"description"` // for people
	Stored      int64  `json:"stored"`      // bytes of content kept
	// Units is how many things it keeps: layer copies, layers, contents,
	// chunks.
	Units int64 `json:"units"`
}

// Saved is what the strategy saves over keeping every layer per image.
func (r *Report) Saved(s Strategy) int64 { return r.Strategies[0].Stored - s.Stored }

// SharedContent is one content found more than once.
type SharedContent struct {
	Digest digest.Digest `json:"digest"`
	Size   int64         `json:"size"`
	Path   string        `json:"path"` // one of its paths, in the lowest layer that has it
	// Copies counts the files with this content across the distinct
	// layers; Layers and Images the layers and images that have it.
	Copies int `json:"copies"`
	Layers int `json:"layers"`
	Images int `json:"images"`
	// Saved is what storing it once saves over storing each copy:
	// Size × (Copies − 1).
	Saved int64 `json:"saved"`
}

// content is what the analysis learns of one distinct content.
type content struct {
	size      int64
	path      string
	copies    int
	layers    int
	lastLayer int // index into the distinct layers of the last layer counted
	images    int
	lastImage int
}

// Analyse reads the indexes of opts.Images' layers (and, with
// opts.Chunks, every distinct content) and reports.
func Analyse(ctx context.Context, s Store, opts Options) (*Report, error) {
	r := &Report{}
	contents := map[index.Digest]*content{}
	// Distinct layers, each walked once; layerFiles holds their contents
	// (distinct within the layer) for the per-image sums.
	layerPos := map[digest.Digest]int{}
	var layerFiles [][]index.Digest
	var layerSize []int64
	var layerCount []int
	blobs := map[digest.Digest]int64{}
	var none, noneUnits, layerStored int64

	for _, img := range opts.Images {
		for i, l := range img.Layers {
			if i < len(img.Manifest.Layers) {
				b := img.Manifest.Layers[i]
				blobs[b.Digest] = b.Size
			}
			if _, ok := layerPos[l.DiffID]; ok {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			x, err := s.LayerIndex(l.DiffID)
			if err != nil {
				return nil, fmt.Errorf("layer %s of %s: %w", l.DiffID, imageRef(img), err)
			}
			pos := len(layerFiles)
			layerPos[l.DiffID] = pos
			before := r.Files
			files, size := walkLayer(x, pos, contents, r)
			layerCount = append(layerCount, r.Files-before)
			layerFiles = append(layerFiles, files)
			layerSize = append(layerSize, size)
			layerStored += size
		}
	}
	r.Layers = len(layerFiles)

	// Per image: which distinct contents it has, then who else has them.
	imgContents := make([]map[index.Digest]bool, len(opts.Images))
	for n, img := range opts.Images {
		has := map[index.Digest]bool{}
		ir := ImageReport{Ref: imageRef(img), ID: img.ID, Layers: len(img.Layers)}
		for _, l := range img.Layers {
			pos := layerPos[l.DiffID]
			ir.Logical += layerSize[pos]
			ir.Files += layerCount[pos]
			for _, d := range layerFiles[pos] {
				if !has[d] {
					has[d] = true
					if c := contents[d]; c.lastImage != n+1 {
						c.lastImage = n + 1
						c.images++
					}
				}
			}
		}
		none += ir.Logical
		noneUnits += int64(len(img.Layers))
		imgContents[n] = has
		r.Images = append(r.Images, ir)
	}
	for n := range r.Images {
		for d := range imgContents[n] {
			if c := contents[d]; c.images > 1 {
				r.Images[n].Shared += c.size
			} else {
				r.Images[n].Unique += c.size
			}
		}
	}

	var fileStored int64
	for d, c := range contents {
		fileStored += c.size
		if c.layers > 1 {
			r.SharedAcrossLayers++
		}
		if c.images > 1 {
			r.SharedAcrossImages++
		}
		if c.copies > 1 && c.size > 0 {
			r.Top = append(r.Top, SharedContent{
				Digest: digest.NewDigestFromBytes(digest.SHA256, d[:]),
				Size:   c.size, Path: c.path,
				Copies: c.copies, Layers: c.layers, Images: c.images,
				Saved: c.size * int64(c.copies-1),
			})
		}
	}
	r.Contents = len(contents)
	sort.Slice(r.Top, func(i, j int) bool {
		a, b := r.Top[i], r.Top[j]
		if a.Saved != b.Saved {
			return a.Saved > b.Saved
		}
		return a.Path < b.Path
	})
	if len(r.Top) > opts.Top {
		r.Top = r.Top[:max(opts.Top, 0)]
	}
	for _, size := range blobs {
		r.CompressedLayers += size
	}

	r.Strategies = []Strategy{
		{Name: "none", Description: "every layer of every image", Stored: none, Units: noneUnits},
		{Name: "layer", Description: "each distinct layer once (Docker)", Stored: layerStored, Units: int64(r.Layers)},
		{Name: "file", Description: "each distinct file content once (Strata)", Stored: fileStored, Units: int64(r.Contents)},
	}
	if opts.Chunks != nil {
		digests := make([]index.Digest, 0, len(contents))
		for d, c := range contents {
			if c.size > 0 {
				digests = append(digests, d)
			}
		}
		sort.Slice(digests, func(i, j int) bool { return string(digests[i][:]) < string(digests[j][:]) })
		chunked, err := chunkAll(ctx, s, digests, *opts.Chunks)
		if err != nil {
			return nil, err
		}
		r.Strategies = append(r.Strategies, chunked...)
	}
	return r, nil
}

// walkLayer adds one layer's regular files to contents and returns the
// layer's distinct contents and its content size (every file counted).
func walkLayer(x *index.Index, pos int, contents map[index.Digest]*content, r *Report) ([]index.Digest, int64) {
	var files []index.Digest
	seen := map[index.Digest]bool{}
	var size int64
	for i := uint32(0); int(i) < x.Len(); i++ {
		d, ok := x.Digest(i)
		if !ok {
			continue
		}
		if l := x.Link(i); l != index.NoLink && l != i {
			continue // a hard link: the content is its leader's
		}
		n := x.Size(i)
		size += n
		r.Files++
		c := contents[d]
		if c == nil {
			c = &content{size: n, path: "/" + x.Path(i), lastLayer: -1}
			contents[d] = c
		}
		c.copies++
		if c.lastLayer != pos {
			c.lastLayer = pos
			c.layers++
		}
		if !seen[d] {
			seen[d] = true
			files = append(files, d)
		}
	}
	return files, size
}

func imageRef(img *layers.Image) string {
	if len(img.RepoTags) > 0 {
		return img.RepoTags[0]
	}
	return img.ShortID()
}
