package layers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/strata-engine/strata/layers/archive"
)

// This file is the store's side of a registry pull and push: layer blobs
// streamed in as the registry serves them, images recorded from the
// manifest and config exactly as the registry has them (so the image id is
// the registry's config digest and the manifest digest is the registry's),
// and the repository digests a pull or push leaves behind.

// HasLayer reports whether the store holds the blob blob and has unpacked
// it as the layer diffID: a pull can skip it ("Already exists").
func (s *Store) HasLayer(blob, diffID digest.Digest) bool {
	if !s.hasBlob(blob) {
		return false
	}
	_, err := s.layerInfo(diffID)
	return err == nil
}

// PutLayer stores a layer blob read from r, as a registry serves it
// (gzip, zstd or uncompressed, told from its bytes), in one pass: the
// bytes go to a staging blob and through the decompressor into the object
// store and the layer's index at the same time, with no other copy. The
// layer is kept only when the uncompressed stream's digest is diffID and
// the blob's size and digest are those of desc; otherwise nothing is kept
// and the error wraps ErrDigest (or archive.ErrInvalidLayer for a bad tar).
// A read error of r is returned as it is.
func (tx *Tx) PutLayer(ctx context.Context, r io.Reader, desc ocispec.Descriptor, diffID digest.Digest) (*Layer, error) {
	if err := desc.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("layer blob %q: %w: %v", desc.Digest, ErrInvalid, err)
	}
	if err := diffID.Validate(); err != nil {
		return nil, fmt.Errorf("layer %q: %w: %v", diffID, ErrInvalid, err)
	}
	bw, err := tx.s.newBlobWriter()
	if err != nil {
		return nil, err
	}
	// One byte more than promised is enough to tell a blob that is too long.
	tee := io.TeeReader(io.LimitReader(r, desc.Size+1), bw)
	dr, comp, err := archive.Decompress(tee)
	if err != nil {
		bw.abort()
		return nil, err
	}
	verify := func() error {
		// Whatever follows the compressed stream is part of the blob.
		if _, err := io.Copy(io.Discard, tee); err != nil {
			return err
		}
		if bw.n != desc.Size {
			return fmt.Errorf("%w: blob %s: got %d bytes, want %d", ErrDigest, desc.Digest, bw.n, desc.Size)
		}
		if got := digest.NewDigestFromBytes(digest.SHA256, bw.h.Sum(nil)); got != desc.Digest {
			return fmt.Errorf("%w: blob %s has content %s", ErrDigest, desc.Digest, got)
		}
		return nil
	}
	info, err := tx.s.putLayerVerified(ctx, dr, diffID, verify)
	dr.Close()
	if err != nil {
		bw.abort()
		return nil, err
	}
	d, size, err := bw.commit(desc.Digest)
	if err != nil {
		return nil, err
	}
	mt := desc.MediaType
	if mt == "" {
		mt = archive.MediaType(comp)
	}
	return &Layer{Blob: ocispec.Descriptor{MediaType: mt, Digest: d, Size: size}, Info: info}, nil
}

// PutImage records an image from its manifest and config exactly as
// given, once every layer the config lists is in the store (PutLayer),
// under the tags refs (none leaves it untagged) and with the repository
// digests ("name@sha256:…") it was pulled as.
func (tx *Tx) PutImage(ctx context.Context, rawManifest, rawConfig []byte, refs, repoDigests []string) (*Image, error) {
	var man ocispec.Manifest
	if err := json.Unmarshal(rawManifest, &man); err != nil {
		return nil, fmt.Errorf("manifest: %w: %v", ErrInvalid, err)
	}
	if got := digest.FromBytes(rawConfig); got != man.Config.Digest {
		return nil, fmt.Errorf("%w: config %s has content %s", ErrDigest, man.Config.Digest, got)
	}
	parsed, err := parseTags(refs)
	if err != nil {
		return nil, err
	}
	if _, err := tx.s.putBlob(rawConfig); err != nil {
		return nil, err
	}
	md, err := tx.s.putBlob(rawManifest)
	if err != nil {
		return nil, err
	}
	img, err := tx.s.loadImage(md)
	if err != nil {
		return nil, err
	}
	img.RepoDigests = mergeRepoDigests(tx.s.repoDigestsOf(md), repoDigests)
	if err := tx.s.addImage(img, parsed); err != nil {
		return nil, err
	}
	for _, r := range parsed {
		img.RepoTags = append(img.RepoTags, r.Familiar())
	}
	return img, nil
}

// AddRepoDigest records that img is known to a registry as ref
// ("localhost:5000/x@sha256:…"), as a push does.
func (s *Store) AddRepoDigest(img *Image, ref string) error {
	return s.updateIndex(func(idx *ociIndex) error {
		for i, d := range idx.Manifests {
			if d.Digest != img.ManifestDigest {
				continue
			}
			if d.Annotations == nil {
				d.Annotations = map[string]string{}
			}
			old := splitList(d.Annotations[AnnotationRepoDigests])
			d.Annotations[AnnotationRepoDigests] = strings.Join(mergeRepoDigests(old, []string{ref}), ",")
			idx.Manifests[i] = d
		}
		return nil
	})
}

// repoDigestsOf lists the repository digests recorded for a manifest.
func (s *Store) repoDigestsOf(md digest.Digest) []string {
	idx, err := s.readIndex()
	if err != nil {
		return nil
	}
	var out []string
	for _, d := range idx.Manifests {
		if d.Digest == md {
			out = mergeRepoDigests(out, splitList(d.Annotations[AnnotationRepoDigests]))
		}
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

func mergeRepoDigests(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, x := range b {
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
