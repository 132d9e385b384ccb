package fs

import (
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// noOpendir spares the kernel an OPENDIR and a RELEASEDIR round trip for
// every directory it opens. The first OPENDIR is answered ENOSYS, after
// which the kernel sends none for the life of the connection and opens
// every directory as if the server had said FOPEN_CACHE_DIR |
// FOPEN_KEEP_CACHE (fuse_do_open's "no-open" default). A walk of a warm
// tree then costs the server nothing at all, where it cost two requests a
// directory (the measurement behind this: `strata bench fs --workload
// walk`, and the request counts in docs/benchmarks.md).
//
// Caching every listing is safe here for the reason it already was for
// lower-only directories: a directory's entries change only through the
// mount, and every such operation makes the kernel bump the directory's
// i_version, which drops its cached listing at the next read from the
// start (fuse_readdir_cached). A change made beside the mount, in the
// upper directory itself, shows once the directory's attributes are
// fetched again (its mtime differs): after UpperTimeout, as for names.
//
// READDIR and READDIRPLUS then come with file handle 0. Each is served
// through a handle opened for that request and released after it; the
// handle seeks to the request's offset, which is stable because a
// directory's listing order is (sorted names, upper and lowers merged).
type noOpendir struct {
	fuse.RawFileSystem
}

func (fs *noOpendir) OpenDir(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	return fuse.ENOSYS
}

// withDir runs fn with in.Fh set to a handle of the directory opened for
// it, when the kernel sent none.
func (fs *noOpendir) withDir(cancel <-chan struct{}, header *fuse.InHeader, fh *uint64, fn func() fuse.Status) fuse.Status {
	if *fh != 0 {
		return fn() // cannot happen after the first ENOSYS, but harmless
	}
	var out fuse.OpenOut
	open := fuse.OpenIn{InHeader: *header, Flags: syscall.O_RDONLY | syscall.O_DIRECTORY}
	if st := fs.RawFileSystem.OpenDir(cancel, &open, &out); st != fuse.OK {
		return st
	}
	*fh = out.Fh
	defer func() {
		fs.RawFileSystem.ReleaseDir(&fuse.ReleaseIn{InHeader: *header, Fh: out.Fh})
		*fh = 0
	}()
	return fn()
}

func (fs *noOpendir) ReadDir(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return fs.withDir(cancel, &in.InHeader, &in.Fh, func() fuse.Status {
		return fs.RawFileSystem.ReadDir(cancel, in, out)
	})
}

func (fs *noOpendir) ReadDirPlus(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return fs.withDir(cancel, &in.InHeader, &in.Fh, func() fuse.Status {
		return fs.RawFileSystem.ReadDirPlus(cancel, in, out)
	})
}

func (fs *noOpendir) FsyncDir(cancel <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	return fs.withDir(cancel, &in.InHeader, &in.Fh, func() fuse.Status {
		return fs.RawFileSystem.FsyncDir(cancel, in)
	})
}

func (fs *noOpendir) ReleaseDir(in *fuse.ReleaseIn) {
	if in.Fh != 0 {
		fs.RawFileSystem.ReleaseDir(in)
	}
}
