package layers

import (
	"context"
	"fmt"
	"os"

	"github.com/strata-engine/strata/layers/index"
)

// ImageIndex returns the flattened index of img: its layers merged, as a
// container's root shows them. It is cached under flat/ by chain id, so
// every container of an image, and every image sharing the same stack of
// layers, loads one file instead of merging again.
func (s *Store) ImageIndex(ctx context.Context, img *Image) (*index.Index, error) {
	diffIDs := img.Config.RootFS.DiffIDs
	if len(diffIDs) == 0 {
		return index.NewBuilder().Build()
	}
	chain := ChainID(diffIDs)
	path := s.path("flat", "sha256", chain.Encoded()+".index")
	if x, err := index.Load(path); err == nil {
		return x, nil
	} else if !os.IsNotExist(err) {
		// A damaged cache entry is rebuilt, not trusted.
		os.Remove(path)
	}
	stack := make([]*index.Index, 0, len(diffIDs))
	for _, d := range diffIDs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		x, err := s.LayerIndex(d)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", img.ShortID(), err)
		}
		stack = append(stack, x)
	}
	flat, err := index.Merge(stack...)
	if err != nil {
		return nil, fmt.Errorf("flatten image %s: %w", img.ShortID(), err)
	}
	if err := s.writeFileAtomic(path, flat.Bytes()); err != nil {
		return nil, err
	}
	return flat, nil
}
