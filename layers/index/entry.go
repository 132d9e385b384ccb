package index

import (
	"errors"
	"strings"
)

// File type bits of Entry.Mode, as in st_mode.
const (
	TypeMask  = 0o170000
	TypeReg   = 0o100000
	TypeDir   = 0o040000
	TypeLink  = 0o120000 // symlink
	TypeChar  = 0o020000
	TypeBlock = 0o060000
	TypeFifo  = 0o010000
	TypeSock  = 0o140000
)

// Flags mark entries that are not plain files.
type Flags uint16

const (
	// Whiteout hides the name in lower layers; the entry itself is not
	// visible. Only layer indexes have whiteouts.
	Whiteout Flags = 1 << iota
	// Opaque marks a directory that hides everything below it in lower layers.
	Opaque
	// Implicit marks a directory the layer did not name but needed as the
	// parent of one it did: it does not override a lower layer's metadata.
	Implicit
)

// NoLink is the Link of an entry that is not in a hard-link group.
const NoLink = 0

// Digest is the raw sha256 of a regular file's content.
type Digest [32]byte

// IsZero reports whether d is unset (an empty file has no object).
func (d Digest) IsZero() bool { return d == Digest{} }

// Xattr is one extended attribute.
type Xattr struct {
	Name  string
	Value string
}

// Entry is one decoded entry. Readers on a hot path use the accessors of
// Index instead, which do not allocate.
type Entry struct {
	Name     string // base name; "" for the root
	Parent   uint32 // entry number of the parent directory; 0 for the root
	Mode     uint32 // st_mode: type bits and permission bits
	UID, GID uint32
	Size     int64 // regular files: content length; symlinks: target length
	Mtime    int64 // seconds since the epoch
	MtimeNs  uint32
	Rdev     uint64 // character and block devices: device number (unix.Mkdev)
	Linkname string // symlinks: the target
	Digest   Digest // regular files with content: sha256 of it
	Xattrs   []Xattr
	Flags    Flags
	Link     uint32 // hard-link leader, or NoLink
	Nlink    uint32 // link count: group size for files, 2+subdirs for dirs
}

// Type returns the file type bits of the mode.
func (e *Entry) Type() uint32 { return e.Mode & TypeMask }

// IsDir reports whether the entry is a directory.
func (e *Entry) IsDir() bool { return e.Mode&TypeMask == TypeDir }

// Errors returned when a tree or an encoding breaks the rules.
var (
	ErrCorrupt  = errors.New("corrupt index")
	ErrVersion  = errors.New("unsupported index version")
	ErrBadName  = errors.New("invalid name")
	ErrConflict = errors.New("conflicting entries")
)

// ValidName reports whether name can be one component of a path in an index.
func ValidName(name string) bool {
	return name != "" && name != "." && name != ".." && len(name) <= 4096 &&
		!strings.ContainsAny(name, "/\x00")
}

// SplitPath cleans a slash-separated path from a tar header or a Dockerfile
// into its components, rejecting any ".." (rather than resolving it, so that
// an entry can never name something outside its tree) and ignoring "." and
// leading, trailing or repeated slashes. The root is the empty slice.
func SplitPath(p string) ([]string, error) {
	var out []string
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			return nil, ErrBadName
		}
		if !ValidName(c) {
			return nil, ErrBadName
		}
		out = append(out, c)
	}
	return out, nil
}
