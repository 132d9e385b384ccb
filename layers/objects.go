package layers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"github.com/strata-engine/strata/layers/index"
	"golang.org/x/sys/unix"
)

// smallObject is the size up to which a file's content is read into memory
// and hashed before anything is written, so content the store already has
// costs one stat and no write at all (the common case when two images share
// a base). Larger contents are hashed while they stream to a staging file.
const smallObject = 1 << 20

var batchSeq atomic.Uint64

// ObjectsDir returns the directory holding the object store, for the
// filesystem to read file contents from: objects/<xx>/<hex>.
func (s *Store) ObjectsDir() string { return s.path("objects") }

// ObjectPath returns where the content with digest d is stored.
func (s *Store) ObjectPath(d index.Digest) string {
	h := hex.EncodeToString(d[:])
	return filepath.Join(s.root, "objects", h[:2], h)
}

// OpenObject opens a stored content for reading.
func (s *Store) OpenObject(d index.Digest) (io.ReadCloser, error) {
	f, err := os.Open(s.ObjectPath(d))
	if err != nil {
		return nil, fmt.Errorf("object %x: %w", d, err)
	}
	return f, nil
}

// objectBatch is the archive.Sink for one layer. New contents are staged in
// tmp/ and only renamed into objects/ by commit, after a syncfs, so that an
// object's name never points at content a crash could lose.
type objectBatch struct {
	s       *Store
	dir     string // staging directory of its own, made on first use
	made    bool
	n       int
	pending map[index.Digest]string // digest → staged file
	buf     []byte
	copyBuf []byte
}

func (s *Store) newBatch() *objectBatch {
	return &objectBatch{
		s:       s,
		dir:     s.path("tmp", "obj-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(batchSeq.Add(1), 10)),
		pending: map[index.Digest]string{},
	}
}

// PutObject implements archive.Sink.
func (b *objectBatch) PutObject(r io.Reader, size int64) (index.Digest, error) {
	if size <= smallObject {
		return b.putSmall(r, size)
	}
	return b.putLarge(r, size)
}

func (b *objectBatch) have(d index.Digest) bool {
	if _, ok := b.pending[d]; ok {
		return true
	}
	var st unix.Stat_t
	return unix.Stat(b.s.ObjectPath(d), &st) == nil
}

func (b *objectBatch) create() (*os.File, error) {
	if !b.made {
		// A directory per batch: layers unpacked in parallel (a pull)
		// would otherwise all create their files in tmp/, and contend
		// for its directory lock on every create.
		if err := os.Mkdir(b.dir, 0o755); err != nil {
			return nil, err
		}
		b.made = true
	}
	b.n++
	name := filepath.Join(b.dir, strconv.Itoa(b.n))
	// 0444: objects are immutable; the filesystem copies them up to write.
	// Opened with open(2) and wrapped, not with os.OpenFile, which tries
	// to register every file with the network poller (an epoll_ctl that
	// fails for regular files, and four fcntls): for a layer of thousands
	// of small files those cost more than the files' writes.
	fd, err := unix.Open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

func (b *objectBatch) putSmall(r io.Reader, size int64) (index.Digest, error) {
	if cap(b.buf) < int(size) {
		b.buf = make([]byte, smallObject)
	}
	data := b.buf[:size]
	if _, err := io.ReadFull(r, data); err != nil {
		return index.Digest{}, err
	}
	d := index.Digest(sha256.Sum256(data))
	if b.have(d) {
		return d, nil
	}
	f, err := b.create()
	if err != nil {
		return d, fmt.Errorf("stage object: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return d, fmt.Errorf("stage object: %w", err)
	}
	b.pending[d] = f.Name()
	return d, nil
}

func (b *objectBatch) putLarge(r io.Reader, size int64) (index.Digest, error) {
	f, err := b.create()
	if err != nil {
		return index.Digest{}, fmt.Errorf("stage object: %w", err)
	}
	if b.copyBuf == nil {
		b.copyBuf = make([]byte, 1<<20)
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(f, h), io.LimitReader(r, size), b.copyBuf)
	if err == nil && n != size {
		err = io.ErrUnexpectedEOF
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var d index.Digest
	h.Sum(d[:0])
	if err != nil || b.have(d) {
		os.Remove(f.Name())
		if err != nil {
			return d, fmt.Errorf("stage object: %w", err)
		}
		return d, nil
	}
	b.pending[d] = f.Name()
	return d, nil
}

// commit moves the staged contents into the object store durably: their
// data is flushed before any of them gets its final name, and the names
// are flushed before the caller writes the index that refers to them.
func (b *objectBatch) commit() error {
	defer b.removeDir()
	if len(b.pending) == 0 {
		return nil
	}
	if err := b.s.syncfs(); err != nil {
		return err
	}
	for d, tmp := range b.pending {
		if err := os.Rename(tmp, b.s.ObjectPath(d)); err != nil {
			return fmt.Errorf("commit object %x: %w", d, err)
		}
		delete(b.pending, d)
	}
	return b.s.syncfs()
}

// abort removes whatever is still staged.
func (b *objectBatch) abort() {
	for d, tmp := range b.pending {
		os.Remove(tmp)
		delete(b.pending, d)
	}
	b.removeDir()
}

// removeDir removes the staging directory once nothing is staged there.
func (b *objectBatch) removeDir() {
	if b.made && len(b.pending) == 0 {
		os.Remove(b.dir)
		b.made = false
	}
}
