package fs

import (
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// noOpendir spares the kernel an OPENDIR and a RELEASEDIR round trip for
// every directory it opens. The first OPENDIR is answered ENOSYS, after
// which the kernel sends none for the life of the connection and opens
// every directory as if the server had said FOPEN_CACHE_DIR |
// FOPEN_KEEP_CACHE (fuse_do_open's "no-open" default). A walk of a warm
// tree then costs the server nothing at all, where it cost two requests a
// directory (measured with `strata bench fs --workload walk`; see
// docs/architecture.md).
//
// Caching every listing is safe here for the reason it already was for
// lower-only directories: a directory's entries change only through the
// mount, and every such operation makes the kernel bump the directory's
// i_version, which drops its cached listing at the next read from the
// start (fuse_readdir_cached). A change made beside the mount, in the
// upper directory itself, shows once the directory's attributes are
// fetched again (its mtime differs): after UpperTimeout, as for names.
//
// READDIR and READDIRPLUS then come with file handle 0. A listing is read
// through a stream: a directory handle opened at the request for offset 0
// and kept for the requests that continue it, so that the merged listing
// is built once per listing, not once per request (a 10k-entry directory
// takes about a hundred requests). The stream ends at the end of the
// listing, at the next offset-0 request for the directory (the kernel
// starts over only when it has dropped its cache, so the directory may
// have changed), or when too many streams are open.
type noOpendir struct {
	fuse.RawFileSystem

	mu      sync.Mutex
	streams map[uint64]*dirStream // by node id
}

// maxStreams bounds the listings kept between requests (each holds its
// directory's merged listing): readers that stop before the end of a
// listing (ls | head) leave theirs behind.
const maxStreams = 64

// dirStream is a directory handle shared by the requests of one listing.
type dirStream struct {
	node  uint64
	fh    uint64
	users int
	// done means no new request may use it; it is released once the
	// last user is finished.
	done bool
}

func newNoOpendir(fs fuse.RawFileSystem) *noOpendir {
	return &noOpendir{RawFileSystem: fs, streams: map[uint64]*dirStream{}}
}

func (fs *noOpendir) OpenDir(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	return fuse.ENOSYS
}

// acquire returns the stream that serves a read at offset of the
// directory in header, opening one when there is none to continue.
func (fs *noOpendir) acquire(cancel <-chan struct{}, header *fuse.InHeader, offset uint64) (*dirStream, fuse.Status) {
	node := header.NodeId
	fs.mu.Lock()
	var drop []*dirStream
	if s := fs.streams[node]; s != nil {
		if offset != 0 {
			s.users++
			fs.mu.Unlock()
			return s, fuse.OK
		}
		drop = fs.retire(s, drop) // a new listing: the directory may have changed
	}
	fs.mu.Unlock()
	fs.releaseAll(drop)

	var out fuse.OpenOut
	open := fuse.OpenIn{InHeader: *header, Flags: syscall.O_RDONLY | syscall.O_DIRECTORY}
	if st := fs.RawFileSystem.OpenDir(cancel, &open, &out); st != fuse.OK {
		return nil, st
	}
	s := &dirStream{node: node, fh: out.Fh, users: 1}

	fs.mu.Lock()
	drop = drop[:0]
	if old := fs.streams[node]; old != nil {
		drop = fs.retire(old, drop) // a concurrent listing: the newest is kept
	}
	fs.streams[node] = s
	for _, o := range fs.streams {
		if len(fs.streams) <= maxStreams {
			break
		}
		if o != s && o.users == 0 {
			drop = fs.retire(o, drop)
		}
	}
	fs.mu.Unlock()
	fs.releaseAll(drop)
	return s, fuse.OK
}

// retire takes s out of use, and appends it to drop when nobody is using
// it (its last user releases it otherwise). Called with fs.mu held.
func (fs *noOpendir) retire(s *dirStream, drop []*dirStream) []*dirStream {
	if fs.streams[s.node] == s {
		delete(fs.streams, s.node)
	}
	if !s.done {
		s.done = true
		if s.users == 0 {
			drop = append(drop, s)
		}
	}
	return drop
}

// releaseAll releases retired streams' handles; fs.mu must not be held.
func (fs *noOpendir) releaseAll(drop []*dirStream) {
	for _, s := range drop {
		fs.RawFileSystem.ReleaseDir(&fuse.ReleaseIn{InHeader: fuse.InHeader{NodeId: s.node}, Fh: s.fh})
	}
}

// release ends a request's use of s; end says the listing is complete.
func (fs *noOpendir) release(s *dirStream, end bool) {
	fs.mu.Lock()
	s.users--
	var drop []*dirStream
	switch {
	case end && !s.done:
		drop = fs.retire(s, drop)
	case s.done && s.users == 0:
		drop = append(drop, s) // retired while in use: ours to release
	}
	fs.mu.Unlock()
	fs.releaseAll(drop)
}

// Forget releases a stream of a directory the kernel lets go of before
// the node may disappear, which would leave its handle dangling.
func (fs *noOpendir) Forget(node, nlookup uint64) {
	fs.mu.Lock()
	var drop []*dirStream
	if s := fs.streams[node]; s != nil {
		drop = fs.retire(s, drop)
	}
	fs.mu.Unlock()
	fs.releaseAll(drop)
	fs.RawFileSystem.Forget(node, nlookup)
}

func (fs *noOpendir) readDir(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList, plus bool) fuse.Status {
	if in.Fh != 0 { // cannot happen after the first ENOSYS
		if plus {
			return fs.RawFileSystem.ReadDirPlus(cancel, in, out)
		}
		return fs.RawFileSystem.ReadDir(cancel, in, out)
	}
	s, st := fs.acquire(cancel, &in.InHeader, in.Offset)
	if st != fuse.OK {
		return st
	}
	in.Fh = s.fh
	if plus {
		st = fs.RawFileSystem.ReadDirPlus(cancel, in, out)
	} else {
		st = fs.RawFileSystem.ReadDir(cancel, in, out)
	}
	in.Fh = 0
	fs.release(s, st != fuse.OK || len(out.Bytes()) == 0)
	return st
}

func (fs *noOpendir) ReadDir(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return fs.readDir(cancel, in, out, false)
}

func (fs *noOpendir) ReadDirPlus(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return fs.readDir(cancel, in, out, true)
}

// FsyncDir syncs through a handle of its own.
func (fs *noOpendir) FsyncDir(cancel <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	if in.Fh != 0 {
		return fs.RawFileSystem.FsyncDir(cancel, in)
	}
	var out fuse.OpenOut
	open := fuse.OpenIn{InHeader: in.InHeader, Flags: syscall.O_RDONLY | syscall.O_DIRECTORY}
	if st := fs.RawFileSystem.OpenDir(cancel, &open, &out); st != fuse.OK {
		return st
	}
	defer fs.RawFileSystem.ReleaseDir(&fuse.ReleaseIn{InHeader: in.InHeader, Fh: out.Fh})
	in.Fh = out.Fh
	defer func() { in.Fh = 0 }()
	return fs.RawFileSystem.FsyncDir(cancel, in)
}

func (fs *noOpendir) ReleaseDir(in *fuse.ReleaseIn) {
	if in.Fh != 0 {
		fs.RawFileSystem.ReleaseDir(in)
	}
}
