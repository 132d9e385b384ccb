//go:build linux

package posixtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Setup makes union mounts for the cases: ours, or a reference.
type Setup struct {
	Name string
	// Layered is false for a reference without layers (a plain
	// directory), which is given the flattened tree instead; cases about
	// layering then check only what the union shows.
	Layered bool
	// Sorted promises that readdir returns names in byte order.
	Sorted bool
	// Mount makes a union of layers (top first) at a new mount point
	// that t.Cleanup unmounts.
	Mount func(t *testing.T, layers []Layer) Mounted
}

// Mounted is a live union.
type Mounted interface {
	// Dir is the mount point.
	Dir() string
	// Remount unmounts and mounts the same layers and upper again.
	Remount(t *testing.T)
}

type plainDir string

func (p plainDir) Dir() string          { return string(p) }
func (p plainDir) Remount(t *testing.T) {}

// PlainDir is the reference without layers: the flattened tree written to
// a directory.
func PlainDir() Setup {
	return Setup{
		Name: "plain",
		Mount: func(t *testing.T, layers []Layer) Mounted {
			dir := t.TempDir()
			if err := WriteDir(dir, Flatten(layers), None); err != nil {
				t.Fatal(err)
			}
			return plainDir(dir)
		},
	}
}

// Unmount unmounts dir, retrying while it is busy; a test's last
// descriptors may be closing.
func Unmount(dir string) error {
	var err error
	for i := 0; i < 50; i++ {
		if err = unix.Unmount(dir, 0); err != unix.EBUSY {
			break
		}
		unix.Nanosleep(&unix.Timespec{Nsec: 20e6}, nil)
	}
	if err == unix.EBUSY {
		err = unix.Unmount(dir, unix.MNT_DETACH)
	}
	if err != nil && err != unix.EINVAL {
		return &os.PathError{Op: "unmount", Path: dir, Err: err}
	}
	return nil
}

type overlayMount struct {
	dir, opts string
}

func (m *overlayMount) Dir() string { return m.dir }

func (m *overlayMount) Remount(t *testing.T) {
	t.Helper()
	if err := Unmount(m.dir); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("overlay", m.dir, "overlay", 0, m.opts); err != nil {
		t.Fatalf("mount overlay: %v", err)
	}
}

// KernelOverlay is the reference union: kernel overlayfs, with lowers
// written as plain directories. It needs root.
func KernelOverlay() Setup {
	return Setup{
		Name:    "overlayfs",
		Layered: true,
		Mount: func(t *testing.T, layers []Layer) Mounted {
			base := t.TempDir()
			var lowers []string
			for i, l := range layers {
				d := filepath.Join(base, fmt.Sprintf("l%d", i))
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := WriteDir(d, l, Overlay); err != nil {
					t.Fatal(err)
				}
				lowers = append(lowers, d)
			}
			if len(lowers) == 0 {
				d := filepath.Join(base, "empty")
				os.Mkdir(d, 0o755)
				lowers = append(lowers, d)
			}
			m := &overlayMount{dir: filepath.Join(base, "mnt")}
			for _, d := range []string{"upper", "work", "mnt"} {
				if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			m.opts = fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s,redirect_dir=on,index=on",
				strings.Join(lowers, ":"), filepath.Join(base, "upper"), filepath.Join(base, "work"))
			if err := unix.Mount("overlay", m.dir, "overlay", 0, m.opts); err != nil {
				t.Skipf("mount overlay: %v", err)
			}
			t.Cleanup(func() {
				if err := Unmount(m.dir); err != nil {
					t.Error(err)
				}
			})
			return m
		},
	}
}
