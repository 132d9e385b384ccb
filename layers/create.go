package layers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/strata-engine/strata/layers/archive"
	"github.com/strata-engine/strata/layers/reference"
	"golang.org/x/sys/unix"
)

// Tx adds content to the store: layers, then the image that lists them.
// While a Tx is open, garbage collection (in any process) waits, so nothing
// it has written can be collected before an image refers to it. A process
// must not collect garbage while it has a Tx open.
type Tx struct {
	s      *Store
	unlock func()
}

// Begin opens a Tx. Close it when done.
func (s *Store) Begin() (*Tx, error) {
	unlock, err := s.lock("content.lock", unix.LOCK_SH)
	if err != nil {
		return nil, err
	}
	return &Tx{s: s, unlock: unlock}, nil
}

// Close ends the Tx.
func (tx *Tx) Close() {
	if tx.unlock != nil {
		tx.unlock()
		tx.unlock = nil
	}
}

// Layer is a layer written in a Tx: its blob descriptor and its record.
type Layer struct {
	Blob ocispec.Descriptor
	Info *LayerInfo
}

// NewLayer stores an uncompressed layer tar: it is compressed into a new
// blob and unpacked into the object store in the same pass. New layers are
// always compressed: c is Gzip or Zstd, and None means the default, Gzip.
func (tx *Tx) NewLayer(ctx context.Context, r io.Reader, c archive.Compression) (*Layer, error) {
	return tx.newLayer(ctx, r, c, "")
}

// newLayer is NewLayer, refusing a layer whose diffID is not want (if set).
func (tx *Tx) newLayer(ctx context.Context, r io.Reader, c archive.Compression, want digest.Digest) (*Layer, error) {
	if c == archive.None {
		c = archive.Gzip
	}
	bw, err := tx.s.newBlobWriter()
	if err != nil {
		return nil, err
	}
	cw, err := archive.Compress(bw, c)
	if err != nil {
		bw.abort()
		return nil, err
	}
	info, err := tx.s.putLayer(ctx, io.TeeReader(r, cw), want)
	if cerr := cw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		bw.abort()
		return nil, err
	}
	d, size, err := bw.commit("")
	if err != nil {
		return nil, err
	}
	return &Layer{
		Blob: ocispec.Descriptor{MediaType: archive.MediaType(c), Digest: d, Size: size},
		Info: info,
	}, nil
}

// CreateImage writes a config and a manifest for layers (bottom first) and
// records the image under refs (familiar or full references; none leaves
// it untagged). cfg.RootFS is filled in from the layers.
func (tx *Tx) CreateImage(ctx context.Context, cfg ocispec.Image, layers []*Layer, refs []string) (*Image, error) {
	if cfg.OS == "" {
		cfg.OS = "linux"
	}
	if cfg.Architecture == "" {
		cfg.Architecture = runtime.GOARCH
	}
	if cfg.Created == nil {
		now := time.Now().UTC()
		cfg.Created = &now
	}
	cfg.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{}}
	for _, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.Info.DiffID)
	}
	rawCfg, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	parsed, err := parseTags(refs)
	if err != nil {
		return nil, err
	}
	return tx.createImage(rawCfg, layers, parsed)
}

// createImage writes a manifest for a config as it is (its digest is the
// image id, so its bytes are kept exactly) and records the image.
func (tx *Tx) createImage(rawCfg []byte, layers []*Layer, parsed []reference.Reference) (*Image, error) {
	man := ocispec.Manifest{MediaType: mediaTypeManifest, Layers: []ocispec.Descriptor{}}
	man.SchemaVersion = 2
	for _, l := range layers {
		man.Layers = append(man.Layers, l.Blob)
	}
	cd, err := tx.s.putBlob(rawCfg)
	if err != nil {
		return nil, err
	}
	man.Config = ocispec.Descriptor{MediaType: mediaTypeConfig, Digest: cd, Size: int64(len(rawCfg))}
	rawMan, err := json.Marshal(man)
	if err != nil {
		return nil, err
	}
	md, err := tx.s.putBlob(rawMan)
	if err != nil {
		return nil, err
	}
	return tx.recordImage(md, parsed)
}

// recordImage adds the image whose manifest blob is md under tags.
func (tx *Tx) recordImage(md digest.Digest, parsed []reference.Reference) (*Image, error) {
	img, err := tx.s.loadImage(md)
	if err != nil {
		return nil, err
	}
	if err := tx.s.addImage(img, parsed); err != nil {
		return nil, err
	}
	for _, r := range parsed {
		img.RepoTags = append(img.RepoTags, r.Familiar())
	}
	return img, nil
}

func parseTags(refs []string) ([]reference.Reference, error) {
	parsed := make([]reference.Reference, 0, len(refs))
	for _, ref := range refs {
		r, err := reference.Parse(ref)
		if err != nil {
			return nil, err
		}
		if r.IsDigested() {
			return nil, fmt.Errorf("%w: cannot tag an image with a digest reference: %s", ErrInvalid, ref)
		}
		parsed = append(parsed, r)
	}
	return parsed, nil
}

// ImportOptions are the choices of Import.
type ImportOptions struct {
	Refs        []string            // names for the new image
	Config      ocispec.ImageConfig // e.g. from --change
	Message     string              // history comment; default "Imported from SOURCE"
	Source      string              // the file name, or "-"
	Compression archive.Compression // Gzip (the default) or Zstd
}

// Import makes a one-layer image from a root filesystem tarball
// (uncompressed, gzip or zstd), like docker import.
func (s *Store) Import(ctx context.Context, r io.Reader, opts ImportOptions) (*Image, error) {
	if _, err := parseTags(opts.Refs); err != nil {
		return nil, err
	}
	tx, err := s.Begin()
	if err != nil {
		return nil, err
	}
	defer tx.Close()
	dr, _, err := archive.Decompress(r)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", opts.Source, err)
	}
	defer dr.Close()
	l, err := tx.NewLayer(ctx, dr, opts.Compression)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", opts.Source, err)
	}
	now := time.Now().UTC()
	comment := opts.Message
	if comment == "" {
		comment = "Imported from " + opts.Source
	}
	cfg := ocispec.Image{
		Created:  &now,
		Platform: ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH},
		Config:   opts.Config,
		History:  []ocispec.History{{Created: &now, Comment: comment}},
	}
	return tx.CreateImage(ctx, cfg, []*Layer{l}, opts.Refs)
}
