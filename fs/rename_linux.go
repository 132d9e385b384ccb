package fs

import (
	"context"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"golang.org/x/sys/unix"

	"github.com/strata-engine/strata/layers/index"
)

var _ fusefs.NodeRenamer = (*node)(nil)

// Rename moves name in d to newName in newParent. Everything that moves is
// first made self-contained in the upper (copied up; a directory that
// merges lower directories is copied whole, files by metadata only where
// the lower keeps content in the object store), each step an atomic swap
// that leaves the union looking the same. Then one rename(2) in the upper
// moves it, with a whiteout made beforehand where the old name would let
// a lower entry show through.
func (d *node) Rename(ctx context.Context, name string, newParent fusefs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	u := d.u
	nd, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	if flags&^(unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE) != 0 {
		return syscall.EINVAL
	}
	if _, _, errno := d.prepare(); errno != 0 {
		return errno
	}
	ddir, ds, errno := nd.prepare()
	if errno != 0 {
		return errno
	}
	sdir, ss, errno := d.prepare()
	if errno != 0 {
		return errno
	}
	sf, errno := u.resolve(sdir, &ss, name)
	if errno != 0 {
		return errno
	}
	df, derr := u.resolve(ddir, &ds, newName)
	if derr != 0 && derr != syscall.ENOENT {
		return derr
	}
	srel, drel := joinPath(sdir, name), joinPath(ddir, newName)
	srcNode, dstNode := childNode(d, name), childNode(nd, newName)
	if derr == 0 {
		si, _ := sf.ino()
		di, _ := df.ino()
		if si == di && !sf.isDir() {
			return 0 // two names of one file: rename(2) does nothing
		}
	}

	if flags&unix.RENAME_EXCHANGE != 0 {
		if derr != 0 {
			return derr
		}
		if errno := u.selfContain(srcNode, srel, &sf, u.lowerHas(&ds, newName)); errno != 0 {
			return errno
		}
		if errno := u.selfContain(dstNode, drel, &df, u.lowerHas(&ss, name)); errno != 0 {
			return errno
		}
		return errnoOf(unix.Renameat2(u.upperFd, srel, u.upperFd, drel, unix.RENAME_EXCHANGE))
	}

	var trash string
	if derr == 0 {
		if flags&unix.RENAME_NOREPLACE != 0 {
			return syscall.EEXIST
		}
		switch {
		case sf.isDir() && !df.isDir():
			return syscall.ENOTDIR
		case !sf.isDir() && df.isDir():
			return syscall.EISDIR
		case df.isDir():
			if errno := u.checkEmpty(drel, &df); errno != 0 {
				return errno
			}
		}
	}
	dstLower := u.lowerHas(&ds, newName)
	if errno := u.selfContain(srcNode, srel, &sf, dstLower); errno != 0 {
		return errno
	}
	if u.lowerHas(&ss, name) {
		if errno := u.makeWhiteout(sdir, name); errno != 0 {
			return errno
		}
	}
	whNew := false
	if derr == 0 && df.upper && df.ua.isDir() {
		// An empty merged directory still holds whiteouts, which rename(2)
		// would refuse to replace: move it out of the way, behind a
		// whiteout so that the lower stays hidden meanwhile.
		if dstLower {
			if errno := u.makeWhiteout(ddir, newName); errno != 0 {
				return errno
			}
			whNew = true
		}
		trash = u.tmpName("rename")
		if err := unix.Renameat(u.upperFd, drel, u.workFd, trash); err != nil {
			return errnoOf(err)
		}
	} else if derr != 0 {
		wh, errno := u.prepareName(ddir, &ds, newName)
		if errno != 0 {
			return errno
		}
		whNew = wh
	}
	if err := unix.Renameat2(u.upperFd, srel, u.upperFd, drel, 0); err != nil {
		u.logf("rename %s to %s: %v", srel, drel, err)
		return errnoOf(err)
	}
	if whNew {
		u.clearWhiteout(ddir, newName)
	}
	if trash != "" {
		u.removeWork(trash)
	}
	if dstNode != nil && derr == 0 && (df.isDir() || !df.upper || df.ua.nlink <= 1) {
		dstNode.mu.Lock()
		dstNode.orphan = true
		dstNode.mu.Unlock()
	}
	return 0
}

func childNode(d *node, name string) *node {
	ch := d.GetChild(name)
	if ch == nil {
		return nil
	}
	n, _ := ch.Operations().(*node)
	return n
}

// selfContain makes the entry at rel (found as f, node n if the kernel
// knows it) independent of the lowers, without changing what the union
// shows: a lower file is copied up, a directory with lower parts is
// copied whole into an opaque upper directory. needOpaque asks an upper
// directory to hide lowers wherever it moves to.
func (u *union) selfContain(n *node, rel string, f *found, needOpaque bool) syscall.Errno {
	if !f.isDir() {
		if f.upper {
			return 0
		}
		if n != nil {
			return n.copyUp(false)
		}
		ino, _ := f.ino()
		tmp, _, errno := u.copyToWork(f.lowers[0], &f.la, ino, true, nil)
		if errno != 0 {
			return errno
		}
		if err := unix.Renameat2(u.workFd, tmp, u.upperFd, rel, unix.RENAME_NOREPLACE); err != nil {
			u.removeWork(tmp)
			return errnoOf(err)
		}
		return 0
	}
	if f.upper && (f.opaque || len(f.lowers) == 0) {
		if needOpaque && !f.opaque {
			err := unix.Mknodat(u.upperFd, rel+"/"+whOpaque, syscall.S_IFREG|0o600, 0)
			if err != nil && err != unix.EEXIST {
				return errnoOf(err)
			}
			if n != nil {
				n.mu.Lock()
				n.opaque, n.lowers = true, nil
				n.mu.Unlock()
			}
		}
		return 0
	}
	ino, _ := f.ino()
	tmp := u.tmpName("tree")
	if errno := u.buildTree(rel, f, ino, tmp, map[uint64]string{}); errno != 0 {
		u.removeWork(tmp)
		return errno
	}
	var err error
	if f.upper {
		// Swap the copy in; the old upper directory lands in the work
		// directory, where it is deleted.
		err = unix.Renameat2(u.workFd, tmp, u.upperFd, rel, unix.RENAME_EXCHANGE)
	} else {
		err = unix.Renameat2(u.workFd, tmp, u.upperFd, rel, unix.RENAME_NOREPLACE)
	}
	if err != nil {
		u.removeWork(tmp)
		return errnoOf(err)
	}
	if f.upper {
		u.removeWork(tmp)
	}
	if n != nil {
		u.refresh(n, rel, true)
	}
	return 0
}

// buildTree copies the merged directory at rel, found as f, into the work
// directory at dest: subdirectories are made anew (remembering their inode
// numbers in origin xattrs), upper files are hard-linked (the same inode),
// lower files are copied up, by metadata only where possible. links maps
// the inode numbers of lower hard links already copied to their copy.
func (u *union) buildTree(rel string, f *found, origin uint64, dest string, links map[uint64]string) syscall.Errno {
	if err := unix.Mkdirat(u.workFd, dest, 0o700); err != nil {
		return errnoOf(err)
	}
	if err := unix.Mknodat(u.workFd, dest+"/"+whOpaque, syscall.S_IFREG|0o600, 0); err != nil {
		return errnoOf(err)
	}
	cs := state{upper: f.upper, opaque: f.opaque, lowers: f.lowers}
	if f.opaque {
		cs.lowers = nil
	}
	names, entries, errno := u.mergedAt(rel, &cs)
	if errno != 0 {
		return errno
	}
	for _, name := range names {
		e := entries[name]
		crel, cdest := joinPath(rel, name), dest+"/"+name
		ino, _ := e.ino()
		switch {
		case e.isDir():
			if e.upper && len(e.lowers) > 0 && !e.opaque {
				if dirIsOpaque(u.upperFd, crel, u.abs(crel)) {
					e.opaque = true
				}
			}
			if errno := u.buildTree(crel, e, ino, cdest, links); errno != 0 {
				return errno
			}
		case e.upper:
			if err := unix.Linkat(u.upperFd, crel, u.workFd, cdest, 0); err != nil {
				return errnoOf(err)
			}
		default:
			if first, ok := links[ino]; ok && e.la.nlink > 1 {
				if err := unix.Linkat(u.workFd, first, u.workFd, cdest, 0); err != nil {
					return errnoOf(err)
				}
				continue
			}
			tmp, _, errno := u.copyToWork(e.lowers[0], &e.la, ino, true, nil)
			if errno != 0 {
				return errno
			}
			if err := unix.Renameat(u.workFd, tmp, u.workFd, cdest); err != nil {
				u.removeWork(tmp)
				return errnoOf(err)
			}
			if e.la.nlink > 1 {
				links[ino] = cdest
			}
		}
	}
	// The directory's own metadata last, once its entries are in.
	a := f.la
	var override *statOverride
	xs, err := u.dirXattrs(rel, f)
	if err != nil {
		return errnoOf(err)
	}
	if f.upper {
		a = f.ua
		override = f.meta.stat
	}
	_, errno = u.setMeta(dest, &a, xs, origin, override)
	return errno
}

// dirXattrs returns the xattrs the directory at rel shows.
func (u *union) dirXattrs(rel string, f *found) ([]index.Xattr, error) {
	if f.upper {
		return listXattrs(u.abs(rel), func(name string) bool { return !isPrivateXattr(name) })
	}
	lr := f.lowers[0]
	return u.layers[lr.layer].xattrs(lr.ref)
}

// refresh brings n (at rel) and the nodes the kernel knows below it up to
// date after a copy of their tree: all of it is now upper, the top opaque.
func (u *union) refresh(n *node, rel string, top bool) {
	m, err := u.readMeta(u.abs(rel))
	if err != nil {
		u.logf("refresh %s: %v", rel, err)
	}
	n.mu.Lock()
	n.upper, n.lowers, n.meta = true, nil, m
	if top {
		n.opaque = true
	}
	n.mu.Unlock()
	for name, ch := range n.Children() {
		if c, ok := ch.Operations().(*node); ok {
			u.refresh(c, joinPath(rel, name), false)
		}
	}
}
