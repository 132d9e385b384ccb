package fs

import (
	"context"
	"strings"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// found is the union's view of one name in a directory: what the upper
// has there and which lower entries show through.
type found struct {
	upper  bool
	ua     attr // upper attributes, overrides applied
	meta   upperMeta
	opaque bool // upper directory marked opaque
	// lowers: for a directory, the lower directories merged into it, top
	// first; otherwise the single lower entry shown. Empty under an upper
	// non-directory.
	lowers []lowerRef
	la     attr // attributes of lowers[0]
	done   bool // nothing below can contribute any more
	// pending: the last of lowers is a directory whose opaque marker is
	// not known yet (lentry.lazyOpaque).
	pending bool
}

func (f *found) visible() bool { return f.upper || len(f.lowers) > 0 }

func (f *found) isDir() bool {
	if f.upper {
		return f.ua.isDir()
	}
	return f.la.isDir()
}

// addLower stacks the entry e of layer l (of layers) under what was found
// above it.
func (f *found) addLower(layers []layer, l int, e lentry) {
	if f.done {
		return
	}
	switch {
	case e.whiteout:
		f.done = true
	case e.attr.isDir():
		if f.upper && !f.ua.isDir() {
			f.done = true
			return
		}
		if f.pending {
			// Whether the directory above hides this one matters now.
			f.pending = false
			above := f.lowers[len(f.lowers)-1]
			if oc, ok := layers[above.layer].(opaqueChecker); ok && oc.isOpaque(above.ref) {
				f.done = true
				return
			}
		}
		if len(f.lowers) == 0 {
			f.la = e.attr
		}
		f.lowers = append(f.lowers, lowerRef{l, e.ref})
		f.done = e.opaque
		f.pending = e.lazyOpaque && !e.opaque
	default:
		if !f.upper && len(f.lowers) == 0 {
			f.la = e.attr
			f.lowers = append(f.lowers, lowerRef{l, e.ref})
		}
		f.done = true
	}
}

// ino returns the union inode number and generation of what was found.
func (f *found) ino() (uint64, uint64) {
	switch {
	case f.upper && f.meta.origin != 0:
		return f.meta.origin, 0
	case f.upper:
		return upperIno(&f.ua), genOf(&f.ua)
	default:
		return layerIno(f.lowers[0].layer+1, f.la.ino), 0
	}
}

func (f *found) attr() attr {
	a := f.la
	if f.upper {
		a = f.ua
	}
	a.ino, _ = f.ino()
	if a.isDir() && len(f.lowers) > 0 && (f.upper || len(f.lowers) > 1) {
		a.nlink = 1
	}
	return a
}

// statUpper fills f from the upper object at rel, if there is one that
// is not a whiteout. It reports a whiteout separately.
func (u *union) statUpper(rel string, f *found) (whiteout bool, errno syscall.Errno) {
	var st unix.Statx_t
	if err := statxAt(u.upperFd, relPath(rel), &st); err != nil {
		if err == unix.ENOENT {
			return false, 0
		}
		return false, errnoOf(err)
	}
	a := attrFromStatx(&st)
	if isOverlayWhiteout(&a) {
		return true, 0
	}
	m, err := u.readMeta(u.abs(rel))
	if err != nil {
		return false, errnoOf(err)
	}
	m.apply(&a)
	f.upper, f.ua, f.meta = true, a, m
	return false, 0
}

// hasWhiteout reports whether the upper directory dir has an OCI
// whiteout for name.
func (u *union) hasWhiteout(dir, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(u.upperFd, joinPath(dir, whPrefix+name), &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

// resolve looks name up in the directory d, whose path is dir and whose
// layers are s.
func (u *union) resolve(dir string, s *state, name string) (found, syscall.Errno) {
	var f found
	if strings.HasPrefix(name, whPrefix) {
		return f, syscall.ENOENT // our whiteouts are never names in the union
	}
	mayMerge := !s.opaque && len(s.lowers) > 0
	if s.upper {
		rel := joinPath(dir, name)
		wh, errno := u.statUpper(rel, &f)
		if errno != 0 {
			return f, errno
		}
		switch {
		case wh:
			return f, syscall.ENOENT
		case f.upper:
			if !f.ua.isDir() {
				return f, 0
			}
			if mayMerge {
				f.opaque = dirIsOpaque(u.upperFd, rel, u.abs(rel)) || u.hasWhiteout(dir, name)
			}
			if f.opaque {
				return f, 0
			}
		case mayMerge && u.hasWhiteout(dir, name):
			return f, syscall.ENOENT
		}
	}
	if mayMerge {
		for _, lr := range s.lowers {
			e, err := u.layers[lr.layer].lookup(lr.ref, name)
			if err == syscall.ENOENT {
				continue
			}
			if err != nil {
				return f, errnoOf(err)
			}
			f.addLower(u.layers, lr.layer, e)
			if f.done {
				break
			}
		}
	}
	if !f.visible() {
		return f, syscall.ENOENT
	}
	return f, 0
}

// child makes (or finds, through go-fuse's table of inode numbers) the
// node for what f describes, and fills out.
func (d *node) child(ctx context.Context, f *found, out *fuse.EntryOut) *fusefs.Inode {
	ino, gen := f.ino()
	a := f.attr()
	n := &node{u: d.u, upper: f.upper, opaque: f.opaque, lowers: f.lowers, la: f.la, meta: f.meta}
	if f.opaque {
		n.lowers = nil
	}
	ch := d.NewInode(ctx, n, fusefs.StableAttr{Mode: a.mode & syscall.S_IFMT, Ino: ino, Gen: gen})
	fillAttr(&a, &out.Attr)
	ttl := d.u.lowerTTL
	if f.upper {
		ttl = d.u.upperTTL
	}
	out.SetEntryTimeout(ttl)
	out.SetAttrTimeout(ttl)
	return ch
}

func (d *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	s := d.snapshot()
	dir, errno := d.relPath()
	if errno != 0 {
		return nil, errno
	}
	f, errno := d.u.resolve(dir, &s, name)
	if errno != 0 {
		// A negative entry is cached for Options.NegativeTimeout, which
		// go-fuse applies only when we leave the timeout unset.
		return nil, errno
	}
	return d.child(ctx, &f, out), 0
}

// lowerHas reports whether a lower layer of directory d shows name, that
// is, whether removing the upper's name needs a whiteout.
func (u *union) lowerHas(s *state, name string) bool {
	if s.opaque {
		return false
	}
	for _, lr := range s.lowers {
		e, err := u.layers[lr.layer].lookup(lr.ref, name)
		if err == syscall.ENOENT {
			continue
		}
		return err != nil || !e.whiteout // when in doubt, white out
	}
	return false
}
