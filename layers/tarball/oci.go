package tarball

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	ociLayoutName = ocispec.ImageLayoutFile // "oci-layout"
	ociIndexName  = ocispec.ImageIndexFile  // "index.json"

	// Docker's own media types, which OCI layouts written by Docker,
	// skopeo and containerd may hold next to the OCI ones.
	dockerManifestType = "application/vnd.docker.distribution.manifest.v2+json"
	dockerListType     = "application/vnd.docker.distribution.manifest.list.v2+json"
	dockerConfigType   = "application/vnd.docker.container.image.v1+json"

	// annotationImageName is containerd's (and Docker >= 25's) annotation
	// for the full image name of an index.json entry.
	annotationImageName = "io.containerd.image.name"

	// maxIndexDepth bounds how deeply image indexes may nest.
	maxIndexDepth = 4

	// The platform picked from a multi-platform index.
	wantOS   = "linux"
	wantArch = "amd64"
)

// blobName is where a blob lives in an OCI layout. The digest is validated
// first: its encoded part becomes a path component.
func blobName(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("digest %q: %v", d, err)
	}
	return path.Join(ocispec.ImageBlobsDir, string(d.Algorithm()), d.Encoded()), nil
}

// readBlob reads a small blob named by a descriptor and checks its size and
// digest; what says where the descriptor was found.
func readBlob(src source, desc ocispec.Descriptor, what string) ([]byte, string, error) {
	name, err := blobName(desc.Digest)
	if err != nil {
		return nil, "", invalidf("", "%s: %v", what, err)
	}
	m, err := src.member(name)
	if err != nil {
		return nil, name, err
	}
	if m.size != desc.Size {
		return nil, name, invalidf(name, "%d bytes, but its descriptor in %s says %d", m.size, what, desc.Size)
	}
	b, err := readMember(src, name)
	if err != nil {
		return nil, name, err
	}
	if err := verify(name, b, desc.Digest); err != nil {
		return nil, name, err
	}
	return b, name, nil
}

// docKind is what a descriptor points at.
type docKind int

const (
	kindOther docKind = iota // artifacts and anything unknown
	kindManifest
	kindIndex
)

func kindOf(mediaType string) docKind {
	switch mediaType {
	case ocispec.MediaTypeImageManifest, dockerManifestType:
		return kindManifest
	case ocispec.MediaTypeImageIndex, dockerListType:
		return kindIndex
	}
	return kindOther
}

// sniffed is the part of a manifest or index that tells which it is.
type sniffed struct {
	MediaType string          `json:"mediaType"`
	Manifests json.RawMessage `json:"manifests"`
	Config    json.RawMessage `json:"config"`
}

// kindOfDoc decides what a fetched document is. A descriptor without a
// media type is allowed by old writers; then the document's own mediaType
// field, or failing that its shape, decides. When both name a type they
// must agree, or a manifest could be passed off as an index.
func kindOfDoc(name string, desc ocispec.Descriptor, b []byte) (docKind, error) {
	var s sniffed
	if err := json.Unmarshal(b, &s); err != nil {
		return 0, invalidf(name, "parse: %v", err)
	}
	if desc.MediaType != "" && s.MediaType != "" && desc.MediaType != s.MediaType {
		return 0, invalidf(name, "media type is %s, its descriptor says %s", s.MediaType, desc.MediaType)
	}
	mt := desc.MediaType
	if mt == "" {
		mt = s.MediaType
	}
	if mt != "" {
		return kindOf(mt), nil
	}
	switch {
	case s.Manifests != nil:
		return kindIndex, nil
	case s.Config != nil:
		return kindManifest, nil
	}
	return kindOther, nil
}

// readIndexJSON reads oci-layout and index.json.
func readIndexJSON(src source) (ocispec.Index, error) {
	var idx ocispec.Index
	b, err := readMember(src, ociLayoutName)
	if err != nil {
		return idx, err
	}
	var layout ocispec.ImageLayout
	if err := json.Unmarshal(b, &layout); err != nil {
		return idx, invalidf(ociLayoutName, "parse: %v", err)
	}
	if layout.Version == "" {
		return idx, invalidf(ociLayoutName, "no imageLayoutVersion")
	}
	b, err = readMember(src, ociIndexName)
	if err != nil {
		return idx, err
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return idx, invalidf(ociIndexName, "parse: %v", err)
	}
	if idx.SchemaVersion != 2 {
		return idx, invalidf(ociIndexName, "schemaVersion %d, want 2", idx.SchemaVersion)
	}
	return idx, nil
}

// readOCI reads an OCI layout: each descriptor of index.json is an image.
func readOCI(src source) (*Archive, error) {
	idx, err := readIndexJSON(src)
	if err != nil {
		return nil, err
	}
	a := &Archive{}
	seen := make(map[digest.Digest]int) // manifest digest → index in a.Images
	for i, desc := range idx.Manifests {
		what := fmt.Sprintf("%s: manifests[%d]", ociIndexName, i)
		mdesc, mb, ok, err := resolve(src, desc, what, 0)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		tag := desc.Annotations[annotationImageName]
		if tag == "" {
			tag = desc.Annotations[ocispec.AnnotationRefName]
		}
		if j, ok := seen[mdesc.Digest]; ok {
			if tag != "" && !slices.Contains(a.Images[j].Tags, tag) {
				a.Images[j].Tags = append(a.Images[j].Tags, tag)
			}
			continue
		}
		img, ok, err := imageFromManifest(src, mdesc, mb)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if tag != "" {
			img.Tags = []string{tag}
		}
		seen[mdesc.Digest] = len(a.Images)
		a.Images = append(a.Images, img)
	}
	return a, nil
}

// resolve follows a descriptor to an image manifest, through image indexes
// by platform. ok is false when the descriptor is an artifact or something
// else that is not an image.
func resolve(src source, desc ocispec.Descriptor, what string, depth int) (ocispec.Descriptor, []byte, bool, error) {
	if depth > maxIndexDepth {
		return desc, nil, false, invalidf("", "%s: image indexes nested more than %d deep", what, maxIndexDepth)
	}
	if desc.MediaType != "" && kindOf(desc.MediaType) == kindOther {
		return desc, nil, false, nil
	}
	b, name, err := readBlob(src, desc, what)
	if err != nil {
		return desc, nil, false, err
	}
	kind, err := kindOfDoc(name, desc, b)
	if err != nil {
		return desc, nil, false, err
	}
	switch kind {
	case kindManifest:
		return desc, b, true, nil
	case kindIndex:
		var idx ocispec.Index
		if err := json.Unmarshal(b, &idx); err != nil {
			return desc, nil, false, invalidf(name, "parse index: %v", err)
		}
		child, err := pickPlatform(src, name, idx)
		if err != nil {
			return desc, nil, false, err
		}
		return resolve(src, child, name, depth+1)
	}
	return desc, nil, false, nil
}

// pickPlatform chooses the manifest of an index to use: the first
// linux/amd64 one, else the only image in it. Attestation manifests, which
// BuildKit adds to indexes with the platform unknown/unknown, do not count,
// and neither do manifests whose blobs are absent: "docker save" of a
// multi-platform image keeps the whole index but only the platforms it has.
func pickPlatform(src source, name string, idx ocispec.Index) (ocispec.Descriptor, error) {
	var images []ocispec.Descriptor
	for _, d := range idx.Manifests {
		if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue
		}
		if d.MediaType != "" && kindOf(d.MediaType) == kindOther {
			continue
		}
		if bn, err := blobName(d.Digest); err == nil && !src.has(bn) {
			continue
		}
		if p := d.Platform; p != nil && p.OS == wantOS && p.Architecture == wantArch {
			return d, nil
		}
		images = append(images, d)
	}
	if len(images) == 1 {
		return images[0], nil
	}
	return ocispec.Descriptor{}, invalidf(name, "no %s/%s image among %d manifests present", wantOS, wantArch, len(images))
}

// imageConfig is the part of an image config that is checked here.
type imageConfig struct {
	RootFS struct {
		DiffIDs []digest.Digest `json:"diff_ids"`
	} `json:"rootfs"`
}

// diffIDCount parses a config far enough to count its layers.
func diffIDCount(name string, config []byte) (int, error) {
	var c imageConfig
	if err := json.Unmarshal(config, &c); err != nil {
		return 0, invalidf(name, "parse config: %v", err)
	}
	return len(c.RootFS.DiffIDs), nil
}

// imageFromManifest builds an Image from a verified manifest. ok is false
// when the manifest's config is not an image config (an artifact).
func imageFromManifest(src source, desc ocispec.Descriptor, mb []byte) (Image, bool, error) {
	mname, _ := blobName(desc.Digest)
	var m ocispec.Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return Image{}, false, invalidf(mname, "parse manifest: %v", err)
	}
	switch m.Config.MediaType {
	case ocispec.MediaTypeImageConfig, dockerConfigType:
	default:
		return Image{}, false, nil
	}
	config, cname, err := readBlob(src, m.Config, mname)
	if err != nil {
		return Image{}, false, err
	}
	n, err := diffIDCount(cname, config)
	if err != nil {
		return Image{}, false, err
	}
	if n != len(m.Layers) {
		return Image{}, false, invalidf(mname, "%d layers, but config %s has %d diff_ids", len(m.Layers), m.Config.Digest, n)
	}
	img := Image{
		Config:         config,
		ConfigDigest:   m.Config.Digest,
		Manifest:       mb,
		ManifestDigest: desc.Digest,
		Layers:         make([]Layer, 0, len(m.Layers)),
	}
	for i, l := range m.Layers {
		lname, err := blobName(l.Digest)
		if err != nil {
			return Image{}, false, invalidf(mname, "layers[%d]: %v", i, err)
		}
		mem, err := src.member(lname)
		if err != nil {
			return Image{}, false, err
		}
		if mem.size != l.Size {
			return Image{}, false, invalidf(lname, "layer is %d bytes, manifest %s says %d", mem.size, desc.Digest, l.Size)
		}
		img.Layers = append(img.Layers, Layer{Digest: l.Digest, MediaType: l.MediaType, Size: l.Size, Open: mem.open})
	}
	return img, true, nil
}
