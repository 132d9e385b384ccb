package layers

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/strata-engine/strata/layers/reference"
	"golang.org/x/sys/unix"
)

// Annotations Strata puts on the manifest descriptors of index.json.
const (
	// AnnotationRefName is the OCI tag annotation; Strata writes the
	// familiar reference ("busybox:latest") so that oci:ROOT:busybox:latest
	// addresses the image.
	AnnotationRefName = ocispec.AnnotationRefName
	// AnnotationImageName is the fully qualified reference, as containerd
	// records it.
	AnnotationImageName = "io.containerd.image.name"
	// AnnotationRepoDigests lists name@digest references the image was
	// pulled or pushed as, comma separated.
	AnnotationRepoDigests = "dev.strata.repo-digests"
)

const (
	mediaTypeIndex    = ocispec.MediaTypeImageIndex
	mediaTypeManifest = ocispec.MediaTypeImageManifest
	mediaTypeConfig   = ocispec.MediaTypeImageConfig
)

type ociIndex = ocispec.Index

// Image is one image of the store: a config and the manifest that lists its
// layers, with the names it goes by.
type Image struct {
	// ID is the digest of the config, as Docker defines an image id.
	ID             digest.Digest
	ManifestDigest digest.Digest
	Manifest       ocispec.Manifest
	RawManifest    []byte
	Config         ocispec.Image
	RawConfig      []byte
	// RepoTags are familiar references: "busybox:latest".
	RepoTags    []string
	RepoDigests []string
	// Layers are the layers in config order (bottom first).
	Layers  []LayerInfo
	Size    int64 // bytes of file content in all layers
	Created time.Time
}

// ShortID is the id as Docker shows it: 12 hex digits.
func (img *Image) ShortID() string { return ShortID(img.ID) }

// ShortID returns the first 12 hex digits of a digest.
func ShortID(d digest.Digest) string {
	e := d.Encoded()
	if len(e) > 12 {
		return e[:12]
	}
	return e
}

func (s *Store) readIndex() (*ociIndex, error) {
	data, err := os.ReadFile(s.path("index.json"))
	if err != nil {
		return nil, fmt.Errorf("read index.json: %w", err)
	}
	var idx ociIndex
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("read index.json: %w: %v", ErrInvalid, err)
	}
	return &idx, nil
}

func (s *Store) writeIndex(idx *ociIndex) error {
	if idx.Manifests == nil {
		idx.Manifests = []ocispec.Descriptor{}
	}
	sort.SliceStable(idx.Manifests, func(i, j int) bool {
		return idx.Manifests[i].Annotations[AnnotationRefName] < idx.Manifests[j].Annotations[AnnotationRefName]
	})
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return s.writeFileAtomic(s.path("index.json"), append(data, '\n'))
}

// updateIndex runs fn on index.json under index.lock and writes the result.
func (s *Store) updateIndex(fn func(*ociIndex) error) error {
	unlock, err := s.lock("index.lock", unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := fn(idx); err != nil {
		return err
	}
	return s.writeIndex(idx)
}

// Images lists every image of the store, newest first.
func (s *Store) Images(ctx context.Context) ([]*Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	byID := map[digest.Digest]*Image{}
	byManifest := map[digest.Digest]*Image{}
	var out []*Image
	for _, desc := range idx.Manifests {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img := byManifest[desc.Digest]
		if img == nil {
			if img, err = s.loadImage(desc.Digest); err != nil {
				return nil, err
			}
			if prev := byID[img.ID]; prev != nil {
				img = prev
			} else {
				byID[img.ID] = img
				out = append(out, img)
			}
			byManifest[desc.Digest] = img
		}
		if t := desc.Annotations[AnnotationRefName]; t != "" && !contains(img.RepoTags, t) {
			img.RepoTags = append(img.RepoTags, t)
		}
		for _, rd := range strings.Split(desc.Annotations[AnnotationRepoDigests], ",") {
			if rd != "" && !contains(img.RepoDigests, rd) {
				img.RepoDigests = append(img.RepoDigests, rd)
			}
		}
	}
	for _, img := range out {
		sort.Strings(img.RepoTags)
		sort.Strings(img.RepoDigests)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// loadImage reads a manifest, its config and its layers' records.
func (s *Store) loadImage(md digest.Digest) (*Image, error) {
	raw, err := s.readBlob(md)
	if err != nil {
		return nil, fmt.Errorf("image manifest %s: %w", md, err)
	}
	img := &Image{ManifestDigest: md, RawManifest: raw}
	if err := json.Unmarshal(raw, &img.Manifest); err != nil {
		return nil, fmt.Errorf("image manifest %s: %w: %v", md, ErrInvalid, err)
	}
	img.ID = img.Manifest.Config.Digest
	if img.RawConfig, err = s.readBlob(img.ID); err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	if err := json.Unmarshal(img.RawConfig, &img.Config); err != nil {
		return nil, fmt.Errorf("image config %s: %w: %v", img.ID, ErrInvalid, err)
	}
	if img.Config.Created != nil {
		img.Created = *img.Config.Created
	}
	if len(img.Config.RootFS.DiffIDs) != len(img.Manifest.Layers) {
		return nil, fmt.Errorf("image %s: %w: %d layers but %d diff ids", img.ID, ErrInvalid,
			len(img.Manifest.Layers), len(img.Config.RootFS.DiffIDs))
	}
	for _, d := range img.Config.RootFS.DiffIDs {
		info, err := s.layerInfo(d)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", img.ID, err)
		}
		img.Layers = append(img.Layers, *info)
		img.Size += info.Size
	}
	return img, nil
}

// ResolveImage finds the image a user means by s: a reference
// (name[:tag], name@digest), a full id (sha256:…, or its 64 hex digits) or
// a unique prefix of an id. Like Docker, it tries s as a reference first.
func (s *Store) ResolveImage(ctx context.Context, ref string) (*Image, error) {
	imgs, err := s.Images(ctx)
	if err != nil {
		return nil, err
	}
	return resolve(imgs, ref)
}

func resolve(imgs []*Image, s string) (*Image, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: empty image reference", ErrInvalid)
	}
	if hexPart, ok := strings.CutPrefix(s, "sha256:"); ok {
		return byIDPrefix(imgs, s, hexPart)
	}
	r, perr := reference.Parse(s)
	if perr == nil && !reference.LooksLikeID(s) {
		for _, img := range imgs {
			if r.IsDigested() {
				if img.ManifestDigest == r.Digest() || contains(img.RepoDigests, r.FamiliarName()+"@"+r.Digest().String()) {
					return img, nil
				}
			} else if contains(img.RepoTags, r.Familiar()) {
				return img, nil
			}
		}
	}
	if isHex(s) {
		return byIDPrefix(imgs, s, s)
	}
	if perr != nil {
		return nil, perr
	}
	return nil, &NotFoundError{Kind: "image", Name: r.Familiar()}
}

func byIDPrefix(imgs []*Image, s, prefix string) (*Image, error) {
	if !isHex(prefix) {
		return nil, fmt.Errorf("%w: %s is not an image id", ErrInvalid, s)
	}
	var found *Image
	for _, img := range imgs {
		if strings.HasPrefix(img.ID.Encoded(), prefix) {
			if found != nil {
				return nil, fmt.Errorf("%w: image id prefix %s matches more than one image", ErrAmbiguous, s)
			}
			found = img
		}
	}
	if found == nil {
		return nil, &NotFoundError{Kind: "image", Name: s}
	}
	return found, nil
}

func isHex(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// descriptorFor is the index.json entry of img under tag ("" for none).
func descriptorFor(img *Image, tag string, full string) ocispec.Descriptor {
	d := ocispec.Descriptor{
		MediaType: img.Manifest.MediaType,
		Digest:    img.ManifestDigest,
		Size:      int64(len(img.RawManifest)),
	}
	if d.MediaType == "" {
		d.MediaType = mediaTypeManifest
	}
	ann := map[string]string{}
	if tag != "" {
		ann[AnnotationRefName] = tag
		ann[AnnotationImageName] = full
	}
	if len(img.RepoDigests) > 0 {
		ann[AnnotationRepoDigests] = strings.Join(img.RepoDigests, ",")
	}
	if len(ann) > 0 {
		d.Annotations = ann
	}
	return d
}

// Tag gives img the name ref, taking it from any image that had it. An
// image left without names stays in the store, untagged (dangling).
func (s *Store) Tag(ctx context.Context, img *Image, ref string) error {
	r, err := reference.Parse(ref)
	if err != nil {
		return err
	}
	if r.IsDigested() {
		return fmt.Errorf("%w: refusing to create a tag with a digest reference", ErrInvalid)
	}
	return s.updateIndex(func(idx *ociIndex) error {
		idx.Manifests = setTag(idx.Manifests, img, r.Familiar(), r.String())
		return nil
	})
}

// setTag moves tag to img in a descriptor list, keeping every other image
// present with at least one (possibly untagged) descriptor.
func setTag(descs []ocispec.Descriptor, img *Image, tag, full string) []ocispec.Descriptor {
	var out []ocispec.Descriptor
	var moved []ocispec.Descriptor
	for _, d := range descs {
		switch {
		case d.Annotations[AnnotationRefName] == tag:
			moved = append(moved, d)
		case d.Digest == img.ManifestDigest && d.Annotations[AnnotationRefName] == "":
			// the untagged entry of img: the tag replaces it
		default:
			out = append(out, d)
		}
	}
	for _, d := range moved {
		if d.Digest != img.ManifestDigest && !hasDescriptor(out, d.Digest) {
			delete(d.Annotations, AnnotationRefName)
			delete(d.Annotations, AnnotationImageName)
			out = append(out, d)
		}
	}
	return append(out, descriptorFor(img, tag, full))
}

func hasDescriptor(descs []ocispec.Descriptor, md digest.Digest) bool {
	for _, d := range descs {
		if d.Digest == md {
			return true
		}
	}
	return false
}

// addImage records a new image (manifest already in blobs/) under tags,
// or untagged when there are none.
func (s *Store) addImage(img *Image, refs []reference.Reference) error {
	return s.updateIndex(func(idx *ociIndex) error {
		if len(refs) == 0 {
			if !hasDescriptor(idx.Manifests, img.ManifestDigest) {
				idx.Manifests = append(idx.Manifests, descriptorFor(img, "", ""))
			}
			return nil
		}
		for _, r := range refs {
			idx.Manifests = setTag(idx.Manifests, img, r.Familiar(), r.String())
		}
		return nil
	})
}

// NotFoundError says that a name or id the user gave matches nothing. Its
// text is Docker's ("No such image: busybox:latest"), which scripts match.
type NotFoundError struct {
	Kind string // "image", "container"
	Name string
}

func (e *NotFoundError) Error() string { return "No such " + e.Kind + ": " + e.Name }

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }
