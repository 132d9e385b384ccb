package fs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/strata-engine/strata/layers/index"
)

// inoMask keeps the part of an inode number below the layer prefix.
const inoMask = 1<<48 - 1

func statxAt(dirfd int, rel string, st *unix.Statx_t) error {
	for {
		err := unix.Statx(dirfd, rel, unix.AT_SYMLINK_NOFOLLOW|unix.AT_STATX_SYNC_AS_STAT,
			unix.STATX_BASIC_STATS|unix.STATX_BTIME, st)
		if err != unix.EINTR {
			return err
		}
	}
}

func fstatx(fd int, st *unix.Statx_t) error {
	return unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BASIC_STATS|unix.STATX_BTIME, st)
}

func attrFromStatx(st *unix.Statx_t) attr {
	a := attr{
		ino: st.Ino, mode: uint32(st.Mode), nlink: st.Nlink, uid: st.Uid, gid: st.Gid,
		rdev: unix.Mkdev(st.Rdev_major, st.Rdev_minor), size: int64(st.Size), blocks: int64(st.Blocks),
		atime: timespec{st.Atime.Sec, st.Atime.Nsec},
		mtime: timespec{st.Mtime.Sec, st.Mtime.Nsec},
		ctime: timespec{st.Ctime.Sec, st.Ctime.Nsec},
	}
	if st.Mask&unix.STATX_BTIME != 0 {
		a.btime = timespec{st.Btime.Sec, st.Btime.Nsec}
	}
	return a
}

// readDirNames lists the directory rel below dirfd, "." and ".." left out.
func readDirNames(dirfd int, rel string) ([]string, error) {
	fd, err := unix.Openat(dirfd, rel, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, errnoOf(err)
	}
	return names, nil
}

// direntBufs holds getdents buffers: big enough that a directory of a few
// thousand entries takes a few calls, and reused because listing is what a
// cold walk of the union does most.
var direntBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// readDirents calls fn with the name and type (DT_*) of every entry of
// the open directory fd, "." and ".." left out, stopping at fn's first
// error.
func readDirents(fd int, fn func(name string, typ uint8) error) error {
	bp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bp)
	buf := *bp
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		for b := buf[:n]; len(b) > 0; {
			// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name.
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen == 0 || reclen > len(b) {
				return unix.EIO
			}
			typ, name := b[18], b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			b = b[reclen:]
			if len(name) == 0 || name[0] == '.' && (len(name) == 1 || len(name) == 2 && name[1] == '.') {
				continue
			}
			if err := fn(string(name), typ); err != nil {
				return err
			}
		}
	}
}

// openBeneath opens rel below dirfd without leaving it: a symlink or ".."
// cannot lead the open outside the layer.
func openBeneath(dirfd int, rel string, flags int) (int, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(dirfd, rel, &how)
		switch err {
		case unix.EINTR, unix.EAGAIN:
			continue
		case unix.ENOSYS:
			return unix.Openat(dirfd, rel, flags|unix.O_CLOEXEC, 0)
		}
		return fd, err
	}
}

func readlinkAt(dirfd int, rel string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, rel, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// listXattrs reads the extended attributes of path (not following a
// final symlink) that keep accepts.
func listXattrs(path string, keep func(string) bool) ([]index.Xattr, error) {
	names, err := xattrNames(func(b []byte) (int, error) { return unix.Llistxattr(path, b) })
	if err != nil {
		return nil, err
	}
	var out []index.Xattr
	for _, name := range names {
		if !keep(name) {
			continue
		}
		v, err := xattrValue(func(b []byte) (int, error) { return unix.Lgetxattr(path, name, b) })
		if err == unix.ENODATA {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, index.Xattr{Name: name, Value: string(v)})
	}
	return out, nil
}

// xattrNames calls a listxattr and splits its answer, growing the buffer
// while the answer does not fit.
func xattrNames(list func([]byte) (int, error)) ([]string, error) {
	buf := make([]byte, 1024)
	for {
		n, err := list(buf)
		if err == unix.ERANGE {
			buf = make([]byte, len(buf)*4)
			continue
		}
		if err == unix.ENOTSUP || err == unix.EPERM {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		var names []string
		for _, s := range strings.Split(string(buf[:n]), "\x00") {
			if s != "" {
				names = append(names, s)
			}
		}
		return names, nil
	}
}

func xattrValue(get func([]byte) (int, error)) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := get(buf)
		if err == unix.ERANGE {
			if len(buf) >= 1<<20 {
				return nil, err
			}
			buf = make([]byte, len(buf)*4)
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}

// Private extended attributes: ours, and the overlayfs ones that mean
// whiteouts and opaque directories in plain directory layers. They are
// never shown through the mount nor settable through it.
const (
	xattrPrefix   = "user.strata."
	xattrOrigin   = xattrPrefix + "origin"
	xattrMetacopy = xattrPrefix + "metacopy"
	xattrStat     = xattrPrefix + "stat"
)

func isPrivateXattr(name string) bool {
	return strings.HasPrefix(name, xattrPrefix) || strings.HasPrefix(name, "trusted.overlay.") ||
		strings.HasPrefix(name, "user.overlay.") || strings.HasPrefix(name, "trusted.strata.")
}

// openObject opens a content object for reading. O_NOATIME keeps reads
// from dirtying the store's inodes; only the owner may ask for it.
func openObject(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOATIME, 0)
	if err == unix.EPERM {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open object", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// errnoOf finds the errno in err, EIO when there is none.
func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, os.ErrNotExist) {
		return syscall.ENOENT
	}
	return syscall.EIO
}
