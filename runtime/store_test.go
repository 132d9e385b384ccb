package runtime

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/strata-engine/strata/layers"
)

func TestNamesAndResolve(t *testing.T) {
	r := New(t.TempDir(), nil)
	ctx := context.Background()
	dir := t.TempDir()
	mk := func(name string) *Container {
		c, err := r.Create(ctx, CreateOptions{RootfsDir: dir, Name: name, Cmd: []string{"true"}})
		if err != nil {
			t.Fatalf("create %q: %v", name, err)
		}
		return c
	}
	a := mk("alpha")
	if _, err := r.Create(ctx, CreateOptions{RootfsDir: dir, Name: "alpha", Cmd: []string{"true"}}); !errors.Is(err, ErrNameInUse) {
		t.Errorf("duplicate name: got %v, want ErrNameInUse", err)
	}
	// 17 containers: two share a first hex digit.
	byDigit := map[byte]int{}
	for range 16 {
		c := mk("")
		if !validName.MatchString(c.Config.Name) || !bytes.Contains([]byte(c.Config.Name), []byte("_")) {
			t.Errorf("generated name %q is not adjective_surname", c.Config.Name)
		}
		byDigit[c.Config.ID[0]]++
	}
	byDigit[a.Config.ID[0]]++
	for _, ref := range []string{a.Config.ID, "alpha", "/alpha", a.Config.ID[:12]} {
		c, err := r.Inspect(ctx, ref)
		if err != nil || c.Config.ID != a.Config.ID {
			t.Errorf("resolve %q: got %v %v, want %s", ref, c, err, a.Config.ID)
		}
	}
	for d, n := range byDigit {
		if n > 1 {
			if _, err := r.Inspect(ctx, string(d)); !errors.Is(err, ErrAmbiguous) {
				t.Errorf("prefix %q of %d containers: got %v, want ErrAmbiguous", d, n, err)
			}
			break
		}
	}
	if _, err := r.Inspect(ctx, "nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown: got %v, want ErrNotFound", err)
	}
	if err := r.Rename(ctx, "alpha", "beta"); err != nil {
		t.Fatal(err)
	}
	if c, err := r.Inspect(ctx, "beta"); err != nil || c.Config.ID != a.Config.ID {
		t.Errorf("after rename: got %v %v", c, err)
	}
	if err := r.Remove(ctx, "beta", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r.root, "containers", a.Config.ID)); !os.IsNotExist(err) {
		t.Errorf("container directory after remove: %v", err)
	}
}

// TestImageRootfs runs a container on the FUSE union of an imported
// image: writes land in the container's upper directory, not the image.
func TestImageRootfs(t *testing.T) {
	needRoot(t)
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("needs /dev/fuse")
	}
	root := t.TempDir()
	st, err := layers.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	img, err := st.Import(ctx, bytes.NewReader(busyboxTar), layers.ImportOptions{Refs: []string{"busybox:test"},
		Config: ocispec.ImageConfig{Cmd: []string{"/bin/sh", "-c", "echo from image cmd"}, Env: []string{"IMG=1"}}})
	if err != nil {
		t.Fatal(err)
	}
	r := New(root, st)
	t.Cleanup(func() {
		cs, _ := r.List(ctx, true)
		for _, c := range cs {
			r.Remove(ctx, c.Config.ID, true)
		}
	})
	c, err := r.Create(ctx, CreateOptions{Image: "busybox:test"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	code, _, err := r.Run(ctx, c.Config.ID, AttachOptions{Stdout: &out, Stderr: &out})
	if err != nil || code != 0 || out.String() != "from image cmd\n" {
		t.Fatalf("image cmd: got %d %q %v", code, out.String(), err)
	}

	c, err = r.Create(ctx, CreateOptions{Image: "busybox:test", Cmd: []string{"/bin/sh", "-c", "echo $IMG; echo new > /etc/created; cat /etc/created; ls /bin/busybox"}})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	code, _, err = r.Run(ctx, c.Config.ID, AttachOptions{Stdout: &out, Stderr: &out})
	if err != nil || code != 0 || out.String() != "1\nnew\n/bin/busybox\n" {
		t.Fatalf("union: got %d %q %v (monitor: %s)", code, out.String(), err, lastLine(filepath.Join(r.dir(c.Config.ID), "monitor.log")))
	}
	if b, err := os.ReadFile(filepath.Join(r.dir(c.Config.ID), "upper", "etc", "created")); err != nil || string(b) != "new\n" {
		t.Errorf("upper/etc/created: got %q %v", b, err)
	}
	holds, _ := st.Holds()
	if holds[c.Config.ID] != img.ID {
		t.Errorf("hold: got %v, want %s held by %s", holds, img.ID, c.Config.ID)
	}
	if err := r.Remove(ctx, c.Config.ID, false); err != nil {
		t.Fatal(err)
	}
	holds, _ = st.Holds()
	if _, ok := holds[c.Config.ID]; ok {
		t.Errorf("hold left after remove: %v", holds)
	}
}
