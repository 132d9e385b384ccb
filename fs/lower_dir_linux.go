package fs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/strata-engine/strata/layers/index"
)

// dirLower serves a layer from a plain directory, as fuse-overlayfs and
// kernel overlayfs lowers are: whiteouts are character devices 0:0 or OCI
// ".wh.NAME" files, opaque directories carry trusted.overlay.opaque or
// user.overlay.opaque = "y" or hold a ".wh..wh..opq" file. It keeps one
// O_PATH descriptor, on the root; everything below is reached relative to
// it, so open descriptors do not grow with the tree.
type dirLower struct {
	path string
	fd   int
	dev  uint64

	groupsOnce sync.Once
	groups     map[uint64][]string // inode number to the paths of a file with several links
}

var (
	_ layer         = (*dirLower)(nil)
	_ opaqueChecker = (*dirLower)(nil)
	_ nameLister    = (*dirLower)(nil)
)

// dirSource is the description of a directory lower; mounting binds it.
type dirSource struct{ path string }

// NewDirLower returns a lower layer read from the directory at path, which
// Mount opens (and fails on when it is not a directory).
func NewDirLower(path string) Lower { return dirSource{path} }

func (s dirSource) bind() (layer, error) {
	abs, err := filepath.Abs(s.path)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open(abs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open lower", Path: abs, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "stat lower", Path: abs, Err: err}
	}
	return &dirLower{path: abs, fd: fd, dev: st.Dev}, nil
}

const (
	whPrefix = ".wh."
	whOpaque = ".wh..wh..opq"
)

func relPath(p string) string {
	if p == "" {
		return "."
	}
	return p
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func (l *dirLower) root() (lentry, error) { return l.entryAt("", true) }

// entryAt stats p and classifies it. checkOpaque asks for the opaque test
// on directories, which costs up to three more system calls.
func (l *dirLower) entryAt(p string, checkOpaque bool) (lentry, error) {
	var st unix.Statx_t
	if err := statxAt(l.fd, relPath(p), &st); err != nil {
		return lentry{}, err
	}
	e := lentry{ref: lref{path: p}, attr: attrFromStatx(&st)}
	e.attr.ino = l.localIno(&st)
	if isOverlayWhiteout(&e.attr) {
		e.whiteout = true
		return e, nil
	}
	if checkOpaque && e.attr.isDir() {
		e.opaque = dirIsOpaque(l.fd, relPath(p), filepath.Join(l.path, p))
	}
	return e, nil
}

// localIno folds the device into the inode number so that a lower spanning
// mounts keeps its numbers apart (48 bits; see the package doc).
func (l *dirLower) localIno(st *unix.Statx_t) uint64 {
	dev := unix.Mkdev(st.Dev_major, st.Dev_minor)
	ino := st.Ino
	if dev != l.dev {
		ino ^= (dev ^ l.dev) << 32
	}
	return ino & inoMask
}

func isOverlayWhiteout(a *attr) bool {
	return a.mode&syscall.S_IFMT == syscall.S_IFCHR && a.rdev == 0
}

// dirIsOpaque reports whether the directory rel (below dirfd; abs is the
// same directory by absolute path, for the xattr calls) is marked opaque
// in any of the ways overlayfs and OCI layers do.
func dirIsOpaque(dirfd int, rel, abs string) bool {
	var buf [8]byte
	for _, name := range []string{"trusted.overlay.opaque", "user.overlay.opaque"} {
		if n, err := unix.Lgetxattr(abs, name, buf[:]); err == nil && bytes.Equal(buf[:n], []byte("y")) {
			return true
		}
	}
	var st unix.Stat_t
	return unix.Fstatat(dirfd, rel+"/"+whOpaque, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

func (l *dirLower) lookup(dir lref, name string) (lentry, error) {
	p := joinPath(dir.path, name)
	e, err := l.entryAt(p, true)
	if err == syscall.ENOENT {
		var st unix.Stat_t
		if unix.Fstatat(l.fd, joinPath(dir.path, whPrefix+name), &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			return lentry{ref: lref{path: p}, whiteout: true}, nil
		}
	}
	return e, err
}

// list reads dir with getdents and stats each entry relative to the open
// directory, so that the kernel walks one component per entry rather than
// the whole path from the layer's root. Directories are left for
// isOpaque.
func (l *dirLower) list(dir lref, fn func(string, lentry)) error {
	fd, err := unix.Openat(l.fd, relPath(dir.path), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return readDirents(fd, func(name string, _ uint8) error {
		switch {
		case name == whOpaque:
			return nil
		case strings.HasPrefix(name, whPrefix):
			hidden := name[len(whPrefix):]
			fn(hidden, lentry{ref: lref{path: joinPath(dir.path, hidden)}, whiteout: true})
			return nil
		}
		var st unix.Statx_t
		if err := statxAt(fd, name, &st); err != nil {
			if err == unix.ENOENT {
				return nil
			}
			return err
		}
		e := lentry{ref: lref{path: joinPath(dir.path, name)}, attr: attrFromStatx(&st)}
		e.attr.ino = l.localIno(&st)
		switch {
		case isOverlayWhiteout(&e.attr):
			e.whiteout = true
		case e.attr.isDir():
			e.lazyOpaque = true
		}
		fn(name, e)
		return nil
	})
}

// listNames is list without attributes: only a character device can be a
// whiteout, so only those are stat'ed.
func (l *dirLower) listNames(dir lref, fn func(name string, whiteout bool) error) error {
	fd, err := unix.Openat(l.fd, relPath(dir.path), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return readDirents(fd, func(name string, typ uint8) error {
		return classifyName(fd, name, typ, fn)
	})
}

// classifyName calls fn for the entry name of type typ in the open
// directory fd, telling whiteouts (OCI or overlay) from the rest.
func classifyName(fd int, name string, typ uint8, fn func(string, bool) error) error {
	switch {
	case name == whOpaque:
		return nil
	case strings.HasPrefix(name, whPrefix):
		return fn(name[len(whPrefix):], true)
	case typ == unix.DT_CHR || typ == unix.DT_UNKNOWN:
		var st unix.Statx_t
		if err := statxAt(fd, name, &st); err != nil {
			if err == unix.ENOENT {
				return nil
			}
			return err
		}
		a := attrFromStatx(&st)
		return fn(name, isOverlayWhiteout(&a))
	}
	return fn(name, false)
}

func (l *dirLower) isOpaque(r lref) bool {
	return dirIsOpaque(l.fd, relPath(r.path), filepath.Join(l.path, r.path))
}

func (l *dirLower) stat(r lref) (attr, error) {
	e, err := l.entryAt(r.path, false)
	return e.attr, err
}

func (l *dirLower) open(r lref) (*os.File, error) {
	fd, err := openBeneath(l.fd, relPath(r.path), unix.O_RDONLY|unix.O_NOFOLLOW)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), filepath.Join(l.path, r.path)), nil
}

func (l *dirLower) readlink(r lref) (string, error) {
	return readlinkAt(l.fd, relPath(r.path))
}

func (l *dirLower) xattrs(r lref) ([]index.Xattr, error) {
	return listXattrs(filepath.Join(l.path, r.path), func(name string) bool { return !isPrivateXattr(name) })
}

func (l *dirLower) digest(lref) (index.Digest, bool) { return index.Digest{}, false }

func (l *dirLower) objects() string { return "" }

func (l *dirLower) close() error { return unix.Close(l.fd) }

func (l *dirLower) String() string { return fmt.Sprintf("dir lower %s", l.path) }

// groupPaths returns every name of r's inode in the layer. The first call
// walks the whole layer once.
func (l *dirLower) groupPaths(r lref) []member {
	l.groupsOnce.Do(func() {
		l.groups = map[uint64][]string{}
		filepath.WalkDir(l.path, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			var st unix.Stat_t
			if unix.Lstat(p, &st) == nil && st.Nlink > 1 {
				rel, _ := filepath.Rel(l.path, p)
				l.groups[st.Ino] = append(l.groups[st.Ino], rel)
			}
			return nil
		})
	})
	var st unix.Stat_t
	if unix.Fstatat(l.fd, relPath(r.path), &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return nil
	}
	var out []member
	for _, p := range l.groups[st.Ino] {
		out = append(out, member{lref{path: p}, p})
	}
	return out
}
