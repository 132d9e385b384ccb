package tarball

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A mutation changes the members of a good archive into a bad one.
type mutation func(t *testing.T, ms []tarMember) []tarMember

func remove(names ...string) mutation {
	return func(t *testing.T, ms []tarMember) []tarMember {
		return slices.DeleteFunc(ms, func(m tarMember) bool { return slices.Contains(names, m.hdr.Name) })
	}
}

func setBody(name string, body []byte) mutation {
	return func(t *testing.T, ms []tarMember) []tarMember {
		for i := range ms {
			if ms[i].hdr.Name == name {
				ms[i].body = body
				return ms
			}
		}
		t.Fatalf("no member %s", name)
		return nil
	}
}

// edit replaces old with new in a member's body.
func edit(name, old, new string) mutation {
	return func(t *testing.T, ms []tarMember) []tarMember {
		for i := range ms {
			if ms[i].hdr.Name == name {
				if !bytes.Contains(ms[i].body, []byte(old)) {
					t.Fatalf("member %s does not contain %q", name, old)
				}
				ms[i].body = bytes.Replace(ms[i].body, []byte(old), []byte(new), 1)
				return ms
			}
		}
		t.Fatalf("no member %s", name)
		return nil
	}
}

func add(extra ...tarMember) mutation {
	return func(t *testing.T, ms []tarMember) []tarMember { return append(ms, extra...) }
}

// replaceManifest swaps the only manifest of an oci-archive for m.
func replaceManifest(img WriteImage, m ocispec.Manifest) mutation {
	return func(t *testing.T, ms []tarMember) []tarMember {
		b := mustJSON(t, m)
		d := digest.FromBytes(b)
		idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2},
			Manifests: []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageManifest, Digest: d, Size: int64(len(b))}}}
		ms = remove(blobPath(img.ManifestDigest))(t, ms)
		ms = setBody("index.json", mustJSON(t, idx))(t, ms)
		return append(ms, file(blobPath(d), b))
	}
}

func TestReadCorrupt(t *testing.T) {
	img := busybox(t)
	docker := writeArchive(t, []WriteImage{img}, DockerArchive)
	oci := writeArchive(t, []WriteImage{img}, OCIArchive)
	leg := mktar(t, newLegacy(t, "", true).members)
	cfg, man := blobPath(img.ConfigDigest), blobPath(img.ManifestDigest)
	layer0, layer1 := blobPath(img.Layers[0].Digest), blobPath(img.Layers[1].Digest)
	legManifest := func(t *testing.T, ms []tarMember) []map[string]any {
		var e []map[string]any
		if err := json.Unmarshal(memberBody(t, ms, "manifest.json"), &e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	withLegManifest := func(f func(e []map[string]any)) mutation {
		return func(t *testing.T, ms []tarMember) []tarMember {
			e := legManifest(t, ms)
			f(e)
			return setBody("manifest.json", mustJSON(t, e))(t, ms)
		}
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(img.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	oneLayer := m
	oneLayer.Layers = m.Layers[:1]
	noConfig := m
	noConfig.Config.Digest = digest.FromString("absent")

	deep := func() []byte {
		l := newLayout(t)
		d := l.image("amd64", "a", ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageConfig)
		for range maxIndexDepth + 2 {
			d = l.index(ocispec.MediaTypeImageIndex, d)
		}
		return l.tar(d)
	}
	noAmd64 := func() []byte {
		l := newLayout(t)
		return l.tar(l.index(ocispec.MediaTypeImageIndex,
			l.image("arm64", "a", ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageConfig),
			l.image("s390x", "b", ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageConfig)))
	}
	mislabeled := func() []byte {
		l := newLayout(t)
		d := l.image("amd64", "a", ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageConfig)
		d.MediaType = ocispec.MediaTypeImageIndex
		return l.tar(d)
	}

	tests := []struct {
		name     string
		base     []byte
		mutate   mutation
		raw      func([]byte) []byte // applied after mutate
		sentinel error
		contains string
	}{
		// The tar itself.
		{name: "empty file", raw: func([]byte) []byte { return nil }, sentinel: ErrInvalidArchive, contains: "no end-of-archive marker"},
		{name: "empty tar", raw: func([]byte) []byte { return make([]byte, 1024) }, sentinel: ErrInvalidArchive, contains: "neither manifest.json nor index.json"},
		{name: "not a tar", base: docker, raw: func([]byte) []byte { return []byte("hello, world") }, sentinel: ErrInvalidArchive, contains: "tar:"},
		{name: "truncated in data", base: docker, raw: func(b []byte) []byte { return b[:len(b)/2] }, sentinel: ErrInvalidArchive, contains: "unexpected EOF"},
		{name: "truncated at member boundary", base: docker, raw: func(b []byte) []byte { return b[:len(b)-1024] }, sentinel: ErrInvalidArchive, contains: "no end-of-archive marker"},
		{name: "truncated in header", base: docker, raw: func(b []byte) []byte { return b[:512+100] }, sentinel: ErrInvalidArchive, contains: "tar:"},
		{name: "bad header checksum", base: docker, raw: func(b []byte) []byte {
			c := bytes.Clone(b)
			c[0] ^= 0xff
			return c
		}, sentinel: ErrInvalidArchive, contains: "tar:"},
		{name: "duplicate member", base: docker, mutate: add(file("index.json", []byte("{}"))), sentinel: ErrInvalidArchive, contains: "index.json: member appears twice"},
		{name: "dot-dot member", base: docker, mutate: add(file("../evil", nil)), sentinel: ErrInvalidArchive, contains: "../evil: member name climbs out"},
		{name: "dot-dot inside member", base: docker, mutate: add(file("blobs/../../evil", nil)), sentinel: ErrInvalidArchive, contains: "climbs out"},
		{name: "absolute member", base: docker, mutate: add(file("/etc/passwd", nil)), sentinel: ErrInvalidArchive, contains: "/etc/passwd: absolute member name"},
		{name: "unclean member", base: docker, mutate: add(file("blobs//x", nil)), sentinel: ErrInvalidArchive, contains: "blobs//x: member name is not clean"},
		{name: "device member", base: docker, mutate: add(tarMember{hdr: tar.Header{Name: "dev", Typeflag: tar.TypeChar, ModTime: epoch}}),
			sentinel: ErrInvalidArchive, contains: "dev: unexpected member type"},
		{name: "symlink out of archive", base: docker, mutate: add(symlink("a/b", "../../x")), sentinel: ErrInvalidArchive, contains: "a/b: symlink target \"../../x\" leaves the archive"},
		{name: "absolute symlink", base: docker, mutate: add(symlink("a", "/etc/passwd")), sentinel: ErrInvalidArchive, contains: "not a relative path"},

		// docker-archive.
		{name: "manifest.json not JSON", base: docker, mutate: setBody("manifest.json", []byte(`[{"Config":`)), sentinel: ErrInvalidArchive, contains: "manifest.json: parse"},
		{name: "manifest.json not a list", base: docker, mutate: setBody("manifest.json", []byte(`{}`)), sentinel: ErrInvalidArchive, contains: "manifest.json: parse"},
		{name: "no manifest at all", base: docker, mutate: remove("manifest.json", "index.json"), sentinel: ErrInvalidArchive, contains: "neither"},
		{name: "config digest mismatch", base: docker, mutate: edit(cfg, `"amd64"`, `"arm64"`), sentinel: ErrDigestMismatch, contains: cfg},
		{name: "config missing", base: docker, mutate: remove(cfg), sentinel: ErrInvalidArchive, contains: cfg + ": missing"},
		{name: "layer missing", base: docker, mutate: remove(layer1), sentinel: ErrInvalidArchive, contains: layer1 + ": missing"},
		{name: "layer size differs from manifest", base: docker, mutate: setBody(layer0, []byte("short")), sentinel: ErrInvalidArchive, contains: layer0 + ": layer is 5 bytes"},
		{name: "oci manifest digest mismatch", base: docker, mutate: edit(man, `"schemaVersion":2`, `"schemaVersion":3`), sentinel: ErrDigestMismatch, contains: man},
		{name: "index.json not JSON", base: docker, mutate: setBody("index.json", []byte("{")), sentinel: ErrInvalidArchive, contains: "index.json: parse"},
		{name: "legacy no Config", base: leg, mutate: withLegManifest(func(e []map[string]any) { delete(e[0], "Config") }), sentinel: ErrInvalidArchive, contains: "manifest.json: [0]: no Config"},
		{name: "legacy Config climbs out", base: leg, mutate: withLegManifest(func(e []map[string]any) { e[0]["Config"] = "../x.json" }), sentinel: ErrInvalidArchive, contains: "climbs out"},
		{name: "legacy Config absolute", base: leg, mutate: withLegManifest(func(e []map[string]any) { e[0]["Config"] = "/x.json" }), sentinel: ErrInvalidArchive, contains: "absolute"},
		{name: "legacy layer climbs out", base: leg, mutate: withLegManifest(func(e []map[string]any) { e[1]["Layers"].([]any)[0] = "a/../../b" }), sentinel: ErrInvalidArchive, contains: "Layers[0]"},
		{name: "legacy too few layers", base: leg, mutate: withLegManifest(func(e []map[string]any) { e[0]["Layers"] = e[0]["Layers"].([]any)[:1] }),
			sentinel: ErrInvalidArchive, contains: "1 layers, but config"},
		{name: "legacy config digest mismatch", base: leg, mutate: func(t *testing.T, ms []tarMember) []tarMember {
			name := legManifest(t, ms)[0]["Config"].(string)
			return edit(name, `"amd64"`, `"arm64"`)(t, ms)
		}, sentinel: ErrDigestMismatch, contains: ".json: got sha256:"},
		{name: "legacy config not JSON", base: leg, mutate: func(t *testing.T, ms []tarMember) []tarMember {
			ms = withLegManifest(func(e []map[string]any) { e[0]["Config"] = "config.json" })(t, ms)
			return append(ms, file("config.json", []byte("not json")))
		}, sentinel: ErrInvalidArchive, contains: "config.json: parse config"},
		{name: "legacy symlink to missing", base: leg, mutate: func(t *testing.T, ms []tarMember) []tarMember {
			ms = withLegManifest(func(e []map[string]any) { e[0]["Layers"].([]any)[0] = "dangling" })(t, ms)
			return append(ms, symlink("dangling", "nothere"))
		}, sentinel: ErrInvalidArchive, contains: "dangling: links to nothere, which is missing"},
		{name: "legacy symlink loop", base: leg, mutate: func(t *testing.T, ms []tarMember) []tarMember {
			ms = withLegManifest(func(e []map[string]any) { e[0]["Layers"].([]any)[0] = "loop/a" })(t, ms)
			return append(ms, symlink("loop/a", "b"), symlink("loop/b", "a"))
		}, sentinel: ErrInvalidArchive, contains: "loop/a: more than 16 links"},
		{name: "legacy layer is a directory", base: leg, mutate: func(t *testing.T, ms []tarMember) []tarMember {
			return withLegManifest(func(e []map[string]any) { e[0]["Layers"].([]any)[0] = "somedir" })(t, append(ms, dir("somedir/")))
		}, sentinel: ErrInvalidArchive, contains: "somedir: missing"},

		// oci-archive.
		{name: "oci-layout missing", base: oci, mutate: remove("oci-layout"), sentinel: ErrInvalidArchive, contains: "oci-layout: missing"},
		{name: "oci-layout not JSON", base: oci, mutate: setBody("oci-layout", []byte("1.0.0")), sentinel: ErrInvalidArchive, contains: "oci-layout: parse"},
		{name: "oci-layout without version", base: oci, mutate: setBody("oci-layout", []byte("{}")), sentinel: ErrInvalidArchive, contains: "oci-layout: no imageLayoutVersion"},
		{name: "oci index.json not JSON", base: oci, mutate: setBody("index.json", []byte("[]")), sentinel: ErrInvalidArchive, contains: "index.json: parse"},
		{name: "oci index.json wrong schema", base: oci, mutate: setBody("index.json", []byte(`{"schemaVersion":1}`)), sentinel: ErrInvalidArchive, contains: "index.json: schemaVersion 1"},
		{name: "oci bad digest in index", base: oci, mutate: edit("index.json", img.ManifestDigest.String(), "sha256:../../etc/passwd"), sentinel: ErrInvalidArchive, contains: "index.json: manifests[0]"},
		{name: "oci manifest missing", base: oci, mutate: remove(man), sentinel: ErrInvalidArchive, contains: man + ": missing"},
		{name: "oci manifest digest mismatch", base: oci, mutate: edit(man, `"schemaVersion":2`, `"schemaVersion":3`), sentinel: ErrDigestMismatch, contains: man + ": got"},
		{name: "oci config digest mismatch", base: oci, mutate: edit(cfg, `"amd64"`, `"arm64"`), sentinel: ErrDigestMismatch, contains: cfg + ": got"},
		{name: "oci config size differs", base: oci, mutate: edit(cfg, `"amd64"`, `"x86_64"`), sentinel: ErrInvalidArchive, contains: cfg + ": 445 bytes, but its descriptor in " + man + " says 444"},
		{name: "oci config missing", base: oci, mutate: replaceManifest(img, noConfig), sentinel: ErrInvalidArchive, contains: blobPath(noConfig.Config.Digest) + ": missing"},
		{name: "oci layer missing", base: oci, mutate: remove(layer0), sentinel: ErrInvalidArchive, contains: layer0 + ": missing"},
		{name: "oci layer size differs", base: oci, mutate: setBody(layer1, []byte("x")), sentinel: ErrInvalidArchive, contains: layer1 + ": layer is 1 bytes"},
		{name: "oci fewer layers than diff_ids", base: oci, mutate: replaceManifest(img, oneLayer), sentinel: ErrInvalidArchive, contains: "1 layers, but config"},
		{name: "oci index nested too deep", raw: func([]byte) []byte { return deep() }, sentinel: ErrInvalidArchive, contains: "nested more than"},
		{name: "oci index without amd64", raw: func([]byte) []byte { return noAmd64() }, sentinel: ErrInvalidArchive, contains: "no linux/amd64 image among 2 manifests present"},
		{name: "oci manifest labelled index", raw: func([]byte) []byte { return mislabeled() }, sentinel: ErrInvalidArchive, contains: "its descriptor says " + ocispec.MediaTypeImageIndex},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.base
			if tt.mutate != nil {
				b = mktar(t, tt.mutate(t, untar(t, b)))
			}
			if tt.raw != nil {
				b = tt.raw(b)
			}
			ar, err := readBytes(b)
			if err == nil {
				t.Fatalf("Read: got %d images, want error %q", len(ar.Images), tt.contains)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("got error %q, want one wrapping %q", err, tt.sentinel)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("got error %q, want it to contain %q", err, tt.contains)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	layerErr := errors.New("disk on fire")
	tests := []struct {
		name     string
		format   Format
		change   func(imgs []WriteImage) []WriteImage
		sentinel error
		contains string
	}{
		{name: "unknown format", format: 0, contains: "unknown format 0"},
		{name: "config digest mismatch", change: func(imgs []WriteImage) []WriteImage {
			imgs[0].ConfigDigest = digest.FromString("other")
			return imgs
		}, sentinel: ErrDigestMismatch, contains: "config: digest mismatch"},
		{name: "bad config digest", change: func(imgs []WriteImage) []WriteImage {
			imgs[0].ConfigDigest = "sha256:xyz"
			return imgs
		}, contains: "config digest \"sha256:xyz\""},
		{name: "no config", change: func(imgs []WriteImage) []WriteImage {
			imgs[0].Config = nil
			return imgs
		}, contains: "no config"},
		{name: "manifest digest mismatch", change: func(imgs []WriteImage) []WriteImage {
			imgs[0].ManifestDigest = digest.FromString("other")
			return imgs
		}, sentinel: ErrDigestMismatch, contains: "manifest: digest mismatch"},
		{name: "fewer layers than diff_ids", change: func(imgs []WriteImage) []WriteImage {
			imgs[0].Layers = imgs[0].Layers[:1]
			return imgs
		}, contains: "1 layers, but config"},
		{name: "layer size differs from manifest", change: func(imgs []WriteImage) []WriteImage {
			imgs[0].Layers[1].Size++
			return imgs
		}, contains: "layer 1 is"},
		{name: "layer without Open", change: func(imgs []WriteImage) []WriteImage {
			imgs[0].Layers[0].Open = nil
			return imgs
		}, contains: "layer 0: no Open"},
		{name: "layer content differs", change: func(imgs []WriteImage) []WriteImage {
			n := imgs[0].Layers[0].Size
			imgs[0].Layers[0].Open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(make([]byte, n))), nil }
			return imgs
		}, sentinel: ErrDigestMismatch, contains: "digest mismatch: got"},
		{name: "layer shorter than Size", change: func(imgs []WriteImage) []WriteImage {
			imgs[0].Layers[0].Open = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("abc")), nil }
			return imgs
		}, contains: "blob is 3 bytes, want"},
		{name: "layer longer than Size", change: func(imgs []WriteImage) []WriteImage {
			n := imgs[0].Layers[0].Size
			imgs[0].Layers[0].Open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(make([]byte, n+1))), nil }
			return imgs
		}, contains: "blob is longer than"},
		{name: "layer Open fails", change: func(imgs []WriteImage) []WriteImage {
			imgs[0].Layers[0].Open = func() (io.ReadCloser, error) { return nil, layerErr }
			return imgs
		}, sentinel: layerErr, contains: "open: disk on fire"},
		{name: "bad tag", change: func(imgs []WriteImage) []WriteImage {
			imgs[0].Tags = []string{"Busybox"}
			return imgs
		}, contains: "tag \"Busybox\": invalid reference format: repository name (library/Busybox) must be lowercase"},
		{name: "digest as tag", change: func(imgs []WriteImage) []WriteImage {
			imgs[0].Tags = []string{"busybox@" + imgs[0].ManifestDigest.String()}
			return imgs
		}, contains: "not by digest"},
		{name: "tag on two images", change: func(imgs []WriteImage) []WriteImage {
			other := testImage(t, []testLayer{newLayer(t, "other", true)}, "docker.io/library/busybox")
			return append(imgs, other)
		}, contains: "tag busybox:latest already names image 0"},
		{name: "manifest names another config", change: func(imgs []WriteImage) []WriteImage {
			other := testImage(t, []testLayer{newLayer(t, "x", true), newLayer(t, "y", true)})
			imgs[0].Manifest, imgs[0].ManifestDigest = other.Manifest, other.ManifestDigest
			return imgs
		}, contains: "config is"},
		{name: "no manifest and no media type", change: func(imgs []WriteImage) []WriteImage {
			imgs[0].Manifest, imgs[0].ManifestDigest = nil, ""
			imgs[0].Layers[1].MediaType = ""
			return imgs
		}, contains: "layer 1: no manifest, so Digest and MediaType are needed"},
		{name: "manifest digest without manifest", change: func(imgs []WriteImage) []WriteImage {
			imgs[0].Manifest = nil
			return imgs
		}, contains: "ManifestDigest given without Manifest"},
		{name: "same blob with two sizes", change: func(imgs []WriteImage) []WriteImage {
			// A second image whose manifest claims a different size for
			// the first image's layer.
			b := imgs[0]
			b.Tags = nil
			b.Layers = slices.Clone(b.Layers)
			b.Layers[0].Size++
			var m ocispec.Manifest
			_ = json.Unmarshal(b.Manifest, &m)
			m.Layers[0].Size++
			b.Manifest = mustJSON(t, m)
			b.ManifestDigest = digest.FromBytes(b.Manifest)
			return append(imgs, b)
		}, contains: "given with sizes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imgs := []WriteImage{busybox(t)}
			if tt.change != nil {
				imgs = tt.change(imgs)
			}
			f := tt.format
			if tt.name != "unknown format" {
				f = DockerArchive
			}
			err := Write(io.Discard, imgs, f)
			if err == nil {
				t.Fatalf("Write: got no error, want %q", tt.contains)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("got error %q, want one wrapping %q", err, tt.sentinel)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("got error %q, want it to contain %q", err, tt.contains)
			}
		})
	}
}
