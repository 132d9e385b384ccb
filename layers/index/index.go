package index

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"os"
	"strings"
	"unsafe"
)

// Index is a decoded, checked index. It reads straight from its encoding and
// never changes, so it is safe for concurrent use. Entry numbers passed to
// its methods must be below Len(); numbers it returns always are.
type Index struct {
	data  []byte
	ents  []byte
	digs  []byte
	xats  []byte
	strs  []byte
	n     uint32
	ndig  uint32
	nxatt uint32
}

// Load reads and decodes the index file at path.
func Load(path string) (*Index, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	x, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return x, nil
}

// Decode checks data and returns the index it encodes. The Index keeps data,
// which the caller must not change afterwards.
func Decode(data []byte) (*Index, error) {
	if len(data) < headerSize || string(data[:8]) != magic {
		return nil, fmt.Errorf("%w: bad header", ErrCorrupt)
	}
	if v := le.Uint32(data[8:]); v != Version {
		return nil, fmt.Errorf("%w %d", ErrVersion, v)
	}
	if le.Uint32(data[12:]) != 0 {
		return nil, fmt.Errorf("%w: unknown flags", ErrCorrupt)
	}
	n, ndig, nx, ns := uint64(le.Uint32(data[16:])), uint64(le.Uint32(data[20:])), uint64(le.Uint32(data[24:])), uint64(le.Uint32(data[28:]))
	want := headerSize + n*recordSize + ndig*digestSize + nx*xattrSize + ns
	if n == 0 || uint64(len(data)) != want {
		return nil, fmt.Errorf("%w: size %d does not match header (%d)", ErrCorrupt, len(data), want)
	}
	if crc32.Checksum(data[headerSize:], castagnoli) != le.Uint32(data[32:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	x := &Index{data: data, n: uint32(n), ndig: uint32(ndig), nxatt: uint32(nx)}
	p := uint64(headerSize)
	x.ents, p = data[p:p+n*recordSize], p+n*recordSize
	x.digs, p = data[p:p+ndig*digestSize], p+ndig*digestSize
	x.xats, p = data[p:p+nx*xattrSize], p+nx*xattrSize
	x.strs = data[p:]
	for k := 0; k < len(x.digs); k += digestSize {
		// An all-zero digest means "no content" to every reader.
		if Digest(x.digs[k : k+digestSize]).IsZero() {
			return nil, fmt.Errorf("%w: digest %d is zero", ErrCorrupt, k/digestSize)
		}
	}
	if err := x.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return x, nil
}

func (x *Index) rec(i uint32) []byte { return x.ents[int(i)*recordSize : int(i+1)*recordSize] }

func (x *Index) str(off, n uint32) string {
	if n == 0 {
		return ""
	}
	return unsafe.String(&x.strs[off], int(n))
}

func (x *Index) strOK(off, n uint32) bool { return uint64(off)+uint64(n) <= uint64(len(x.strs)) }

// check verifies every invariant of the package doc.
func (x *Index) check() error {
	next := uint32(1) // where the next directory's children must start
	for i := uint32(0); i < x.n; i++ {
		r := x.rec(i)
		mode := le.Uint32(r[offMode:])
		fl := Flags(le.Uint16(r[offFlags:]))
		nameOff, nameLen := le.Uint32(r[offNameOff:]), uint32(le.Uint16(r[offNameLen:]))
		parent := le.Uint32(r[offParent:])
		a, b := le.Uint32(r[offA:]), le.Uint32(r[offB:])
		if !x.strOK(nameOff, nameLen) {
			return fmt.Errorf("entry %d: name out of bounds", i)
		}
		name := x.str(nameOff, nameLen)
		if i == 0 {
			if name != "" || parent != 0 || mode&TypeMask != TypeDir || fl&Whiteout != 0 {
				return fmt.Errorf("entry 0 is not a root directory")
			}
		} else {
			if parent >= i || x.Mode(parent)&TypeMask != TypeDir || x.Flags(parent)&Whiteout != 0 {
				return fmt.Errorf("entry %d: bad parent %d", i, parent)
			}
			if !ValidName(name) {
				return fmt.Errorf("entry %d: bad name %q", i, name)
			}
			if fp, np := x.Children(parent); i < fp || i >= fp+np {
				return fmt.Errorf("entry %d: not among its parent's children", i)
			}
			if i > 1 && le.Uint32(x.rec(i - 1)[offParent:]) == parent && x.Name(i-1) >= name {
				return fmt.Errorf("entry %d: children not sorted", i)
			}
		}
		if fl&^(Whiteout|Opaque|Implicit) != 0 {
			return fmt.Errorf("entry %d: unknown flags", i)
		}
		if fl&(Opaque|Implicit) != 0 && mode&TypeMask != TypeDir {
			return fmt.Errorf("entry %d: flags on a non-directory", i)
		}
		if int64(le.Uint64(r[offSize:])) < 0 || le.Uint32(r[offMtimeNs:]) >= 1e9 {
			return fmt.Errorf("entry %d: bad size or time", i)
		}
		switch mode & TypeMask {
		case TypeDir:
			if b > 0 {
				if a != next || uint64(a)+uint64(b) > uint64(x.n) {
					return fmt.Errorf("entry %d: bad children %d+%d", i, a, b)
				}
				next += b
			}
		case TypeReg:
			if a > x.ndig || (a == 0 && x.Size(i) > 0) {
				return fmt.Errorf("entry %d: bad digest number", i)
			}
		case TypeLink:
			if b == 0 || !x.strOK(a, b) || int64(b) != x.Size(i) {
				return fmt.Errorf("entry %d: bad symlink target", i)
			}
		case TypeChar, TypeBlock, TypeFifo, TypeSock:
		default:
			return fmt.Errorf("entry %d: bad file type %o", i, mode)
		}
		xs, xn := le.Uint32(r[offXStart:]), uint32(le.Uint16(r[offXCount:]))
		if uint64(xs)+uint64(xn) > uint64(x.nxatt) {
			return fmt.Errorf("entry %d: xattrs out of bounds", i)
		}
		for k := xs; k < xs+xn; k++ {
			xr := x.xats[k*xattrSize:]
			if !x.strOK(le.Uint32(xr), le.Uint32(xr[4:])) || !x.strOK(le.Uint32(xr[8:]), le.Uint32(xr[12:])) || le.Uint32(xr[4:]) == 0 {
				return fmt.Errorf("entry %d: bad xattr", i)
			}
		}
		if l := le.Uint32(r[offLink:]); l != NoLink {
			if l > i || mode&TypeMask == TypeDir || le.Uint32(x.rec(l)[offLink:]) != l ||
				!bytes.Equal(r[offMode:offParent], x.rec(l)[offMode:offParent]) || a != le.Uint32(x.rec(l)[offA:]) {
				return fmt.Errorf("entry %d: bad hard link to %d", i, l)
			}
		}
	}
	if next != x.n {
		return fmt.Errorf("children cover %d of %d entries", next, x.n)
	}
	return nil
}

// Bytes returns the encoding, to be written to a file.
func (x *Index) Bytes() []byte { return x.data }

// Len returns the number of entries, root included.
func (x *Index) Len() int { return int(x.n) }

// Name returns the base name of entry i ("" for the root). The string
// shares memory with the index.
func (x *Index) Name(i uint32) string {
	r := x.rec(i)
	return x.str(le.Uint32(r[offNameOff:]), uint32(le.Uint16(r[offNameLen:])))
}

// Parent returns the directory holding entry i (0 for the root itself).
func (x *Index) Parent(i uint32) uint32 { return le.Uint32(x.rec(i)[offParent:]) }

// Mode returns st_mode of entry i.
func (x *Index) Mode(i uint32) uint32 { return le.Uint32(x.rec(i)[offMode:]) }

// IsDir reports whether entry i is a directory (and not a whiteout).
func (x *Index) IsDir(i uint32) bool { return x.Mode(i)&TypeMask == TypeDir }

// Owner returns the uid and gid of entry i.
func (x *Index) Owner(i uint32) (uid, gid uint32) {
	r := x.rec(i)
	return le.Uint32(r[offUID:]), le.Uint32(r[offGID:])
}

// Size returns the content length of a file or the target length of a symlink.
func (x *Index) Size(i uint32) int64 { return int64(le.Uint64(x.rec(i)[offSize:])) }

// Mtime returns the modification time of entry i.
func (x *Index) Mtime(i uint32) (sec int64, nsec uint32) {
	r := x.rec(i)
	return int64(le.Uint64(r[offMtime:])), le.Uint32(r[offMtimeNs:])
}

// Flags returns the whiteout, opaque and implicit markers of entry i.
func (x *Index) Flags(i uint32) Flags { return Flags(le.Uint16(x.rec(i)[offFlags:])) }

// Nlink returns the link count of entry i.
func (x *Index) Nlink(i uint32) uint32 { return uint32(le.Uint16(x.rec(i)[offNlink:])) }

// Link returns the hard-link leader of entry i, or NoLink.
func (x *Index) Link(i uint32) uint32 { return le.Uint32(x.rec(i)[offLink:]) }

// Rdev returns the device number of a character or block device.
func (x *Index) Rdev(i uint32) uint64 {
	switch x.Mode(i) & TypeMask {
	case TypeChar, TypeBlock:
		r := x.rec(i)
		return uint64(le.Uint32(r[offA:])) | uint64(le.Uint32(r[offB:]))<<32
	}
	return 0
}

// Linkname returns the target of a symlink, "" for anything else.
func (x *Index) Linkname(i uint32) string {
	if x.Mode(i)&TypeMask != TypeLink {
		return ""
	}
	r := x.rec(i)
	return x.str(le.Uint32(r[offA:]), le.Uint32(r[offB:]))
}

// Digest returns the sha256 of a regular file's content; ok is false for
// empty files and anything that is not a regular file.
func (x *Index) Digest(i uint32) (d Digest, ok bool) {
	if x.Mode(i)&TypeMask != TypeReg {
		return d, false
	}
	a := le.Uint32(x.rec(i)[offA:])
	if a == 0 {
		return d, false
	}
	copy(d[:], x.digs[(a-1)*digestSize:a*digestSize])
	return d, true
}

// NumDigests returns how many distinct contents the index refers to.
func (x *Index) NumDigests() int { return int(x.ndig) }

// DigestAt returns the k-th distinct content digest.
func (x *Index) DigestAt(k int) (d Digest) {
	copy(d[:], x.digs[k*digestSize:(k+1)*digestSize])
	return d
}

// Children returns the run of entries in directory i: numbers first to
// first+n-1. n is 0 for anything that is not a non-empty directory.
func (x *Index) Children(i uint32) (first, n uint32) {
	r := x.rec(i)
	if le.Uint32(r[offMode:])&TypeMask != TypeDir {
		return 0, 0
	}
	return le.Uint32(r[offA:]), le.Uint32(r[offB:])
}

// Lookup finds name in directory dir.
func (x *Index) Lookup(dir uint32, name string) (uint32, bool) {
	lo, n := x.Children(dir)
	hi := lo + n
	for lo < hi {
		m := lo + (hi-lo)/2
		switch c := strings.Compare(x.Name(m), name); {
		case c == 0:
			return m, true
		case c < 0:
			lo = m + 1
		default:
			hi = m
		}
	}
	return 0, false
}

// Resolve finds the entry at a slash-separated path, without following
// symlinks.
func (x *Index) Resolve(path string) (uint32, bool) {
	parts, err := SplitPath(path)
	if err != nil {
		return 0, false
	}
	i := uint32(0)
	for _, c := range parts {
		var ok bool
		if i, ok = x.Lookup(i, c); !ok {
			return 0, false
		}
	}
	return i, true
}

// Xattrs returns the extended attributes of entry i.
func (x *Index) Xattrs(i uint32) []Xattr {
	r := x.rec(i)
	xs, xn := le.Uint32(r[offXStart:]), uint32(le.Uint16(r[offXCount:]))
	if xn == 0 {
		return nil
	}
	out := make([]Xattr, 0, xn)
	for k := xs; k < xs+xn; k++ {
		xr := x.xats[k*xattrSize:]
		out = append(out, Xattr{
			Name:  x.str(le.Uint32(xr), le.Uint32(xr[4:])),
			Value: x.str(le.Uint32(xr[8:]), le.Uint32(xr[12:])),
		})
	}
	return out
}

// Path returns the slash-separated path of entry i relative to the root,
// without a leading slash ("" for the root).
func (x *Index) Path(i uint32) string {
	var parts []string
	for i != 0 {
		parts = append(parts, x.Name(i))
		i = x.Parent(i)
	}
	for l, r := 0, len(parts)-1; l < r; l, r = l+1, r-1 {
		parts[l], parts[r] = parts[r], parts[l]
	}
	return strings.Join(parts, "/")
}

// Entry decodes entry i in full.
func (x *Index) Entry(i uint32) Entry {
	uid, gid := x.Owner(i)
	sec, nsec := x.Mtime(i)
	d, _ := x.Digest(i)
	return Entry{
		Name: x.Name(i), Parent: x.Parent(i), Mode: x.Mode(i), UID: uid, GID: gid,
		Size: x.Size(i), Mtime: sec, MtimeNs: nsec, Rdev: x.Rdev(i), Linkname: x.Linkname(i),
		Digest: d, Xattrs: x.Xattrs(i), Flags: x.Flags(i), Link: x.Link(i), Nlink: x.Nlink(i),
	}
}

// Walk calls fn for every entry in breadth-first order with its path
// (without a leading slash; "" for the root). A non-nil error from fn stops
// the walk and is returned.
func (x *Index) Walk(fn func(i uint32, path string) error) error {
	paths := make([]string, x.n)
	for i := uint32(0); i < x.n; i++ {
		if i > 0 {
			if p := paths[x.Parent(i)]; p == "" {
				paths[i] = x.Name(i)
			} else {
				paths[i] = p + "/" + x.Name(i)
			}
		}
		if err := fn(i, paths[i]); err != nil {
			return err
		}
	}
	return nil
}
