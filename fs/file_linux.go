package fs

import (
	"context"
	"strconv"
	"sync"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// handle is an open file. It reads from the upper file, or from the lower
// entry or object while the data has not been copied up; a read handle
// opened before a copy-up moves to the upper copy at its next read, so it
// sees writes made since, as POSIX wants.
//
// FUSE passthrough hands reads and writes to the kernel, which then holds
// the inode in one I/O mode: while any open of an inode is passthrough,
// every open must be, with the same backing file (go-fuse registers one
// per inode and reuses it), and the other way round, or open fails. A
// node keeps count of its handles of each kind and picks the kind already
// in use. Upper files are passthrough whenever they can be. A lower file
// (or the object of a metadata-only copy) is passthrough only for
// execve(2) and for opens that join one: the kernel opens the backing file
// with the open's own flags, so a lower object must never back a write,
// and a write open or a truncate of a file with a lower passthrough open
// fails with ETXTBSY, as writing a running program does anyway.
// Executables are what a new container reads first and most (every page
// of every program it starts), and a new mount's page cache is cold:
// through the object's own page cache, they start as fast as from a
// local disk.
type handle struct {
	n *node

	mu    sync.Mutex
	fdv   int   // -1 for an empty lower file
	upper bool  // fdv is the upper file
	pt    bool  // opened in passthrough mode
	old   []int // descriptors readFd moved away from
}

// ptHandle is a handle the kernel should serve by passthrough.
type ptHandle struct{ *handle }

var (
	_ fusefs.NodeOpener          = (*node)(nil)
	_ fusefs.FileReader          = (*handle)(nil)
	_ fusefs.FileWriter          = (*handle)(nil)
	_ fusefs.FileReleaser        = (*handle)(nil)
	_ fusefs.FileFlusher         = (*handle)(nil)
	_ fusefs.FileFsyncer         = (*handle)(nil)
	_ fusefs.FileLseeker         = (*handle)(nil)
	_ fusefs.FileAllocater       = (*handle)(nil)
	_ fusefs.FilePassthroughFder = ptHandle{}
)

func asHandle(f fusefs.FileHandle) *handle {
	switch h := f.(type) {
	case *handle:
		return h
	case ptHandle:
		return h.handle
	}
	return nil
}

func (h *handle) fd() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fdv
}

func (h *handle) isUpper() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.upper && h.fdv >= 0
}

func (p ptHandle) PassthroughFd() (int, bool) { return p.fd(), true }

// openFlags keeps the open(2) flags that matter to the descriptor the
// server holds: the access mode and O_TRUNC. O_APPEND is the kernel's job
// (it sends the offset), O_DIRECT would need aligned buffers.
func openFlags(flags uint32) int {
	return int(flags)&(unix.O_ACCMODE|unix.O_TRUNC) | unix.O_CLOEXEC
}

func isWrite(flags uint32) bool {
	return flags&unix.O_ACCMODE != unix.O_RDONLY || flags&unix.O_TRUNC != 0
}

// fmodeExec is __FMODE_EXEC, which the kernel sets in the flags of the
// open that execve(2) makes.
const fmodeExec = 0x20

// newHandle registers an open of n on fd and returns it with the FOPEN
// flags for the kernel. It fails with ETXTBSY, closing fd, for an upper
// open while a lower file is open in passthrough mode.
func (n *node) newHandle(fd int, upper bool, flags uint32) (fusefs.FileHandle, uint32, syscall.Errno) {
	h := &handle{n: n, fdv: fd, upper: upper}
	n.mu.Lock()
	defer n.mu.Unlock()
	inPT, inCached, lowerPT := 0, 0, 0
	for _, o := range n.handles {
		switch {
		case o.pt && !o.upper:
			lowerPT++
			inPT++
		case o.pt:
			inPT++
		default:
			inCached++
		}
	}
	if upper && lowerPT > 0 {
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil, 0, syscall.ETXTBSY
	}
	pt := fd >= 0 && inCached == 0 && n.u.passthrough.Load() &&
		(upper || flags&fmodeExec != 0 || inPT > 0)
	n.handles = append(n.handles, h)
	// No FLUSH on close, for writers too: Flush has nothing to do (data
	// goes to the upper file as it is written, and close(2) of a local
	// file reports nothing fsync would not), and POSIX locks, whose
	// release on close is FLUSH's other use, are the kernel's own here
	// (the mount does not take CAP_POSIX_LOCKS). A shell redirection
	// closes twice: that was two round trips per file written.
	if pt {
		h.pt = true
		if !upper {
			n.u.lowerPT.Add(1)
		}
		return ptHandle{h}, fuse.FOPEN_NOFLUSH, 0
	}
	fl := uint32(fuse.FOPEN_NOFLUSH)
	if !upper {
		fl |= fuse.FOPEN_KEEP_CACHE // lower content never changes
	}
	return h, fl, 0
}

// lowerPassthrough reports whether a lower file of n is open in
// passthrough mode.
func (n *node) lowerPassthrough() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, h := range n.handles {
		if h.pt && !h.upper {
			return true
		}
	}
	return false
}

func (n *node) Open(ctx context.Context, flags uint32) (fusefs.FileHandle, uint32, syscall.Errno) {
	u := n.u
	if isWrite(flags) {
		if u.readOnly() {
			return nil, 0, syscall.EROFS
		}
		if n.lowerPassthrough() {
			// Checked again, atomically, by newHandle; this spares
			// the copy-up.
			return nil, 0, syscall.ETXTBSY
		}
		trunc := flags&unix.O_TRUNC != 0
		if errno := n.copyUp(!trunc); errno != 0 {
			return nil, 0, errno
		}
		fd, errno := n.openUpper(openFlags(flags))
		if errno != 0 {
			return nil, 0, errno
		}
		if trunc {
			// Truncated, the object no longer has the content; the xattr
			// goes after the truncation (see copyUpDataLocked).
			n.mu.Lock()
			if n.meta.metacopy != "" {
				if err := unix.Fremovexattr(fd, xattrMetacopy); err != nil && err != unix.ENODATA {
					n.mu.Unlock()
					unix.Close(fd)
					return nil, 0, errnoOf(err)
				}
				n.meta.metacopy = ""
			}
			n.mu.Unlock()
		}
		return n.newHandle(fd, true, flags)
	}
	fd, upper, errno := n.openRead()
	if errno != 0 {
		return nil, 0, errno
	}
	return n.newHandle(fd, upper, flags)
}

// openUpper opens the node's upper file.
func (n *node) openUpper(flags int) (int, syscall.Errno) {
	n.mu.Lock()
	orphan := n.orphan
	n.mu.Unlock()
	if orphan {
		fd := n.anyUpperFd(nil)
		if fd < 0 {
			return -1, syscall.ENOENT
		}
		nfd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), flags&^unix.O_TRUNC, 0)
		if err == nil && flags&unix.O_TRUNC != 0 {
			err = unix.Ftruncate(nfd, 0)
		}
		return nfd, errnoOf(err)
	}
	p, errno := n.relPath()
	if errno != 0 {
		return -1, errno
	}
	fd, err := openBeneath(n.u.upperFd, relPath(p), flags|unix.O_NOFOLLOW)
	return fd, errnoOf(err)
}

// openRead opens where n's content is now: the upper file, the object of
// a metadata-only copy, or the lower entry.
func (n *node) openRead() (int, bool, syscall.Errno) {
	s := n.snapshot()
	switch {
	case s.upper && s.meta.metacopy == "":
		fd, errno := n.openUpper(unix.O_RDONLY | unix.O_CLOEXEC)
		return fd, true, errno
	case s.upper:
		f, err := openObject(n.u.objectPath(s.meta.metacopy))
		if err != nil {
			n.u.logf("open %s: %v", s.meta.metacopy, err)
			return -1, false, syscall.EIO
		}
		return dupFile(f), false, 0
	case len(s.lowers) > 0:
		lr := s.lowers[0]
		f, err := n.u.layers[lr.layer].open(lr.ref)
		if err != nil {
			return -1, false, errnoOf(err)
		}
		if f == nil {
			return -1, false, 0
		}
		return dupFile(f), false, 0
	}
	return -1, false, syscall.ESTALE
}

// dupFile takes the descriptor out of f, which the garbage collector would
// otherwise close.
func dupFile(f interface {
	Fd() uintptr
	Close() error
}) int {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	f.Close()
	if err != nil {
		return -1
	}
	return fd
}

// readFd returns the descriptor to read from, moving a lower handle to the
// upper file once the data has been copied up. The descriptor it moves
// away from stays open until Release: a concurrent read may be using it.
func (h *handle) readFd() (int, syscall.Errno) {
	h.mu.Lock()
	fd, upper := h.fdv, h.upper
	h.mu.Unlock()
	if upper {
		return fd, 0
	}
	s := h.n.snapshot() // node before handle: see the lock order
	if !s.upper || s.meta.metacopy != "" {
		return fd, 0
	}
	nfd, errno := h.n.openUpper(unix.O_RDONLY | unix.O_CLOEXEC)
	if errno != 0 {
		return -1, errno
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.upper {
		unix.Close(nfd)
		return h.fdv, 0
	}
	if h.fdv >= 0 {
		h.old = append(h.old, h.fdv)
	}
	h.fdv, h.upper = nfd, true
	return nfd, 0
}

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	fd, errno := h.readFd()
	if errno != 0 {
		return nil, errno
	}
	if fd < 0 {
		return fuse.ReadResultData(nil), 0
	}
	n, err := unix.Pread(fd, dest, off)
	if err != nil {
		return nil, errnoOf(err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	h.mu.Lock()
	fd, upper := h.fdv, h.upper
	h.mu.Unlock()
	if !upper {
		return 0, syscall.EBADF
	}
	n, err := unix.Pwrite(fd, data, off)
	return uint32(n), errnoOf(err)
}

func (h *handle) Flush(ctx context.Context) syscall.Errno { return 0 }

func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	h.mu.Lock()
	fd, upper := h.fdv, h.upper
	h.mu.Unlock()
	if !upper || fd < 0 {
		return 0
	}
	if flags&1 != 0 { // FUSE_FSYNC_FDATASYNC
		return errnoOf(unix.Fdatasync(fd))
	}
	return errnoOf(unix.Fsync(fd))
}

func (h *handle) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	fd, errno := h.readFd()
	if errno != 0 {
		return 0, errno
	}
	if fd < 0 {
		return 0, syscall.ENXIO
	}
	n, err := unix.Seek(fd, int64(off), int(whence))
	return uint64(n), errnoOf(err)
}

func (h *handle) Allocate(ctx context.Context, off uint64, size uint64, mode uint32) syscall.Errno {
	h.mu.Lock()
	fd, upper := h.fdv, h.upper
	h.mu.Unlock()
	if !upper {
		return syscall.EBADF
	}
	return errnoOf(unix.Fallocate(fd, mode, int64(off), int64(size)))
}

func (h *handle) Release(ctx context.Context) syscall.Errno {
	n := h.n
	n.mu.Lock()
	for i, o := range n.handles {
		if o == h {
			n.handles = append(n.handles[:i], n.handles[i+1:]...)
			break
		}
	}
	n.mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fdv >= 0 {
		unix.Close(h.fdv)
		h.fdv = -1
	}
	for _, fd := range h.old {
		unix.Close(fd)
	}
	h.old = nil
	return 0
}
