package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/strata-engine/strata/runtime/phase"
	"golang.org/x/sys/unix"
)

// setupRoot builds the container's view of the world in Init's fresh mount
// namespace and ends with Init inside it: "/" is the container's root.
// tree, when not nil, is the root as a detached mount, to attach at
// s.Rootfs; it is closed.
func setupRoot(s *Setup, tree, console *os.File) error {
	root := s.Rootfs
	// Nothing we mount may propagate back to the monitor's namespace (or,
	// through shared peers, to the host): make the whole tree private
	// before the first mount.
	if err := mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return err
	}
	if tree != nil {
		// The monitor's union, cloned with open_tree(2): attach it
		// where the monitor has it, which also makes the root the
		// mount point that pivot_root(2) requires.
		err := unix.MoveMount(int(tree.Fd()), "", unix.AT_FDCWD, root, unix.MOVE_MOUNT_F_EMPTY_PATH)
		tree.Close()
		if err != nil {
			return &mountError{op: "move_mount", source: "root tree", target: root, err: err}
		}
	} else if err := mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		// pivot_root(2) requires the new root to be a mount point; a
		// plain directory root is not one, so bind it onto itself.
		return err
	}
	// A fresh procfs shows the new pid namespace: the container's init is 1.
	if err := mountAt(root, "/proc", false, "proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return err
	}
	phase.Mark("root bound, /proc mounted")
	if err := setupDev(root, s.UserNS, console); err != nil {
		return err
	}
	phase.Mark("/dev set up")
	if err := setupSys(root, s); err != nil {
		return err
	}
	phase.Mark("/sys mounted")
	for _, f := range []struct{ name, dest string }{
		{"hosts", "/etc/hosts"}, {"hostname", "/etc/hostname"}, {"resolv.conf", "/etc/resolv.conf"},
	} {
		src := filepath.Join(s.Dir, f.name)
		if _, err := os.Stat(src); err != nil {
			continue
		}
		if err := bindMount(root, src, f.dest, false); err != nil {
			return err
		}
	}
	for _, m := range s.Mounts {
		if err := bindMount(root, m.Source, cleanDest(m.Destination), m.ReadOnly); err != nil {
			return err
		}
	}
	phase.Mark("binds done")
	if err := pivotRoot(root); err != nil {
		return err
	}
	phase.Mark("pivoted")
	for _, p := range maskedPaths {
		if err := maskPath(p); err != nil {
			return err
		}
	}
	for _, p := range readOnlyPaths {
		if err := readOnlyPath(p); err != nil {
			return err
		}
	}
	if s.ReadOnly {
		if err := remountReadOnly("/"); err != nil {
			return err
		}
	}
	if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
		return os.NewSyscallError("sethostname", err)
	}
	return nil
}

// setupSys mounts a read-only /sys: a fresh sysfs where the kernel allows
// it (it needs a network namespace owned by our user namespace), else a
// recursive bind of the host's, made read-only.
func setupSys(root string, s *Setup) error {
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY)
	err := mountAt(root, "/sys", false, "sysfs", "sysfs", flags, "")
	if err == nil || !(errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)) {
		return err
	}
	h, err := target(root, "/sys", false)
	if err != nil {
		return err
	}
	defer h.Close()
	proc := fmt.Sprintf("/proc/self/fd/%d", h.Fd())
	if err := unix.Mount("/sys", proc, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return &mountError{op: "bind mount", source: "/sys", target: "/sys", err: err}
	}
	return remountReadOnly(filepath.Join(root, "sys"))
}

// pivotRoot makes root the root of the mount namespace and detaches the
// old root, so that nothing of the host stays reachable.
func pivotRoot(root string) error {
	oldRoot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: "/", Err: err}
	}
	defer unix.Close(oldRoot)
	newRoot, err := unix.Open(root, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: root, Err: err}
	}
	defer unix.Close(newRoot)
	if err := unix.Fchdir(newRoot); err != nil {
		return &os.PathError{Op: "fchdir", Path: root, Err: err}
	}
	// pivot_root(".", ".") stacks the old root on top of the new one at
	// the same place, so no directory inside the container's tree is
	// needed to park it (the root may be read-only, or not ours to write).
	if err := unix.PivotRoot(".", "."); err != nil {
		return &os.PathError{Op: "pivot_root", Path: root, Err: err}
	}
	// Our cwd is the new root, under the old one; step onto the old root,
	// which is now the top of the stack at ".".
	if err := unix.Fchdir(oldRoot); err != nil {
		return &os.PathError{Op: "fchdir", Path: "old root", Err: err}
	}
	// The old root may still be a slave or shared mount; make it a slave
	// so that the unmount below cannot propagate to the monitor's tree.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return &mountError{op: "make slave", target: "old root", err: err}
	}
	// Detach the old root: lazily, because the kernel still has it busy
	// as our cwd until the chdir below.
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return &mountError{op: "umount", target: "old root", err: err}
	}
	if err := unix.Chdir("/"); err != nil {
		return &os.PathError{Op: "chdir", Path: "/", Err: err}
	}
	return nil
}

// Docker's default masked and read-only paths (moby's oci/defaults.go):
// kernel interfaces a container must not read (masked) or write.
var (
	maskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
		"/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	readOnlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// maskPath hides a file behind /dev/null and a directory behind an empty
// read-only tmpfs.
func maskPath(p string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		err = unix.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, "size=0k")
	} else {
		err = unix.Mount("/dev/null", p, "", unix.MS_BIND, "")
	}
	if err != nil {
		return &mountError{op: "mask", target: p, err: err}
	}
	return nil
}

// readOnlyPath binds p onto itself and makes that read-only.
func readOnlyPath(p string) error {
	if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return &mountError{op: "bind mount", source: p, target: p, err: err}
	}
	return remountReadOnly(p)
}
