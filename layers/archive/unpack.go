package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/strata-engine/strata/layers/index"
)

// ErrInvalidLayer is wrapped by every error that is the fault of the layer
// stream itself rather than of reading it or storing what it holds.
var ErrInvalidLayer = errors.New("invalid layer")

// Sink stores regular files' contents in the object store.
type Sink interface {
	// PutObject stores the size bytes read from r and returns their
	// sha256. It must read r to the end of those bytes.
	PutObject(r io.Reader, size int64) (index.Digest, error)
}

// Options limit what Unpack accepts.
type Options struct {
	MaxFileSize int64 // largest regular file; 0 means 64 GiB
	MaxEntries  int   // most tar entries, and most index entries; 0 means 10 million
}

const (
	defaultMaxFileSize = 64 << 30
	defaultMaxEntries  = 10_000_000
)

// Result is what Unpack made of a layer.
type Result struct {
	Index *index.Index
	// DiffID is the sha256 of the whole uncompressed stream, the end of
	// archive blocks and any padding after them included.
	DiffID  digest.Digest
	Size    int64 // sum of regular file sizes; hard links count once
	Entries int   // tar entries read, whiteouts and markers included
}

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// Unpack reads the uncompressed layer tar r once: it hashes the stream for
// the DiffID, hands each regular file's content to sink and builds the
// layer's index. Nothing is written anywhere but through sink. A layer that
// breaks any rule of the package doc is refused whole, with an error that
// wraps ErrInvalidLayer and names the offending entry; the caller discards
// what sink stored. ctx is checked between entries.
func Unpack(ctx context.Context, r io.Reader, sink Sink, opts Options) (*Result, error) {
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = defaultMaxFileSize
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = defaultMaxEntries
	}
	u := &unpacker{
		sink: sink,
		opts: opts,
		b:    index.NewBuilder(),
		dr:   newDiffIDReader(r),
	}
	defer u.dr.close()
	res, err := u.run(ctx)
	if err != nil {
		return nil, fmt.Errorf("unpack layer: %w", err)
	}
	return res, nil
}

type unpacker struct {
	sink      Sink
	opts      Options
	b         *index.Builder
	dr        *diffIDReader
	bw        blockWatcher
	tr        *tar.Reader
	file      fileReader
	whiteouts []whiteout
	res       Result
}

// whiteout is a .wh. entry, applied once the whole layer is read.
type whiteout struct {
	entry string // the tar name, for errors
	path  string // what it hides
}

func (u *unpacker) run(ctx context.Context) (*Result, error) {
	u.bw.r = u.dr
	u.tr = tar.NewReader(&u.bw)
	done := ctx.Done()
	for {
		select {
		case <-done:
			return nil, ctx.Err()
		default:
		}
		u.bw.watch()
		hdr, err := u.tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, u.streamError("", err)
		}
		u.res.Entries++
		if u.res.Entries > u.opts.MaxEntries || u.b.Len() > u.opts.MaxEntries {
			return nil, fmt.Errorf("%w: more than %d entries", ErrInvalidLayer, u.opts.MaxEntries)
		}
		if err := u.entry(hdr); err != nil {
			return nil, err
		}
	}
	if u.dr.n == 0 {
		return nil, fmt.Errorf("%w: empty stream", ErrInvalidLayer)
	}
	if !u.bw.zero() {
		return nil, fmt.Errorf("%w: truncated: no end-of-archive marker", ErrInvalidLayer)
	}
	// Whiteouts apply to lower layers only (image-spec layer.md): one that
	// names an entry of this same layer turns a directory opaque and is
	// redundant for anything else, which replaces the lower name anyway.
	// Applying them last makes that independent of the order in the tar.
	for _, w := range u.whiteouts {
		e, ok := u.b.Stat(w.path)
		var err error
		switch {
		case !ok:
			err = u.b.Whiteout(w.path)
		case e.IsDir() && e.Flags&index.Whiteout == 0:
			err = u.b.SetOpaque(w.path)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrInvalidLayer, w.entry, err)
		}
	}
	// The DiffID covers the padding tar writers add after the end of
	// archive blocks, so read to the real end.
	if _, err := io.Copy(io.Discard, u.dr); err != nil {
		return nil, u.streamError("", err)
	}
	x, err := u.b.Build()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidLayer, err)
	}
	u.res.Index = x
	u.res.DiffID = digest.NewDigestFromBytes(digest.SHA256, u.dr.sum())
	return &u.res, nil
}

// streamError classifies an error met while reading the tar: a short
// stream or a malformed header is the layer's fault, a failed read is not.
func (u *unpacker) streamError(name string, err error) error {
	at := ""
	if name != "" {
		at = fmt.Sprintf(" in %q", name)
	}
	switch {
	case errors.Is(err, ErrInvalidLayer):
		return err // from the decompressor
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: truncated%s: %w", ErrInvalidLayer, at, err)
	case u.dr.srcErr != nil && errors.Is(err, u.dr.srcErr):
		return err
	}
	return fmt.Errorf("%w: bad tar%s: %w", ErrInvalidLayer, at, err)
}

func (u *unpacker) entry(hdr *tar.Header) error {
	name := hdr.Name
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		// Global PAX records (git archive writes a commit id) describe
		// the archive, not a file.
		return nil
	}
	if err := checkPath(name); err != nil {
		return fmt.Errorf("%w: %q: %v", ErrInvalidLayer, name, err)
	}
	if strings.Contains(name, whiteoutPrefix) {
		if done, err := u.whiteoutEntry(name); done || err != nil {
			return err
		}
	}
	e := index.Entry{Mode: uint32(hdr.Mode & 0o7777)}
	if hdr.Uid < 0 || hdr.Gid < 0 || int64(hdr.Uid) > math.MaxUint32 || int64(hdr.Gid) > math.MaxUint32 {
		return fmt.Errorf("%w: %q: owner %d:%d out of range", ErrInvalidLayer, name, hdr.Uid, hdr.Gid)
	}
	e.UID, e.GID = uint32(hdr.Uid), uint32(hdr.Gid)
	e.Mtime, e.MtimeNs = hdr.ModTime.Unix(), uint32(hdr.ModTime.Nanosecond())
	if len(hdr.PAXRecords) > 0 {
		e.Xattrs = xattrs(hdr.PAXRecords)
	}
	var err error
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeGNUSparse, tar.TypeCont:
		// archive/tar has already turned the old '\x00' type into
		// TypeReg and expands sparse files; POSIX says to read a
		// contiguous file ('7') as a regular one.
		e.Mode |= index.TypeReg
		if err := u.content(name, hdr.Size, &e); err != nil {
			return err
		}
		err = u.b.Add(name, e)
	case tar.TypeDir:
		e.Mode |= index.TypeDir
		err = u.b.Add(name, e)
	case tar.TypeSymlink:
		e.Mode |= index.TypeLink
		e.Linkname = hdr.Linkname
		err = u.b.Add(name, e)
	case tar.TypeLink:
		if perr := checkPath(hdr.Linkname); perr != nil {
			return fmt.Errorf("%w: %q: hard link to %q: %v", ErrInvalidLayer, name, hdr.Linkname, perr)
		}
		err = u.b.Hardlink(name, hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock:
		if hdr.Devmajor < 0 || hdr.Devminor < 0 || hdr.Devmajor > math.MaxUint32 || hdr.Devminor > math.MaxUint32 {
			return fmt.Errorf("%w: %q: device %d:%d out of range", ErrInvalidLayer, name, hdr.Devmajor, hdr.Devminor)
		}
		if hdr.Typeflag == tar.TypeChar {
			e.Mode |= index.TypeChar
		} else {
			e.Mode |= index.TypeBlock
		}
		e.Rdev = unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		err = u.b.Add(name, e)
	case tar.TypeFifo:
		e.Mode |= index.TypeFifo
		err = u.b.Add(name, e)
	default:
		return fmt.Errorf("%w: %q: unsupported entry type %q", ErrInvalidLayer, name, hdr.Typeflag)
	}
	if err != nil {
		return fmt.Errorf("%w: %q: %w", ErrInvalidLayer, name, err)
	}
	return nil
}

// content streams a regular file's data to the sink.
func (u *unpacker) content(name string, size int64, e *index.Entry) error {
	if size < 0 || size > u.opts.MaxFileSize {
		return fmt.Errorf("%w: %q: size %d out of range (limit %d)", ErrInvalidLayer, name, size, u.opts.MaxFileSize)
	}
	e.Size = size
	if size == 0 {
		return nil
	}
	u.file = fileReader{r: u.tr}
	d, err := u.sink.PutObject(&u.file, size)
	if u.file.err != nil {
		// The sink saw the read fail; say why in the layer's terms.
		return u.streamError(name, u.file.err)
	}
	if err != nil {
		return fmt.Errorf("store %q: %w", name, err)
	}
	if u.file.n != size {
		return fmt.Errorf("store %q: sink read %d of %d bytes", name, u.file.n, size)
	}
	e.Digest = d
	u.res.Size += size
	return nil
}

// whiteoutEntry handles an entry whose name has a ".wh." component. done
// reports that it was a whiteout or an opaque marker and needs no more.
func (u *unpacker) whiteoutEntry(name string) (done bool, err error) {
	dir, base := splitLast(name)
	if strings.Contains(dir+"/", "/"+whiteoutPrefix) || strings.HasPrefix(dir, whiteoutPrefix) {
		return true, fmt.Errorf("%w: %q: whiteout used as a directory", ErrInvalidLayer, name)
	}
	switch {
	case !strings.HasPrefix(base, whiteoutPrefix):
		return false, nil
	case base == opaqueMarker:
		if err := u.b.SetOpaque(dir); err != nil {
			return true, fmt.Errorf("%w: %q: %w", ErrInvalidLayer, name, err)
		}
		return true, nil
	case strings.HasPrefix(base, whiteoutPrefix+whiteoutPrefix):
		// AUFS metadata such as .wh..wh.plnk; OCI defines only the
		// opaque marker.
		return true, fmt.Errorf("%w: %q: unsupported whiteout", ErrInvalidLayer, name)
	}
	target := base[len(whiteoutPrefix):]
	if !index.ValidName(target) {
		return true, fmt.Errorf("%w: %q: whiteout of an invalid name", ErrInvalidLayer, name)
	}
	if dir != "" {
		target = dir + "/" + target
	}
	u.whiteouts = append(u.whiteouts, whiteout{entry: name, path: target})
	return true, nil
}

// splitLast splits a tar name into its directory and its last component,
// ignoring trailing slashes: "a/b/" gives "a", "b".
func splitLast(name string) (dir, base string) {
	name = strings.TrimRight(name, "/")
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}

// checkPath refuses names that could reach outside the layer's tree:
// absolute ones and any with a ".." component. "./x" is fine. Other bad
// names (NUL, empty or overlong components) are left to the Builder.
func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty name")
	case p[0] == '/':
		return errors.New("absolute path")
	}
	for rest := p; ; {
		c := rest
		i := strings.IndexByte(rest, '/')
		if i >= 0 {
			c = rest[:i]
		}
		if c == ".." {
			return errors.New(`".." in path`)
		}
		if i < 0 {
			return nil
		}
		rest = rest[i+1:]
	}
}

const xattrPrefix = "SCHILY.xattr."

// xattrs collects the extended attributes of a PAX header, sorted by name
// so that the index does not depend on map order.
func xattrs(recs map[string]string) []index.Xattr {
	var out []index.Xattr
	for k, v := range recs {
		if name, ok := strings.CutPrefix(k, xattrPrefix); ok {
			out = append(out, index.Xattr{Name: name, Value: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// blockWatcher sits between archive/tar and the stream and keeps a copy of
// the block where the next header must start. archive/tar reports io.EOF
// both for the end-of-archive marker and for a stream that simply stops
// between entries or in an entry's padding; only the first has a zero
// block there. Every entry's data is read in full before the next header,
// so that block is the first one boundary after what tar has consumed.
type blockWatcher struct {
	r   io.Reader
	n   int64 // bytes delivered
	at  int64 // offset of the watched block
	got int   // bytes of it seen so far
	blk [512]byte
}

func (b *blockWatcher) watch() {
	b.at, b.got = (b.n+511)&^511, 0
}

func (b *blockWatcher) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if end := b.n + int64(n); b.got < len(b.blk) && end > b.at {
		lo := max(b.at, b.n)
		hi := min(b.at+int64(len(b.blk)), end)
		copy(b.blk[lo-b.at:], p[lo-b.n:hi-b.n])
		b.got = int(hi - b.at)
	}
	b.n += int64(n)
	return n, err
}

// zero reports whether the watched block was read in full and is zero.
func (b *blockWatcher) zero() bool {
	return b.got == len(b.blk) && b.blk == [512]byte{}
}

// fileReader is what the sink reads one file through: it counts, and
// keeps the error so that a truncated tar is reported as such whatever the
// sink makes of it.
type fileReader struct {
	r   io.Reader
	n   int64
	err error
}

func (f *fileReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	f.n += int64(n)
	if err != nil && err != io.EOF {
		f.err = err
	}
	return n, err
}
