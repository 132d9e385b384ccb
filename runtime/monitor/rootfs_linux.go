package monitor

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/strata-engine/strata/fs"
	"github.com/strata-engine/strata/layers/index"
	"github.com/strata-engine/strata/runtime/phase"
	"golang.org/x/sys/unix"
)

// Rootfs makes a container's root filesystem available; the monitor owns
// it for the container's life.
type Rootfs interface {
	// Mount returns the directory that becomes the container's "/" and
	// a function that takes it down again.
	Mount(ctx context.Context) (dir string, unmount func() error, err error)
}

// dirRootfs is a plain directory used in place: changes go to it directly.
type dirRootfs struct{ dir string }

func (d dirRootfs) Mount(context.Context) (string, func() error, error) {
	return d.dir, func() error { return nil }, nil
}

// unionRootfs is the FUSE union of an image's flattened index and the
// container's upper directory, served by this process.
type unionRootfs struct {
	index, objects      string // the image's flattened index file; the store's objects
	target, upper, work string
}

func (u unionRootfs) Mount(ctx context.Context) (string, func() error, error) {
	if u.index == "" {
		return "", nil, errors.New("no image index given to the monitor")
	}
	idx, err := index.Load(u.index)
	if err != nil {
		return "", nil, fmt.Errorf("image index: %w", err)
	}
	phase.Mark("image index loaded")
	srv, err := fs.Mount(ctx, u.target, fs.Options{
		Lowers:   []fs.Lower{fs.NewIndexLower(idx, u.objects)},
		UpperDir: u.upper,
		WorkDir:  u.work,
		FsName:   "strata",
		// Probed at mount; a server in a user namespace goes without.
		Passthrough: true,
	})
	if err != nil {
		return "", nil, fmt.Errorf("mount %s: %w", u.target, err)
	}
	return u.target, srv.Unmount, nil
}

// cloneMount returns the mount at dir as a detached tree (open_tree(2)
// with OPEN_TREE_CLONE, Linux 5.2): a file that can be sent to another
// process and attached there with move_mount(2). Init gets the union this
// way because its mount namespace is copied from ours before the union is
// mounted, so that its start-up overlaps the mount. The union has no
// submounts; AT_RECURSIVE is not needed.
func cloneMount(dir string) (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return nil, &os.PathError{Op: "open_tree", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), dir), nil
}
