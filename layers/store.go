package layers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/strata-engine/strata/layers/holds"
	"golang.org/x/sys/unix"
)

// Errors of the store, to be tested with errors.Is.
var (
	ErrNotFound    = errors.New("not found")
	ErrAmbiguous   = errors.New("ambiguous")
	ErrInUse       = errors.New("in use")
	ErrConflict    = errors.New("conflict")
	ErrInvalid     = errors.New("invalid")
	ErrDigest      = errors.New("digest mismatch")
	ErrUnsupported = errors.New("unsupported")
)

// Store is an open store root. It holds no open files between calls, so
// any number of processes may use one root at the same time.
type Store struct {
	root string
}

// DefaultRoot is where the store lives when neither --root nor STRATA_ROOT
// says otherwise: /var/lib/strata for root, the XDG data directory for
// anybody else.
func DefaultRoot() string {
	if r := os.Getenv("STRATA_ROOT"); r != "" {
		return r
	}
	if os.Geteuid() == 0 {
		return "/var/lib/strata"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "strata")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), fmt.Sprintf("strata-%d", os.Getuid()))
	}
	return filepath.Join(home, ".local", "share", "strata")
}

// Open opens the store at root, creating its layout when it is missing.
func Open(root string) (*Store, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := &Store{root: root}
	if err := s.init(); err != nil {
		return nil, fmt.Errorf("open store %s: %w", root, err)
	}
	return s, nil
}

// Root returns the absolute path of the store root.
func (s *Store) Root() string { return s.root }

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.root}, elem...)...)
}

func (s *Store) init() error {
	for _, d := range []string{"blobs/sha256", "layers/sha256", "flat/sha256", "objects", "holds", "tmp"} {
		if err := os.MkdirAll(s.path(d), 0o755); err != nil {
			return err
		}
	}
	if _, err := os.Stat(s.path("objects", "ff")); errors.Is(err, os.ErrNotExist) {
		for i := 0; i < 256; i++ {
			if err := os.MkdirAll(s.path("objects", fmt.Sprintf("%02x", i)), 0o755); err != nil {
				return err
			}
		}
	}
	if _, err := os.Stat(s.path("oci-layout")); errors.Is(err, os.ErrNotExist) {
		if err := s.writeFileAtomic(s.path("oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`+"\n")); err != nil {
			return err
		}
	}
	if _, err := os.Stat(s.path("index.json")); errors.Is(err, os.ErrNotExist) {
		unlock, err := s.lock("index.lock", unix.LOCK_EX)
		if err != nil {
			return err
		}
		defer unlock()
		if _, err := os.Stat(s.path("index.json")); errors.Is(err, os.ErrNotExist) {
			idx := &ociIndex{MediaType: mediaTypeIndex}
			idx.SchemaVersion = 2
			return s.writeIndex(idx)
		}
	}
	return nil
}

// lock takes an flock on the named lock file of the root; how is
// unix.LOCK_SH or unix.LOCK_EX. The returned function releases it.
func (s *Store) lock(name string, how int) (func(), error) {
	return holds.Lock(s.root, name, how)
}

// writeFileAtomic replaces the file at path with data: temp file in tmp/,
// fsync, rename, fsync of the directory.
func (s *Store) writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(s.path("tmp"), "meta-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return &os.PathError{Op: "fsync", Path: dir, Err: err}
	}
	return nil
}

// syncfs flushes the whole filesystem holding the store, which is much
// cheaper than an fsync per object when a layer brings thousands of them.
func (s *Store) syncfs() error {
	d, err := os.Open(s.path("tmp"))
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return &os.PathError{Op: "syncfs", Path: s.root, Err: err}
	}
	return nil
}
