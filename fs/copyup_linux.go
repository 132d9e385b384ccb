package fs

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/strata-engine/strata/layers/index"
)

// Copy-up builds the upper copy of a lower object in the work directory
// and renames it into place, so that the upper never holds half a copy: a
// server killed in the middle leaves a stray file in the work directory,
// which the next mount removes. See the package doc for metadata-only
// copies.

// copyUp gives n an upper object, copying it (and first its parent
// directories) up from the lowers. With data, a metadata-only copy gets
// its content too.
func (n *node) copyUp(data bool) syscall.Errno {
	u := n.u
	if u.readOnly() {
		return syscall.EROFS
	}
	n.mu.Lock()
	done := n.upper && (!data || n.meta.metacopy == "")
	n.mu.Unlock()
	if done {
		return 0
	}
	name, parent := n.parentNode()
	if parent == nil {
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.upper && data && n.meta.metacopy != "" && n.orphan {
			return n.copyUpDataLocked("")
		}
		return syscall.ESTALE
	}
	if errno := parent.copyUp(false); errno != 0 {
		return errno
	}
	dir, errno := parent.relPath()
	if errno != 0 {
		return errno
	}
	rel := joinPath(dir, name)

	n.mu.Lock()
	defer n.mu.Unlock()
	if n.upper {
		if data && n.meta.metacopy != "" {
			return n.copyUpDataLocked(rel)
		}
		return 0
	}
	if len(n.lowers) == 0 {
		return syscall.ESTALE
	}
	lr := n.lowers[0]
	a, err := u.layers[lr.layer].stat(lr.ref)
	if err != nil {
		return errnoOf(err)
	}
	tmp, meta, errno := u.copyToWork(lr, &a, n.StableAttr().Ino, !data, nil)
	if errno != 0 {
		return errno
	}
	if err := unix.Renameat2(u.workFd, tmp, u.upperFd, rel, unix.RENAME_NOREPLACE); err != nil {
		u.removeWork(tmp)
		if err != unix.EEXIST {
			u.logf("copy-up %s: rename: %v", rel, err)
			return errnoOf(err)
		}
		// Copied up already, by path: as another name of a hard-link
		// group, or as the parent of one.
		var f found
		if _, errno := u.statUpper(rel, &f); errno != 0 || !f.upper {
			return syscall.EEXIST
		}
		n.upper, n.meta = true, f.meta
		if data && n.meta.metacopy != "" {
			return n.copyUpDataLocked(rel)
		}
		return 0
	}
	n.upper, n.meta = true, meta
	if lg, ok := u.layers[lr.layer].(linkGrouper); ok && a.nlink > 1 && a.isReg() {
		u.linkGroup(lr, lg, rel)
	}
	return 0
}

// linkGroup links the other names of lr's hard-link group to its copy at
// rel, where the union still shows them as that lower entry.
func (u *union) linkGroup(lr lowerRef, lg linkGrouper, rel string) {
	for _, m := range lg.groupPaths(lr.ref) {
		if m.path == rel {
			continue // the copy itself (a node of the group may come from any name)
		}
		f, errno := u.resolvePath(m.path)
		if errno != 0 || f.upper || len(f.lowers) == 0 || f.lowers[0].layer != lr.layer || f.lowers[0].ref != m.ref {
			continue // hidden, replaced or moved: no longer this file
		}
		dir, _ := splitDir(m.path)
		if errno := u.ensureUpperDir(dir); errno != 0 {
			u.logf("copy-up %s: link %s: %v", rel, m.path, errno)
			continue
		}
		if err := unix.Linkat(u.upperFd, rel, u.upperFd, m.path, 0); err != nil && err != unix.EEXIST {
			u.logf("copy-up %s: link %s: %v", rel, m.path, err)
		}
	}
}

func splitDir(p string) (string, string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// resolvePath resolves a path from the union's root the way lookups do,
// without the kernel: for the other names of a hard-link group.
func (u *union) resolvePath(p string) (found, syscall.Errno) {
	s := u.root.snapshot()
	dir := ""
	parts := strings.Split(p, "/")
	for i, name := range parts {
		f, errno := u.resolve(dir, &s, name)
		if errno != 0 || i == len(parts)-1 {
			return f, errno
		}
		if !f.isDir() {
			return f, syscall.ENOTDIR
		}
		s = state{upper: f.upper, opaque: f.opaque, lowers: f.lowers}
		if f.opaque {
			s.lowers = nil
		}
		dir = joinPath(dir, name)
	}
	return found{}, syscall.ENOENT
}

// ensureUpperDir copies up the directory at path and its parents, by path,
// and tells the nodes the kernel knows for them.
func (u *union) ensureUpperDir(path string) syscall.Errno {
	if path == "" {
		return 0
	}
	s := u.root.snapshot()
	cur := u.root.EmbeddedInode()
	dir := ""
	for _, name := range strings.Split(path, "/") {
		f, errno := u.resolve(dir, &s, name)
		if errno != 0 {
			return errno
		}
		if !f.isDir() {
			return syscall.ENOTDIR
		}
		rel := joinPath(dir, name)
		if !f.upper {
			ino, _ := f.ino()
			tmp, meta, errno := u.copyToWork(f.lowers[0], &f.la, ino, true, nil)
			if errno != 0 {
				return errno
			}
			if err := unix.Renameat2(u.workFd, tmp, u.upperFd, rel, unix.RENAME_NOREPLACE); err != nil {
				u.removeWork(tmp)
				if err != unix.EEXIST {
					return errnoOf(err)
				}
			}
			f.upper, f.meta = true, meta
		}
		if cur != nil {
			if cur = cur.GetChild(name); cur != nil {
				if n, ok := cur.Operations().(*node); ok {
					n.mu.Lock()
					if !n.upper {
						n.upper, n.meta = true, f.meta
					}
					n.mu.Unlock()
				}
			}
		}
		s = state{upper: true, opaque: f.opaque, lowers: f.lowers}
		if f.opaque {
			s.lowers = nil
		}
		dir = rel
	}
	return 0
}

// copyToWork copies the lower entry lr, whose attributes are a, to a new
// name in the work directory and returns the name. A directory is copied
// without its entries. metaOnly asks for a metadata-only copy of a regular
// file when its content is an object.
func (u *union) copyToWork(lr lowerRef, a *attr, origin uint64, metaOnly bool, override *statOverride) (string, upperMeta, syscall.Errno) {
	l := u.layers[lr.layer]
	tmp := u.tmpName("copyup")
	var meta upperMeta
	var fd = -1
	var err error
	switch a.mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		err = unix.Mkdirat(u.workFd, tmp, 0o700)
	case syscall.S_IFREG:
		fd, err = unix.Openat(u.workFd, tmp, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
		if err != nil {
			break
		}
		defer unix.Close(fd)
		if d, ok := l.digest(lr.ref); ok && metaOnly && u.xattrs && l.objects() != "" && l.objects() == u.objects {
			meta.metacopy = hex.EncodeToString(d[:])
			if err = unix.Ftruncate(fd, a.size); err == nil {
				err = setMetaFd(fd, xattrMetacopy, meta.metacopy)
			}
			break
		}
		var src *os.File
		if src, err = l.open(lr.ref); err != nil {
			break
		}
		if src != nil {
			err = copyData(fd, int(src.Fd()), a.size)
			src.Close()
		}
		if err == nil && !u.volatile {
			err = unix.Fsync(fd)
		}
	case syscall.S_IFLNK:
		var target string
		if target, err = l.readlink(lr.ref); err == nil {
			err = unix.Symlinkat(target, u.workFd, tmp)
		}
	default:
		err = unix.Mknodat(u.workFd, tmp, a.mode&syscall.S_IFMT|0o600, int(a.rdev))
		if (err == unix.EPERM || err == unix.EINVAL) && u.xattrs {
			// Not allowed to make devices: keep an empty file that says
			// what it stands for.
			override = &statOverride{uid: a.uid, gid: a.gid, mode: a.mode, rdev: a.rdev}
			err = unix.Mknodat(u.workFd, tmp, syscall.S_IFREG|0o600, 0)
		}
	}
	if err != nil {
		u.removeWork(tmp)
		return "", meta, errnoOf(err)
	}
	xs, err := l.xattrs(lr.ref)
	if err != nil {
		u.removeWork(tmp)
		return "", meta, errnoOf(err)
	}
	m, errno := u.setMeta(tmp, a, xs, origin, override)
	if errno != 0 {
		u.removeWork(tmp)
		return "", meta, errno
	}
	meta.origin, meta.stat = m.origin, m.stat
	return tmp, meta, 0
}

// setMeta gives the work entry tmp the xattrs xs, the owner, mode and
// times of a, and our origin record. Ownership the server cannot set goes
// into an override xattr, as does override when given.
func (u *union) setMeta(tmp string, a *attr, xs []index.Xattr, origin uint64, override *statOverride) (upperMeta, syscall.Errno) {
	var m upperMeta
	abs := filepath.Join(u.workDir, tmp)
	symlink := a.mode&syscall.S_IFMT == syscall.S_IFLNK
	for _, x := range xs {
		if isPrivateXattr(x.Name) {
			continue
		}
		if err := unix.Lsetxattr(abs, x.Name, []byte(x.Value), 0); err != nil {
			u.logf("copy-up %s: keep xattr %s: %v", abs, x.Name, err)
		}
	}
	// user.* xattrs are only allowed on files and directories: a symlink
	// or device copied up gets a new inode number.
	canX := u.xattrs && (a.isDir() || a.isReg() || override != nil)
	if origin != 0 && canX {
		if err := setMetaPath(abs, xattrOrigin, strconv.FormatUint(origin, 10)); err == nil {
			m.origin = origin
		}
	}
	if override == nil {
		err := unix.Fchownat(u.workFd, tmp, int(a.uid), int(a.gid), unix.AT_SYMLINK_NOFOLLOW)
		switch {
		case err == nil:
		case canX && (err == unix.EPERM || err == unix.EINVAL):
			override = &statOverride{uid: a.uid, gid: a.gid, mode: a.mode}
		default:
			// A symlink or device keeps the server's ids.
			u.logf("copy-up %s: chown: %v", abs, err)
		}
	}
	if override != nil && canX {
		if err := setMetaPath(abs, xattrStat, override.String()); err != nil {
			return m, errnoOf(err)
		}
		m.stat = override
	}
	if !symlink {
		// After chown, which clears set-id bits.
		if err := unix.Fchmodat(u.workFd, tmp, a.mode&0o7777, 0); err != nil {
			return m, errnoOf(err)
		}
	}
	ts := []unix.Timespec{
		{Sec: a.atime.sec, Nsec: int64(a.atime.nsec)},
		{Sec: a.mtime.sec, Nsec: int64(a.mtime.nsec)},
	}
	if err := unix.UtimesNanoAt(u.workFd, tmp, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return m, errnoOf(err)
	}
	return m, 0
}

// copyUpDataLocked fills a metadata-only upper file at rel with the
// content of its object, in place so that hard links to it and open
// descriptors stay on the same inode. The metacopy xattr goes last: until
// then a reader (or the next mount, after a crash) still reads the object.
func (n *node) copyUpDataLocked(rel string) syscall.Errno {
	u := n.u
	var fd int
	var err error
	if rel == "" {
		fd = -1
		for _, h := range n.handles {
			if h.isUpper() {
				fd, err = unix.Open("/proc/self/fd/"+strconv.Itoa(h.fd()), unix.O_RDWR|unix.O_CLOEXEC, 0)
				break
			}
		}
		if fd < 0 && err == nil {
			return syscall.ESTALE
		}
	} else {
		fd, err = openBeneath(u.upperFd, rel, unix.O_RDWR|unix.O_NOFOLLOW)
	}
	if err != nil {
		return errnoOf(err)
	}
	defer unix.Close(fd)
	src, err := openObject(u.objectPath(n.meta.metacopy))
	if err != nil {
		u.logf("copy-up data of %s: %v", rel, err)
		return syscall.EIO
	}
	defer src.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return errnoOf(err)
	}
	if err := copyData(fd, int(src.Fd()), st.Size); err != nil {
		return errnoOf(err)
	}
	if !u.volatile {
		if err := unix.Fsync(fd); err != nil {
			return errnoOf(err)
		}
	}
	if err := unix.Fremovexattr(fd, xattrMetacopy); err != nil && err != unix.ENODATA {
		return errnoOf(err)
	}
	n.meta.metacopy = ""
	return 0
}

func (u *union) objectPath(hexDigest string) string {
	return filepath.Join(u.objects, hexDigest[:2], hexDigest)
}

// copyData copies size bytes from src to dst, leaving holes where src has
// them, so sparse files stay sparse.
func copyData(dst, src int, size int64) error {
	var off int64
	for off < size {
		data, err := unix.Seek(src, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break // only a hole is left
		}
		if err != nil {
			data = off // no hole support: copy everything
		}
		end, err := unix.Seek(src, data, unix.SEEK_HOLE)
		if err != nil || end > size {
			end = size
		}
		if err := copyRange(dst, src, data, end-data); err != nil {
			return err
		}
		off = end
	}
	return unix.Ftruncate(dst, size)
}

func copyRange(dst, src int, off, n int64) error {
	in, out := off, off
	for n > 0 {
		c, err := unix.CopyFileRange(src, &in, dst, &out, int(min(n, 1<<30)), 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil || c == 0 {
			if err == nil || err == unix.EXDEV || err == unix.ENOSYS || err == unix.EINVAL || err == unix.EOPNOTSUPP {
				return copyRead(dst, src, in, n)
			}
			return err
		}
		n -= int64(c)
	}
	return nil
}

func copyRead(dst, src int, off, n int64) error {
	buf := make([]byte, min(n, 1<<20))
	for n > 0 {
		c, err := unix.Pread(src, buf[:min(n, int64(len(buf)))], off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if c == 0 {
			return nil // the source is shorter than it said; the caller truncates
		}
		if _, err := unix.Pwrite(dst, buf[:c], off); err != nil {
			return err
		}
		off += int64(c)
		n -= int64(c)
	}
	return nil
}

// removeWork deletes a work entry and everything below it.
func (u *union) removeWork(name string) {
	if err := os.RemoveAll(filepath.Join(u.workDir, name)); err != nil {
		u.logf("remove %s: %v", name, err)
	}
}
