package flock

import (
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestExcludes checks that an exclusive lock waits for a shared one, and
// that two shared ones do not wait for each other.
func TestExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	un1, err := Lock(path, unix.LOCK_SH, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	un2, err := Lock(path, unix.LOCK_SH, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func(), 1)
	go func() {
		un, err := Lock(path, unix.LOCK_EX, 0o600)
		if err != nil {
			t.Error(err)
		}
		got <- un
	}()
	un1()
	time.Sleep(50 * time.Millisecond)
	select {
	case <-got:
		t.Fatal("exclusive lock taken while a shared one was held")
	default:
	}
	un2()
	(<-got)()
}
