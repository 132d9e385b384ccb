package layers

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/strata-engine/strata/layers/holds"
	"github.com/strata-engine/strata/layers/reference"
	"golang.org/x/sys/unix"
)

// RemoveOptions are the choices of RemoveImage.
type RemoveOptions struct {
	Force   bool // untag and delete an image with several names or users
	NoPrune bool // keep the content; only the record goes (GC runs later)
}

// RemoveEvent is one line of what RemoveImage did, as Docker prints it:
// "Untagged: busybox:latest", "Deleted: sha256:…".
type RemoveEvent struct {
	Untagged string
	Deleted  digest.Digest
}

// RemoveImage removes the name ref; when it was the image's last name (or
// ref is an id), the image itself, and then the content nobody else uses.
// An image a container uses is refused unless Force, which only untags it:
// it stays, untagged, until its last user is gone.
func (s *Store) RemoveImage(ctx context.Context, ref string, opts RemoveOptions) ([]RemoveEvent, error) {
	var events []RemoveEvent
	var deleted bool
	err := s.updateIndex(func(idx *ociIndex) error {
		imgs, err := s.Images(ctx)
		if err != nil {
			return err
		}
		img, err := resolve(imgs, ref)
		if err != nil {
			return err
		}
		holders, err := s.holdersOf(img.ID)
		if err != nil {
			return err
		}
		holders = withoutCacheHolders(holders)
		byName := false
		var tag string
		if r, err := reference.Parse(ref); err == nil && !reference.LooksLikeID(ref) && !strings.HasPrefix(ref, "sha256:") {
			if r.IsDigested() {
				byName = true
			} else if contains(img.RepoTags, r.Familiar()) {
				byName, tag = true, r.Familiar()
			}
		}
		switch {
		case byName && tag != "" && len(img.RepoTags) > 1:
			// Another name remains: only this one goes.
			idx.Manifests = untag(idx.Manifests, img, tag)
			events = append(events, RemoveEvent{Untagged: tag})
			return nil
		case len(holders) > 0 && !opts.Force:
			what := "unable to delete " + img.ShortID()
			if byName {
				what = fmt.Sprintf("unable to remove repository reference %q", ref)
			}
			return fmt.Errorf("%w: %s (must be forced) - image is being used by container %s", ErrInUse, what, short(holders[0]))
		case !byName && len(img.RepoTags) > 1 && !opts.Force:
			return fmt.Errorf("%w: unable to delete %s (must be forced) - image is referenced in multiple repositories", ErrConflict, img.ShortID())
		}
		for _, t := range img.RepoTags {
			idx.Manifests = untag(idx.Manifests, img, t)
			events = append(events, RemoveEvent{Untagged: t})
		}
		for _, rd := range img.RepoDigests {
			events = append(events, RemoveEvent{Untagged: rd})
		}
		if len(holders) > 0 {
			return nil // forced: the users keep the image, untagged
		}
		var keep []ocispec.Descriptor
		for _, d := range idx.Manifests {
			if d.Digest != img.ManifestDigest && !sameImage(imgs, d.Digest, img.ID) {
				keep = append(keep, d)
			}
		}
		idx.Manifests = keep
		events = append(events, RemoveEvent{Deleted: img.ID})
		deleted = true
		return nil
	})
	if err != nil || !deleted || opts.NoPrune {
		return events, err
	}
	gc, err := s.GC(ctx)
	if err != nil {
		return events, err
	}
	for _, d := range gc.Layers {
		events = append(events, RemoveEvent{Deleted: d})
	}
	return events, nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// sameImage reports whether manifest md belongs to the image with id.
func sameImage(imgs []*Image, md digest.Digest, id digest.Digest) bool {
	for _, img := range imgs {
		if img.ManifestDigest == md {
			return img.ID == id
		}
	}
	return false
}

// untag drops tag from img, leaving an untagged descriptor when it was the
// image's last one.
func untag(descs []ocispec.Descriptor, img *Image, tag string) []ocispec.Descriptor {
	var out []ocispec.Descriptor
	var dropped *ocispec.Descriptor
	for _, d := range descs {
		if d.Annotations[AnnotationRefName] == tag {
			d := d
			dropped = &d
			continue
		}
		out = append(out, d)
	}
	if dropped != nil && !hasDescriptor(out, dropped.Digest) {
		delete(dropped.Annotations, AnnotationRefName)
		delete(dropped.Annotations, AnnotationImageName)
		if len(dropped.Annotations) == 0 {
			dropped.Annotations = nil
		}
		out = append(out, *dropped)
	}
	return out
}

// Hold records that holder (a container or a build) uses the image id, so
// that it is neither removed without force nor collected.
func (s *Store) Hold(holder string, id digest.Digest) error {
	if !validHolder(holder) {
		return fmt.Errorf("hold: %w: holder %q", ErrInvalid, holder)
	}
	unlock, err := s.lock("index.lock", unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	return s.writeFileAtomic(s.path("holds", holder), []byte(id.String()+"\n"))
}

// Release removes holder's hold.
func (s *Store) Release(holder string) error {
	if !validHolder(holder) {
		return fmt.Errorf("release: %w: holder %q", ErrInvalid, holder)
	}
	return holds.Release(s.root, holder)
}

func validHolder(h string) bool { return holds.Valid(h) }

// Holds returns every hold: holder → image id.
func (s *Store) Holds() (map[string]digest.Digest, error) {
	ents, err := os.ReadDir(s.path("holds"))
	if err != nil {
		return nil, err
	}
	out := map[string]digest.Digest{}
	for _, e := range ents {
		data, err := os.ReadFile(s.path("holds", e.Name()))
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return nil, err
		}
		out[e.Name()] = digest.Digest(strings.TrimSpace(string(data)))
	}
	return out, nil
}

func (s *Store) holdersOf(id digest.Digest) ([]string, error) {
	holds, err := s.Holds()
	if err != nil {
		return nil, err
	}
	var out []string
	for h, d := range holds {
		if d == id {
			out = append(out, h)
		}
	}
	sort.Strings(out)
	return out, nil
}

// withoutCacheHolders drops the build cache's holds, which never stop a
// removal (see CacheHolderPrefix).
func withoutCacheHolders(holders []string) []string {
	var out []string
	for _, h := range holders {
		if !IsCacheHolder(h) {
			out = append(out, h)
		}
	}
	return out
}
