// Package flock takes flock(2) locks on lock files, for the store
// (layers/holds) and the container records (runtime/spec). A lock dies
// with its process, so a crashed holder never leaves one behind.
package flock

import (
	"os"

	"golang.org/x/sys/unix"
)

// Lock takes an flock on path, made with perm if missing; how is
// unix.LOCK_SH or unix.LOCK_EX. It waits for the lock (retrying on
// EINTR) and returns the function that releases it.
func Lock(path string, how int, perm os.FileMode) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, perm)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	return func() { f.Close() }, nil
}
