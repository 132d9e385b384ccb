package tarball

import (
	"archive/tar"
	"errors"
	"io"
	"path"
	"strings"
)

// maxMembers bounds the number of tar members we index. Docker writes at
// most a handful per layer; a million tiny members is an attack.
const maxMembers = 1 << 17

// maxLinkHops bounds symlink chains inside an archive.
const maxLinkHops = 16

// tarEntry is what the scan records of one tar member.
type tarEntry struct {
	link     bool   // symlink or hard link
	target   string // for links: the member linked to, cleaned, from the root
	off, len int64  // for regular files: where the data is
}

// tarSource is an indexed tar: member names to offsets in ra.
type tarSource struct {
	ra      io.ReaderAt
	entries map[string]tarEntry
}

// Read reads an image archive (docker-archive or oci-archive) from ra,
// which holds size bytes. It reads the tar headers and the JSON documents;
// the returned layers read their data from ra when opened, so ra must stay
// valid while they are used.
func Read(ra io.ReaderAt, size int64) (*Archive, error) {
	src, err := scanTar(ra, size)
	if err != nil {
		return nil, err
	}
	return read(src)
}

// scanTar indexes every member of the tar in ra.
func scanTar(ra io.ReaderAt, size int64) (*tarSource, error) {
	if size < 0 {
		return nil, invalidf("", "negative size %d", size)
	}
	// The tar reader gets the SectionReader itself so that it can Seek over
	// member data instead of reading it, and so that Seek(0, SeekCurrent)
	// after Next tells where the member's data starts.
	sr := io.NewSectionReader(ra, 0, size)
	tr := tar.NewReader(sr)
	src := &tarSource{ra: ra, entries: make(map[string]tarEntry)}
	var end int64 // where the header after the last member would start
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			// archive/tar also reports a clean EOF when the input stops
			// exactly between two members; only the end-of-archive zero
			// block tells a whole archive from one cut at a member
			// boundary, and reading it moves the position past end.
			if pos, err := sr.Seek(0, io.SeekCurrent); err != nil || pos <= end {
				return nil, invalidf("", "tar: unexpected EOF: no end-of-archive marker")
			}
			break
		}
		if err != nil {
			return nil, invalidf("", "tar: %v", err)
		}
		if len(src.entries) >= maxMembers {
			return nil, invalidf("", "more than %d members", maxMembers)
		}
		name, err := cleanMemberName(hdr.Name)
		if err != nil {
			return nil, err
		}
		if end, err = sr.Seek(0, io.SeekCurrent); err != nil {
			return nil, invalidf(name, "seek: %v", err)
		}
		var e tarEntry
		switch hdr.Typeflag {
		case tar.TypeDir, tar.TypeXGlobalHeader:
			continue
		case tar.TypeReg:
			if isSparse(hdr) {
				// The data of a sparse member is not one contiguous run of
				// the archive, so it cannot be served as a section.
				return nil, invalidf(name, "sparse members are not supported")
			}
			off := end
			if hdr.Size < 0 || off+hdr.Size > size || off+hdr.Size < off {
				return nil, invalidf(name, "tar: unexpected EOF: data runs past the end of the archive")
			}
			e = tarEntry{off: off, len: hdr.Size}
			end = off + (hdr.Size+511)&^511
		case tar.TypeSymlink:
			if hdr.Linkname == "" || path.IsAbs(hdr.Linkname) {
				return nil, invalidf(name, "symlink target %q is not a relative path", hdr.Linkname)
			}
			target, err := cleanMemberName(path.Join(path.Dir(name), hdr.Linkname))
			if err != nil {
				return nil, invalidf(name, "symlink target %q leaves the archive", hdr.Linkname)
			}
			e = tarEntry{link: true, target: target}
		case tar.TypeLink:
			target, err := cleanMemberName(hdr.Linkname)
			if err != nil {
				return nil, invalidf(name, "hard link target %q: %v", hdr.Linkname, err)
			}
			e = tarEntry{link: true, target: target}
		case tar.TypeGNUSparse:
			return nil, invalidf(name, "sparse members are not supported")
		default:
			return nil, invalidf(name, "unexpected member type %q", hdr.Typeflag)
		}
		if _, dup := src.entries[name]; dup {
			return nil, invalidf(name, "member appears twice")
		}
		src.entries[name] = e
	}
	return src, nil
}

// isSparse reports whether a regular-file header describes a PAX sparse
// file (the GNU type 'S' is refused by its type flag).
func isSparse(hdr *tar.Header) bool {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// cleanMemberName turns a tar name into the key members are looked up by.
// A leading "./" and a trailing "/" are dropped, as tar tools write both;
// anything else that is not already clean, absolute, or that climbs out with
// ".." is refused, since no well-formed archive needs it and a reader that
// extracts such names elsewhere could be tricked into writing outside its
// directory.
func cleanMemberName(name string) (string, error) {
	n := name
	for strings.HasPrefix(n, "./") {
		n = n[2:]
	}
	n = strings.TrimSuffix(n, "/")
	switch {
	case n == "" || n == ".":
		return "", invalidf(name, "empty member name")
	case path.IsAbs(n):
		return "", invalidf(name, "absolute member name")
	case n == ".." || strings.HasPrefix(n, "../") || strings.Contains(n, "/../") || strings.HasSuffix(n, "/.."):
		return "", invalidf(name, "member name climbs out of the archive")
	case path.Clean(n) != n:
		return "", invalidf(name, "member name is not clean")
	}
	return n, nil
}

func (s *tarSource) has(name string) bool {
	_, ok := s.entries[name]
	return ok
}

func (s *tarSource) member(name string) (member, error) {
	cur := name
	for range maxLinkHops {
		e, ok := s.entries[cur]
		if !ok {
			if cur == name {
				return member{}, invalidf(name, "missing")
			}
			return member{}, invalidf(name, "links to %s, which is missing", cur)
		}
		if e.link {
			cur = e.target
			continue
		}
		ra, off, n := s.ra, e.off, e.len
		return member{
			size: n,
			open: func() (io.ReadCloser, error) {
				return io.NopCloser(io.NewSectionReader(ra, off, n)), nil
			},
		}, nil
	}
	return member{}, invalidf(name, "more than %d links in a row", maxLinkHops)
}
