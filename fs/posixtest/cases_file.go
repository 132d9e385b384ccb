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

func init() {
	helpers["mmap-read"] = func(arg string) error {
		path, want, _ := strings.Cut(arg, "=")
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := unix.Mmap(int(f.Fd()), 0, len(want), unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			return err
		}
		defer unix.Munmap(b)
		if string(b) != want {
			return fmt.Errorf("mapped %q, want %q", b, want)
		}
		return nil
	}
	helpers["mmap-write"] = func(path string) error {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := unix.Mmap(int(f.Fd()), 0, 4, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return err
		}
		copy(b, "MMAP")
		if err := unix.Msync(b, unix.MS_SYNC); err != nil {
			return err
		}
		return unix.Munmap(b)
	}
}

func fileCases(img []Layer) []Case {
	return []Case{
		{Name: "mmap", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := m.Dir()
			runHelper(t, "mmap-read", filepath.Join(d, "usr/lib/libx.so")+"=libx")
			runHelper(t, "mmap-write", filepath.Join(d, "etc/passwd"))
			wantRead(t, filepath.Join(d, "etc/passwd"), "MMAP:x:0:0\n")
			runHelper(t, "mmap-read", filepath.Join(d, "etc/passwd")+"=MMAP:x")
		}},
		{Name: "unlinked_open", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := m.Dir()
			f, err := os.Open(filepath.Join(d, "etc/passwd"))
			must(t, err)
			defer f.Close()
			must(t, unix.Unlink(filepath.Join(d, "etc/passwd")))
			buf := make([]byte, 64)
			n, err := f.ReadAt(buf, 0)
			if string(buf[:n]) != "root:x:0:0\n" {
				t.Errorf("read unlinked lower file: got %q, %v", buf[:n], err)
			}
			p := filepath.Join(d, "etc/scratch")
			g, err := os.Create(p)
			must(t, err)
			defer g.Close()
			_, err = g.WriteString("before ")
			must(t, err)
			must(t, unix.Unlink(p))
			_, err = g.WriteString("after")
			must(t, err)
			var st unix.Stat_t
			must(t, unix.Fstat(int(g.Fd()), &st))
			if st.Nlink != 0 || st.Size != 12 {
				t.Errorf("fstat unlinked file: got %d links, size %d; want 0, 12", st.Nlink, st.Size)
			}
			n, _ = g.ReadAt(buf, 0)
			if string(buf[:n]) != "before after" {
				t.Errorf("read unlinked upper file: got %q", buf[:n])
			}
			must(t, g.Chmod(0o600))
			must(t, g.Truncate(6))
			wantGone(t, p)
			wantList(t, s, filepath.Join(d, "etc"), "hosts", "shadow", "extra")
		}},
		{Name: "read_after_copy_up", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			// A descriptor opened for reading before another one writes
			// (and so copies the file up) sees the write.
			p := filepath.Join(m.Dir(), "etc/passwd")
			r, err := os.Open(p)
			must(t, err)
			defer r.Close()
			w, err := os.OpenFile(p, os.O_WRONLY, 0)
			must(t, err)
			_, err = w.WriteAt([]byte("ROOT"), 0)
			must(t, err)
			must(t, w.Close())
			buf := make([]byte, 4)
			_, err = r.ReadAt(buf, 0)
			must(t, err)
			if string(buf) != "ROOT" {
				t.Errorf("read through the old descriptor: got %q, want ROOT", buf)
			}
		}},
	}
}
