package layers

import (
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
