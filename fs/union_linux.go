package fs

import (
	"fmt"
	"log"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// union is the state of one mount that every node shares.
type union struct {
	root     *node
	layers   []layer // top first
	upperDir string
	upperFd  int // O_PATH; -1 when the mount is read-only
	workDir  string
	workFd   int // O_PATH on workDir/strata-work, where copies are built
	lockFd   int // holds the flock that makes upper and work ours
	objects  string

	xattrs   bool // the upper takes user.* extended attributes
	chown    bool // the server may give upper files any owner
	volatile bool // skip fsync after copying data up

	// listings counts the merged directory listings built, for the test
	// that a listing costs one however many requests read it.
	listings atomic.Int64
	umask    uint32

	passthrough atomic.Bool // registering backing files works
	// lowerPT counts opens of lower files in passthrough mode (execve's),
	// for the test that they happen.
	lowerPT atomic.Int64

	lowerTTL time.Duration
	upperTTL time.Duration

	seq    atomic.Uint64
	logger *log.Logger
}

func (u *union) readOnly() bool { return u.upperFd < 0 }

func (u *union) logf(format string, args ...any) {
	if u.logger != nil {
		u.logger.Printf(format, args...)
	}
}

// tmpName returns a fresh name in the work directory.
func (u *union) tmpName(kind string) string {
	return kind + "-" + strconv.FormatUint(u.seq.Add(1), 36) + "-" + strconv.Itoa(os.Getpid())
}

// layerIno composes a union inode number: the layer in the top 16 bits,
// 0 for the upper and 1+i for lower i, then the layer's own 48 bits.
func layerIno(layer int, local uint64) uint64 {
	return uint64(layer)<<48 | local&inoMask
}

// upperIno is the union inode number of an upper object that has no origin.
func upperIno(a *attr) uint64 { return layerIno(0, a.ino) }

// genOf distinguishes a new upper object from an old one that had the same
// inode number, which the upper filesystem may reuse once it is freed.
func genOf(a *attr) uint64 {
	return uint64(a.btime.sec)*1e9 + uint64(a.btime.nsec)
}

// readUmask returns the process umask without changing it (umask(2) can
// only be read by setting it, which would race with other goroutines).
func readUmask() uint32 {
	b, err := os.ReadFile("/proc/self/status")
	if err == nil {
		var m uint32
		for _, line := range splitLines(string(b)) {
			if _, err := fmt.Sscanf(line, "Umask:\t%o", &m); err == nil {
				return m
			}
		}
	}
	return 0o022
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i == len(s) {
			break
		}
		s = s[i+1:]
	}
	return out
}

// probeUpper finds out what the upper filesystem and our privileges allow,
// on a throwaway file in the work directory.
func (u *union) probeUpper() {
	name := u.tmpName("probe")
	fd, err := unix.Openat(u.workFd, name, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return
	}
	defer unix.Unlinkat(u.workFd, name, 0)
	defer unix.Close(fd)
	u.xattrs = unix.Fsetxattr(fd, xattrPrefix+"probe", []byte("y"), 0) == nil
	// A user namespace that maps one id cannot give a file another owner
	// (EINVAL); an unprivileged server cannot either (EPERM). Ownership
	// then lives in an xattr.
	u.chown = unix.Fchown(fd, 4242, 4242) == nil
}

func errnoErr(op, path string, e syscall.Errno) error {
	return &os.PathError{Op: op, Path: path, Err: e}
}
