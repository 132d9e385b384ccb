package layers

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/opencontainers/go-digest"
)

// maxMetaBlob bounds manifests and configs read into memory: real ones are
// kilobytes; anything near this is an attack or a mistake.
const maxMetaBlob = 16 << 20

// blobWriter stages one blob in tmp/, hashing what is written.
type blobWriter struct {
	s *Store
	f *os.File
	h hash.Hash
	n int64
}

func (s *Store) newBlobWriter() (*blobWriter, error) {
	f, err := os.CreateTemp(s.path("tmp"), "blob-")
	if err != nil {
		return nil, fmt.Errorf("stage blob: %w", err)
	}
	return &blobWriter{s: s, f: f, h: sha256.New()}, nil
}

func (w *blobWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// commit makes the staged blob durable, checks it against want (when set)
// and renames it into blobs/. It returns the blob's digest and size.
func (w *blobWriter) commit(want digest.Digest) (digest.Digest, int64, error) {
	got := digest.NewDigestFromBytes(digest.SHA256, w.h.Sum(nil))
	tmp := w.f.Name()
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil && want != "" && want != got {
		err = fmt.Errorf("%w: blob %s has content %s", ErrDigest, want, got)
	}
	if err == nil {
		err = os.Chmod(tmp, 0o444)
	}
	if err == nil {
		err = os.Rename(tmp, w.s.blobPath(got))
	}
	if err != nil {
		os.Remove(tmp)
		return "", 0, err
	}
	return got, w.n, nil
}

func (w *blobWriter) abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

func (s *Store) blobPath(d digest.Digest) string {
	return s.path("blobs", string(d.Algorithm()), d.Encoded())
}

// putBlob stores small metadata (a config or a manifest) and returns its digest.
func (s *Store) putBlob(data []byte) (digest.Digest, error) {
	d := digest.FromBytes(data)
	if s.hasBlob(d) {
		return d, nil
	}
	w, err := s.newBlobWriter()
	if err != nil {
		return "", err
	}
	if _, err := w.Write(data); err != nil {
		w.abort()
		return "", fmt.Errorf("write blob %s: %w", d, err)
	}
	if _, _, err := w.commit(d); err != nil {
		return "", fmt.Errorf("write blob %s: %w", d, err)
	}
	return d, nil
}

func (s *Store) hasBlob(d digest.Digest) bool {
	if d.Validate() != nil {
		return false
	}
	_, err := os.Stat(s.blobPath(d))
	return err == nil
}

// OpenBlob opens a blob of the layout for reading.
func (s *Store) OpenBlob(d digest.Digest) (*os.File, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("open blob %q: %w: %v", d, ErrInvalid, err)
	}
	f, err := os.Open(s.blobPath(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", d, ErrNotFound)
	}
	return f, err
}

// readBlob reads a metadata blob whole and verifies it against its digest,
// so a damaged store is reported rather than believed.
func (s *Store) readBlob(d digest.Digest) ([]byte, error) {
	f, err := s.OpenBlob(d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMetaBlob+1))
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", d, err)
	}
	if len(data) > maxMetaBlob {
		return nil, fmt.Errorf("blob %s: %w: larger than %d bytes", d, ErrInvalid, maxMetaBlob)
	}
	if got := digest.FromBytes(data); got != d {
		return nil, fmt.Errorf("blob %s: %w: content is %s", d, ErrDigest, got)
	}
	return data, nil
}
