package tarball

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// dirSource is an unpacked archive: an OCI layout directory, or a
// docker-archive extracted by hand. Members are opened through os.Root so a
// symlink in the directory cannot lead outside it.
type dirSource struct {
	dir string
}

// ReadDir reads an OCI image layout directory, such as skopeo's
// "oci:DIR" or umoci's output; a directory holding an extracted
// docker-archive is read as well. The returned layers open their blob files
// when asked, so the directory must stay in place while they are used.
func ReadDir(dir string) (*Archive, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("read image layout %s: %w", dir, err)
	}
	root.Close()
	a, err := read(&dirSource{dir: dir})
	if err != nil {
		return nil, fmt.Errorf("read image layout %s: %w", dir, err)
	}
	return a, nil
}

func (s *dirSource) has(name string) bool {
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return false
	}
	defer root.Close()
	_, err = root.Stat(name)
	return err == nil
}

func (s *dirSource) member(name string) (member, error) {
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return member{}, err
	}
	defer root.Close()
	fi, err := root.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return member{}, invalidf(name, "missing")
	}
	if err != nil {
		return member{}, invalidf(name, "%v", err)
	}
	if !fi.Mode().IsRegular() {
		return member{}, invalidf(name, "not a regular file")
	}
	dir, size := s.dir, fi.Size()
	return member{
		size: size,
		open: func() (io.ReadCloser, error) {
			root, err := os.OpenRoot(dir)
			if err != nil {
				return nil, err
			}
			// The file stays open after its root is closed.
			defer root.Close()
			f, err := root.Open(name)
			if err != nil {
				return nil, err
			}
			// Serve exactly the size that was checked against the
			// descriptor, even if the file has grown since.
			return struct {
				io.Reader
				io.Closer
			}{io.LimitReader(f, size), f}, nil
		},
	}, nil
}
