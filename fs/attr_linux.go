package fs

import (
	"context"
	"strconv"
	"strings"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

var _ fusefs.NodeSetattrer = (*node)(nil)

// target names the node's upper object for a change of its attributes: a
// path below the upper, or, for a node that has lost its name, a path
// through /proc/self/fd.
type target struct {
	u   *union
	rel string // "" with fd set
	fd  int
}

func (t target) abs() string {
	if t.rel == "" && t.fd >= 0 {
		return "/proc/self/fd/" + strconv.Itoa(t.fd)
	}
	return t.u.abs(t.rel)
}

// dirfd and name for the *at calls.
func (t target) at() (int, string, int) {
	if t.rel == "" && t.fd >= 0 {
		return t.fd, "", unix.AT_EMPTY_PATH
	}
	return t.u.upperFd, relPath(t.rel), unix.AT_SYMLINK_NOFOLLOW
}

func (n *node) upperTarget(h *handle) (target, syscall.Errno) {
	n.mu.Lock()
	orphan := n.orphan
	n.mu.Unlock()
	if orphan {
		fd := n.anyUpperFd(h)
		if fd < 0 {
			return target{}, syscall.ENOENT
		}
		return target{u: n.u, fd: fd}, 0
	}
	p, errno := n.relPath()
	return target{u: n.u, rel: p, fd: -1}, errno
}

func (n *node) Setattr(ctx context.Context, f fusefs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	u := n.u
	if u.readOnly() {
		return syscall.EROFS
	}
	h := asHandle(f)
	size, hasSize := in.GetSize()
	if hasSize && n.lowerPassthrough() {
		// The kernel reads the object for those opens, and new read
		// opens join them: a truncated copy would go unseen. As for a
		// write open (file_linux.go), and as for a running program.
		return syscall.ETXTBSY
	}
	if errno := n.copyUp(hasSize && size > 0); errno != 0 {
		return errno
	}
	t, errno := n.upperTarget(h)
	if errno != 0 {
		return errno
	}
	cur, errno := n.attr(h)
	if errno != 0 {
		return errno
	}
	symlink := cur.mode&syscall.S_IFMT == syscall.S_IFLNK
	n.mu.Lock()
	errno = n.setattrLocked(t, h, in, &cur, symlink)
	n.mu.Unlock()
	if errno != 0 {
		return errno
	}
	return n.Getattr(ctx, f, out)
}

// setattrLocked applies in to the upper object t of n, whose attributes
// are cur. n.mu is held.
func (n *node) setattrLocked(t target, h *handle, in *fuse.SetAttrIn, cur *attr, symlink bool) syscall.Errno {
	u := n.u
	dirfd, name, atFlags := t.at()
	size, hasSize := in.GetSize()
	override := n.meta.stat
	mode, hasMode := in.GetMode()
	uid, hasUID := in.GetUID()
	gid, hasGID := in.GetGID()
	if !hasUID {
		uid = cur.uid
	}
	if !hasGID {
		gid = cur.gid
	}
	if (hasUID || hasGID) && override == nil {
		err := unix.Fchownat(dirfd, name, int(uid), int(gid), atFlags)
		if (err == unix.EPERM || err == unix.EINVAL) && u.xattrs && !symlink {
			override = &statOverride{uid: cur.uid, gid: cur.gid, mode: cur.mode, rdev: cur.rdev}
		} else if err != nil {
			return errnoOf(err)
		}
	}
	if override != nil {
		o := *override
		if hasUID || hasGID {
			o.uid, o.gid = uid, gid
		}
		if hasMode {
			o.mode = o.mode&syscall.S_IFMT | mode
		}
		if err := unix.Lsetxattr(t.abs(), xattrStat, []byte(o.String()), 0); err != nil {
			return errnoOf(err)
		}
		n.meta.stat = &o
	} else if hasMode && !symlink {
		var err error
		if t.rel == "" {
			err = unix.Fchmod(t.fd, mode)
		} else {
			err = unix.Fchmodat(u.upperFd, relPath(t.rel), mode, 0)
		}
		if err != nil {
			return errnoOf(err)
		}
	}
	if hasSize {
		fd := -1
		if h != nil && h.isUpper() {
			fd = h.fd()
		}
		var err error
		if fd >= 0 {
			err = unix.Ftruncate(fd, int64(size))
		} else if t.rel == "" {
			err = unix.Ftruncate(t.fd, int64(size))
		} else {
			var tfd int
			if tfd, err = openBeneath(u.upperFd, t.rel, unix.O_WRONLY|unix.O_NOFOLLOW); err == nil {
				err = unix.Ftruncate(tfd, int64(size))
				unix.Close(tfd)
			}
		}
		if err != nil {
			return errnoOf(err)
		}
		if n.meta.metacopy != "" { // size 0: nothing of the object is left
			if err := unix.Lremovexattr(t.abs(), xattrMetacopy); err != nil && err != unix.ENODATA {
				return errnoOf(err)
			}
			n.meta.metacopy = ""
		}
	}
	if in.Valid&(fuse.FATTR_ATIME|fuse.FATTR_MTIME) != 0 {
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
		if in.Valid&fuse.FATTR_ATIME != 0 {
			ts[0] = unix.Timespec{Sec: int64(in.Atime), Nsec: int64(in.Atimensec)}
			if in.Valid&fuse.FATTR_ATIME_NOW != 0 {
				ts[0] = unix.Timespec{Nsec: unix.UTIME_NOW}
			}
		}
		if in.Valid&fuse.FATTR_MTIME != 0 {
			ts[1] = unix.Timespec{Sec: int64(in.Mtime), Nsec: int64(in.Mtimensec)}
			if in.Valid&fuse.FATTR_MTIME_NOW != 0 {
				ts[1] = unix.Timespec{Nsec: unix.UTIME_NOW}
			}
		}
		var err error
		if t.rel == "" {
			err = unix.UtimesNanoAt(unix.AT_FDCWD, t.abs(), ts, 0)
		} else {
			err = unix.UtimesNanoAt(u.upperFd, relPath(t.rel), ts, unix.AT_SYMLINK_NOFOLLOW)
		}
		if err != nil {
			return errnoOf(err)
		}
	}
	return 0
}

// Extended attributes. Our private ones never show and cannot be set.

func xattrReply(v []byte, dest []byte) (uint32, syscall.Errno) {
	if len(dest) == 0 {
		return uint32(len(v)), 0
	}
	if len(v) > len(dest) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}

func (n *node) Getxattr(ctx context.Context, name string, dest []byte) (uint32, syscall.Errno) {
	if isPrivateXattr(name) {
		return 0, syscall.ENODATA
	}
	s := n.snapshot()
	if s.upper {
		t, errno := n.upperTarget(nil)
		if errno != 0 {
			return 0, errno
		}
		v, err := xattrValue(func(b []byte) (int, error) { return unix.Lgetxattr(t.abs(), name, b) })
		if err != nil {
			return 0, errnoOf(err)
		}
		return xattrReply(v, dest)
	}
	if len(s.lowers) == 0 {
		return 0, syscall.ENODATA
	}
	lr := s.lowers[0]
	xs, err := n.lowerXattrs(lr)
	if err != nil {
		return 0, errnoOf(err)
	}
	for _, x := range xs {
		if x.Name == name {
			return xattrReply([]byte(x.Value), dest)
		}
	}
	return 0, syscall.ENODATA
}

func (n *node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	s := n.snapshot()
	var names []string
	if s.upper {
		t, errno := n.upperTarget(nil)
		if errno != 0 {
			return 0, errno
		}
		all, err := xattrNames(func(b []byte) (int, error) { return unix.Llistxattr(t.abs(), b) })
		if err != nil {
			return 0, errnoOf(err)
		}
		for _, x := range all {
			if !isPrivateXattr(x) {
				names = append(names, x)
			}
		}
	} else if len(s.lowers) > 0 {
		lr := s.lowers[0]
		xs, err := n.lowerXattrs(lr)
		if err != nil {
			return 0, errnoOf(err)
		}
		for _, x := range xs {
			if !isPrivateXattr(x.Name) {
				names = append(names, x.Name)
			}
		}
	}
	var b strings.Builder
	for _, x := range names {
		b.WriteString(x)
		b.WriteByte(0)
	}
	return xattrReply([]byte(b.String()), dest)
}

func (n *node) Setxattr(ctx context.Context, name string, data []byte, flags uint32) syscall.Errno {
	if isPrivateXattr(name) {
		return syscall.EPERM
	}
	if errno := n.copyUp(false); errno != 0 {
		return errno
	}
	t, errno := n.upperTarget(nil)
	if errno != 0 {
		return errno
	}
	return errnoOf(unix.Lsetxattr(t.abs(), name, data, int(flags)))
}

func (n *node) Removexattr(ctx context.Context, name string) syscall.Errno {
	if isPrivateXattr(name) {
		return syscall.ENODATA
	}
	if errno := n.copyUp(false); errno != 0 {
		return errno
	}
	t, errno := n.upperTarget(nil)
	if errno != 0 {
		return errno
	}
	return errnoOf(unix.Lremovexattr(t.abs(), name))
}
