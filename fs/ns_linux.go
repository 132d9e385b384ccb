package fs

import (
	"context"
	"strconv"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

var (
	_ fusefs.NodeCreater   = (*node)(nil)
	_ fusefs.NodeMkdirer   = (*node)(nil)
	_ fusefs.NodeMknoder   = (*node)(nil)
	_ fusefs.NodeSymlinker = (*node)(nil)
	_ fusefs.NodeLinker    = (*node)(nil)
	_ fusefs.NodeUnlinker  = (*node)(nil)
	_ fusefs.NodeRmdirer   = (*node)(nil)
	_ fusefs.NodeTmpfiler  = (*node)(nil)
)

// prepare readies directory d for a change of its entries: it gets an
// upper directory. It returns d's path and layers.
func (d *node) prepare() (string, state, syscall.Errno) {
	if d.u.readOnly() {
		return "", state{}, syscall.EROFS
	}
	if errno := d.copyUp(false); errno != 0 {
		return "", state{}, errno
	}
	s := d.snapshot()
	if s.orphan {
		return "", s, syscall.ENOENT
	}
	dir, errno := d.relPath()
	return dir, s, errno
}

// prepareName clears the way for a new upper entry name in dir: it
// removes an overlayfs whiteout there and reports whether the name was
// whited out (then a new directory must hide what the lowers have).
func (u *union) prepareName(dir string, s *state, name string) (bool, syscall.Errno) {
	rel := joinPath(dir, name)
	var st unix.Statx_t
	if err := statxAt(u.upperFd, rel, &st); err == nil {
		a := attrFromStatx(&st)
		if !isOverlayWhiteout(&a) {
			return false, syscall.EEXIST
		}
		if err := unix.Unlinkat(u.upperFd, rel, 0); err != nil {
			return false, errnoOf(err)
		}
		return true, 0
	}
	if s.opaque || len(s.lowers) == 0 {
		return false, 0 // nothing below for an OCI whiteout to hide
	}
	return u.hasWhiteout(dir, name), 0
}

func (u *union) clearWhiteout(dir, name string) {
	if err := unix.Unlinkat(u.upperFd, joinPath(dir, whPrefix+name), 0); err != nil && err != unix.ENOENT {
		u.logf("remove whiteout %s/%s: %v", dir, name, err)
	}
}

func (u *union) makeWhiteout(dir, name string) syscall.Errno {
	err := unix.Mknodat(u.upperFd, joinPath(dir, whPrefix+name), syscall.S_IFREG|0o600, 0)
	if err == unix.EEXIST {
		err = nil
	}
	return errnoOf(err)
}

// newOwner returns the owner and mode of an entry the caller of ctx makes
// in d: the caller's ids, but the group of a set-group-id directory, whose
// subdirectories inherit the bit.
func (d *node) newOwner(ctx context.Context, isDir bool, mode uint32) (uint32, uint32, uint32) {
	var uid, gid uint32
	if c, ok := fuse.FromContext(ctx); ok {
		uid, gid = c.Uid, c.Gid
	}
	if pa, errno := d.attr(nil); errno == 0 && pa.mode&syscall.S_ISGID != 0 {
		gid = pa.gid
		if isDir {
			mode |= syscall.S_ISGID
		}
	}
	return uid, gid, mode
}

// own gives the new upper entry rel (or the open fd, when fd >= 0) its
// owner and mode, recording them in an xattr when the server may not.
// The mode is set explicitly because the server's umask applied to the
// creation (the kernel already applied the caller's).
func (u *union) own(fd int, rel string, uid, gid, mode uint32) (*statOverride, syscall.Errno) {
	var err error
	if fd >= 0 {
		err = unix.Fchown(fd, int(uid), int(gid))
	} else {
		err = unix.Fchownat(u.upperFd, rel, int(uid), int(gid), unix.AT_SYMLINK_NOFOLLOW)
	}
	symlink := mode&syscall.S_IFMT == syscall.S_IFLNK
	var o *statOverride
	if err != nil && (err == unix.EPERM || err == unix.EINVAL) && u.xattrs && !symlink {
		o = &statOverride{uid: uid, gid: gid, mode: mode}
		if fd >= 0 {
			err = setMetaFd(fd, xattrStat, o.String())
		} else {
			err = setMetaPath(u.abs(rel), xattrStat, o.String())
		}
	}
	if err != nil && !symlink {
		return nil, errnoOf(err)
	}
	if symlink {
		return nil, 0
	}
	if fd >= 0 {
		err = unix.Fchmod(fd, mode&0o7777)
	} else {
		err = unix.Fchmodat(u.upperFd, rel, mode&0o7777, 0)
	}
	if err != nil {
		return nil, errnoOf(err)
	}
	return o, 0
}

// added makes the node for the new upper entry name in d, which the
// caller just made (open as fd, or -1) and gave the override o: so its
// private xattrs are known without reading them.
func (d *node) added(ctx context.Context, dir, name string, opaque bool, fd int, o *statOverride, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	var st unix.Statx_t
	var err error
	if fd >= 0 {
		err = fstatx(fd, &st)
	} else {
		err = statxAt(d.u.upperFd, joinPath(dir, name), &st)
	}
	if err != nil {
		return nil, errnoOf(err)
	}
	f := found{upper: true, ua: attrFromStatx(&st), meta: upperMeta{stat: o}, opaque: opaque}
	f.meta.apply(&f.ua)
	return d.child(ctx, &f, out), 0
}

func (d *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fusefs.Inode, fusefs.FileHandle, uint32, syscall.Errno) {
	u := d.u
	dir, ds, errno := d.prepare()
	if errno != 0 {
		return nil, nil, 0, errno
	}
	wh, errno := u.prepareName(dir, &ds, name)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	rel := joinPath(dir, name)
	uid, gid, mode := d.newOwner(ctx, false, mode)
	fd, err := unix.Openat(u.upperFd, rel, openFlags(flags)|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, nil, 0, errnoOf(err)
	}
	o, errno := u.own(fd, "", uid, gid, syscall.S_IFREG|mode&0o7777)
	if errno != 0 {
		unix.Close(fd)
		unix.Unlinkat(u.upperFd, rel, 0)
		return nil, nil, 0, errno
	}
	if wh {
		u.clearWhiteout(dir, name)
	}
	ch, errno := d.added(ctx, dir, name, false, fd, o, out)
	if errno != 0 {
		unix.Close(fd)
		return nil, nil, 0, errno
	}
	h, fl, errno := ch.Operations().(*node).newHandle(fd, true, flags)
	return ch, h, fl, errno
}

func (d *node) Tmpfile(ctx context.Context, flags uint32, mode uint32, out *fuse.EntryOut) (*fusefs.Inode, fusefs.FileHandle, uint32, syscall.Errno) {
	u := d.u
	dir, _, errno := d.prepare()
	if errno != 0 {
		return nil, nil, 0, errno
	}
	uid, gid, mode := d.newOwner(ctx, false, mode)
	fd, err := unix.Openat(u.upperFd, relPath(dir), openFlags(flags)|unix.O_TMPFILE, 0o600)
	if err != nil {
		return nil, nil, 0, errnoOf(err)
	}
	o, errno := u.own(fd, "", uid, gid, syscall.S_IFREG|mode&0o7777)
	if errno != 0 {
		unix.Close(fd)
		return nil, nil, 0, errno
	}
	var st unix.Statx_t
	if err := fstatx(fd, &st); err != nil {
		unix.Close(fd)
		return nil, nil, 0, errnoOf(err)
	}
	a := attrFromStatx(&st)
	m := upperMeta{stat: o}
	m.apply(&a)
	a.ino = upperIno(&a)
	n := &node{u: u, upper: true, orphan: true, meta: m}
	ch := d.NewInode(ctx, n, fusefs.StableAttr{Mode: syscall.S_IFREG, Ino: a.ino, Gen: genOf(&a)})
	fillAttr(&a, &out.Attr)
	out.SetEntryTimeout(u.upperTTL)
	out.SetAttrTimeout(u.upperTTL)
	h, fl, errno := ch.Operations().(*node).newHandle(fd, true, flags)
	return ch, h, fl, errno
}

func (d *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	u := d.u
	dir, ds, errno := d.prepare()
	if errno != 0 {
		return nil, errno
	}
	wh, errno := u.prepareName(dir, &ds, name)
	if errno != 0 {
		return nil, errno
	}
	rel := joinPath(dir, name)
	uid, gid, mode := d.newOwner(ctx, true, mode)
	mode = syscall.S_IFDIR | mode&0o7777
	if !wh {
		if err := unix.Mkdirat(u.upperFd, rel, 0o700); err != nil {
			return nil, errnoOf(err)
		}
		o, errno := u.own(-1, rel, uid, gid, mode)
		if errno != 0 {
			unix.Unlinkat(u.upperFd, rel, unix.AT_REMOVEDIR)
			return nil, errno
		}
		return d.added(ctx, dir, name, false, -1, o, out)
	}
	// The name hides a lower entry: build the directory with its opaque
	// marker in the work directory, so that it never shows the lower's
	// entries, then move it into place.
	tmp := u.tmpName("mkdir")
	if err := unix.Mkdirat(u.workFd, tmp, 0o700); err != nil {
		return nil, errnoOf(err)
	}
	if err := unix.Mknodat(u.workFd, tmp+"/"+whOpaque, syscall.S_IFREG|0o600, 0); err != nil {
		u.removeWork(tmp)
		return nil, errnoOf(err)
	}
	if err := unix.Renameat2(u.workFd, tmp, u.upperFd, rel, unix.RENAME_NOREPLACE); err != nil {
		u.removeWork(tmp)
		return nil, errnoOf(err)
	}
	o, errno := u.own(-1, rel, uid, gid, mode)
	if errno != 0 {
		return nil, errno
	}
	u.clearWhiteout(dir, name)
	return d.added(ctx, dir, name, true, -1, o, out)
}

func (d *node) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	u := d.u
	dir, ds, errno := d.prepare()
	if errno != 0 {
		return nil, errno
	}
	wh, errno := u.prepareName(dir, &ds, name)
	if errno != 0 {
		return nil, errno
	}
	rel := joinPath(dir, name)
	uid, gid, mode := d.newOwner(ctx, false, mode)
	err := unix.Mknodat(u.upperFd, rel, mode&syscall.S_IFMT|0o600, int(dev))
	var o *statOverride
	if (err == unix.EPERM || err == unix.EINVAL) && u.xattrs && isDeviceMode(mode) {
		// Devices need privilege: an empty file stands in for it and an
		// xattr says what it is.
		if err = unix.Mknodat(u.upperFd, rel, syscall.S_IFREG|0o600, 0); err == nil {
			o = &statOverride{uid: uid, gid: gid, mode: mode, rdev: uint64(dev)}
			if err = setMetaPath(u.abs(rel), xattrStat, o.String()); err != nil {
				unix.Unlinkat(u.upperFd, rel, 0)
			}
		}
		if err != nil {
			return nil, errnoOf(err)
		}
	} else if err != nil {
		return nil, errnoOf(err)
	} else if o, errno = u.own(-1, rel, uid, gid, mode); errno != 0 {
		unix.Unlinkat(u.upperFd, rel, 0)
		return nil, errno
	}
	if wh {
		u.clearWhiteout(dir, name)
	}
	return d.added(ctx, dir, name, false, -1, o, out)
}

func (d *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	u := d.u
	dir, ds, errno := d.prepare()
	if errno != 0 {
		return nil, errno
	}
	wh, errno := u.prepareName(dir, &ds, name)
	if errno != 0 {
		return nil, errno
	}
	rel := joinPath(dir, name)
	if err := unix.Symlinkat(target, u.upperFd, rel); err != nil {
		return nil, errnoOf(err)
	}
	uid, gid, _ := d.newOwner(ctx, false, 0)
	u.own(-1, rel, uid, gid, syscall.S_IFLNK|0o777)
	if wh {
		u.clearWhiteout(dir, name)
	}
	return d.added(ctx, dir, name, false, -1, nil, out)
}

func (d *node) Link(ctx context.Context, target fusefs.InodeEmbedder, name string, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	u := d.u
	t, ok := target.(*node)
	if !ok {
		return nil, syscall.EXDEV
	}
	dir, ds, errno := d.prepare()
	if errno != 0 {
		return nil, errno
	}
	wh, errno := u.prepareName(dir, &ds, name)
	if errno != 0 {
		return nil, errno
	}
	rel := joinPath(dir, name)
	t.mu.Lock()
	orphan := t.orphan
	t.mu.Unlock()
	if orphan {
		// An O_TMPFILE file, or one unlinked while open: link the inode
		// through a descriptor of it, as linkat(2) of /proc/self/fd does.
		fd := t.anyUpperFd(nil)
		if fd < 0 {
			return nil, syscall.ENOENT
		}
		if err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), u.upperFd, rel, unix.AT_SYMLINK_FOLLOW); err != nil {
			return nil, errnoOf(err)
		}
		t.mu.Lock()
		t.orphan = false
		t.mu.Unlock()
	} else {
		if errno := t.copyUp(false); errno != 0 {
			return nil, errno
		}
		tp, errno := t.relPath()
		if errno != 0 {
			return nil, errno
		}
		if err := unix.Linkat(u.upperFd, tp, u.upperFd, rel, 0); err != nil {
			return nil, errnoOf(err)
		}
	}
	if wh {
		u.clearWhiteout(dir, name)
	}
	a, errno := t.attr(nil)
	if errno != 0 {
		return nil, errno
	}
	fillAttr(&a, &out.Attr)
	out.SetEntryTimeout(u.upperTTL)
	out.SetAttrTimeout(u.upperTTL)
	return t.EmbeddedInode(), 0
}

func (d *node) Unlink(ctx context.Context, name string) syscall.Errno {
	dir, s, errno := d.prepare()
	if errno != 0 {
		return errno
	}
	f, ok := d.lowerChild(name)
	if !ok {
		if f, errno = d.u.resolve(dir, &s, name); errno != 0 {
			return errno
		}
	}
	if f.isDir() {
		return syscall.EISDIR
	}
	return d.removeName(dir, &s, name, &f)
}

// lowerChild returns what d shows at name without asking the layers, when
// d's node for name is a lower file with one link that has no upper
// object: the lowers never change, and the upper gets an object at its
// name only through the node (copy-up) or through the kernel, which then
// drops the node. Another name of a hard-link group can be linked in the
// upper behind its node's back, and an upper directory made for it, so
// those take the long way.
func (d *node) lowerChild(name string) (found, bool) {
	ch := d.GetChild(name)
	if ch == nil {
		return found{}, false
	}
	n, ok := ch.Operations().(*node)
	if !ok {
		return found{}, false
	}
	s := n.snapshot()
	if s.upper || s.orphan || len(s.lowers) == 0 || s.la.mode == 0 || s.la.isDir() || s.la.nlink > 1 {
		return found{}, false
	}
	return found{lowers: s.lowers, la: s.la}, true
}

func (d *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	dir, s, errno := d.prepare()
	if errno != 0 {
		return errno
	}
	f, errno := d.u.resolve(dir, &s, name)
	if errno != 0 {
		return errno
	}
	if !f.isDir() {
		return syscall.ENOTDIR
	}
	if errno := d.u.checkEmpty(joinPath(dir, name), &f); errno != 0 {
		return errno
	}
	return d.removeName(dir, &s, name, &f)
}

// checkEmpty fails with ENOTEMPTY unless the merged directory at rel,
// found as f, shows no entries. It reads names only, top down, and stops
// at the first one that shows: the first layer to have a name decides
// whether it shows, as in resolve.
func (u *union) checkEmpty(rel string, f *found) syscall.Errno {
	hidden := map[string]bool{}
	see := func(name string, whiteout bool) error {
		if hidden[name] {
			return nil
		}
		if !whiteout {
			return syscall.ENOTEMPTY
		}
		hidden[name] = true
		return nil
	}
	if f.upper {
		fd, err := unix.Openat(u.upperFd, relPath(rel), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err != nil {
			return errnoOf(err)
		}
		err = readDirents(fd, func(name string, typ uint8) error {
			return classifyName(fd, name, typ, func(name string, whiteout bool) error {
				if !whiteout {
					return syscall.ENOTEMPTY // the upper's own entries always show
				}
				hidden[name] = true
				return nil
			})
		})
		unix.Close(fd)
		if err != nil {
			return errnoOf(err)
		}
	}
	if f.opaque {
		return 0
	}
	for _, lr := range f.lowers {
		var err error
		if nl, ok := u.layers[lr.layer].(nameLister); ok {
			err = nl.listNames(lr.ref, see)
		} else {
			var seen error
			err = u.layers[lr.layer].list(lr.ref, func(name string, e lentry) {
				if seen == nil {
					seen = see(name, e.whiteout)
				}
			})
			if err == nil {
				err = seen
			}
		}
		if err != nil {
			return errnoOf(err)
		}
	}
	return 0
}

// removeName takes name, found as f, out of directory d (at dir, with
// layers s). A lower entry is hidden by a whiteout, made before the upper
// entry goes so that the lower never shows through, not even after a
// crash. An upper directory is moved to the work directory in one step
// and deleted there, whiteouts and all.
func (d *node) removeName(dir string, s *state, name string, f *found) syscall.Errno {
	u := d.u
	rel := joinPath(dir, name)
	// A name without an upper object shows a lower one (resolve found it);
	// one with an upper object may hide a lower one resolve did not look at.
	if !f.upper && len(f.lowers) > 0 || f.upper && u.lowerHas(s, name) {
		if errno := u.makeWhiteout(dir, name); errno != 0 {
			return errno
		}
	}
	if f.upper {
		if f.ua.isDir() {
			tmp := u.tmpName("rmdir")
			if err := unix.Renameat(u.upperFd, rel, u.workFd, tmp); err != nil {
				return errnoOf(err)
			}
			u.removeWork(tmp)
		} else if err := unix.Unlinkat(u.upperFd, rel, 0); err != nil {
			return errnoOf(err)
		}
	}
	if ch := d.GetChild(name); ch != nil {
		if n, ok := ch.Operations().(*node); ok && (f.isDir() || !f.upper || f.ua.nlink <= 1) {
			n.mu.Lock()
			n.orphan = true
			n.mu.Unlock()
		}
	}
	return 0
}
