package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// devices are the nodes every container gets (the OCI runtime spec's
// default devices, as runc and Docker create them).
var devices = []struct {
	name         string
	major, minor uint32
}{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
	{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

// setupDev mounts a tmpfs on /dev with the default devices, a private
// devpts instance, /dev/shm, /dev/mqueue and the usual symlinks. console,
// when the container has a terminal, is bound on /dev/console.
func setupDev(root string, userNS bool, console *os.File) error {
	if err := mountAt(root, "/dev", false, "tmpfs", "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k"); err != nil {
		return err
	}
	dev := filepath.Join(root, "dev") // a tmpfs we just made: no symlinks yet
	for _, d := range devices {
		if err := makeDevice(dev, d.name, d.major, d.minor, userNS); err != nil {
			return err
		}
	}
	for _, d := range []string{"pts", "shm", "mqueue"} {
		if err := os.Mkdir(filepath.Join(dev, d), 0o755); err != nil {
			return err
		}
	}
	// The container's devpts instance is the monitor's, mounted on
	// /dev/pts of its namespace before ours was copied from it: the
	// ptys the monitor makes for the container are its own, numbered
	// from 0 and invisible to the host's devpts.
	if err := mount("/dev/pts", filepath.Join(dev, "pts"), "", unix.MS_BIND, ""); err != nil {
		return err
	}
	if err := mount("shm", filepath.Join(dev, "shm"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k"); err != nil {
		return err
	}
	if err := mount("mqueue", filepath.Join(dev, "mqueue"), "mqueue", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		// A user namespace that does not own the ipc namespace
		// cannot mount mqueue; the directory stays, empty.
		if !userNS {
			return err
		}
	}
	for _, l := range []struct{ name, to string }{
		{"ptmx", "pts/ptmx"}, {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
		{"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}, {"core", "/proc/kcore"},
	} {
		if l.name == "core" {
			if _, err := os.Stat("/proc/kcore"); err != nil {
				continue // a kernel without it
			}
		}
		if err := os.Symlink(l.to, filepath.Join(dev, l.name)); err != nil {
			return err
		}
	}
	if console != nil {
		path := filepath.Join(dev, "console")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			return err
		}
		// The terminal lives on the container's devpts, whose mount
		// is the monitor's namespace's: binding through /proc/self/fd
		// would name a mount of another namespace (EINVAL). Its path
		// in our copy of that namespace names the same node.
		src, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", console.Fd()))
		if err != nil {
			return err
		}
		if err := mount(src, path, "", unix.MS_BIND, ""); err != nil {
			return err
		}
	}
	return nil
}

// makeDevice creates a character device, or, where mknod is not allowed
// (a user namespace: the kernel refuses device nodes there), binds the
// host's node onto an empty file, as runc does.
func makeDevice(dev, name string, major, minor uint32, userNS bool) error {
	path := filepath.Join(dev, name)
	if !userNS {
		err := unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(major, minor)))
		if err == nil {
			// mknod is subject to the umask.
			return os.Chmod(path, 0o666)
		}
		if !errors.Is(err, unix.EPERM) {
			return &os.PathError{Op: "mknod", Path: path, Err: err}
		}
	}
	if err := os.WriteFile(path, nil, 0o666); err != nil {
		return err
	}
	return mount("/dev/"+name, path, "", unix.MS_BIND, "")
}
