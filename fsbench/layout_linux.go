package fsbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/strata-engine/strata/layers/index"
)

// Objects opens file contents by digest; *layers.Store provides it.
type Objects interface {
	OpenObject(d index.Digest) (io.ReadCloser, error)
}

// LayOut writes one layer, described by its index, as an overlayfs lower
// directory at dir: files with their content, modes, owners, times and
// xattrs; hard links as hard links; whiteouts as 0:0 character devices;
// opaque directories with trusted.overlay.opaque=y. Names come from a
// checked index (no "/", "." or ".."), so joining them under dir stays
// inside it.
func LayOut(ctx context.Context, x *index.Index, objects Objects, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	paths := make([]string, x.Len())
	paths[0] = dir
	var dirs []uint32 // to set their times last, deepest first
	for i := uint32(0); int(i) < x.Len(); i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		e := x.Entry(i)
		p := dir
		if i != 0 {
			p = filepath.Join(paths[e.Parent], e.Name)
		}
		paths[i] = p
		if err := layOutEntry(x, i, e, p, paths, objects); err != nil {
			return fmt.Errorf("lay out /%s: %w", x.Path(i), err)
		}
		if e.IsDir() {
			dirs = append(dirs, i)
		}
	}
	for k := len(dirs) - 1; k >= 0; k-- {
		i := dirs[k]
		sec, nsec := x.Mtime(i)
		ts := []unix.Timespec{{Sec: sec, Nsec: int64(nsec)}, {Sec: sec, Nsec: int64(nsec)}}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, paths[i], ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &os.PathError{Op: "utimensat", Path: paths[i], Err: err}
		}
	}
	return nil
}

func layOutEntry(x *index.Index, i uint32, e index.Entry, p string, paths []string, objects Objects) error {
	if e.Flags&index.Whiteout != 0 {
		return unix.Mknod(p, unix.S_IFCHR, 0)
	}
	if l := x.Link(i); l != index.NoLink && l != i {
		return os.Link(paths[l], p)
	}
	perm := e.Mode & 0o7777
	switch e.Mode & index.TypeMask {
	case unix.S_IFDIR:
		if i != 0 {
			if err := os.Mkdir(p, 0o700); err != nil {
				return err
			}
		}
		if e.Flags&index.Opaque != 0 {
			if err := unix.Setxattr(p, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
				return &os.PathError{Op: "setxattr", Path: p, Err: err}
			}
		}
	case unix.S_IFREG:
		if err := writeContent(p, e, objects); err != nil {
			return err
		}
	case unix.S_IFLNK:
		if err := os.Symlink(e.Linkname, p); err != nil {
			return err
		}
	case unix.S_IFIFO, unix.S_IFCHR, unix.S_IFBLK, unix.S_IFSOCK:
		if err := unix.Mknod(p, e.Mode, int(e.Rdev)); err != nil {
			return &os.PathError{Op: "mknod", Path: p, Err: err}
		}
	default:
		return fmt.Errorf("unknown file type %o", e.Mode&index.TypeMask)
	}
	if err := os.Lchown(p, int(e.UID), int(e.GID)); err != nil {
		return err
	}
	for _, xa := range e.Xattrs {
		if strings.HasPrefix(xa.Name, "trusted.overlay.") {
			continue // ours to set, not the layer's
		}
		if err := unix.Lsetxattr(p, xa.Name, []byte(xa.Value), 0); err != nil {
			return &os.PathError{Op: "setxattr " + xa.Name, Path: p, Err: err}
		}
	}
	if e.Mode&index.TypeMask != unix.S_IFLNK {
		// After chown, which clears set-id bits.
		if err := unix.Chmod(p, perm); err != nil {
			return &os.PathError{Op: "chmod", Path: p, Err: err}
		}
	}
	if e.IsDir() {
		return nil
	}
	ts := []unix.Timespec{{Sec: e.Mtime, Nsec: int64(e.MtimeNs)}, {Sec: e.Mtime, Nsec: int64(e.MtimeNs)}}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimensat", Path: p, Err: err}
	}
	return nil
}

func writeContent(p string, e index.Entry, objects Objects) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if e.Size > 0 {
		r, err := objects.OpenObject(e.Digest)
		if err != nil {
			f.Close()
			return err
		}
		// *os.File to *os.File: copy_file_range, a reflink where the
		// filesystem has them.
		n, err := io.Copy(f, r)
		r.Close()
		if err == nil && n != e.Size {
			err = fmt.Errorf("content is %d bytes, the index says %d", n, e.Size)
		}
		if err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
