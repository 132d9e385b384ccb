package fs

import (
	"os"

	"github.com/strata-engine/strata/layers/index"
)

// A Lower describes one read-only tree below the upper directory.
// NewIndexLower and NewDirLower make the two kinds there are. Its method is
// unexported so that the set of kinds, and what the union asks of them
// (layer, a dozen small questions), can change without breaking callers.
type Lower interface {
	// bind makes the live layer a mount reads from: it opens what the
	// layer needs open. A Lower is only a description, so one can be
	// mounted many times.
	bind() (layer, error)
}

// layer is a Lower bound to a mount.
type layer interface {
	// root returns the layer's root directory.
	root() (lentry, error)
	// lookup finds name in directory dir. A name the layer does not have
	// is ENOENT; a whiteout is an entry with whiteout set.
	lookup(dir lref, name string) (lentry, error)
	// list calls fn for every entry of dir, whiteouts included, in no
	// particular order.
	list(dir lref, fn func(name string, e lentry)) error
	// stat returns the attributes of r.
	stat(r lref) (attr, error)
	// open returns r's content for reading, or nil for an empty file.
	open(r lref) (*os.File, error)
	// readlink returns the target of a symlink.
	readlink(r lref) (string, error)
	// xattrs returns r's extended attributes, without the layer's private
	// ones (overlay whiteout and opaque markers).
	xattrs(r lref) ([]index.Xattr, error)
	// digest returns the object holding r's content, if the layer keeps
	// content in the object store; a copy-up can then refer to the object
	// instead of copying it (a metadata-only copy-up).
	digest(r lref) (index.Digest, bool)
	// objects returns the object store directory, "" for none.
	objects() string
	// close releases what the layer holds open.
	close() error
}

// lref names one entry of one layer: an entry number in an index, a path
// below the root of a directory.
type lref struct {
	id   uint32
	path string
}

// lentry is what a lookup in one layer finds.
type lentry struct {
	ref      lref
	attr     attr
	whiteout bool // hides the name in the layers below
	opaque   bool // a directory that hides the layers below
	// lazyOpaque says opaque was not looked at: the layer is an
	// opaqueChecker, asked only when a directory below would merge.
	lazyOpaque bool
}

// opaqueChecker is a layer that may leave the opaque test of a directory
// for later (lentry.lazyOpaque), because it costs system calls that most
// directories, found in one layer only, never need.
type opaqueChecker interface {
	isOpaque(r lref) bool
}

// nameLister is a layer that lists a directory's names, telling whiteouts
// apart, more cheaply than list: whether a directory is empty needs no
// attributes.
type nameLister interface {
	listNames(dir lref, fn func(name string, whiteout bool) error) error
}

// attr is the part of struct stat the union passes on. ino is local to the
// layer; the union adds the layer's prefix (see the package doc).
type attr struct {
	ino    uint64
	mode   uint32
	nlink  uint32
	uid    uint32
	gid    uint32
	rdev   uint64
	size   int64
	blocks int64
	atime  timespec
	mtime  timespec
	ctime  timespec
	btime  timespec // zero when the filesystem does not record it
}

type timespec struct {
	sec  int64
	nsec uint32
}

func (a *attr) isDir() bool { return a.mode&index.TypeMask == index.TypeDir }
func (a *attr) isReg() bool { return a.mode&index.TypeMask == index.TypeReg }

// linkGrouper is a layer that knows every name of a hard-link group. When
// one name is copied up the others are linked to the copy, so that they
// stay one file (as overlayfs's index=on does).
type linkGrouper interface {
	// groupPaths returns the members of r's group, r included.
	groupPaths(r lref) []member
}

// member is one name of a hard-link group: the entry and its path from
// the layer's root.
type member struct {
	ref  lref
	path string
}
