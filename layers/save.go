package layers

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/opencontainers/go-digest"
	"github.com/strata-engine/strata/layers/reference"
	"github.com/strata-engine/strata/layers/tarball"
)

// Save writes the images refs name to w as one archive: docker-archive
// (Docker 25's shape, which is an OCI layout too) or an OCI layout tarball.
// An image named by a tag carries that tag; one named by id carries none,
// as with docker save.
func (s *Store) Save(ctx context.Context, w io.Writer, refs []string, f tarball.Format) error {
	imgs, err := s.Images(ctx)
	if err != nil {
		return err
	}
	var out []tarball.WriteImage
	pos := map[digest.Digest]int{}
	for _, ref := range refs {
		img, err := resolve(imgs, ref)
		if err != nil {
			return err
		}
		i, ok := pos[img.ID]
		if !ok {
			i = len(out)
			pos[img.ID] = i
			out = append(out, s.writeImage(img))
		}
		if r, err := reference.Parse(ref); err == nil && !reference.LooksLikeID(ref) &&
			!strings.HasPrefix(ref, "sha256:") && !r.IsDigested() && contains(img.RepoTags, r.Familiar()) &&
			!contains(out[i].Tags, r.Familiar()) {
			out[i].Tags = append(out[i].Tags, r.Familiar())
		}
	}
	if err := tarball.Write(w, out, f); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

func (s *Store) writeImage(img *Image) tarball.WriteImage {
	wi := tarball.WriteImage{
		Manifest: img.RawManifest, ManifestDigest: img.ManifestDigest,
		Config: img.RawConfig, ConfigDigest: img.ID,
	}
	for _, l := range img.Manifest.Layers {
		d := l.Digest
		wi.Layers = append(wi.Layers, tarball.WriteLayer{
			Digest: d, MediaType: l.MediaType, Size: l.Size,
			Open: func() (io.ReadCloser, error) { return s.OpenBlob(d) },
		})
	}
	return wi
}
