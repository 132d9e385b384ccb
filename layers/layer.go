package layers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/go-digest"
	"github.com/strata-engine/strata/layers/archive"
	"github.com/strata-engine/strata/layers/index"
)

// LayerInfo describes one unpacked layer.
type LayerInfo struct {
	DiffID  digest.Digest `json:"diffID"`
	Size    int64         `json:"size"`    // bytes of regular-file content
	Entries int           `json:"entries"` // names in the layer, root included
	Objects int           `json:"objects"` // distinct contents
	// IndexBytes is the size of the layer's index file.
	IndexBytes int64 `json:"indexBytes"`
}

func (s *Store) layerIndexPath(diffID digest.Digest) string {
	return s.path("layers", string(diffID.Algorithm()), diffID.Encoded()+".index")
}

func (s *Store) layerInfoPath(diffID digest.Digest) string {
	return s.path("layers", string(diffID.Algorithm()), diffID.Encoded()+".json")
}

// putLayer unpacks an uncompressed layer tar into the object store and
// writes its index. It must be called with content.lock held shared. A
// layer whose index is already present is read to its end (the caller may
// be hashing the stream) but nothing new is kept. When want is set, a layer
// with another diffID is refused before anything is kept.
func (s *Store) putLayer(ctx context.Context, r io.Reader, want digest.Digest) (*LayerInfo, error) {
	return s.putLayerVerified(ctx, r, want, nil)
}

// putLayerVerified is putLayer with one more check, run once the layer is
// unpacked and before anything is kept: a pull verifies the compressed
// blob's digest there, so a layer whose blob is wrong leaves nothing.
func (s *Store) putLayerVerified(ctx context.Context, r io.Reader, want digest.Digest, verify func() error) (*LayerInfo, error) {
	batch := s.newBatch()
	res, err := archive.Unpack(ctx, r, batch, archive.Options{})
	if err != nil {
		batch.abort()
		return nil, err
	}
	if want != "" && res.DiffID != want {
		batch.abort()
		return nil, fmt.Errorf("%w: layer %s has content %s", ErrDigest, want, res.DiffID)
	}
	if verify != nil {
		if err := verify(); err != nil {
			batch.abort()
			return nil, err
		}
	}
	if info, err := s.layerInfo(res.DiffID); err == nil {
		batch.abort()
		return info, nil
	}
	if err := batch.commit(); err != nil {
		batch.abort()
		return nil, err
	}
	data := res.Index.Bytes()
	info := &LayerInfo{
		DiffID: res.DiffID, Size: res.Size, Entries: res.Index.Len(),
		Objects: res.Index.NumDigests(), IndexBytes: int64(len(data)),
	}
	meta, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	// The index first: a layer counts as present once its .json exists.
	if err := s.writeFileAtomic(s.layerIndexPath(res.DiffID), data); err != nil {
		return nil, err
	}
	if err := s.writeFileAtomic(s.layerInfoPath(res.DiffID), meta); err != nil {
		return nil, err
	}
	return info, nil
}

// layerInfo reads what putLayer recorded about a layer.
func (s *Store) layerInfo(diffID digest.Digest) (*LayerInfo, error) {
	if err := diffID.Validate(); err != nil {
		return nil, fmt.Errorf("layer %q: %w", diffID, ErrInvalid)
	}
	data, err := os.ReadFile(s.layerInfoPath(diffID))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("layer %s: %w", diffID, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	var info LayerInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("layer %s: %w: %v", diffID, ErrInvalid, err)
	}
	return &info, nil
}

// LayerIndex loads the index of one layer.
func (s *Store) LayerIndex(diffID digest.Digest) (*index.Index, error) {
	if _, err := s.layerInfo(diffID); err != nil {
		return nil, err
	}
	return index.Load(s.layerIndexPath(diffID))
}
