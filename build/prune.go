package build

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/strata-engine/strata/layers"
)

// PruneReport says what Prune removed.
type PruneReport struct {
	// Entries are the cache keys removed.
	Entries []string
	// Images are the cached images that went with them.
	Images    []digest.Digest
	Reclaimed int64
}

// Prune removes build cache entries: with all every one, otherwise those
// whose image has no tag (the intermediate steps; a tagged image is kept
// by its tag anyway). Images only the cache kept are removed, then their
// content is collected.
func Prune(ctx context.Context, s *layers.Store, all bool) (*PruneReport, error) {
	releaseStaleHolds(s)
	holds, err := s.Holds()
	if err != nil {
		return nil, err
	}
	imgs, err := s.Images(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[digest.Digest]*layers.Image{}
	for _, img := range imgs {
		byID[img.ID] = img
	}
	rep := &PruneReport{}
	released := map[digest.Digest]bool{}
	for _, h := range sortedKeys(holds) {
		if !layers.IsCacheHolder(h) {
			continue
		}
		img := byID[holds[h]]
		if !all && img != nil && len(img.RepoTags) > 0 {
			continue
		}
		if err := s.Release(h); err != nil {
			return rep, err
		}
		delete(holds, h)
		rep.Entries = append(rep.Entries, strings.TrimPrefix(h, layers.CacheHolderPrefix))
		if img != nil {
			released[img.ID] = true
		}
	}
	users := map[digest.Digest]bool{}
	for _, id := range holds {
		users[id] = true
	}
	var gone []digest.Digest
	for id := range released {
		if users[id] || len(byID[id].RepoTags) > 0 {
			continue
		}
		_, err := s.RemoveImage(ctx, id.String(), layers.RemoveOptions{NoPrune: true})
		if err != nil && !errors.Is(err, layers.ErrNotFound) {
			return rep, err
		}
		gone = append(gone, id)
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i] < gone[j] })
	rep.Images = gone
	gc, err := s.GC(ctx)
	if err != nil {
		return rep, err
	}
	rep.Reclaimed = gc.Bytes
	return rep, nil
}
