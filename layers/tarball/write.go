package tarball

import (
	"archive/tar"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/strata-engine/strata/layers/reference"
)

// Format is the kind of archive Write produces.
type Format int

const (
	// DockerArchive is what "docker save" writes since Docker 25: an OCI
	// layout plus manifest.json and repositories for "docker load" and
	// older readers. index.json has one entry per tag, annotated the way
	// Docker does: org.opencontainers.image.ref.name is the tag alone
	// ("latest") and io.containerd.image.name the full name
	// ("docker.io/library/busybox:latest").
	DockerArchive Format = iota + 1
	// OCIArchive is an OCI image layout in a tar. index.json has one entry
	// per tag whose org.opencontainers.image.ref.name is the familiar name
	// ("busybox:latest"), the name skopeo's "oci-archive:FILE:busybox:latest"
	// looks up.
	OCIArchive
)

// String returns the transport name skopeo uses for the format.
func (f Format) String() string {
	switch f {
	case DockerArchive:
		return "docker-archive"
	case OCIArchive:
		return "oci-archive"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// WriteImage is one image to write.
type WriteImage struct {
	// Manifest is the image manifest (OCI or Docker schema 2) and its
	// digest. When Manifest is nil an OCI manifest is made from the config
	// and the layers, which then need Digest and MediaType.
	Manifest       []byte
	ManifestDigest digest.Digest
	Config         []byte
	ConfigDigest   digest.Digest
	// Tags name the image, familiar or full ("busybox:latest",
	// "localhost:5000/x:1"); a name without tag means ":latest".
	Tags   []string
	Layers []WriteLayer
}

// WriteLayer is one layer blob to write, in manifest order. Digest and
// MediaType may be left empty when the manifest gives them.
type WriteLayer struct {
	Digest    digest.Digest
	MediaType string
	Size      int64
	// Open returns the blob's bytes; they are streamed into the archive,
	// never held in memory, and checked against Size and Digest.
	Open func() (io.ReadCloser, error)
}

// epoch is the modification time of every member, so that the same images
// always make the same bytes.
var epoch = time.Unix(0, 0)

// Write writes images to w as an archive of format f. Each blob shared by
// several images is written once. On error the bytes already written are
// not a usable archive and the caller must discard them.
func Write(w io.Writer, images []WriteImage, f Format) error {
	if f != DockerArchive && f != OCIArchive {
		return fmt.Errorf("write image archive: unknown format %d", int(f))
	}
	members, err := plan(images, f)
	if err != nil {
		return fmt.Errorf("write %s: %w", f, err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	tw := tar.NewWriter(bw)
	for _, m := range members {
		if err := m.write(tw); err != nil {
			return fmt.Errorf("write %s: %s: %w", f, m.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write %s: %w", f, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", f, err)
	}
	return nil
}

// outMember is one member of the archive to write: a directory, a small
// document held in memory, or a blob streamed from open.
type outMember struct {
	name   string
	dir    bool
	data   []byte
	size   int64
	digest digest.Digest
	open   func() (io.ReadCloser, error)
}

func (m *outMember) write(tw *tar.Writer) error {
	hdr := &tar.Header{Name: m.name, ModTime: epoch, Mode: 0o644, Typeflag: tar.TypeReg, Size: m.size}
	if m.dir {
		hdr.Name, hdr.Mode, hdr.Typeflag, hdr.Size = m.name+"/", 0o755, tar.TypeDir, 0
	}
	// With the format left open, archive/tar uses USTAR whenever the header
	// fits it (every header here, unless a blob is 8 GiB or more) and PAX
	// otherwise.
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	switch {
	case m.dir:
		return nil
	case m.open == nil:
		_, err := tw.Write(m.data)
		return err
	}
	return m.stream(tw)
}

// stream copies a blob into the archive, checking size and digest on the
// way. A blob that is too long is caught here rather than by the tar
// writer, so the error says what is wrong.
func (m *outMember) stream(w io.Writer) error {
	rc, err := m.open()
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer rc.Close()
	h := m.digest.Algorithm().Hash()
	n, err := io.CopyN(w, io.TeeReader(rc, h), m.size)
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("blob is %d bytes, want %d", n, m.size)
	}
	if err != nil {
		return err
	}
	var extra [1]byte
	if k, _ := io.ReadFull(rc, extra[:]); k > 0 {
		return fmt.Errorf("blob is longer than %d bytes", m.size)
	}
	if got := digest.NewDigest(m.digest.Algorithm(), h); got != m.digest {
		return fmt.Errorf("%w: got %s, want %s", ErrDigestMismatch, got, m.digest)
	}
	return nil
}

// prepared is a validated WriteImage with its manifest and names decided.
type prepared struct {
	manifest     []byte
	manifestDesc ocispec.Descriptor
	configName   string
	layerNames   []string
	layers       []WriteLayer // with digests and media types filled in
	refs         []reference.Reference
	lastDiffID   digest.Digest
}

// writeConfig is the part of a config that Write needs.
type writeConfig struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
	OSVersion    string `json:"os.version,omitempty"`
	RootFS       struct {
		DiffIDs []digest.Digest `json:"diff_ids"`
	} `json:"rootfs"`
}

// plan validates the images and lists the members to write, sorted by name.
func plan(images []WriteImage, f Format) ([]*outMember, error) {
	blobs := make(map[string]*outMember)
	addBlob := func(m *outMember) error {
		if old, ok := blobs[m.name]; ok {
			if old.size != m.size {
				return fmt.Errorf("blob %s given with sizes %d and %d", m.digest, old.size, m.size)
			}
			return nil
		}
		blobs[m.name] = m
		return nil
	}
	tagged := make(map[string]int) // full reference → image number
	var preps []prepared
	for i, img := range images {
		p, err := prepare(img)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		for _, r := range p.refs {
			if j, ok := tagged[r.String()]; ok && j != i {
				return nil, fmt.Errorf("image %d: tag %s already names image %d", i, r.Familiar(), j)
			}
			tagged[r.String()] = i
		}
		docs := []*outMember{
			{name: blobPath(p.manifestDesc.Digest), data: p.manifest, size: int64(len(p.manifest))},
			{name: p.configName, data: img.Config, size: int64(len(img.Config))},
		}
		for _, m := range docs {
			if err := addBlob(m); err != nil {
				return nil, fmt.Errorf("image %d: %w", i, err)
			}
		}
		for j, l := range p.layers {
			m := &outMember{name: p.layerNames[j], size: l.Size, digest: l.Digest, open: l.Open}
			if err := addBlob(m); err != nil {
				return nil, fmt.Errorf("image %d: layer %d: %w", i, j, err)
			}
		}
		preps = append(preps, p)
	}

	members := make([]*outMember, 0, len(blobs)+8)
	dirs := map[string]bool{}
	for name, m := range blobs {
		members = append(members, m)
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		members = append(members, &outMember{name: d, dir: true})
	}
	docs, err := layoutDocs(preps, f)
	if err != nil {
		return nil, err
	}
	members = append(members, docs...)
	sort.Slice(members, func(a, b int) bool { return members[a].name < members[b].name })
	return members, nil
}

// prepare validates one image and fills in what the manifest implies.
func prepare(img WriteImage) (prepared, error) {
	var p prepared
	// checkManifest fills in layer fields; work on a copy so the caller's
	// slice is left as it was.
	img.Layers = slices.Clone(img.Layers)
	if len(img.Config) == 0 {
		return p, errors.New("no config")
	}
	if err := checkDigest("config", img.Config, img.ConfigDigest); err != nil {
		return p, err
	}
	var cfg writeConfig
	if err := json.Unmarshal(img.Config, &cfg); err != nil {
		return p, fmt.Errorf("config %s: %w", img.ConfigDigest, err)
	}
	if n := len(cfg.RootFS.DiffIDs); n != len(img.Layers) {
		return p, fmt.Errorf("%d layers, but config %s has %d diff_ids", len(img.Layers), img.ConfigDigest, n)
	}
	if n := len(cfg.RootFS.DiffIDs); n > 0 {
		p.lastDiffID = cfg.RootFS.DiffIDs[n-1]
	}

	var m ocispec.Manifest
	if img.Manifest == nil {
		if img.ManifestDigest != "" {
			return p, errors.New("ManifestDigest given without Manifest")
		}
		b, err := makeManifest(img)
		if err != nil {
			return p, err
		}
		img.Manifest, img.ManifestDigest = b, digest.FromBytes(b)
	}
	if err := checkDigest("manifest", img.Manifest, img.ManifestDigest); err != nil {
		return p, err
	}
	if err := json.Unmarshal(img.Manifest, &m); err != nil {
		return p, fmt.Errorf("manifest %s: %w", img.ManifestDigest, err)
	}
	if err := checkManifest(img, m); err != nil {
		return p, fmt.Errorf("manifest %s: %w", img.ManifestDigest, err)
	}
	mediaType := m.MediaType
	if mediaType == "" {
		mediaType = ocispec.MediaTypeImageManifest
	}
	p.manifest = img.Manifest
	p.manifestDesc = ocispec.Descriptor{MediaType: mediaType, Digest: img.ManifestDigest, Size: int64(len(img.Manifest))}
	if cfg.OS != "" && cfg.Architecture != "" {
		p.manifestDesc.Platform = &ocispec.Platform{
			OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant, OSVersion: cfg.OSVersion,
		}
	}
	p.layers = img.Layers
	p.configName = blobPath(img.ConfigDigest)
	for _, l := range img.Layers {
		p.layerNames = append(p.layerNames, blobPath(l.Digest))
	}

	seen := make(map[string]bool)
	for _, t := range img.Tags {
		r, err := reference.Parse(t)
		if err != nil {
			return p, fmt.Errorf("tag %q: %w", t, err)
		}
		if r.IsDigested() {
			return p, fmt.Errorf("tag %q: an archive names images by tag, not by digest", t)
		}
		if !seen[r.String()] {
			seen[r.String()] = true
			p.refs = append(p.refs, r)
		}
	}
	return p, nil
}

// checkManifest checks that a manifest describes the image's config and
// layers, filling in the layers' digests and media types it gives.
func checkManifest(img WriteImage, m ocispec.Manifest) error {
	if m.SchemaVersion != 2 {
		return fmt.Errorf("schemaVersion %d, want 2", m.SchemaVersion)
	}
	if m.MediaType != "" && kindOf(m.MediaType) != kindManifest {
		return fmt.Errorf("media type %s is not an image manifest", m.MediaType)
	}
	if m.Config.Digest != img.ConfigDigest || m.Config.Size != int64(len(img.Config)) {
		return fmt.Errorf("config is %s (%d bytes), want %s (%d bytes)", m.Config.Digest, m.Config.Size, img.ConfigDigest, len(img.Config))
	}
	if len(m.Layers) != len(img.Layers) {
		return fmt.Errorf("%d layers, want %d", len(m.Layers), len(img.Layers))
	}
	for i, d := range m.Layers {
		l := &img.Layers[i]
		if l.Digest == "" {
			l.Digest = d.Digest
		}
		if l.MediaType == "" {
			l.MediaType = d.MediaType
		}
		if l.Digest != d.Digest || l.Size != d.Size || l.MediaType != d.MediaType {
			return fmt.Errorf("layer %d is %s %s (%d bytes), want %s %s (%d bytes)",
				i, d.MediaType, d.Digest, d.Size, l.MediaType, l.Digest, l.Size)
		}
		if err := d.Digest.Validate(); err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		if l.Open == nil {
			return fmt.Errorf("layer %d: no Open", i)
		}
	}
	return nil
}

// makeManifest makes an OCI manifest for an image given without one.
func makeManifest(img WriteImage) ([]byte, error) {
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageConfig,
			Digest:    img.ConfigDigest,
			Size:      int64(len(img.Config)),
		},
		Layers: make([]ocispec.Descriptor, 0, len(img.Layers)),
	}
	for i, l := range img.Layers {
		if l.Digest == "" || l.MediaType == "" {
			return nil, fmt.Errorf("layer %d: no manifest, so Digest and MediaType are needed", i)
		}
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: l.MediaType, Digest: l.Digest, Size: l.Size})
	}
	return json.Marshal(m)
}

// checkDigest checks that b hashes to d.
func checkDigest(what string, b []byte, d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("%s digest %q: %w", what, d, err)
	}
	if got := d.Algorithm().FromBytes(b); got != d {
		return fmt.Errorf("%s: %w: got %s, want %s", what, ErrDigestMismatch, got, d)
	}
	return nil
}

// blobPath is the name of a validated digest's blob.
func blobPath(d digest.Digest) string {
	return path.Join(ocispec.ImageBlobsDir, string(d.Algorithm()), d.Encoded())
}

// layoutDocs makes oci-layout and index.json, and for a docker-archive
// manifest.json and repositories.
func layoutDocs(preps []prepared, f Format) ([]*outMember, error) {
	idx := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{},
	}
	var entries []dockerEntry
	repos := make(map[string]map[string]string)
	for _, p := range preps {
		if len(p.refs) == 0 {
			// Docker leaves untagged images out of index.json; listing them
			// without a name keeps the OCI layout complete.
			idx.Manifests = append(idx.Manifests, p.manifestDesc)
		}
		e := dockerEntry{Config: p.configName, Layers: p.layerNames}
		for _, r := range p.refs {
			d := p.manifestDesc
			switch f {
			case DockerArchive:
				d.Annotations = map[string]string{
					annotationImageName:       r.String(),
					ocispec.AnnotationRefName: r.Tag(),
				}
			case OCIArchive:
				d.Annotations = map[string]string{ocispec.AnnotationRefName: r.Familiar()}
			}
			idx.Manifests = append(idx.Manifests, d)
			e.RepoTags = append(e.RepoTags, r.Familiar())
			if p.lastDiffID != "" {
				name := r.FamiliarName()
				if repos[name] == nil {
					repos[name] = make(map[string]string)
				}
				// As in Docker: the legacy ID of the top layer, which
				// modern Docker takes from its diff_id.
				repos[name][r.Tag()] = p.lastDiffID.Encoded()
			}
		}
		entries = append(entries, e)
	}

	layout, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return nil, err
	}
	index, err := json.Marshal(idx)
	if err != nil {
		return nil, err
	}
	docs := []*outMember{
		{name: ociLayoutName, data: layout},
		{name: ociIndexName, data: index},
	}
	if f == DockerArchive {
		if entries == nil {
			entries = []dockerEntry{}
		}
		manifest, err := json.Marshal(entries)
		if err != nil {
			return nil, err
		}
		docs = append(docs, &outMember{name: dockerManifestName, data: manifest})
		if len(repos) > 0 {
			b, err := json.Marshal(repos)
			if err != nil {
				return nil, err
			}
			docs = append(docs, &outMember{name: dockerReposName, data: b})
		}
	}
	for _, d := range docs {
		d.size = int64(len(d.data))
	}
	return docs, nil
}
