package layers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/strata-engine/strata/layers/index"
	"github.com/strata-engine/strata/layers/tarball"
)

// These tests hold the store and its archives against real tools: skopeo
// and umoci (Debian packages; make deps installs them).

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make deps installs it)", tool)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestSkopeoReadsTheStore(t *testing.T) {
	need(t, "skopeo")
	s := newStore(t)
	img := importTar(t, s, mktar(t, baseFiles...), "busybox:latest", "localhost:5000/tools/busybox:1.36")
	for _, ref := range []string{"busybox:latest", "localhost:5000/tools/busybox:1.36"} {
		var got struct {
			Digest string
			Layers []string
		}
		out := run(t, "skopeo", "inspect", "oci:"+s.Root()+":"+ref)
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("skopeo inspect %s: %v\n%s", ref, err, out)
		}
		if got.Digest != img.ManifestDigest.String() || len(got.Layers) != 1 || got.Layers[0] != img.Manifest.Layers[0].Digest.String() {
			t.Errorf("skopeo inspect %s: got %+v, want manifest %s", ref, got, img.ManifestDigest)
		}
	}
	// The config skopeo reads is ours byte for byte.
	if raw := run(t, "skopeo", "inspect", "--config", "--raw", "oci:"+s.Root()+":busybox:latest"); raw != string(img.RawConfig) {
		t.Errorf("skopeo config: got %s, want %s", raw, img.RawConfig)
	}
}

func TestSkopeoCopyRoundTrip(t *testing.T) {
	need(t, "skopeo")
	ctx := context.Background()
	s := newStore(t)
	img := importTar(t, s, mktar(t, baseFiles...), "busybox:latest")
	dir := t.TempDir()
	saved := filepath.Join(dir, "saved.tar")
	f, err := os.Create(saved)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, f, []string{"busybox:latest"}, tarball.DockerArchive); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// docker-archive → oci: → docker-archive (skopeo's legacy writer) → load.
	run(t, "skopeo", "copy", "docker-archive:"+saved, "oci:"+filepath.Join(dir, "layout")+":busybox:latest")
	back := filepath.Join(dir, "back.tar")
	run(t, "skopeo", "copy", "oci:"+filepath.Join(dir, "layout")+":busybox:latest", "docker-archive:"+back+":busybox:latest")
	dst := newStore(t)
	bf, err := os.Open(back)
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	loaded, err := dst.Load(ctx, bf)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 1 || !equal(loaded[0].RepoTags, []string{"busybox:latest"}) {
		t.Fatalf("loaded %d images, tags %v", len(loaded), loaded[0].RepoTags)
	}
	// skopeo rewrites the config, so the id may change; the layer may not.
	if loaded[0].Config.RootFS.DiffIDs[0] != img.Config.RootFS.DiffIDs[0] {
		t.Errorf("diffID: got %s, want %s", loaded[0].Config.RootFS.DiffIDs[0], img.Config.RootFS.DiffIDs[0])
	}
	if _, err := dst.ResolveImage(ctx, "busybox"); err != nil {
		t.Error(err)
	}
}

func TestUmociUnpacksAnExportedImage(t *testing.T) {
	need(t, "umoci")
	if os.Geteuid() != 0 {
		t.Skip("umoci unpack without --rootless needs root")
	}
	ctx := context.Background()
	s := newStore(t)
	img := importTar(t, s, mktar(t, baseFiles...), "busybox:latest")
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := s.Save(ctx, &buf, []string{"busybox:latest"}, tarball.OCIArchive); err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(dir, "layout")
	os.Mkdir(layout, 0o755)
	cmd := exec.Command("tar", "-xf", "-", "-C", layout)
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	bundle := filepath.Join(dir, "bundle")
	run(t, "umoci", "unpack", "--image", layout+":busybox:latest", bundle)
	flat, err := s.ImageIndex(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := treeOf(t, filepath.Join(bundle, "rootfs")), indexTree(flat, s); got != want {
		t.Errorf("umoci's tree differs from the index:\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// treeOf lists a directory as "path mode size sha256/target" lines.
func treeOf(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		info, _ := os.Lstat(p)
		extra := ""
		switch {
		case info.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			extra = fmt.Sprintf("%d %x", len(data), sha256.Sum256(data))
		case info.Mode()&fs.ModeSymlink != 0:
			extra, _ = os.Readlink(p)
		}
		lines = append(lines, fmt.Sprintf("%s %o %s", rel, uint32(info.Mode().Perm()), extra))
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// indexTree lists a flattened index the way treeOf lists a directory.
func indexTree(x *index.Index, s *Store) string {
	var lines []string
	x.Walk(func(i uint32, p string) error {
		if i == 0 {
			return nil
		}
		extra := ""
		switch x.Mode(i) & index.TypeMask {
		case index.TypeReg:
			d, ok := x.Digest(i)
			sum := sha256.Sum256(nil)
			if ok {
				sum = d
			}
			extra = fmt.Sprintf("%d %x", x.Size(i), sum)
		case index.TypeLink:
			extra = x.Linkname(i)
		}
		lines = append(lines, fmt.Sprintf("%s %o %s", p, x.Mode(i)&0o777, extra))
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
