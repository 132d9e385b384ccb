package layers

import (
	"context"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	"github.com/strata-engine/strata/layers/index"
)

// ImageUsage is one image's share of the store.
type ImageUsage struct {
	Image *Image
	// SharedSize is the content of layers other images use too;
	// UniqueSize the rest.
	SharedSize, UniqueSize int64
	Holders                int // containers (and running builds) using it; not the build cache
}

// Usage is what `system df` reports.
type Usage struct {
	Images []ImageUsage
	// LayersSize is the file content of every distinct layer: what a store
	// that deduplicates whole layers (Docker's) keeps.
	LayersSize int64
	// ReclaimableSize is the content only unused images need.
	ReclaimableSize int64
	// Files counts regular files with content across distinct layers;
	// Objects the distinct contents among them.
	Files, Objects int
	// StoredSize is the size of the object store: each content once.
	StoredSize int64
	// CacheEntries counts the build cache's entries; CacheSize is the
	// content of the layers only the cache keeps (what builder prune -a
	// frees).
	CacheEntries int
	CacheSize    int64
	// BlobsSize is the compressed layer, config and manifest blobs;
	// IndexSize the layer and flattened indexes.
	BlobsSize, IndexSize int64
}

// Saved is what file-level deduplication saves over layer-level.
func (u *Usage) Saved() int64 { return u.LayersSize - u.StoredSize }

// DiskUsage measures the store.
func (s *Store) DiskUsage(ctx context.Context) (*Usage, error) {
	imgs, err := s.Images(ctx)
	if err != nil {
		return nil, err
	}
	holds, err := s.Holds()
	if err != nil {
		return nil, err
	}
	users := map[digest.Digest]int{}
	cached := map[digest.Digest]bool{}
	cacheEntries := 0
	for h, id := range holds {
		if IsCacheHolder(h) {
			// The build cache keeps an image but does not use it.
			cached[id] = true
			cacheEntries++
			continue
		}
		users[id]++
	}
	layerImages := map[digest.Digest]int{}
	layerSize := map[digest.Digest]int64{}
	for _, img := range imgs {
		seen := map[digest.Digest]bool{}
		for _, l := range img.Layers {
			if !seen[l.DiffID] {
				seen[l.DiffID] = true
				layerImages[l.DiffID]++
				layerSize[l.DiffID] = l.Size
			}
		}
	}
	u := &Usage{CacheEntries: cacheEntries}
	usedLayers := map[digest.Digest]bool{}
	// Layers of images that are tagged or used, and of those the build
	// cache alone keeps: the latter's size is the cache's.
	kept, cacheOnly := map[digest.Digest]bool{}, map[digest.Digest]bool{}
	for _, img := range imgs {
		for _, l := range img.Layers {
			if len(img.RepoTags) > 0 || users[img.ID] > 0 || !cached[img.ID] {
				kept[l.DiffID] = true
			} else {
				cacheOnly[l.DiffID] = true
			}
		}
	}
	for _, img := range imgs {
		iu := ImageUsage{Image: img, Holders: users[img.ID]}
		seen := map[digest.Digest]bool{}
		for _, l := range img.Layers {
			if seen[l.DiffID] {
				continue
			}
			seen[l.DiffID] = true
			if layerImages[l.DiffID] > 1 {
				iu.SharedSize += l.Size
			} else {
				iu.UniqueSize += l.Size
			}
			if iu.Holders > 0 {
				usedLayers[l.DiffID] = true
			}
		}
		u.Images = append(u.Images, iu)
	}
	for d, size := range layerSize {
		if cacheOnly[d] && !kept[d] {
			u.CacheSize += size
		}
		u.LayersSize += size
		if !usedLayers[d] {
			u.ReclaimableSize += size
		}
		x, err := s.LayerIndex(d)
		if err != nil {
			return nil, err
		}
		for i := uint32(0); i < uint32(x.Len()); i++ {
			// A hard-link group is one file.
			if _, ok := x.Digest(i); ok && (x.Link(i) == index.NoLink || x.Link(i) == i) {
				u.Files++
			}
		}
	}
	u.StoredSize, u.Objects, err = dirSize(s.path("objects"))
	if err != nil {
		return nil, err
	}
	if u.BlobsSize, _, err = dirSize(s.path("blobs")); err != nil {
		return nil, err
	}
	li, _, err := dirSize(s.path("layers"))
	if err != nil {
		return nil, err
	}
	fi, _, err := dirSize(s.path("flat"))
	if err != nil {
		return nil, err
	}
	u.IndexSize = li + fi
	return u, ctx.Err()
}

// dirSize adds up the apparent sizes of the regular files below dir.
func dirSize(dir string) (size int64, files int, err error) {
	err = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		size += info.Size()
		files++
		return nil
	})
	return size, files, err
}
