package layers

import (
	"context"
)

// PruneOptions are the choices of Prune.
type PruneOptions struct {
	// All removes every image no container uses, not only untagged ones.
	All bool
}

// PruneReport says what Prune removed.
type PruneReport struct {
	Events []RemoveEvent
	// Reclaimed is the bytes the collection freed on disk.
	Reclaimed int64
}

// Prune removes dangling images (untagged, unused), or with All every
// unused image, then collects the content they leave.
func (s *Store) Prune(ctx context.Context, opts PruneOptions) (*PruneReport, error) {
	imgs, err := s.Images(ctx)
	if err != nil {
		return nil, err
	}
	rep := &PruneReport{}
	for _, img := range imgs {
		if len(img.RepoTags) > 0 && !opts.All {
			continue
		}
		holders, err := s.holdersOf(img.ID)
		if err != nil {
			return rep, err
		}
		if len(holders) > 0 {
			continue
		}
		ev, err := s.RemoveImage(ctx, img.ID.String(), RemoveOptions{Force: true, NoPrune: true})
		if err != nil {
			return rep, err
		}
		rep.Events = append(rep.Events, ev...)
	}
	gc, err := s.GC(ctx)
	if err != nil {
		return rep, err
	}
	for _, d := range gc.Layers {
		rep.Events = append(rep.Events, RemoveEvent{Deleted: d})
	}
	rep.Reclaimed = gc.Bytes
	return rep, nil
}
