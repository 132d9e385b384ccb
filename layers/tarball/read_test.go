package tarball

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// legacy is a hand-made docker-archive as Docker before 25 wrote it: layer
// directories named by v1 IDs, configs named <sha256>.json, and a shared
// layer stored once and linked from the second image's directory.
type legacy struct {
	members []tarMember
	layers  []testLayer // l0, l1
	configs [][]byte    // of image 0 and 1
}

// newLegacy makes a legacy archive; its second layer is gzip-compressed when
// compress is set (skopeo writes uncompressed layers, other tools may not).
func newLegacy(t testing.TB, prefix string, compress bool) legacy {
	t.Helper()
	l0, l1 := newLayer(t, "zero", false), newLayer(t, "one", compress)
	c0 := testConfig(t, "amd64", []testLayer{l0, l1})
	// Image 1 reuses l0 twice and l1 once, through links.
	c1 := testConfig(t, "amd64", []testLayer{l0, l1, l0})
	id := func(s string) string { return digest.FromString(s).Encoded() }
	v0, v1, v2, v3, v4 := id("v0"), id("v1"), id("v2"), id("v3"), id("v4")
	cname := func(c []byte) string { return digest.FromBytes(c).Encoded() + ".json" }
	manifest := []map[string]any{
		{"Config": cname(c0), "RepoTags": []string{"busybox:latest", "busybox:1"}, "Layers": []string{v0 + "/layer.tar", v1 + "/layer.tar"}},
		{"Config": cname(c1), "RepoTags": nil, "Layers": []string{v2 + "/layer.tar", v3 + "/layer.tar", v4 + "/layer.tar"}},
	}
	hardlink := tarMember{hdr: tar.Header{Name: prefix + v3 + "/layer.tar", Typeflag: tar.TypeLink, Linkname: prefix + v1 + "/layer.tar", ModTime: epoch}}
	ms := []tarMember{
		dir(prefix + v0 + "/"), file(prefix+v0+"/VERSION", []byte("1.0")), file(prefix+v0+"/json", []byte(`{"id":"`+v0+`"}`)),
		file(prefix+v0+"/layer.tar", l0.blob),
		dir(prefix + v1 + "/"), file(prefix+v1+"/layer.tar", l1.blob),
		dir(prefix + v2 + "/"), symlink(prefix+v2+"/layer.tar", "../"+v0+"/layer.tar"),
		dir(prefix + v3 + "/"), hardlink,
		// A chain: v4 → v2 → v0.
		dir(prefix + v4 + "/"), symlink(prefix+v4+"/layer.tar", "../"+v2+"/layer.tar"),
		file(prefix+cname(c0), c0), file(prefix+cname(c1), c1),
		file(prefix+"manifest.json", mustJSON(t, manifest)),
		file(prefix+"repositories", []byte(`{"busybox":{"latest":"`+v1+`","1":"`+v1+`"}}`)),
	}
	return legacy{members: ms, layers: []testLayer{l0, l1}, configs: [][]byte{c0, c1}}
}

func TestReadLegacyDocker(t *testing.T) {
	for _, prefix := range []string{"", "./"} {
		t.Run("prefix "+prefix, func(t *testing.T) {
			lg := newLegacy(t, prefix, true)
			ar, err := readBytes(mktar(t, lg.members))
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if len(ar.Images) != 2 {
				t.Fatalf("got %d images, want 2", len(ar.Images))
			}
			l0, l1 := lg.layers[0], lg.layers[1]
			wants := []struct {
				tags   []string
				layers []testLayer
			}{
				{[]string{"busybox:latest", "busybox:1"}, []testLayer{l0, l1}},
				{nil, []testLayer{l0, l1, l0}},
			}
			for i, w := range wants {
				img := ar.Images[i]
				if !bytes.Equal(img.Config, lg.configs[i]) || img.ConfigDigest != digest.FromBytes(lg.configs[i]) {
					t.Errorf("image %d config: got %s, want %s", i, img.ConfigDigest, digest.FromBytes(lg.configs[i]))
				}
				if img.Manifest != nil || img.ManifestDigest != "" {
					t.Errorf("image %d manifest: got %s, want none", i, img.ManifestDigest)
				}
				if !slices.Equal(img.Tags, w.tags) {
					t.Errorf("image %d tags: got %q, want %q", i, img.Tags, w.tags)
				}
				if len(img.Layers) != len(w.layers) {
					t.Fatalf("image %d: got %d layers, want %d", i, len(img.Layers), len(w.layers))
				}
				for j, l := range img.Layers {
					if l.Digest != "" || l.MediaType != "" {
						t.Errorf("image %d layer %d: got digest %q media type %q, want none", i, j, l.Digest, l.MediaType)
					}
					if got := readLayer(t, l); !bytes.Equal(got, w.layers[j].blob) || l.Size != int64(len(got)) {
						t.Errorf("image %d layer %d: got %d bytes (Size %d), want %d", i, j, len(got), l.Size, len(w.layers[j].blob))
					}
				}
			}
		})
	}
}

// layout assembles OCI layouts by hand for the tests of nested indexes.
type layout struct {
	t     *testing.T
	blobs map[digest.Digest][]byte
}

func newLayout(t *testing.T) *layout { return &layout{t: t, blobs: map[digest.Digest][]byte{}} }

func (l *layout) add(mediaType string, b []byte) ocispec.Descriptor {
	d := digest.FromBytes(b)
	l.blobs[d] = b
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}
}

// image adds an image for arch and returns its manifest's descriptor.
func (l *layout) image(arch, seed, manifestType, configType string) ocispec.Descriptor {
	layer := newLayer(l.t, seed, true)
	config := testConfig(l.t, arch, []testLayer{layer})
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: manifestType,
		Config:    l.add(configType, config),
		Layers:    []ocispec.Descriptor{l.add(layer.mediaType(), layer.blob)},
	}
	d := l.add(manifestType, mustJSON(l.t, m))
	d.Platform = &ocispec.Platform{OS: "linux", Architecture: arch}
	return d
}

func (l *layout) index(mediaType string, ds ...ocispec.Descriptor) ocispec.Descriptor {
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: mediaType, Manifests: ds}
	return l.add(mediaType, mustJSON(l.t, idx))
}

func (l *layout) tar(top ...ocispec.Descriptor) []byte {
	ms := []tarMember{file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))}
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: top}
	ms = append(ms, file("index.json", mustJSON(l.t, idx)))
	for d, b := range l.blobs {
		ms = append(ms, file("blobs/sha256/"+d.Encoded(), b))
	}
	return mktar(l.t, ms)
}

func named(d ocispec.Descriptor, ann ...string) ocispec.Descriptor {
	d.Annotations = map[string]string{}
	for i := 0; i+1 < len(ann); i += 2 {
		d.Annotations[ann[i]] = ann[i+1]
	}
	return d
}

func TestReadOCINested(t *testing.T) {
	const refName = ocispec.AnnotationRefName
	tests := []struct {
		name  string
		build func(l *layout) []byte
		arch  []string   // per image
		tags  [][]string // per image
	}{
		{
			name: "index picks amd64",
			build: func(l *layout) []byte {
				idx := l.index(ocispec.MediaTypeImageIndex, l.image("arm64", "a", ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageConfig),
					l.image("amd64", "b", ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageConfig))
				return l.tar(named(idx, refName, "multi:1"))
			},
			arch: []string{"amd64"}, tags: [][]string{{"multi:1"}},
		},
		{
			name: "docker list picks amd64",
			build: func(l *layout) []byte {
				idx := l.index(dockerListType, l.image("amd64", "a", dockerManifestType, dockerConfigType),
					l.image("s390x", "b", dockerManifestType, dockerConfigType))
				return l.tar(named(idx, refName, "latest", annotationImageName, "docker.io/library/multi:latest"))
			},
			arch: []string{"amd64"}, tags: [][]string{{"docker.io/library/multi:latest"}},
		},
		{
			name: "only manifest of another platform",
			build: func(l *layout) []byte {
				idx := l.index(ocispec.MediaTypeImageIndex, l.image("arm64", "a", ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageConfig))
				return l.tar(named(idx, refName, "arm"))
			},
			arch: []string{"arm64"}, tags: [][]string{{"arm"}},
		},
		{
			name: "absent amd64 blobs are passed over",
			build: func(l *layout) []byte {
				amd := l.image("amd64", "gone", ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageConfig)
				idx := l.index(ocispec.MediaTypeImageIndex, amd, l.image("arm64", "a", ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageConfig))
				delete(l.blobs, amd.Digest)
				return l.tar(named(idx, refName, "saved"))
			},
			arch: []string{"arm64"}, tags: [][]string{{"saved"}},
		},
		{
			name: "index in index",
			build: func(l *layout) []byte {
				inner := l.index(ocispec.MediaTypeImageIndex, l.image("amd64", "a", ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageConfig))
				outer := l.index(ocispec.MediaTypeImageIndex, inner)
				return l.tar(named(outer, refName, "deep"))
			},
			arch: []string{"amd64"}, tags: [][]string{{"deep"}},
		},
		{
			name: "tags of one manifest merge, artifacts are skipped",
			build: func(l *layout) []byte {
				img := l.image("amd64", "a", ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageConfig)
				art := l.image("amd64", "sig", ocispec.MediaTypeImageManifest, "application/vnd.example.signature+json")
				return l.tar(named(img, refName, "a:1"), named(art, refName, "sig"), named(img, refName, "a:2"), img)
			},
			arch: []string{"amd64"}, tags: [][]string{{"a:1", "a:2"}},
		},
		{
			name: "untagged descriptor without media type",
			build: func(l *layout) []byte {
				img := l.image("amd64", "a", ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageConfig)
				img.MediaType = ""
				return l.tar(img)
			},
			arch: []string{"amd64"}, tags: [][]string{nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ar, err := readBytes(tt.build(newLayout(t)))
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if len(ar.Images) != len(tt.arch) {
				t.Fatalf("got %d images, want %d", len(ar.Images), len(tt.arch))
			}
			for i, img := range ar.Images {
				var cfg struct{ Architecture string }
				if err := json.Unmarshal(img.Config, &cfg); err != nil {
					t.Fatal(err)
				}
				if cfg.Architecture != tt.arch[i] {
					t.Errorf("image %d: got %s, want %s", i, cfg.Architecture, tt.arch[i])
				}
				if !slices.Equal(img.Tags, tt.tags[i]) {
					t.Errorf("image %d tags: got %q, want %q", i, img.Tags, tt.tags[i])
				}
				if len(img.Layers) != 1 || img.Layers[0].Digest == "" || img.Layers[0].MediaType != ocispec.MediaTypeImageLayerGzip {
					t.Errorf("image %d layers: got %+v, want one gzip layer with a digest", i, img.Layers)
				}
			}
		})
	}
}
