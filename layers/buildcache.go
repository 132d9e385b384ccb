package layers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/opencontainers/go-digest"
)

// CacheHolderPrefix starts the holders of the build cache: each cached
// build step holds the image it made as "buildcache-<key>", so that GC and
// prune keep it for later builds. Unlike a container's hold, a cache hold
// does not stop rmi: removing an image loses its cache entry, as with
// Docker, and "builder prune" releases the rest.
const CacheHolderPrefix = "buildcache-"

// IsCacheHolder reports whether holder is a build cache entry.
func IsCacheHolder(holder string) bool { return strings.HasPrefix(holder, CacheHolderPrefix) }

// HeldImage returns the image holder holds, or ErrNotFound. It reads one
// file, so the builder can look up a cache entry without listing holds.
func (s *Store) HeldImage(holder string) (digest.Digest, error) {
	if !validHolder(holder) {
		return "", fmt.Errorf("hold: %w: holder %q", ErrInvalid, holder)
	}
	data, err := os.ReadFile(s.path("holds", holder))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("hold %s: %w", holder, ErrNotFound)
	}
	if err != nil {
		return "", err
	}
	d, err := digest.Parse(strings.TrimSpace(string(data)))
	if err != nil {
		return "", fmt.Errorf("hold %s: %w: %v", holder, ErrInvalid, err)
	}
	return d, nil
}

// ImageManifests maps the id of every image in index.json to its manifest
// digest, reading only index.json and the manifests: the builder's cheap
// view of a store that may hold hundreds of cached steps, whose images it
// then loads one by one with LoadImage.
func (s *Store) ImageManifests(ctx context.Context) (map[digest.Digest]digest.Digest, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	out := make(map[digest.Digest]digest.Digest, len(idx.Manifests))
	seen := map[digest.Digest]bool{}
	for _, desc := range idx.Manifests {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if seen[desc.Digest] {
			continue
		}
		seen[desc.Digest] = true
		raw, err := s.readBlob(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("image manifest %s: %w", desc.Digest, err)
		}
		var m struct {
			Config struct {
				Digest digest.Digest `json:"digest"`
			} `json:"config"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("image manifest %s: %w: %v", desc.Digest, ErrInvalid, err)
		}
		out[m.Config.Digest] = desc.Digest
	}
	return out, nil
}

// LoadImage reads the image whose manifest is md: its manifest, config and
// layer records. Its RepoTags and RepoDigests are left empty.
func (s *Store) LoadImage(md digest.Digest) (*Image, error) { return s.loadImage(md) }
