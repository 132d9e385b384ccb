package tarball

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	dockerManifestName = "manifest.json"
	dockerReposName    = "repositories"
)

// dockerEntry is one element of a docker-archive's manifest.json. Docker
// also writes Parent and LayerSources; neither is needed to load an image.
type dockerEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// readDocker reads a docker-archive in either form.
func readDocker(src source) (*Archive, error) {
	b, err := readMember(src, dockerManifestName)
	if err != nil {
		return nil, err
	}
	var entries []dockerEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, invalidf(dockerManifestName, "parse: %v", err)
	}
	// Docker >= 25 also writes an OCI layout; its manifests, matched to
	// entries by config and layer blobs, give the manifest and the layers'
	// blob digests that manifest.json alone does not have.
	var oci map[digest.Digest][]ociManifest
	if src.has(ociIndexName) {
		if oci, err = collectManifests(src); err != nil {
			return nil, err
		}
	}
	a := &Archive{Images: make([]Image, 0, len(entries))}
	for i, e := range entries {
		img, err := dockerImage(src, e, fmt.Sprintf("%s: [%d]", dockerManifestName, i), oci)
		if err != nil {
			return nil, err
		}
		a.Images = append(a.Images, img)
	}
	return a, nil
}

func dockerImage(src source, e dockerEntry, what string, oci map[digest.Digest][]ociManifest) (Image, error) {
	if e.Config == "" {
		return Image{}, invalidf("", "%s: no Config", what)
	}
	cname, err := cleanMemberName(e.Config)
	if err != nil {
		return Image{}, invalidf("", "%s: Config: %v", what, err)
	}
	config, err := readMember(src, cname)
	if err != nil {
		return Image{}, err
	}
	cdigest, named := configDigestFromName(cname)
	if named {
		if err := verify(cname, config, cdigest); err != nil {
			return Image{}, err
		}
	} else {
		// A config under a name that is not its digest: nothing to check
		// against, but the image is still identified by its config's hash.
		cdigest = digest.FromBytes(config)
	}
	n, err := diffIDCount(cname, config)
	if err != nil {
		return Image{}, err
	}
	if n != len(e.Layers) {
		return Image{}, invalidf("", "%s: %d layers, but config %s has %d diff_ids", what, len(e.Layers), cname, n)
	}
	img := Image{
		Config:       config,
		ConfigDigest: cdigest,
		Tags:         e.RepoTags,
		Layers:       make([]Layer, 0, len(e.Layers)),
	}
	names := make([]string, 0, len(e.Layers))
	for j, l := range e.Layers {
		lname, err := cleanMemberName(l)
		if err != nil {
			return Image{}, invalidf("", "%s: Layers[%d]: %v", what, j, err)
		}
		mem, err := src.member(lname)
		if err != nil {
			return Image{}, err
		}
		names = append(names, lname)
		img.Layers = append(img.Layers, Layer{Size: mem.size, Open: mem.open})
	}
	if m, ok := matchManifest(oci[cdigest], names); ok {
		img.Manifest, img.ManifestDigest = m.raw, m.digest
		for j, l := range m.manifest.Layers {
			if img.Layers[j].Size != l.Size {
				return Image{}, invalidf(names[j], "layer is %d bytes, manifest %s says %d", img.Layers[j].Size, m.digest, l.Size)
			}
			img.Layers[j].Digest, img.Layers[j].MediaType = l.Digest, l.MediaType
		}
	}
	return img, nil
}

// configDigestFromName recovers a config's digest from its member name:
// "blobs/sha256/<hex>" (Docker >= 25) or "<hex>.json" (older Docker and
// skopeo, where the image ID is the config's sha256).
func configDigestFromName(name string) (digest.Digest, bool) {
	if rest, ok := strings.CutPrefix(name, ocispec.ImageBlobsDir+"/"); ok {
		if alg, enc, ok := strings.Cut(rest, "/"); ok {
			d := digest.NewDigestFromEncoded(digest.Algorithm(alg), enc)
			return d, d.Validate() == nil
		}
	}
	if hex, ok := strings.CutSuffix(name, ".json"); ok && !strings.Contains(hex, "/") {
		d := digest.NewDigestFromEncoded(digest.SHA256, hex)
		return d, d.Validate() == nil
	}
	return "", false
}

// ociManifest is a verified manifest found in the OCI layout of a
// docker-archive.
type ociManifest struct {
	digest   digest.Digest
	raw      []byte
	manifest ocispec.Manifest
}

// matchManifest picks the manifest whose layers are exactly the members
// manifest.json names. Docker 25.0.0 wrote manifests that list only foreign
// layers; those do not match, and the image is then read as legacy.
func matchManifest(cands []ociManifest, layerNames []string) (ociManifest, bool) {
next:
	for _, c := range cands {
		if len(c.manifest.Layers) != len(layerNames) {
			continue
		}
		for i, l := range c.manifest.Layers {
			if n, err := blobName(l.Digest); err != nil || n != layerNames[i] {
				continue next
			}
		}
		return c, true
	}
	return ociManifest{}, false
}

// collectManifests reads every image manifest the OCI layout of a
// docker-archive refers to, through nested indexes, keyed by config digest.
// Children of an index whose blobs are absent are skipped: an archive holds
// only the platforms that were saved.
func collectManifests(src source) (map[digest.Digest][]ociManifest, error) {
	idx, err := readIndexJSON(src)
	if err != nil {
		return nil, err
	}
	out := make(map[digest.Digest][]ociManifest)
	seen := make(map[digest.Digest]bool)
	var walk func(descs []ociDesc, depth int) error
	walk = func(descs []ociDesc, depth int) error {
		for _, d := range descs {
			if seen[d.desc.Digest] {
				continue
			}
			seen[d.desc.Digest] = true
			if depth > maxIndexDepth {
				return invalidf("", "%s: image indexes nested more than %d deep", d.what, maxIndexDepth)
			}
			if d.desc.MediaType != "" && kindOf(d.desc.MediaType) == kindOther {
				continue
			}
			if name, err := blobName(d.desc.Digest); err == nil && depth > 0 && !src.has(name) {
				continue
			}
			b, name, err := readBlob(src, d.desc, d.what)
			if err != nil {
				return err
			}
			kind, err := kindOfDoc(name, d.desc, b)
			if err != nil {
				return err
			}
			switch kind {
			case kindManifest:
				var m ocispec.Manifest
				if err := json.Unmarshal(b, &m); err != nil {
					return invalidf(name, "parse manifest: %v", err)
				}
				out[m.Config.Digest] = append(out[m.Config.Digest], ociManifest{digest: d.desc.Digest, raw: b, manifest: m})
			case kindIndex:
				var child ocispec.Index
				if err := json.Unmarshal(b, &child); err != nil {
					return invalidf(name, "parse index: %v", err)
				}
				if err := walk(describe(name, child.Manifests), depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(describe(ociIndexName, idx.Manifests), 0); err != nil {
		return nil, err
	}
	return out, nil
}

// ociDesc is a descriptor with where it was found, for error messages.
type ociDesc struct {
	desc ocispec.Descriptor
	what string
}

func describe(parent string, descs []ocispec.Descriptor) []ociDesc {
	out := make([]ociDesc, len(descs))
	for i, d := range descs {
		out[i] = ociDesc{desc: d, what: fmt.Sprintf("%s: manifests[%d]", parent, i)}
	}
	return out
}
