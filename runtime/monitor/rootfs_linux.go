package monitor

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"
	"github.com/strata-engine/strata/fs"
	"github.com/strata-engine/strata/layers"
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
	storeRoot, imageID  string
	target, upper, work string
}

func (u unionRootfs) Mount(ctx context.Context) (string, func() error, error) {
	st, err := layers.Open(u.storeRoot)
	if err != nil {
		return "", nil, err
	}
	img, err := st.ResolveImage(ctx, digest.Digest(u.imageID).Encoded())
	if err != nil {
		return "", nil, fmt.Errorf("image %s: %w", u.imageID, err)
	}
	idx, err := st.ImageIndex(ctx, img)
	if err != nil {
		return "", nil, err
	}
	srv, err := fs.Mount(ctx, u.target, fs.Options{
		Lowers:   []fs.Lower{fs.NewIndexLower(idx, st.ObjectsDir())},
		UpperDir: u.upper,
		WorkDir:  u.work,
		FsName:   "strata",
	})
	if err != nil {
		return "", nil, fmt.Errorf("mount %s: %w", u.target, err)
	}
	return u.target, srv.Unmount, nil
}
