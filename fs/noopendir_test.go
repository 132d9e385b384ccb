package fs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestListingBuiltOnce checks that reading a directory too large for one
// READDIR request builds its merged listing once per listing, not once per
// request: the kernel opens no directory (noOpendir), and each listing is
// read through one kept stream.
func TestListingBuiltOnce(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("needs /dev/fuse: %v", err)
	}
	dir := t.TempDir()
	lower := filepath.Join(dir, "lower", "big")
	if err := os.MkdirAll(lower, 0o755); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(lower, fmt.Sprintf("file-with-a-long-name-%05d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mnt := filepath.Join(dir, "mnt")
	for _, d := range []string{mnt, filepath.Join(dir, "upper"), filepath.Join(dir, "work")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := Mount(context.Background(), mnt, Options{
		Lowers:   []Lower{NewDirLower(filepath.Join(dir, "lower"))},
		UpperDir: filepath.Join(dir, "upper"), WorkDir: filepath.Join(dir, "work"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Unmount() })

	list := func() int {
		f, err := os.Open(filepath.Join(mnt, "big"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		names, err := f.Readdirnames(-1)
		if err != nil {
			t.Fatal(err)
		}
		return len(names)
	}
	before := srv.u.listings.Load()
	if got := list(); got != n {
		t.Fatalf("got %d names, want %d", got, n)
	}
	if built := srv.u.listings.Load() - before; built != 1 {
		t.Errorf("first listing of %d names: built %d times, want once", n, built)
	}
	// A change through the mount: the next listing is built anew, once.
	if err := os.WriteFile(filepath.Join(mnt, "big", "new"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	before = srv.u.listings.Load()
	if got := list(); got != n+1 {
		t.Fatalf("after a create: got %d names, want %d", got, n+1)
	}
	if built := srv.u.listings.Load() - before; built != 1 {
		t.Errorf("listing after a change: built %d times, want once", built)
	}
	// Unchanged: the kernel's cached listing serves it.
	before = srv.u.listings.Load()
	if got := list(); got != n+1 {
		t.Fatalf("again: got %d names, want %d", got, n+1)
	}
	if built := srv.u.listings.Load() - before; built != 0 {
		t.Errorf("unchanged listing: built %d times, want none (cached by the kernel)", built)
	}
}
