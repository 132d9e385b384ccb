//go:build linux

package fs_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/strata-engine/strata/fs"
	"github.com/strata-engine/strata/fs/posixtest"
	"github.com/strata-engine/strata/layers/index"
)

func TestMain(m *testing.M) {
	posixtest.RunHelper()
	userNSStage()
	serveStage()
	os.Exit(m.Run())
}

// needFUSE skips tests that mount when this process cannot.
func needFUSE(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("needs /dev/fuse: %v", err)
	}
	f.Close()
	if os.Geteuid() != 0 {
		t.Skip("needs root (of the initial or a user namespace) to mount")
	}
}

// writeObject stores content in the object store and returns its digest.
// Only the first dataLen bytes are written; the zeros after them are a
// hole, as a sparse-aware unpacker leaves them.
func writeObject(objects string, content io.Reader, dataLen int64) (index.Digest, error) {
	tmp, err := os.CreateTemp(objects, "tmp")
	if err != nil {
		return index.Digest{}, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(h, io.TeeReader(io.LimitReader(content, dataLen), tmp))
	if err != nil {
		return index.Digest{}, err
	}
	rest, err := io.Copy(h, content)
	if err != nil {
		return index.Digest{}, err
	}
	if err := tmp.Truncate(n + rest); err != nil {
		return index.Digest{}, err
	}
	if err := tmp.Close(); err != nil {
		return index.Digest{}, err
	}
	var d index.Digest
	copy(d[:], h.Sum(nil))
	hex := fmt.Sprintf("%x", d[:])
	if err := os.MkdirAll(filepath.Join(objects, hex[:2]), 0o755); err != nil {
		return d, err
	}
	return d, os.Rename(tmp.Name(), filepath.Join(objects, hex[:2], hex))
}

// zeros reads as n zero bytes.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), z.n)
	clear(p[:k])
	z.n -= k
	return int(k), nil
}

// layerIndex builds the index of one posixtest layer, storing file
// content in objects.
func layerIndex(l posixtest.Layer, objects string) (*index.Index, error) {
	b := index.NewBuilder()
	for _, e := range l {
		var err error
		switch {
		case e.Whiteout:
			err = b.Whiteout(e.Path)
		case e.Link != "":
			err = b.Hardlink(e.Path, e.Link)
		default:
			ie := index.Entry{
				Mode: e.Type() | e.Perm(), UID: uint32(e.UID), GID: uint32(e.GID),
				Mtime: posixtest.Time.Unix(), Rdev: e.Rdev, Linkname: e.Target,
			}
			for k, v := range e.Xattrs {
				ie.Xattrs = append(ie.Xattrs, index.Xattr{Name: k, Value: v})
			}
			if e.Type() == syscall.S_IFREG {
				ie.Size = max(e.Size, int64(len(e.Data)))
				if ie.Size > 0 {
					r := io.MultiReader(strings.NewReader(e.Data), &zeros{ie.Size - int64(len(e.Data))})
					if ie.Digest, err = writeObject(objects, r, int64(len(e.Data))); err != nil {
						return nil, err
					}
				}
			}
			err = b.Add(e.Path, ie)
			if err == nil && e.Opaque {
				err = b.SetOpaque(e.Path)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Path, err)
		}
	}
	return b.Build()
}

// flatIndex merges layers (top first) into one index.
func flatIndex(layers []posixtest.Layer, objects string) (*index.Index, error) {
	var xs []*index.Index
	for i := len(layers) - 1; i >= 0; i-- {
		x, err := layerIndex(layers[i], objects)
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
	}
	if len(xs) == 0 {
		x, err := index.NewBuilder().Build()
		return x, err
	}
	return index.Merge(xs...)
}

// mounted is one of our mounts, for posixtest.
type mounted struct {
	dir  string
	opts fs.Options
	srv  *fs.Server
}

func (m *mounted) Dir() string { return m.dir }

func (m *mounted) Remount(t *testing.T) {
	t.Helper()
	if err := m.srv.Unmount(); err != nil {
		t.Fatalf("unmount: %v", err)
	}
	srv, err := fs.Mount(context.Background(), m.dir, m.opts)
	if err != nil {
		t.Fatalf("mount again: %v", err)
	}
	m.srv = srv
}

// mountUnion mounts opts at a new directory, unmounted at cleanup.
func mountUnion(t testing.TB, opts fs.Options) *mounted {
	t.Helper()
	base := t.TempDir()
	m := &mounted{dir: filepath.Join(base, "mnt"), opts: opts}
	if m.opts.UpperDir == "" {
		m.opts.UpperDir, m.opts.WorkDir = filepath.Join(base, "upper"), filepath.Join(base, "work")
	}
	for _, d := range []string{m.dir, m.opts.UpperDir, m.opts.WorkDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := fs.Mount(context.Background(), m.dir, m.opts)
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	m.srv = srv
	t.Cleanup(func() {
		if err := m.srv.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	return m
}

// ourSetup mounts our union over lowers made by mkLowers.
func ourSetup(name string, mkLowers func(t *testing.T, layers []posixtest.Layer) []fs.Lower, passthrough bool) posixtest.Setup {
	return posixtest.Setup{
		Name: name, Layered: true, Sorted: true,
		Mount: func(t *testing.T, layers []posixtest.Layer) posixtest.Mounted {
			needFUSE(t)
			return mountUnion(t, fs.Options{Lowers: mkLowers(t, layers), Passthrough: passthrough, Debug: os.Getenv("STRATA_DEBUG") != ""})
		},
	}
}

func indexLowers(t *testing.T, layers []posixtest.Layer) []fs.Lower {
	objects := filepath.Join(t.TempDir(), "objects")
	if err := os.Mkdir(objects, 0o755); err != nil {
		t.Fatal(err)
	}
	x, err := flatIndex(layers, objects)
	if err != nil {
		t.Fatal(err)
	}
	return []fs.Lower{fs.NewIndexLower(x, objects)}
}

func dirLowers(style posixtest.WhiteoutStyle) func(t *testing.T, layers []posixtest.Layer) []fs.Lower {
	return func(t *testing.T, layers []posixtest.Layer) []fs.Lower {
		var out []fs.Lower
		for i, l := range layers {
			d := filepath.Join(t.TempDir(), fmt.Sprintf("l%d", i))
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := posixtest.WriteDir(d, l, style); err != nil {
				t.Fatal(err)
			}
			out = append(out, fs.NewDirLower(d))
		}
		return out
	}
}

// mixedLowers puts the top layer in a directory over the rest, indexed.
func mixedLowers(t *testing.T, layers []posixtest.Layer) []fs.Lower {
	if len(layers) < 2 {
		return indexLowers(t, layers)
	}
	return append(dirLowers(posixtest.OCI)(t, layers[:1]), indexLowers(t, layers[1:])...)
}

func TestConformance(t *testing.T) {
	setups := []posixtest.Setup{
		posixtest.PlainDir(),
		ourSetup("index", indexLowers, false),
		ourSetup("dir-oci", dirLowers(posixtest.OCI), false),
		ourSetup("dir-overlay", dirLowers(overlayStyle()), false),
		ourSetup("mixed", mixedLowers, false),
		ourSetup("index-passthrough", indexLowers, true),
	}
	if posixtest.InitialRoot() {
		setups = append(setups, posixtest.KernelOverlay())
	}
	for _, s := range setups {
		t.Run(s.Name, func(t *testing.T) { posixtest.Run(t, s) })
	}
}

// overlayStyle is how overlayfs marks opaque directories where we are:
// trusted.* xattrs need root in the initial user namespace.
func overlayStyle() posixtest.WhiteoutStyle {
	if posixtest.InitialRoot() {
		return posixtest.Overlay
	}
	return posixtest.UserOverlay
}
