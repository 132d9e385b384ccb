package tarball

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// These tests check our archives against other implementations: skopeo
// (containers/image) and umoci. They skip when the tool is not installed;
// CI installs both.

// tool returns the path of an interop tool or skips the test.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed, so interop with it is not tested: %v", name, err)
	}
	return p
}

// run runs a tool with a private TMPDIR and returns its standard output.
func run(t *testing.T, prog string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(prog), strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// skopeo runs skopeo with a policy that accepts any image: the tests copy
// between local files, where signatures mean nothing.
func skopeo(t *testing.T, args ...string) []byte {
	t.Helper()
	return run(t, tool(t, "skopeo"), append([]string{"--insecure-policy"}, args...)...)
}

// writeFile writes an archive of busybox in format f to a temporary file.
func writeFile(t *testing.T, f Format, img WriteImage) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "busybox-"+f.String()+".tar")
	fh, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(fh, []WriteImage{img}, f); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// readFile reads an archive file with Read.
func readFile(t *testing.T, p string) *Archive {
	t.Helper()
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fh.Close() })
	fi, err := fh.Stat()
	if err != nil {
		t.Fatal(err)
	}
	ar, err := Read(fh, fi.Size())
	if err != nil {
		t.Fatalf("Read(%s): %v", p, err)
	}
	return ar
}

func diffIDs(t *testing.T, config []byte) []digest.Digest {
	t.Helper()
	var cfg imageConfig
	if err := json.Unmarshal(config, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.RootFS.DiffIDs
}

// checkDiffIDs checks what a caller of this package must: every layer,
// decompressed, hashes to its diff_id.
func checkDiffIDs(t *testing.T, img Image) {
	t.Helper()
	want := diffIDs(t, img.Config)
	if len(want) != len(img.Layers) {
		t.Fatalf("got %d layers, want %d", len(img.Layers), len(want))
	}
	for i, l := range img.Layers {
		rc, err := l.Open()
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(rc)
		var r io.Reader = br
		if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
			zr, err := gzip.NewReader(br)
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		}
		d, err := digest.FromReader(r)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if d != want[i] {
			t.Errorf("layer %d: got diff_id %s, want %s", i, d, want[i])
		}
	}
}

func TestSkopeoInspect(t *testing.T) {
	img := busybox(t)
	tests := []struct {
		format Format
		ref    func(p string) string
	}{
		{DockerArchive, func(p string) string { return "docker-archive:" + p }},
		{DockerArchive, func(p string) string { return "docker-archive:" + p + ":busybox:latest" }},
		{OCIArchive, func(p string) string { return "oci-archive:" + p + ":busybox:latest" }},
	}
	for _, tt := range tests {
		p := writeFile(t, tt.format, img)
		ref := tt.ref(p)
		t.Run(strings.ReplaceAll(ref, p, "FILE"), func(t *testing.T) {
			var info struct {
				Architecture, Os string
				Layers           []string
			}
			if err := json.Unmarshal(skopeo(t, "inspect", ref), &info); err != nil {
				t.Fatal(err)
			}
			if info.Architecture != "amd64" || info.Os != "linux" || len(info.Layers) != 2 {
				t.Errorf("got %s/%s with %d layers, want linux/amd64 with 2", info.Os, info.Architecture, len(info.Layers))
			}
			if got := skopeo(t, "inspect", "--raw", "--config", ref); !bytes.Equal(got, img.Config) {
				t.Errorf("config:\ngot  %s\nwant %s", got, img.Config)
			}
			if tt.format == OCIArchive {
				if got := skopeo(t, "inspect", "--raw", ref); !bytes.Equal(got, img.Manifest) {
					t.Errorf("manifest:\ngot  %s\nwant %s", got, img.Manifest)
				}
			}
		})
	}
}

// TestSkopeoCopyToOCIDir: skopeo copies our docker-archive into an OCI
// layout directory, which ReadDir reads.
func TestSkopeoCopyToOCIDir(t *testing.T) {
	img := busybox(t)
	src := writeFile(t, DockerArchive, img)
	dir := filepath.Join(t.TempDir(), "layout")
	skopeo(t, "copy", "--quiet", "docker-archive:"+src, "oci:"+dir+":busybox:latest")
	ar, err := ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir: %v", err)
	}
	if len(ar.Images) != 1 {
		t.Fatalf("got %d images, want 1", len(ar.Images))
	}
	got := ar.Images[0]
	if !slices.Equal(got.Tags, []string{"busybox:latest"}) {
		t.Errorf("tags: got %q, want [busybox:latest]", got.Tags)
	}
	// skopeo rewrites the config when it turns the docker-archive's schema 2
	// image into an OCI one, so only its layers can be compared.
	if g, w := diffIDs(t, got.Config), diffIDs(t, img.Config); !slices.Equal(g, w) {
		t.Errorf("diff_ids: got %v, want %v", g, w)
	}
	if got.Manifest == nil || got.ManifestDigest != digest.FromBytes(got.Manifest) {
		t.Errorf("manifest: got %s, want one matching its digest", got.ManifestDigest)
	}
	for i, l := range got.Layers {
		if l.Digest == "" || l.MediaType == "" {
			t.Errorf("layer %d: got digest %q media type %q, want both", i, l.Digest, l.MediaType)
		}
		if d := digest.FromBytes(readLayer(t, l)); d != l.Digest {
			t.Errorf("layer %d: content hashes to %s, want %s", i, d, l.Digest)
		}
	}
	checkDiffIDs(t, got)
}

// TestSkopeoCopyToDockerArchive: skopeo copies our oci-archive into a
// docker-archive of its own making (the legacy form), which Read reads.
func TestSkopeoCopyToDockerArchive(t *testing.T) {
	img := busybox(t)
	src := writeFile(t, OCIArchive, img)
	dst := filepath.Join(t.TempDir(), "skopeo-docker.tar")
	skopeo(t, "copy", "--quiet", "oci-archive:"+src+":busybox:latest", "docker-archive:"+dst+":busybox:latest")
	ar := readFile(t, dst)
	if len(ar.Images) != 1 {
		t.Fatalf("got %d images, want 1", len(ar.Images))
	}
	got := ar.Images[0]
	if !slices.Contains(got.Tags, "busybox:latest") && !slices.Contains(got.Tags, "docker.io/library/busybox:latest") {
		t.Errorf("tags: got %q, want busybox:latest", got.Tags)
	}
	if got.ConfigDigest != img.ConfigDigest || !bytes.Equal(got.Config, img.Config) {
		t.Errorf("config: got %s, want %s", got.ConfigDigest, img.ConfigDigest)
	}
	checkDiffIDs(t, got)
}

// TestSkopeoReadsRewrittenLayout: an OCI layout written by skopeo, read
// with ReadDir and written again by us, is still readable by skopeo.
func TestSkopeoReadsRewrittenLayout(t *testing.T) {
	img := busybox(t)
	src := writeFile(t, OCIArchive, img)
	dir := filepath.Join(t.TempDir(), "layout")
	skopeo(t, "copy", "--quiet", "oci-archive:"+src+":busybox:latest", "oci:"+dir+":busybox:latest")
	ar, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	in := ar.Images[0]
	w := WriteImage{Manifest: in.Manifest, ManifestDigest: in.ManifestDigest, Config: in.Config, ConfigDigest: in.ConfigDigest, Tags: in.Tags}
	for _, l := range in.Layers {
		w.Layers = append(w.Layers, WriteLayer{Digest: l.Digest, MediaType: l.MediaType, Size: l.Size, Open: l.Open})
	}
	out := writeFile(t, DockerArchive, w)
	if got := skopeo(t, "inspect", "--raw", "--config", "docker-archive:"+out); !bytes.Equal(got, img.Config) {
		t.Errorf("config:\ngot  %s\nwant %s", got, img.Config)
	}
}

// TestUmoci: umoci lists and unpacks the OCI layout of our archives, which
// checks every blob's digest on the way.
func TestUmoci(t *testing.T) {
	umoci := tool(t, "umoci")
	for _, f := range []Format{OCIArchive, DockerArchive} {
		t.Run(f.String(), func(t *testing.T) {
			img := busybox(t)
			out := writeArchive(t, []WriteImage{img}, f)
			dir := extract(t, out)
			tag := "busybox:latest"
			if f == DockerArchive {
				tag = "latest" // Docker's ref.name is the tag alone
			}
			if got := strings.Fields(string(run(t, umoci, "ls", "--layout", dir))); !slices.Equal(got, []string{tag}) {
				t.Errorf("umoci ls: got %q, want [%s]", got, tag)
			}
			bundle := filepath.Join(t.TempDir(), "bundle")
			run(t, umoci, "unpack", "--rootless", "--image", dir+":"+tag, bundle)
			b, err := os.ReadFile(filepath.Join(bundle, "rootfs", "etc", "top"))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(b), "hello from top\n"; got != want {
				t.Errorf("rootfs/etc/top: got %q, want %q", got, want)
			}
		})
	}
}
