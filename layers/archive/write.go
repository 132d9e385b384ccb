package archive

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"golang.org/x/sys/unix"

	"github.com/strata-engine/strata/layers/index"
)

// Source opens regular files' contents in the object store.
type Source interface {
	OpenObject(d index.Digest) (io.ReadCloser, error)
}

// ErrObjectMismatch is returned by Write when an object's content is not
// what its digest says.
var ErrObjectMismatch = errors.New("object does not match its digest")

// Write writes x back as an uncompressed layer tar, reading file contents
// from src and verifying each against its digest as it goes. Entries come
// in x's order, so parents precede children and a hard link's leader
// precedes its other names, which are written as links to it. Whiteouts
// become empty .wh.NAME files; an opaque directory is followed by its
// .wh..wh..opq marker; implicit directories, the root included, are not
// written, and neither are sockets, which tar cannot hold (as GNU tar and
// Docker skip them). The same index always gives the same bytes.
func Write(ctx context.Context, w io.Writer, x *index.Index, src Source) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	wr := &writer{
		x:     x,
		src:   src,
		tw:    tar.NewWriter(bw),
		paths: make([]string, x.Len()),
		buf:   make([]byte, 128<<10),
		h:     sha256.New(),
	}
	done := ctx.Done()
	for i := uint32(0); i < uint32(x.Len()); i++ {
		select {
		case <-done:
			return fmt.Errorf("write layer: %w", ctx.Err())
		default:
		}
		if i > 0 {
			wr.paths[i] = wr.join(x.Parent(i), x.Name(i))
		}
		if err := wr.entry(i); err != nil {
			return fmt.Errorf("write layer: %q: %w", wr.paths[i], err)
		}
	}
	if err := wr.tw.Close(); err != nil {
		return fmt.Errorf("write layer: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write layer: %w", err)
	}
	return nil
}

type writer struct {
	x     *index.Index
	src   Source
	tw    *tar.Writer
	paths []string // of every entry so far, for links to leaders
	buf   []byte
	h     hash.Hash
}

// join names a child of directory dir in the tar.
func (w *writer) join(dir uint32, name string) string {
	if dir == 0 {
		return name
	}
	return w.paths[dir] + "/" + name
}

// marker writes an empty file that carries no metadata of its own: a
// whiteout or an opaque marker.
func (w *writer) marker(name string) error {
	return w.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, ModTime: time.Unix(0, 0)})
}

func (w *writer) entry(i uint32) error {
	x := w.x
	fl := x.Flags(i)
	if fl&index.Whiteout != 0 {
		return w.marker(w.join(x.Parent(i), whiteoutPrefix+x.Name(i)))
	}
	uid, gid := x.Owner(i)
	sec, nsec := x.Mtime(i)
	mode := x.Mode(i)
	hdr := tar.Header{
		Name:    w.paths[i],
		Mode:    int64(mode & 0o7777),
		Uid:     int(uid),
		Gid:     int(gid),
		ModTime: time.Unix(sec, int64(nsec)),
	}
	if nsec != 0 {
		// Left to choose, the writer rounds times to seconds.
		hdr.Format = tar.FormatPAX
	}
	if xa := x.Xattrs(i); len(xa) > 0 {
		hdr.PAXRecords = make(map[string]string, len(xa))
		for _, a := range xa {
			hdr.PAXRecords[xattrPrefix+a.Name] = a.Value
		}
	}
	if mode&index.TypeMask == index.TypeDir {
		if fl&index.Implicit == 0 {
			hdr.Typeflag = tar.TypeDir
			if i == 0 {
				hdr.Name = "./"
			} else {
				hdr.Name += "/"
			}
			if err := w.tw.WriteHeader(&hdr); err != nil {
				return err
			}
		}
		if fl&index.Opaque != 0 {
			return w.marker(w.join(i, opaqueMarker))
		}
		return nil
	}
	if l := x.Link(i); l != index.NoLink && l != i {
		hdr.Typeflag, hdr.Linkname = tar.TypeLink, w.paths[l]
		return w.tw.WriteHeader(&hdr)
	}
	switch mode & index.TypeMask {
	case index.TypeReg:
		hdr.Typeflag, hdr.Size = tar.TypeReg, x.Size(i)
		if err := w.tw.WriteHeader(&hdr); err != nil {
			return err
		}
		if d, ok := x.Digest(i); ok {
			return w.content(d, hdr.Size)
		}
		return nil
	case index.TypeLink:
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, x.Linkname(i)
	case index.TypeChar, index.TypeBlock:
		hdr.Typeflag = tar.TypeChar
		if mode&index.TypeMask == index.TypeBlock {
			hdr.Typeflag = tar.TypeBlock
		}
		rdev := x.Rdev(i)
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(rdev)), int64(unix.Minor(rdev))
	case index.TypeFifo:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil // a socket
	}
	return w.tw.WriteHeader(&hdr)
}

// content copies one object into the tar, checking its length and digest.
func (w *writer) content(d index.Digest, size int64) error {
	rc, err := w.src.OpenObject(d)
	if err != nil {
		return fmt.Errorf("open object %x: %w", d, err)
	}
	defer rc.Close()
	w.h.Reset()
	for left := size; left > 0; {
		n := int64(len(w.buf))
		if n > left {
			n = left
		}
		m, err := io.ReadFull(rc, w.buf[:n])
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("object %x: %w: %d of %d bytes", d, ErrObjectMismatch, size-left+int64(m), size)
		}
		if err != nil {
			return fmt.Errorf("read object %x: %w", d, err)
		}
		w.h.Write(w.buf[:m])
		if _, err := w.tw.Write(w.buf[:m]); err != nil {
			return err
		}
		left -= int64(m)
	}
	var sum index.Digest
	if w.h.Sum(sum[:0]); sum != d {
		return fmt.Errorf("object %x: %w: content hashes to %x", d, ErrObjectMismatch, sum)
	}
	if m, _ := rc.Read(w.buf[:1]); m > 0 {
		return fmt.Errorf("object %x: %w: longer than %d bytes", d, ErrObjectMismatch, size)
	}
	return nil
}
