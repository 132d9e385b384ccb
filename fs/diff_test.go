//go:build linux

package fs_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/strata-engine/strata/fs"
	"github.com/strata-engine/strata/fs/posixtest"
	"github.com/strata-engine/strata/layers/index"
)

// TestWriteDiff changes a mounted image in every way a container can,
// turns the upper into a layer with WriteDiff, and checks the property
// commit relies on: the image's index merged with that layer is exactly
// the tree the mount showed.
func TestWriteDiff(t *testing.T) {
	needFUSE(t)
	ctx := context.Background()
	objects := t.TempDir()
	lower, err := flatIndex(posixtest.Image(), objects)
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	mnt, upper, work := filepath.Join(base, "mnt"), filepath.Join(base, "upper"), filepath.Join(base, "work")
	for _, d := range []string{mnt, upper, work} {
		os.Mkdir(d, 0o755)
	}
	opts := fs.Options{Lowers: []fs.Lower{fs.NewIndexLower(lower, objects)}, UpperDir: upper, WorkDir: work}
	srv, err := fs.Mount(ctx, mnt, opts)
	if err != nil {
		t.Fatal(err)
	}
	p := func(rel string) string { return filepath.Join(mnt, rel) }
	steps := []error{
		os.WriteFile(p("new-file"), []byte("new"), 0o640),
		os.WriteFile(p("etc/passwd"), []byte("root:x:0:0\nuser:x:1:1\n"), 0o644), // copy-up with data
		os.Chmod(p("usr/bin/tool"), 0o700),                                       // metadata-only copy-up
		os.Chown(p("home/notes"), 2000, 2000),
		os.Remove(p("etc/shadow")),   // whiteout
		os.RemoveAll(p("usr/share")), // whiteout of a lower tree
		os.RemoveAll(p("var/cache")), // then made again: opaque
		os.MkdirAll(p("var/cache/fresh"), 0o755),
		os.Mkdir(p("newdir"), 0o750),
		os.Symlink("../etc/passwd", p("newdir/link")),
		os.Link(p("new-file"), p("newdir/hard")),
		os.Rename(p("usr/lib"), p("usr/lib64")), // a lower directory renamed
		unix.Setxattr(p("attrs"), "user.color", []byte("red"), 0),
		unix.Mkfifo(p("fifo"), 0o600),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	want := treeOf(t, mnt)
	if err := srv.Unmount(); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := fs.WriteDiff(ctx, &buf, upper, objects, fs.DiffOptions{}); err != nil {
		t.Fatal(err)
	}
	diff, err := tarIndex(&buf, objects)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := index.Merge(lower, diff)
	if err != nil {
		t.Fatal(err)
	}
	if got := treeOfIndex(merged, objects); got != want {
		t.Errorf("image + diff differs from the mount:\n got:\n%s\nwant:\n%s", got, want)
	}

	changes, err := fs.Changes(ctx, upper, lower)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range changes {
		lines = append(lines, fmt.Sprintf("%c %s", c.Kind, c.Path))
	}
	for _, w := range []string{"A /new-file", "C /etc", "C /etc/passwd", "D /etc/shadow", "D /usr/share", "C /var/cache", "A /var/cache/fresh", "A /newdir/link", "D /usr/lib", "A /usr/lib64", "C /usr/bin/tool"} {
		found := false
		for _, l := range lines {
			found = found || l == w
		}
		if !found {
			t.Errorf("changes: %q missing from %v", w, lines)
		}
	}
}

// tarIndex reads a layer tar into an index, as the store's unpacker does
// (that code lives in layers/archive, which fs may not import).
func tarIndex(r io.Reader, objects string) (*index.Index, error) {
	b := index.NewBuilder()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return b.Build()
		}
		if err != nil {
			return nil, err
		}
		dir, name := filepath.Split(strings.TrimSuffix(hdr.Name, "/"))
		switch {
		case name == ".wh..wh..opq":
			err = b.SetOpaque(dir)
		case strings.HasPrefix(name, ".wh."):
			err = b.Whiteout(dir + name[4:])
		case hdr.Typeflag == tar.TypeLink:
			err = b.Hardlink(hdr.Name, hdr.Linkname)
		default:
			e := index.Entry{Mode: uint32(hdr.Mode) & 0o7777, UID: uint32(hdr.Uid), GID: uint32(hdr.Gid),
				Mtime: hdr.ModTime.Unix(), Linkname: hdr.Linkname, Size: hdr.Size,
				Rdev: unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))}
			for k, v := range hdr.PAXRecords {
				if x, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
					e.Xattrs = append(e.Xattrs, index.Xattr{Name: x, Value: v})
				}
			}
			sort.Slice(e.Xattrs, func(i, j int) bool { return e.Xattrs[i].Name < e.Xattrs[j].Name })
			switch hdr.Typeflag {
			case tar.TypeDir:
				e.Mode |= index.TypeDir
			case tar.TypeSymlink:
				e.Mode |= index.TypeLink
			case tar.TypeFifo:
				e.Mode |= index.TypeFifo
			case tar.TypeChar:
				e.Mode |= index.TypeChar
			default:
				e.Mode |= index.TypeReg
				if hdr.Size > 0 {
					if e.Digest, err = writeObject(objects, tr, hdr.Size); err != nil {
						return nil, err
					}
				}
			}
			err = b.Add(hdr.Name, e)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", hdr.Name, err)
		}
	}
}

// treeOf lists a mounted tree: path, type and mode, owner, size, content
// digest or link target, xattrs.
func treeOf(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.Walk(root, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "." {
			return nil
		}
		st := fi.Sys().(*syscall.Stat_t)
		extra := ""
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFREG:
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			extra = fmt.Sprintf("%d %x", len(data), digestOf(data))
		case syscall.S_IFLNK:
			extra, _ = os.Readlink(path)
		}
		buf := make([]byte, 256)
		if n, err := unix.Lgetxattr(path, "user.color", buf); err == nil {
			extra += " color=" + string(buf[:n])
		}
		lines = append(lines, fmt.Sprintf("%s %o %d:%d %s", rel, st.Mode, st.Uid, st.Gid, extra))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// treeOfIndex lists an index the way treeOf lists a tree.
func treeOfIndex(x *index.Index, objects string) string {
	var lines []string
	x.Walk(func(i uint32, p string) error {
		if i == 0 {
			return nil
		}
		uid, gid := x.Owner(i)
		extra := ""
		switch x.Mode(i) & index.TypeMask {
		case index.TypeReg:
			var data []byte
			if d, ok := x.Digest(i); ok {
				h := fmt.Sprintf("%x", d)
				data, _ = os.ReadFile(filepath.Join(objects, h[:2], h))
			}
			extra = fmt.Sprintf("%d %x", len(data), digestOf(data))
		case index.TypeLink:
			extra = x.Linkname(i)
		}
		for _, xa := range x.Xattrs(i) {
			if xa.Name == "user.color" {
				extra += " color=" + xa.Value
			}
		}
		lines = append(lines, fmt.Sprintf("%s %o %d:%d %s", p, x.Mode(i), uid, gid, extra))
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func digestOf(data []byte) [32]byte { return sha256.Sum256(data) }

// TestWriteDiffOptions maps owners written in a user namespace back to the
// container's ids, and skips what it is told to.
func TestWriteDiffOptions(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files other owners")
	}
	upper := t.TempDir()
	os.MkdirAll(filepath.Join(upper, "etc"), 0o755)
	for _, f := range []string{"etc/motd", "etc/hosts", "other"} {
		os.WriteFile(filepath.Join(upper, f), []byte(f), 0o644)
	}
	os.Chown(filepath.Join(upper, "etc"), 1234, 1234)
	os.Chown(filepath.Join(upper, "etc/motd"), 1234, 1234)
	os.Chown(filepath.Join(upper, "other"), 99, 99)
	var buf bytes.Buffer
	err := fs.WriteDiff(context.Background(), &buf, upper, t.TempDir(), fs.DiffOptions{
		UIDMap: []fs.IDMap{{ContainerID: 0, HostID: 1234, Size: 1}},
		GIDMap: []fs.IDMap{{ContainerID: 0, HostID: 1234, Size: 1}},
		Skip:   func(rel string) bool { return rel == "etc/hosts" },
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %d:%d", h.Name, h.Uid, h.Gid))
	}
	want := []string{"etc/ 0:0", "etc/motd 0:0", "other 65534:65534"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %v, want %v", got, want)
	}
}
