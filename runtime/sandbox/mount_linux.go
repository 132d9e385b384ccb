package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// mountError names the syscall, the source and the target, as runc does:
// "mount proc on /proc (in /x/rootfs): operation not permitted".
type mountError struct {
	op, source, target string
	err                error
}

func (e *mountError) Error() string {
	if e.source != "" {
		return fmt.Sprintf("%s %s on %s: %v", e.op, e.source, e.target, e.err)
	}
	return fmt.Sprintf("%s %s: %v", e.op, e.target, e.err)
}

func (e *mountError) Unwrap() error { return e.err }

func mount(source, target, fstype string, flags uintptr, data string) error {
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		return &mountError{op: "mount", source: source, target: target, err: err}
	}
	return nil
}

// target opens path inside root without ever leaving it (symlinks in the
// container's tree are resolved as if root were "/"), creating it as a
// directory, or as an empty file when isFile, if it is missing. The result
// is an O_PATH handle; mounting on "/proc/self/fd/N" then lands on exactly
// the inode we checked, so a symlink swapped in after the check cannot
// redirect the mount to the host (CVE-2021-30465 and its relatives).
func target(root, path string, isFile bool) (*os.File, error) {
	rootDir, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer rootDir.Close()
	if !isFile {
		h, err := pathrs.MkdirAllHandle(rootDir, path, 0o755)
		if err != nil {
			return nil, fmt.Errorf("create mount point %s in %s: %w", path, root, err)
		}
		return h, nil
	}
	if h, err := pathrs.OpenInRoot(root, path); err == nil {
		return h, nil
	}
	dir, err := pathrs.MkdirAllHandle(rootDir, filepath.Dir(path), 0o755)
	if err != nil {
		return nil, fmt.Errorf("create mount point %s in %s: %w", path, root, err)
	}
	defer dir.Close()
	fd, err := unix.Openat(int(dir.Fd()), filepath.Base(path), unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil && !errors.Is(err, unix.EEXIST) && !errors.Is(err, unix.ELOOP) {
		return nil, &os.PathError{Op: "create mount point", Path: filepath.Join(root, path), Err: err}
	}
	if err == nil {
		unix.Close(fd)
	}
	h, err := pathrs.OpenInRoot(root, path)
	if err != nil {
		return nil, fmt.Errorf("open mount point %s in %s: %w", path, root, err)
	}
	return h, nil
}

// mountAt mounts onto the path inside root, resolved safely.
func mountAt(root, path string, isFile bool, source, fstype string, flags uintptr, data string) error {
	h, err := target(root, path, isFile)
	if err != nil {
		return err
	}
	defer h.Close()
	proc := fmt.Sprintf("/proc/self/fd/%d", h.Fd())
	if err := unix.Mount(source, proc, fstype, flags, data); err != nil {
		return &mountError{op: "mount", source: source, target: path, err: err}
	}
	return nil
}

// remountReadOnly makes the mount at path read-only. In a user namespace
// the kernel refuses a remount that drops flags locked by the namespace's
// owner (nosuid, nodev, noexec, atime flags on a bind of a host mount), so
// the current flags are read back and kept.
func remountReadOnly(path string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return &os.PathError{Op: "statfs", Path: path, Err: err}
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY)
	for _, f := range []struct{ st, ms uintptr }{
		{unix.ST_NOSUID, unix.MS_NOSUID},
		{unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if uintptr(st.Flags)&f.st != 0 {
			flags |= f.ms
		}
	}
	if err := unix.Mount("", path, "", flags, ""); err != nil {
		return &mountError{op: "remount read-only", target: path, err: err}
	}
	return nil
}

// bindMounts binds the user's -v mounts, the runtime's /etc files and
// anything else given as source → destination into root.
func bindMount(root, source, dest string, readOnly bool) error {
	fi, err := os.Stat(source)
	if err != nil {
		return fmt.Errorf("bind mount source: %w", err)
	}
	h, err := target(root, dest, !fi.IsDir())
	if err != nil {
		return err
	}
	defer h.Close()
	proc := fmt.Sprintf("/proc/self/fd/%d", h.Fd())
	if err := unix.Mount(source, proc, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return &mountError{op: "bind mount", source: source, target: dest, err: err}
	}
	if readOnly {
		// The handle still names the mount point underneath; the new
		// mount is reached through the resolved path.
		p, err := pathrs.OpenInRoot(root, dest)
		if err != nil {
			return fmt.Errorf("reopen %s: %w", dest, err)
		}
		defer p.Close()
		if err := remountReadOnly(fmt.Sprintf("/proc/self/fd/%d", p.Fd())); err != nil {
			return err
		}
	}
	return nil
}

// cleanDest makes a container path absolute and clean, so that "etc/x" and
// "/etc/../etc/x" name the same place.
func cleanDest(p string) string {
	return filepath.Clean("/" + strings.TrimPrefix(p, "/"))
}
