package tarball

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// testLayer is a generated layer: its uncompressed tar and its blob.
type testLayer struct {
	tar  []byte        // uncompressed
	blob []byte        // as stored: gzip of tar, or tar itself
	gzip bool          // whether blob is compressed
	diff digest.Digest // of tar
}

// layerTar makes a small deterministic layer tar holding the given files.
func layerTar(t testing.TB, files map[string]string) []byte {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch}); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		hdr := &tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[n])), ModTime: epoch}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newLayer makes a layer whose content depends on seed.
func newLayer(t testing.TB, seed string, compress bool) testLayer {
	t.Helper()
	tb := layerTar(t, map[string]string{
		"etc/" + seed:    "hello from " + seed + "\n",
		"etc/os-release": "ID=strata-test\n",
	})
	l := testLayer{tar: tb, blob: tb, diff: digest.FromBytes(tb), gzip: compress}
	if compress {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(tb); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		l.blob = buf.Bytes()
	}
	return l
}

func (l testLayer) mediaType() string {
	if l.gzip {
		return ocispec.MediaTypeImageLayerGzip
	}
	return ocispec.MediaTypeImageLayer
}

func (l testLayer) writeLayer() WriteLayer {
	b := l.blob
	return WriteLayer{
		Digest:    digest.FromBytes(b),
		MediaType: l.mediaType(),
		Size:      int64(len(b)),
		Open:      func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
	}
}

// testConfig makes a minimal valid OCI image config for the layers.
func testConfig(t testing.TB, arch string, layers []testLayer) []byte {
	t.Helper()
	diffIDs := make([]string, len(layers))
	history := make([]map[string]string, len(layers))
	for i, l := range layers {
		diffIDs[i] = l.diff.String()
		history[i] = map[string]string{"created": "2024-01-01T00:00:00Z", "created_by": fmt.Sprintf("layer %d", i)}
	}
	cfg := map[string]any{
		"created":      "2024-01-01T00:00:00Z",
		"architecture": arch,
		"os":           "linux",
		"config":       map[string]any{"Env": []string{"PATH=/usr/bin:/bin"}, "Cmd": []string{"/bin/sh"}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": diffIDs},
		"history":      history,
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testManifest makes an OCI manifest for a config and layers.
func testManifest(t testing.TB, config []byte, layers []testLayer) []byte {
	t.Helper()
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(config), Size: int64(len(config))},
	}
	for _, l := range layers {
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: l.mediaType(), Digest: digest.FromBytes(l.blob), Size: int64(len(l.blob))})
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testImage makes a WriteImage of the given layers and tags.
func testImage(t testing.TB, layers []testLayer, tags ...string) WriteImage {
	t.Helper()
	config := testConfig(t, "amd64", layers)
	manifest := testManifest(t, config, layers)
	img := WriteImage{
		Manifest: manifest, ManifestDigest: digest.FromBytes(manifest),
		Config: config, ConfigDigest: digest.FromBytes(config),
		Tags: tags,
	}
	for _, l := range layers {
		img.Layers = append(img.Layers, l.writeLayer())
	}
	return img
}

// busybox is the usual test image: two gzip layers, tagged busybox:latest.
func busybox(t testing.TB) WriteImage {
	return testImage(t, []testLayer{newLayer(t, "base", true), newLayer(t, "top", true)}, "busybox:latest")
}

// writeArchive writes images and returns the archive's bytes.
func writeArchive(t testing.TB, images []WriteImage, f Format) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, images, f); err != nil {
		t.Fatalf("Write(%s): %v", f, err)
	}
	return buf.Bytes()
}

// readBytes reads an archive held in memory.
func readBytes(b []byte) (*Archive, error) {
	return Read(bytes.NewReader(b), int64(len(b)))
}

// tarMember is one member of a tar being assembled by a test.
type tarMember struct {
	hdr  tar.Header
	body []byte
}

func file(name string, body []byte) tarMember {
	return tarMember{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body)), ModTime: epoch}, body: body}
}

func symlink(name, target string) tarMember {
	return tarMember{hdr: tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777, ModTime: epoch}}
}

func dir(name string) tarMember {
	return tarMember{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch}}
}

// untar splits an archive into its members.
func untar(t testing.TB, b []byte) []tarMember {
	t.Helper()
	var out []tarMember
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarMember{hdr: *hdr, body: body})
	}
}

// mktar joins members into a tar.
func mktar(t testing.TB, ms []tarMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		hdr := m.hdr
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(m.body))
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(m.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// memberBody returns the body of the named member.
func memberBody(t testing.TB, ms []tarMember, name string) []byte {
	t.Helper()
	for _, m := range ms {
		if m.hdr.Name == name {
			return m.body
		}
	}
	t.Fatalf("no member %s", name)
	return nil
}

// extract unpacks an archive made by a test into a new directory.
func extract(t testing.TB, b []byte) string {
	t.Helper()
	d := t.TempDir()
	for _, m := range untar(t, b) {
		p := filepath.Join(d, filepath.FromSlash(m.hdr.Name))
		switch m.hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, m.body, 0o644); err != nil {
				t.Fatal(err)
			}
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(m.hdr.Linkname, p); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("extract: unexpected member type %q of %s", m.hdr.Typeflag, m.hdr.Name)
		}
	}
	return d
}

// readLayer reads a layer whole.
func readLayer(t testing.TB, l Layer) []byte {
	t.Helper()
	rc, err := l.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustJSON marshals v or fails the test.
func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
