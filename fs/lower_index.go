package fs

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/strata-engine/strata/layers/index"
)

// indexLower serves a layer, or a flattened image, from its index in
// memory; file content comes from the object store. Nothing is open while
// it is idle: each open of a file opens its object.
type indexLower struct {
	x   *index.Index
	dir string // object store: dir/<2 hex>/<64 hex>

	groupsOnce sync.Once
	groups     map[uint32][]uint32 // hard-link leader to every member
}

var (
	_ Lower = (*indexLower)(nil)
	_ layer = (*indexLower)(nil)
)

// NewIndexLower returns a lower layer whose tree is x and whose regular
// files' content lives in objectsDir under OBJECTS/<first 2 hex>/<64 hex>
// of its sha256. x is normally the flattened index of an image (see
// index.Merge); a layer index works too, its whiteouts and opaque markers
// applying to the lowers below it.
func NewIndexLower(x *index.Index, objectsDir string) Lower {
	return &indexLower{x: x, dir: objectsDir}
}

func (l *indexLower) bind() (layer, error) { return l, nil }

func (l *indexLower) root() (lentry, error) { return l.entry(0), nil }

func (l *indexLower) entry(i uint32) lentry {
	fl := l.x.Flags(i)
	e := lentry{ref: lref{id: i}, whiteout: fl&index.Whiteout != 0, opaque: fl&index.Opaque != 0}
	if !e.whiteout {
		e.attr = l.attrOf(i)
	}
	return e
}

func (l *indexLower) attrOf(i uint32) attr {
	x := l.x
	uid, gid := x.Owner(i)
	sec, nsec := x.Mtime(i)
	t := timespec{sec, nsec}
	ino := i
	if ln := x.Link(i); ln != index.NoLink {
		ino = ln // every name of a hard-link group is the leader's inode
	}
	size := x.Size(i)
	a := attr{
		ino: uint64(ino) + 1, mode: x.Mode(i), nlink: x.Nlink(i), uid: uid, gid: gid,
		rdev: x.Rdev(i), size: size, atime: t, mtime: t, ctime: t,
	}
	if a.isReg() {
		a.blocks = (size + 4095) / 4096 * 8
	}
	if a.nlink == 0 {
		a.nlink = 1
	}
	return a
}

func (l *indexLower) lookup(dir lref, name string) (lentry, error) {
	i, ok := l.x.Lookup(dir.id, name)
	if !ok {
		return lentry{}, syscall.ENOENT
	}
	return l.entry(i), nil
}

func (l *indexLower) list(dir lref, fn func(string, lentry)) error {
	first, n := l.x.Children(dir.id)
	for i := first; i < first+n; i++ {
		fn(l.x.Name(i), l.entry(i))
	}
	return nil
}

func (l *indexLower) stat(r lref) (attr, error) { return l.attrOf(r.id), nil }

func (l *indexLower) objectPath(d index.Digest) string {
	h := hex.EncodeToString(d[:])
	return filepath.Join(l.dir, h[:2], h)
}

func (l *indexLower) open(r lref) (*os.File, error) {
	d, ok := l.x.Digest(r.id)
	if !ok {
		return nil, nil
	}
	return openObject(l.objectPath(d))
}

func (l *indexLower) readlink(r lref) (string, error) {
	if l.x.Mode(r.id)&index.TypeMask != index.TypeLink {
		return "", syscall.EINVAL
	}
	return l.x.Linkname(r.id), nil
}

func (l *indexLower) xattrs(r lref) ([]index.Xattr, error) { return l.x.Xattrs(r.id), nil }

func (l *indexLower) digest(r lref) (index.Digest, bool) { return l.x.Digest(r.id) }

func (l *indexLower) objects() string { return l.dir }

func (l *indexLower) close() error { return nil }

// groupPaths returns the paths of the names of r's hard-link group, r
// included. The groups are found by one pass over the index, the first
// time a member is copied up.
func (l *indexLower) groupPaths(r lref) []member {
	l.groupsOnce.Do(func() {
		l.groups = map[uint32][]uint32{}
		for i := uint32(0); i < uint32(l.x.Len()); i++ {
			if ln := l.x.Link(i); ln != index.NoLink {
				l.groups[ln] = append(l.groups[ln], i)
			}
		}
	})
	ln := l.x.Link(r.id)
	if ln == index.NoLink {
		return nil
	}
	var out []member
	for _, m := range l.groups[ln] {
		out = append(out, member{lref{id: m}, l.x.Path(m)})
	}
	return out
}
