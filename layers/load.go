package layers

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/strata-engine/strata/layers/archive"
	"github.com/strata-engine/strata/layers/tarball"
)

// Load reads images from an archive — docker-archive as docker save writes
// it (legacy and OCI-based), or an OCI image layout tarball — and adds them
// with their tags. r is read in place when it is a regular file, otherwise
// spooled to the store's staging area first (tar members can come in any
// order). Compressed layers are kept as the archive has them, so manifest
// digests survive a save/load round trip; uncompressed ones are stored
// gzip. On any error the store is left as it was.
func (s *Store) Load(ctx context.Context, r io.Reader) (imgs []*Image, err error) {
	ra, size, cleanup, err := s.readerAt(r)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer cleanup()
	arch, err := tarball.Read(ra, size)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if len(arch.Images) == 0 {
		return nil, fmt.Errorf("load: %w: the archive holds no image", ErrInvalid)
	}
	tx, err := s.Begin()
	if err != nil {
		return nil, err
	}
	defer func() {
		tx.Close()
		if err != nil {
			// Layers written before the failure belong to no image.
			s.GC(context.WithoutCancel(ctx))
		}
	}()
	for _, ai := range arch.Images {
		img, err := tx.loadImage(ctx, &ai)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}

// readerAt gives random access to r, spooling it to tmp/ unless it is a
// regular file already.
func (s *Store) readerAt(r io.Reader) (io.ReaderAt, int64, func(), error) {
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			return f, st.Size(), func() {}, nil
		}
	}
	f, err := os.CreateTemp(s.path("tmp"), "blob-spool-")
	if err != nil {
		return nil, 0, nil, err
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	n, err := io.Copy(f, r)
	if err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	return f, n, cleanup, nil
}

func (tx *Tx) loadImage(ctx context.Context, ai *tarball.Image) (*Image, error) {
	var cfg ocispec.Image
	if err := json.Unmarshal(ai.Config, &cfg); err != nil {
		return nil, fmt.Errorf("config %s: %w: %v", ai.ConfigDigest, ErrInvalid, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(ai.Layers) {
		return nil, fmt.Errorf("config %s: %w: %d diff ids for %d layers", ai.ConfigDigest, ErrInvalid, len(cfg.RootFS.DiffIDs), len(ai.Layers))
	}
	tags, err := parseTags(ai.Tags)
	if err != nil {
		return nil, err
	}
	layers := make([]*Layer, len(ai.Layers))
	keptAll := true
	for i, al := range ai.Layers {
		l, err := tx.loadLayer(ctx, al, cfg.RootFS.DiffIDs[i])
		if err != nil {
			return nil, fmt.Errorf("layer %d of image %s: %w", i+1, ShortID(ai.ConfigDigest), err)
		}
		keptAll = keptAll && al.Digest != "" && l.Blob.Digest == al.Digest
		layers[i] = l
	}
	if ai.Manifest != nil && keptAll {
		md, err := tx.s.putBlob(ai.Manifest)
		if err != nil {
			return nil, err
		}
		if _, err := tx.s.putBlob(ai.Config); err != nil {
			return nil, err
		}
		return tx.recordImage(md, tags)
	}
	return tx.createImage(ai.Config, layers, tags)
}

// loadLayer stores one layer of an archive. A blob an OCI manifest names is
// kept exactly as it is (verified against the manifest's digest), so the
// manifest stays valid; a legacy docker-archive's uncompressed layer is
// compressed with gzip. Either way its diffID must be the config's.
func (tx *Tx) loadLayer(ctx context.Context, al tarball.Layer, diffID digest.Digest) (*Layer, error) {
	if al.Digest != "" && tx.s.hasBlob(al.Digest) {
		if info, err := tx.s.layerInfo(diffID); err == nil {
			return &Layer{Blob: ocispec.Descriptor{MediaType: layerMediaType(al, archive.Gzip), Digest: al.Digest, Size: al.Size}, Info: info}, nil
		}
	}
	rc, err := al.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	comp, err := archive.Detect(br)
	if err != nil {
		return nil, err
	}
	if comp == archive.None && al.Digest == "" {
		return tx.newLayer(ctx, br, archive.Gzip, diffID)
	}
	bw, err := tx.s.newBlobWriter()
	if err != nil {
		return nil, err
	}
	tee := io.TeeReader(br, bw)
	dr, _, err := archive.Decompress(tee)
	if err != nil {
		bw.abort()
		return nil, err
	}
	info, err := tx.s.putLayer(ctx, dr, diffID)
	dr.Close()
	if err == nil {
		// Whatever follows the compressed stream is part of the blob.
		_, err = io.Copy(io.Discard, tee)
	}
	if err != nil {
		bw.abort()
		return nil, err
	}
	d, size, err := bw.commit(al.Digest)
	if err != nil {
		return nil, err
	}
	return &Layer{Blob: ocispec.Descriptor{MediaType: layerMediaType(al, comp), Digest: d, Size: size}, Info: info}, nil
}

func layerMediaType(al tarball.Layer, c archive.Compression) string {
	if al.MediaType != "" {
		return al.MediaType
	}
	return archive.MediaType(c)
}
