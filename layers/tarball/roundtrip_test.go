package tarball

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// checkImage compares an image read back with the one written.
func checkImage(t *testing.T, got Image, want WriteImage, wantTags []string) {
	t.Helper()
	if !bytes.Equal(got.Config, want.Config) || got.ConfigDigest != want.ConfigDigest {
		t.Errorf("config: got %s, want %s", got.ConfigDigest, want.ConfigDigest)
	}
	if !bytes.Equal(got.Manifest, want.Manifest) || got.ManifestDigest != want.ManifestDigest {
		t.Errorf("manifest: got %s (%d bytes), want %s (%d bytes)", got.ManifestDigest, len(got.Manifest), want.ManifestDigest, len(want.Manifest))
	}
	if !slices.Equal(got.Tags, wantTags) {
		t.Errorf("tags: got %q, want %q", got.Tags, wantTags)
	}
	if len(got.Layers) != len(want.Layers) {
		t.Fatalf("layers: got %d, want %d", len(got.Layers), len(want.Layers))
	}
	for i, l := range got.Layers {
		w := want.Layers[i]
		if l.Digest != w.Digest || l.MediaType != w.MediaType || l.Size != w.Size {
			t.Errorf("layer %d: got %s %s %d, want %s %s %d", i, l.Digest, l.MediaType, l.Size, w.Digest, w.MediaType, w.Size)
		}
		if d := digest.FromBytes(readLayer(t, l)); d != w.Digest {
			t.Errorf("layer %d content: got %s, want %s", i, d, w.Digest)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	base := newLayer(t, "base", true)
	a := testImage(t, []testLayer{base, newLayer(t, "a", true)}, "busybox:latest", "busybox:1.36")
	b := testImage(t, []testLayer{base, newLayer(t, "b", false)}, "localhost:5000/team/app:v1")
	untagged := testImage(t, []testLayer{newLayer(t, "c", true)})

	tests := []struct {
		name   string
		format Format
		images []WriteImage
		tags   [][]string
	}{
		{"docker one image", DockerArchive, []WriteImage{busybox(t)}, [][]string{{"busybox:latest"}}},
		{"oci one image", OCIArchive, []WriteImage{busybox(t)}, [][]string{{"busybox:latest"}}},
		{
			"docker shared layer", DockerArchive, []WriteImage{a, b, untagged},
			[][]string{{"busybox:latest", "busybox:1.36"}, {"localhost:5000/team/app:v1"}, nil},
		},
		{
			"oci shared layer", OCIArchive, []WriteImage{a, b, untagged},
			[][]string{{"busybox:latest", "busybox:1.36"}, {"localhost:5000/team/app:v1"}, nil},
		},
		{"docker full name tag", DockerArchive, []WriteImage{testImage(t, []testLayer{base}, "docker.io/library/alpine")}, [][]string{{"alpine:latest"}}},
		{"oci no images", OCIArchive, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := writeArchive(t, tt.images, tt.format)
			if again := writeArchive(t, tt.images, tt.format); !bytes.Equal(out, again) {
				t.Errorf("two writes of the same images differ")
			}
			ar, err := readBytes(out)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			dirAr, err := ReadDir(extract(t, out))
			if err != nil {
				t.Fatalf("ReadDir: %v", err)
			}
			for what, got := range map[string]*Archive{"Read": ar, "ReadDir": dirAr} {
				t.Run(what, func(t *testing.T) {
					if len(got.Images) != len(tt.images) {
						t.Fatalf("got %d images, want %d", len(got.Images), len(tt.images))
					}
					for i := range tt.images {
						checkImage(t, got.Images[i], tt.images[i], tt.tags[i])
					}
				})
			}
			// Every blob is written once, even when images share it.
			names := map[string]int{}
			for _, m := range untar(t, out) {
				names[m.hdr.Name]++
			}
			for n, c := range names {
				if c != 1 {
					t.Errorf("member %s: got %d copies, want 1", n, c)
				}
			}
		})
	}
}

func TestWriteDockerLayout(t *testing.T) {
	img := busybox(t)
	out := writeArchive(t, []WriteImage{img}, DockerArchive)
	ms := untar(t, out)

	var names []string
	for _, m := range ms {
		names = append(names, m.hdr.Name)
		if !m.hdr.ModTime.Equal(epoch) || m.hdr.Uid != 0 || m.hdr.Gid != 0 {
			t.Errorf("%s: got mtime %v owner %d:%d, want %v 0:0", m.hdr.Name, m.hdr.ModTime, m.hdr.Uid, m.hdr.Gid, epoch)
		}
		if len(m.hdr.PAXRecords) != 0 {
			t.Errorf("%s: got PAX records %v, want none", m.hdr.Name, m.hdr.PAXRecords)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("members: got %q, want sorted", names)
	}
	blob := func(d digest.Digest) string { return "blobs/sha256/" + d.Encoded() }
	want := []string{"blobs/", "blobs/sha256/", blob(img.ConfigDigest), blob(img.ManifestDigest), blob(img.Layers[0].Digest), blob(img.Layers[1].Digest),
		"index.json", "manifest.json", "oci-layout", "repositories"}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("members:\ngot  %q\nwant %q", names, want)
	}

	var idx ocispec.Index
	if err := json.Unmarshal(memberBody(t, ms, "index.json"), &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 {
		t.Fatalf("index.json: got %d manifests, want 1", len(idx.Manifests))
	}
	d := idx.Manifests[0]
	wantAnn := map[string]string{
		"io.containerd.image.name":          "docker.io/library/busybox:latest",
		"org.opencontainers.image.ref.name": "latest",
	}
	if d.Digest != img.ManifestDigest || d.MediaType != ocispec.MediaTypeImageManifest || d.Size != int64(len(img.Manifest)) {
		t.Errorf("index.json descriptor: got %s %s %d, want %s %s %d", d.MediaType, d.Digest, d.Size, ocispec.MediaTypeImageManifest, img.ManifestDigest, len(img.Manifest))
	}
	for k, v := range wantAnn {
		if d.Annotations[k] != v {
			t.Errorf("annotation %s: got %q, want %q", k, d.Annotations[k], v)
		}
	}
	if d.Platform == nil || d.Platform.OS != "linux" || d.Platform.Architecture != "amd64" {
		t.Errorf("platform: got %+v, want linux/amd64", d.Platform)
	}

	var entries []map[string]any
	if err := json.Unmarshal(memberBody(t, ms, "manifest.json"), &entries); err != nil {
		t.Fatal(err)
	}
	wantEntries := []map[string]any{{
		"Config":   blob(img.ConfigDigest),
		"RepoTags": []any{"busybox:latest"},
		"Layers":   []any{blob(img.Layers[0].Digest), blob(img.Layers[1].Digest)},
	}}
	if g, w := mustJSON(t, entries), mustJSON(t, wantEntries); !bytes.Equal(g, w) {
		t.Errorf("manifest.json:\ngot  %s\nwant %s", g, w)
	}

	var cfg struct {
		RootFS struct {
			DiffIDs []digest.Digest `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(img.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	wantRepos := `{"busybox":{"latest":"` + cfg.RootFS.DiffIDs[1].Encoded() + `"}}`
	if got := string(memberBody(t, ms, "repositories")); got != wantRepos {
		t.Errorf("repositories: got %s, want %s", got, wantRepos)
	}
	if got, want := string(memberBody(t, ms, "oci-layout")), `{"imageLayoutVersion":"1.0.0"}`; got != want {
		t.Errorf("oci-layout: got %s, want %s", got, want)
	}
}

func TestWriteOCIIndex(t *testing.T) {
	img := busybox(t)
	img.Tags = []string{"busybox:latest", "ghcr.io/x/y:2"}
	ms := untar(t, writeArchive(t, []WriteImage{img}, OCIArchive))
	for _, m := range ms {
		if m.hdr.Name == "manifest.json" || m.hdr.Name == "repositories" {
			t.Errorf("oci-archive: got member %s, want only the OCI layout", m.hdr.Name)
		}
	}
	var idx ocispec.Index
	if err := json.Unmarshal(memberBody(t, ms, "index.json"), &idx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range idx.Manifests {
		got = append(got, d.Annotations[ocispec.AnnotationRefName])
		if len(d.Annotations) != 1 {
			t.Errorf("annotations: got %v, want only ref.name", d.Annotations)
		}
	}
	if want := []string{"busybox:latest", "ghcr.io/x/y:2"}; !slices.Equal(got, want) {
		t.Errorf("ref names: got %q, want %q", got, want)
	}
}

func TestWriteWithoutManifest(t *testing.T) {
	img := busybox(t)
	img.Manifest, img.ManifestDigest = nil, ""
	ar, err := readBytes(writeArchive(t, []WriteImage{img}, OCIArchive))
	if err != nil {
		t.Fatal(err)
	}
	got := ar.Images[0]
	var m ocispec.Manifest
	if err := json.Unmarshal(got.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	if m.Config.Digest != img.ConfigDigest || len(m.Layers) != 2 || m.Layers[1].Digest != img.Layers[1].Digest {
		t.Errorf("made manifest: got %s", got.Manifest)
	}
	if got.ManifestDigest != digest.FromBytes(got.Manifest) {
		t.Errorf("manifest digest: got %s, want %s", got.ManifestDigest, digest.FromBytes(got.Manifest))
	}
}

func TestWriteFillsLayersFromManifest(t *testing.T) {
	img := busybox(t)
	want := slices.Clone(img.Layers)
	for i := range img.Layers {
		img.Layers[i].Digest, img.Layers[i].MediaType = "", ""
	}
	ar, err := readBytes(writeArchive(t, []WriteImage{img}, DockerArchive))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range ar.Images[0].Layers {
		if l.Digest != want[i].Digest || l.MediaType != want[i].MediaType {
			t.Errorf("layer %d: got %s %s, want %s %s", i, l.Digest, l.MediaType, want[i].Digest, want[i].MediaType)
		}
	}
	if img.Layers[0].Digest != "" {
		t.Errorf("Write changed the caller's layers: got digest %s, want empty", img.Layers[0].Digest)
	}
}

// TestReadDockerWithoutOCI reads a Docker >= 25 archive whose OCI part is
// gone or does not match manifest.json: the images are read as legacy.
func TestReadDockerWithoutOCI(t *testing.T) {
	img := busybox(t)
	out := writeArchive(t, []WriteImage{img}, DockerArchive)
	// Docker 25.0.0 listed only foreign layers in its manifests.
	noLayers := testManifest(t, img.Config, nil)
	tests := []struct {
		name   string
		mutate func([]tarMember) []tarMember
	}{
		{"no index.json", func(ms []tarMember) []tarMember {
			return slices.DeleteFunc(ms, func(m tarMember) bool { return m.hdr.Name == "index.json" || m.hdr.Name == "oci-layout" })
		}},
		{"manifest without layers", func(ms []tarMember) []tarMember {
			d := digest.FromBytes(noLayers)
			idx := ocispec.Index{Manifests: []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageManifest, Digest: d, Size: int64(len(noLayers))}}}
			idx.SchemaVersion = 2
			for i := range ms {
				if ms[i].hdr.Name == "index.json" {
					ms[i].body = mustJSON(t, idx)
				}
			}
			return append(ms, file("blobs/sha256/"+d.Encoded(), noLayers))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ar, err := readBytes(mktar(t, tt.mutate(untar(t, out))))
			if err != nil {
				t.Fatal(err)
			}
			got := ar.Images[0]
			if got.Manifest != nil || got.ManifestDigest != "" {
				t.Errorf("manifest: got %s, want none", got.ManifestDigest)
			}
			if got.ConfigDigest != img.ConfigDigest || !slices.Equal(got.Tags, []string{"busybox:latest"}) {
				t.Errorf("got config %s tags %q, want %s [busybox:latest]", got.ConfigDigest, got.Tags, img.ConfigDigest)
			}
			for i, l := range got.Layers {
				if l.Digest != "" || l.MediaType != "" || l.Size != img.Layers[i].Size {
					t.Errorf("layer %d: got %q %q %d, want \"\" \"\" %d", i, l.Digest, l.MediaType, l.Size, img.Layers[i].Size)
				}
			}
		})
	}
}

// TestWriteStreamsLayers checks that a layer much larger than the memory
// Write allocates is streamed, not buffered.
func TestWriteStreamsLayers(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 64 MiB")
	}
	const size = 64 << 20
	gen := func() *bytes.Reader {
		return bytes.NewReader(bytes.Repeat([]byte("strata layer bytes\n"), size/19+1)[:size])
	}
	d, err := digest.FromReader(gen())
	if err != nil {
		t.Fatal(err)
	}
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["` + d.String() + `"]}}`)
	img := WriteImage{
		Config: config, ConfigDigest: digest.FromBytes(config), Tags: []string{"big"},
		Layers: []WriteLayer{{Digest: d, MediaType: ocispec.MediaTypeImageLayer, Size: size, Open: func() (io.ReadCloser, error) {
			// A reader that is not a bytes.Reader, so io.Copy cannot take
			// shortcuts that hide buffering.
			return io.NopCloser(struct{ io.Reader }{gen()}), nil
		}}},
	}
	var before, after runtimeMem
	before.read()
	cw := &countWriter{}
	if err := Write(cw, []WriteImage{img}, OCIArchive); err != nil {
		t.Fatal(err)
	}
	after.read()
	if cw.n < size {
		t.Fatalf("wrote %d bytes, want more than %d", cw.n, size)
	}
	// The generator itself allocates size bytes per Open; allow that and a
	// little more, but not a second copy.
	if alloc := after.total - before.total; alloc > size+size/2 {
		t.Errorf("Write allocated %d bytes for a %d-byte layer, want it streamed", alloc, size)
	}
}

// runtimeMem is a reading of the bytes allocated so far.
type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.total = s.TotalAlloc
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

func TestReadDirSymlinkEscape(t *testing.T) {
	out := writeArchive(t, []WriteImage{busybox(t)}, OCIArchive)
	d := extract(t, out)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "index.json"), memberBody(t, untar(t, out), "index.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(d, "index.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "index.json"), filepath.Join(d, "index.json")); err != nil {
		t.Fatal(err)
	}
	_, err := ReadDir(d)
	if err == nil || !strings.Contains(err.Error(), "index.json") {
		t.Errorf("ReadDir with index.json linked outside: got %v, want an error naming index.json", err)
	}
}

func TestTarHeaders(t *testing.T) {
	tr := tar.NewReader(bytes.NewReader(writeArchive(t, []WriteImage{busybox(t)}, DockerArchive)))
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		if hdr.Format != tar.FormatUSTAR {
			t.Errorf("%s: got format %v, want USTAR", hdr.Name, hdr.Format)
		}
	}
}
