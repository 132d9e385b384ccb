package layers

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/strata-engine/strata/layers/index"
)

// ImageIndex returns the flattened index of img: its layers merged, as a
// container's root shows them. It is cached under flat/ by chain id, so
// every container of an image, and every image sharing the same stack of
// layers, loads one file instead of merging again.
func (s *Store) ImageIndex(ctx context.Context, img *Image) (*index.Index, error) {
	x, _, err := s.flatIndex(ctx, img.Config.RootFS.DiffIDs, img.ShortID(), true)
	return x, err
}

// ImageIndexFile returns the path of the flattened index of the image
// whose config has digest id, merging and caching it first if need be. A
// container's monitor loads the file itself (index.Load) and serves its
// root from it and ObjectsDir, without opening the store. The file stays
// while the image does: gc removes only the indexes of images gone.
func (s *Store) ImageIndexFile(ctx context.Context, id digest.Digest) (string, error) {
	if err := id.Validate(); err != nil {
		return "", fmt.Errorf("image %s: %w: %v", id, ErrInvalid, err)
	}
	raw, err := s.readBlob(id)
	if err != nil {
		return "", &NotFoundError{Kind: "image", Name: id.String()}
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return "", fmt.Errorf("image %s: config: %w: %v", ShortID(id), ErrInvalid, err)
	}
	_, path, err := s.flatIndex(ctx, cfg.RootFS.DiffIDs, ShortID(id), false)
	return path, err
}

// flatIndex returns the merged index of the layers diffIDs (bottom first)
// and the path of its cached copy, which it writes if missing. load false
// skips loading a cached copy that exists. name is the image, for errors.
func (s *Store) flatIndex(ctx context.Context, diffIDs []digest.Digest, name string, load bool) (*index.Index, string, error) {
	if len(diffIDs) == 0 {
		// An image without layers (FROM scratch, metadata only): the
		// empty index, kept like any other.
		empty, err := index.NewBuilder().Build()
		if err != nil {
			return nil, "", err
		}
		path := s.path("flat", "empty.index")
		if _, err := os.Stat(path); err != nil {
			if err := s.writeFileAtomic(path, empty.Bytes()); err != nil {
				return nil, "", err
			}
		}
		return empty, path, nil
	}
	path := s.path("flat", "sha256", ChainID(diffIDs).Encoded()+".index")
	if !load {
		if _, err := os.Stat(path); err == nil {
			return nil, path, nil
		}
	} else if x, err := index.Load(path); err == nil {
		return x, path, nil
	} else if !os.IsNotExist(err) {
		// A damaged cache entry is rebuilt, not trusted.
		os.Remove(path)
	}
	stack := make([]*index.Index, 0, len(diffIDs))
	for _, d := range diffIDs {
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		x, err := s.LayerIndex(d)
		if err != nil {
			return nil, "", fmt.Errorf("image %s: %w", name, err)
		}
		stack = append(stack, x)
	}
	flat, err := index.Merge(stack...)
	if err != nil {
		return nil, "", fmt.Errorf("flatten image %s: %w", name, err)
	}
	if err := s.writeFileAtomic(path, flat.Bytes()); err != nil {
		return nil, "", err
	}
	return flat, path, nil
}
