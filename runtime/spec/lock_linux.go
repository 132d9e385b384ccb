package spec

import (
	"errors"
	"os"

	"github.com/strata-engine/strata/internal/flock"
	"golang.org/x/sys/unix"
)

// Lock takes an exclusive flock on path (created if missing) and returns
// the function that releases it. The lock dies with the process, so a
// crashed holder never leaves it behind.
func Lock(path string) (unlock func(), err error) {
	return flock.Lock(path, unix.LOCK_EX, 0o600)
}

// TryLock is Lock without waiting: ok is false when someone else holds it.
func TryLock(path string) (f *os.File, ok bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, err
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		f.Close()
		return nil, false, nil
	}
	if err != nil {
		f.Close()
		return nil, false, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	return f, true, nil
}

// MonitorAlive reports whether a monitor holds dir's monitor.lock. Unlike
// a pid, a lock cannot be inherited by an unrelated process that happens
// to get the dead monitor's pid.
func MonitorAlive(dir string) bool {
	// Never created here: a --rm container's monitor may be deleting
	// dir, and a new monitor.lock would leave it behind.
	f, err := os.OpenFile(dir+"/"+MonitorLock, os.O_RDWR, 0)
	if err != nil {
		return false // no monitor ever ran, or dir is gone
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	return errors.Is(err, unix.EWOULDBLOCK)
}

// WaitMonitor blocks until no monitor holds dir's monitor.lock: one that
// has recorded its container's exit finishes (unmounts, exits) before a
// new start or a removal may proceed. A missing lock (or dir) has no
// monitor: a --rm container's monitor deletes both as it finishes.
func WaitMonitor(dir string) error {
	// Not O_CREATE: creating the lock in a directory that a --rm
	// container's monitor is removing made its removal fail (ENOTEMPTY)
	// and left the directory behind.
	f, err := os.OpenFile(dir+"/"+MonitorLock, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_SH)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	return nil
}
