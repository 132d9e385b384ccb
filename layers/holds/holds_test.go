package holds

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestRelease(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, Dir), 0o755); err != nil {
		t.Fatal(err)
	}
	hold := filepath.Join(root, Dir, "c1")
	if err := os.WriteFile(hold, []byte("sha256:x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Release(root, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(hold); !os.IsNotExist(err) {
		t.Errorf("hold still there: %v", err)
	}
	if err := Release(root, "c1"); err != nil {
		t.Errorf("releasing a hold twice: %v", err)
	}
	for _, bad := range []string{"", ".", "..", "a/b", "../c1", "a\x00b"} {
		if err := Release(root, bad); err == nil {
			t.Errorf("Release(%q): no error", bad)
		}
	}
}

// TestLockExcludes checks that Release waits for a holder of index.lock.
func TestLockExcludes(t *testing.T) {
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, Dir), 0o755)
	unlock, err := Lock(root, IndexLock, unix.LOCK_EX)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- Release(root, "c1") }()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Release returned while the lock was held: %v", err)
	default:
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
