//go:build !linux

package fs

import (
	"context"
	"errors"
	"os"
)

// ErrUnsupported is returned by Mount where the union cannot run: it
// needs Linux (FUSE passthrough, openat2, user namespaces, xattrs).
var ErrUnsupported = errors.New("the union filesystem needs Linux")

// Server is a live union mount; there are none on this system.
type Server struct{}

// Mount fails with ErrUnsupported.
func Mount(ctx context.Context, mountpoint string, opts Options) (*Server, error) {
	return nil, ErrUnsupported
}

// Unmount does nothing.
func (s *Server) Unmount() error { return nil }

// Wait returns at once.
func (s *Server) Wait() {}

// Passthrough reports false.
func (s *Server) Passthrough() bool { return false }

type dirSource struct{ path string }

// NewDirLower returns a lower layer read from the directory at path.
func NewDirLower(path string) Lower { return dirSource{path} }

func (s dirSource) bind() (layer, error) { return nil, ErrUnsupported }

func openObject(path string) (*os.File, error) { return os.Open(path) }
