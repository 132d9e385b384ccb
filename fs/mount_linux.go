package fs

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// Server is a live union mount and the goroutines that serve it.
type Server struct {
	srv        *fuse.Server
	u          *union
	mountpoint string

	once sync.Once
	err  error
}

// workSubdir is ours inside WorkDir, so that the same WorkDir can also
// hold overlayfs's "work" and "index" when it was used by the kernel.
const workSubdir = "strata-work"

// Mount mounts the union described by opts on mountpoint and returns once
// the mount is live. The caller must not touch the mount from the
// goroutine that calls Unmount, nor mmap files of it from the serving
// process (see the package doc on deadlocks).
func Mount(ctx context.Context, mountpoint string, opts Options) (*Server, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	u, err := newUnion(&opts)
	if err != nil {
		return nil, err
	}
	root, err := u.rootNode()
	if err != nil {
		u.close()
		return nil, err
	}
	u.root = root.n
	sec := time.Duration(0)
	// Every change that could make a missing name appear goes through
	// the kernel, which drops its negative entry: they may live long.
	negative := u.lowerTTL
	allow := os.Geteuid() == 0
	if opts.AllowOther != nil {
		allow = *opts.AllowOther
	}
	fsName := opts.FsName
	if fsName == "" {
		fsName = "strata"
	}
	logger := opts.Logger
	if logger == nil {
		logger = log.Default()
	}
	var mountOpts []string
	if !opts.TrustCaller {
		// The kernel checks permissions against the attributes we
		// report, as overlayfs does against the merged inode.
		mountOpts = []string{"default_permissions"}
	}
	fo := &fusefs.Options{
		MountOptions: fuse.MountOptions{
			AllowOther: allow,
			Options:    mountOpts,
			FsName:     fsName,
			Name:       "strata",
			MaxWrite:   1 << 20,
			// mount(2) directly when we may, with no flags: fusermount's
			// defaults (nosuid, nodev) would break setuid binaries and
			// devices in containers.
			DirectMount:          os.Geteuid() == 0,
			DirectMountFlags:     syscall.MS_MGC_VAL,
			EnableSymlinkCaching: true,
			// POSIX ACLs: the kernel enforces them (without, the
			// permission checks saw the mode bits alone, and a user
			// an ACL grants was refused) and caches them, so ls -l
			// no longer asks for system.posix_acl_access per file.
			// Listings are cached (noopendir_linux.go), so
			// READDIRPLUS, which drops cached ACLs, is not sent
			// again. The kernel still applies the umask itself (no
			// FUSE_DONT_MASK: go-fuse does not hand the umask on), so
			// a directory's default ACL gives new files the umask's
			// mask, where a local filesystem would not. The kernel
			// turns default_permissions on with ACLs, so a mount that
			// trusts its caller goes without.
			EnableAcl:     !opts.TrustCaller,
			Debug:         opts.Debug,
			Logger:        logger,
			MaxBackground: 64,
			// O_TRUNC in OPEN rather than a SETATTR after it: a lower
			// file opened to be truncated is then copied up without its
			// data.
			ExtraCapabilities: fuse.CAP_ATOMIC_O_TRUNC,
		},
		EntryTimeout:    &sec,
		AttrTimeout:     &sec,
		NegativeTimeout: &negative,
		NullPermissions: true,
		RootStableAttr:  &fusefs.StableAttr{Ino: root.ino},
		Logger:          logger,
	}
	rawFS := newNoOpendir(fusefs.NewNodeFS(root.n, fo))
	srv, err := fuse.NewServer(rawFS, mountpoint, &fo.MountOptions)
	if err != nil {
		u.close()
		return nil, fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	go srv.Serve()
	if err := srv.WaitMount(); err != nil {
		srv.Unmount()
		u.close()
		return nil, fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	s := &Server{srv: srv, u: u, mountpoint: mountpoint}
	if opts.Passthrough && !u.readOnly() {
		u.passthrough.Store(u.probePassthrough(srv))
	}
	return s, nil
}

// Passthrough reports whether the kernel serves upper files' reads and
// writes by passthrough.
func (s *Server) Passthrough() bool { return s.u.passthrough.Load() }

// Unmount unmounts the union, waits for the serving goroutines to finish
// and releases the upper and work directories.
func (s *Server) Unmount() error {
	s.once.Do(func() {
		s.err = s.srv.Unmount()
		if s.err == nil {
			s.srv.Wait()
			s.u.close()
		}
	})
	return s.err
}

// Wait blocks until the mount is gone, unmounted by Unmount or from the
// outside (fusermount3 -u, umount).
func (s *Server) Wait() {
	s.srv.Wait()
}

type rootInfo struct {
	n   *node
	ino uint64
}

func newUnion(opts *Options) (*union, error) {
	u := &union{
		upperFd: -1, workFd: -1, lockFd: -1,
		volatile: opts.Volatile, umask: readUmask(),
		lowerTTL: opts.lowerTTL(), upperTTL: opts.upperTTL(),
		logger: opts.Logger,
	}
	if u.logger == nil {
		u.logger = log.Default()
	}
	ok := false
	defer func() {
		if !ok {
			u.close()
		}
	}()
	for i, lo := range opts.Lowers {
		if lo == nil {
			return nil, fmt.Errorf("%w: lower %d is nil", ErrBadOptions, i)
		}
		l, err := lo.bind()
		if err != nil {
			return nil, err
		}
		u.layers = append(u.layers, l)
		if d := l.objects(); d != "" && u.objects == "" {
			u.objects = d
		}
	}
	if opts.UpperDir == "" {
		if len(u.layers) == 0 {
			return nil, fmt.Errorf("%w: no layers", ErrBadOptions)
		}
		ok = true
		return u, nil
	}
	if opts.WorkDir == "" {
		return nil, fmt.Errorf("%w: upper directory without a work directory", ErrBadOptions)
	}
	var err error
	if u.upperDir, err = filepath.Abs(opts.UpperDir); err != nil {
		return nil, err
	}
	work, err := filepath.Abs(opts.WorkDir)
	if err != nil {
		return nil, err
	}
	if u.upperFd, err = unix.Open(u.upperDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		return nil, &os.PathError{Op: "open upper", Path: u.upperDir, Err: err}
	}
	if u.lockFd, err = unix.Open(work, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		return nil, &os.PathError{Op: "open work", Path: work, Err: err}
	}
	var ust, wst unix.Stat_t
	if err := unix.Fstat(u.upperFd, &ust); err != nil {
		return nil, &os.PathError{Op: "stat upper", Path: u.upperDir, Err: err}
	}
	if err := unix.Fstat(u.lockFd, &wst); err != nil {
		return nil, &os.PathError{Op: "stat work", Path: work, Err: err}
	}
	if ust.Dev != wst.Dev {
		return nil, fmt.Errorf("%w: %s and %s are on different filesystems", ErrBadOptions, u.upperDir, work)
	}
	// One mount at a time per upper and work: two would corrupt both.
	if err := unix.Flock(u.lockFd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if err == unix.EWOULDBLOCK {
			return nil, fmt.Errorf("%s: %w", work, ErrInUse)
		}
		return nil, &os.PathError{Op: "lock work", Path: work, Err: err}
	}
	// What a killed server left in the work directory is half-made
	// copies and deleted trees: remove it.
	u.workDir = filepath.Join(work, workSubdir)
	if err := os.RemoveAll(u.workDir); err != nil {
		return nil, fmt.Errorf("clean work directory: %w", err)
	}
	if err := os.Mkdir(u.workDir, 0o700); err != nil {
		return nil, err
	}
	if u.workFd, err = unix.Open(u.workDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		return nil, &os.PathError{Op: "open work", Path: u.workDir, Err: err}
	}
	u.probeUpper()
	ok = true
	return u, nil
}

func (u *union) close() {
	for _, l := range u.layers {
		l.close()
	}
	u.layers = nil
	for _, fd := range []*int{&u.upperFd, &u.workFd, &u.lockFd} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
}

// rootNode builds the root of the union from the roots of the layers.
func (u *union) rootNode() (rootInfo, error) {
	n := &node{u: u}
	var f found
	if !u.readOnly() {
		if _, errno := u.statUpper("", &f); errno != 0 {
			return rootInfo{}, errnoErr("stat upper", u.upperDir, errno)
		}
		if f.upper && len(u.layers) > 0 {
			f.opaque = dirIsOpaque(u.upperFd, ".", u.upperDir)
		}
	}
	if !f.opaque {
		for i, l := range u.layers {
			e, err := l.root()
			if err != nil {
				return rootInfo{}, fmt.Errorf("lower %d: %w", i, err)
			}
			f.addLower(u.layers, i, e)
			if f.done {
				break
			}
		}
	}
	if !f.visible() {
		return rootInfo{}, fmt.Errorf("%w: no root directory", ErrBadOptions)
	}
	n.upper, n.opaque, n.lowers, n.la, n.meta = f.upper, f.opaque, f.lowers, f.la, f.meta
	if f.opaque {
		n.lowers = nil
	}
	ino, _ := f.ino()
	return rootInfo{n: n, ino: ino}, nil
}

// probePassthrough registers a backing file for a throwaway file. go-fuse
// gives up passthrough for the whole mount after one failed registration,
// which would leave the kernel with some inodes in passthrough mode and
// others not; knowing up front avoids that.
func (u *union) probePassthrough(srv *fuse.Server) bool {
	name := u.tmpName("passthrough")
	fd, err := unix.Openat(u.workFd, name, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return false
	}
	defer unix.Unlinkat(u.workFd, name, 0)
	defer unix.Close(fd)
	id, errno := srv.RegisterBackingFd(&fuse.BackingMap{Fd: int32(fd)})
	if errno != 0 {
		return false
	}
	srv.UnregisterBackingFd(id)
	return true
}
