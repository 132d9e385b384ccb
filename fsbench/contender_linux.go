package fsbench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Contender names.
const (
	Strata        = "strata"
	Overlay       = "overlay"
	FuseOverlayfs = "fuse-overlayfs"
)

// AllContenders are the filesystems a run compares, Strata first.
var AllContenders = []string{Strata, Overlay, FuseOverlayfs}

// mountSpec is one fresh mount: its point and its writable layer.
type mountSpec struct {
	mnt, upper, work string
}

// mounter mounts one contender on a spec; the mount is undone by
// unmount.
type mounter func(ctx context.Context, m mountSpec) error

// contenders returns the mounters of the names asked for, and for each one
// that cannot run here the reason.
func (r *runner) contenders(names []string) (map[string]mounter, map[string]string) {
	ok := map[string]mounter{}
	skipped := map[string]string{}
	root := os.Geteuid() == 0
	for _, name := range names {
		switch name {
		case Strata:
			ok[name] = r.mountStrata
		case Overlay:
			if !root {
				skipped[name] = "needs root (the layer directories hold whiteout devices and other owners' files)"
				continue
			}
			ok[name] = r.mountOverlay
		case FuseOverlayfs:
			bin, err := exec.LookPath(r.opts.FuseOverlayfs)
			if err != nil {
				skipped[name] = fmt.Sprintf("%s is not installed (Debian package fuse-overlayfs)", r.opts.FuseOverlayfs)
				continue
			}
			if !root {
				skipped[name] = "needs root (the layer directories hold whiteout devices and other owners' files)"
				continue
			}
			ok[name] = func(ctx context.Context, m mountSpec) error { return r.mountFuseOverlayfs(ctx, bin, m) }
		}
	}
	return ok, skipped
}

// mountStrata mounts the image from the store's index through `strata
// mount`, a process of its own as in a container's monitor.
func (r *runner) mountStrata(ctx context.Context, m mountSpec) error {
	args := append(append([]string{}, r.opts.Strata[1:]...),
		"mount", "--upper", m.upper, "--work", m.work, r.opts.Image, m.mnt)
	return run(ctx, r.opts.Strata[0], args...)
}

// lowerdirs is overlayfs's lowerdir option: the layer directories, top
// first.
func (r *runner) lowerdirs() string {
	dirs := make([]string, len(r.layerDirs))
	for i, d := range r.layerDirs {
		dirs[len(dirs)-1-i] = d
	}
	return strings.Join(dirs, ":")
}

func (r *runner) mountOverlay(_ context.Context, m mountSpec) error {
	data := "lowerdir=" + r.lowerdirs() + ",upperdir=" + m.upper + ",workdir=" + m.work
	if err := unix.Mount("overlay", m.mnt, "overlay", 0, data); err != nil {
		return &os.PathError{Op: "mount overlay", Path: m.mnt, Err: err}
	}
	return nil
}

func (r *runner) mountFuseOverlayfs(ctx context.Context, bin string, m mountSpec) error {
	return run(ctx, bin, "-o", "lowerdir="+r.lowerdirs()+",upperdir="+m.upper+",workdir="+m.work, m.mnt)
}

// run runs a mount command to its end, even when ctx is cancelled
// meanwhile: killing it half way could leave its daemon to finish the
// mount after the cleanup has looked (the daemons bound their own start).
func run(_ context.Context, bin string, args ...string) error {
	cmd := exec.Command(bin, args...)
	// Its own process group: a Ctrl-C at the terminal reaches the
	// benchmark, which cleans up, and not the mount half way.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", bin, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// unmount undoes a mount, waiting a little for a FUSE server that is
// still finishing, then detaching it lazily so that nothing is left
// mounted whatever happened.
func unmount(mnt string) error {
	var err error
	for range 50 {
		if err = unix.Unmount(mnt, 0); err == nil || errors.Is(err, unix.EINVAL) {
			return nil // unmounted, or not mounted at all
		}
		if errors.Is(err, unix.EPERM) {
			// An unprivileged user's FUSE mount: fusermount3 undoes it.
			if out, ferr := exec.Command("fusermount3", "-u", "-z", mnt).CombinedOutput(); ferr != nil {
				return fmt.Errorf("fusermount3 -u %s: %v: %s", mnt, ferr, strings.TrimSpace(string(out)))
			}
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if derr := unix.Unmount(mnt, unix.MNT_DETACH); derr == nil || errors.Is(derr, unix.EINVAL) {
		return nil
	}
	return &os.PathError{Op: "umount", Path: mnt, Err: err}
}

// dropCaches writes back dirty data and drops the kernel's page, dentry
// and inode caches, so that a cold phase reads from the disk (and FUSE
// servers get every lookup). It needs root; false means it could not.
func dropCaches() bool {
	unix.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0) == nil
}
