package fs

import (
	"context"
	"strings"
	"sync"
	"syscall"
	"time"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/strata-engine/strata/layers/index"
)

// node is one object of the union: a file, directory, symlink or device
// as the mount shows it, whichever layers it comes from.
type node struct {
	fusefs.Inode
	u *union

	// mu guards the fields below. Lock order: an ancestor's mu before a
	// descendant's; never two unrelated nodes at once.
	mu sync.Mutex
	// upper is set when the upper directory has this object at the node's
	// path. It only ever goes from false to true, by copy-up or creation.
	upper bool
	// opaque marks an upper directory that hides what lowers have at its
	// path; its children then come from the upper alone.
	opaque bool
	// lowers are where the object comes from below the upper: for a
	// directory every lower directory merged into it, top first; for
	// anything else the one lower entry it shows (or copied up from).
	lowers []lowerRef
	// la are the attributes of lowers[0], read when the node was made
	// (zero when unknown): a lower never changes, so GETATTR of a node
	// without an upper object needs no system call.
	la   attr
	meta upperMeta
	// lxattrs caches the extended attributes of lowers[0] once read
	// (lxattrsOK), for the same reason.
	lxattrs   []index.Xattr
	lxattrsOK bool
	// handles are the open files of the node, used to reach an upper
	// object that has lost its last name and to keep the I/O modes of
	// the kernel consistent (see file_linux.go).
	handles []*handle
	// orphan is set once the node has no name in the upper or the lowers:
	// it was unlinked while open, or made by O_TMPFILE.
	orphan bool
}

type lowerRef struct {
	layer int // into union.layers
	ref   lref
}

var (
	_ fusefs.InodeEmbedder     = (*node)(nil)
	_ fusefs.NodeGetattrer     = (*node)(nil)
	_ fusefs.NodeLookuper      = (*node)(nil)
	_ fusefs.NodeStatfser      = (*node)(nil)
	_ fusefs.NodeReadlinker    = (*node)(nil)
	_ fusefs.NodeGetxattrer    = (*node)(nil)
	_ fusefs.NodeListxattrer   = (*node)(nil)
	_ fusefs.NodeSetxattrer    = (*node)(nil)
	_ fusefs.NodeRemovexattrer = (*node)(nil)
)

// state is a snapshot of a node's layers.
type state struct {
	upper, opaque, orphan bool
	lowers                []lowerRef
	la                    attr
	meta                  upperMeta
}

func (n *node) snapshot() state {
	n.mu.Lock()
	defer n.mu.Unlock()
	return state{upper: n.upper, opaque: n.opaque, orphan: n.orphan, lowers: n.lowers, la: n.la, meta: n.meta}
}

// relPath returns the node's path below the union root ("" for the root),
// walking the kernel-facing tree. A node cut off from the root has none.
func (n *node) relPath() (string, syscall.Errno) {
	// Every request on an upper object asks for its path: collect the
	// names leaf first (on the stack for paths of usual depth), then build
	// the string in one allocation.
	var buf [24]string
	parts := buf[:0]
	size := 0
	cur := n.EmbeddedInode()
	root := cur.Root()
	for cur != root {
		name, parent := cur.Parent()
		if parent == nil {
			return "", syscall.ESTALE
		}
		parts = append(parts, name)
		size += len(name) + 1
		cur = parent
	}
	if len(parts) == 0 {
		return "", 0
	}
	var b strings.Builder
	b.Grow(size - 1)
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString(parts[i])
		if i > 0 {
			b.WriteByte('/')
		}
	}
	return b.String(), 0
}

// parentNode returns the directory the node is in, nil for the root or an
// orphan.
func (n *node) parentNode() (string, *node) {
	name, p := n.Parent()
	if p == nil {
		return "", nil
	}
	pn, _ := p.Operations().(*node)
	return name, pn
}

func (n *node) isDir() bool { return n.StableAttr().Mode&syscall.S_IFMT == syscall.S_IFDIR }

func (u *union) abs(rel string) string {
	if rel == "" {
		return u.upperDir
	}
	return u.upperDir + "/" + rel
}

// attr returns the node's attributes. fh, when the kernel names an open
// file, reaches an upper file that has lost its name.
func (n *node) attr(fh *handle) (attr, syscall.Errno) {
	s := n.snapshot()
	var a attr
	switch {
	case s.upper:
		var st unix.Statx_t
		err := syscall.ENOENT
		if !s.orphan {
			if p, errno := n.relPath(); errno == 0 {
				err = errnoOf(statxAt(n.u.upperFd, relPath(p), &st))
			}
		}
		if err != 0 {
			fd := n.anyUpperFd(fh)
			if fd < 0 {
				return a, err
			}
			if e := fstatx(fd, &st); e != nil {
				return a, errnoOf(e)
			}
		}
		a = attrFromStatx(&st)
		s.meta.apply(&a)
		if a.isDir() && !s.opaque && len(s.lowers) > 0 {
			a.nlink = 1 // a merged directory: its link count is unknown, as overlayfs says
		}
	case len(s.lowers) > 0:
		a = s.la
		if a.mode == 0 {
			lr := s.lowers[0]
			var err error
			if a, err = n.u.layers[lr.layer].stat(lr.ref); err != nil {
				return a, errnoOf(err)
			}
		}
		if a.isDir() && len(s.lowers) > 1 {
			a.nlink = 1
		}
	default:
		return a, syscall.ESTALE
	}
	a.ino = n.StableAttr().Ino
	if s.orphan {
		a.nlink = 0
	}
	return a, 0
}

// anyUpperFd returns a descriptor on the node's upper object from fh or
// any open handle, -1 for none.
func (n *node) anyUpperFd(fh *handle) int {
	if fh != nil && fh.isUpper() {
		return fh.fd()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, h := range n.handles {
		if h.isUpper() {
			return h.fd()
		}
	}
	return -1
}

func fillAttr(a *attr, out *fuse.Attr) {
	*out = fuse.Attr{
		Ino: a.ino, Size: uint64(a.size), Blocks: uint64(a.blocks),
		Atime: uint64(a.atime.sec), Atimensec: a.atime.nsec,
		Mtime: uint64(a.mtime.sec), Mtimensec: a.mtime.nsec,
		Ctime: uint64(a.ctime.sec), Ctimensec: a.ctime.nsec,
		Mode: a.mode, Nlink: a.nlink, Rdev: uint32(a.rdev), Blksize: 4096,
	}
	out.Uid, out.Gid = a.uid, a.gid
}

// ttl is how long the kernel may cache what it learns about the node: the
// lowers never change, the upper changes only through the mount, but the
// lead's tools may look at it from outside.
func (n *node) ttl() time.Duration {
	n.mu.Lock()
	up := n.upper
	n.mu.Unlock()
	if up {
		return n.u.upperTTL
	}
	return n.u.lowerTTL
}

func (n *node) Getattr(ctx context.Context, f fusefs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	h, _ := f.(*handle)
	a, errno := n.attr(h)
	if errno != 0 {
		return errno
	}
	fillAttr(&a, &out.Attr)
	out.SetTimeout(n.ttl())
	return 0
}

func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	var st syscall.Statfs_t
	path := n.u.upperDir
	if n.u.readOnly() {
		path = n.u.workDir
		if path == "" {
			path = "/"
		}
	}
	if err := syscall.Statfs(path, &st); err != nil {
		return errnoOf(err)
	}
	out.FromStatfsT(&st)
	return 0
}

func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	s := n.snapshot()
	if s.upper {
		p, errno := n.relPath()
		if errno != 0 {
			return nil, errno
		}
		t, err := readlinkAt(n.u.upperFd, p)
		return []byte(t), errnoOf(err)
	}
	if len(s.lowers) == 0 {
		return nil, syscall.ESTALE
	}
	lr := s.lowers[0]
	t, err := n.u.layers[lr.layer].readlink(lr.ref)
	return []byte(t), errnoOf(err)
}

// lowerXattrs returns the extended attributes of the node's lower object,
// reading them once.
func (n *node) lowerXattrs(lr lowerRef) ([]index.Xattr, error) {
	n.mu.Lock()
	xs, ok := n.lxattrs, n.lxattrsOK
	n.mu.Unlock()
	if ok {
		return xs, nil
	}
	xs, err := n.u.layers[lr.layer].xattrs(lr.ref)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.lxattrs, n.lxattrsOK = xs, true
	n.mu.Unlock()
	return xs, nil
}
