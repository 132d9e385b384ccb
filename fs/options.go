package fs

import (
	"errors"
	"log"
	"time"
)

// Options describe a union mount.
type Options struct {
	// Lowers are the read-only layers, top first: any number of plain
	// directories and indexed layers (NewDirLower, NewIndexLower).
	Lowers []Lower
	// UpperDir receives every change; WorkDir, on the same filesystem,
	// is where copies are built before they are renamed into UpperDir.
	// Without UpperDir the mount is read-only and WorkDir is not needed.
	UpperDir, WorkDir string

	// Passthrough lets the kernel read and write upper files directly
	// (FUSE passthrough). It needs a privileged server and is probed at
	// mount time; Server.Passthrough reports whether it is in use.
	Passthrough bool
	// Volatile skips the fsync after copying file data up, as overlayfs's
	// "volatile": faster, but a power loss can lose copied data.
	Volatile bool

	// LowerTimeout is how long the kernel may cache entries and
	// attributes that come from the lowers (default a day: they only
	// change through the mount, which invalidates them). UpperTimeout is
	// the same for upper objects (default one second, so that tools
	// reading the upper directory directly see changes soon).
	LowerTimeout, UpperTimeout time.Duration

	// FsName is shown as the source in /proc/mounts ("strata" by
	// default). AllowOther lets users other than the mounting one use the
	// mount; it is on by default when the mount is made directly (by
	// root, also root of a user namespace).
	FsName     string
	AllowOther *bool

	// TrustCaller leaves permission checks out (no default_permissions):
	// the kernel then passes every chown, chmod and open to the server,
	// which does what its own privileges allow (an unprivileged server
	// records ownership in the upper's xattrs). Only for a mount that
	// nobody but the mounting process uses, with AllowOther off: strata
	// cp's mount of a stopped container, which must give files the
	// container's owners even when its caller may not chown. Such a
	// mount has no POSIX ACL support (the kernel would check permissions
	// again).
	TrustCaller bool

	// Debug logs every FUSE request to Logger (log.Default() when nil).
	// Logger also receives what handlers cannot report to the caller.
	Debug  bool
	Logger *log.Logger
}

// Errors of Mount.
var (
	// ErrInUse means another mount uses the upper and work directories.
	ErrInUse = errors.New("upper and work directories are in use")
	// ErrBadOptions means the options cannot describe a mount.
	ErrBadOptions = errors.New("bad mount options")
)

func (o *Options) lowerTTL() time.Duration {
	if o.LowerTimeout > 0 {
		return o.LowerTimeout
	}
	return 24 * time.Hour
}

func (o *Options) upperTTL() time.Duration {
	if o.UpperTimeout > 0 {
		return o.UpperTimeout
	}
	return time.Second
}
