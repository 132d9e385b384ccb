package runtime

import (
	"strings"
	"syscall"
	"testing"
)

// TestNoInheritedDescriptors: a descriptor that the caller leaves open
// across exec (as shells do) must not reach the container's command,
// which gets its three stdio descriptors only.
func TestNoInheritedDescriptors(t *testing.T) {
	needRoot(t)
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil { // no O_CLOEXEC: inherited
		t.Fatal(err)
	}
	defer syscall.Close(p[0])
	defer syscall.Close(p[1])
	r := newRuntime(t)
	// ls opens /proc/self/fd as 3 while it lists it.
	out, code, err := run(t, r, CreateOptions{Cmd: []string{"/bin/ls", "/proc/self/fd"}}, "")
	if err != nil || code != 0 {
		t.Fatalf("run: got %d %v: %s", code, err, out)
	}
	if got := strings.Fields(out); strings.Join(got, " ") != "0 1 2 3" {
		t.Errorf("descriptors: got %v, want 0 1 2 (and ls's 3)", got)
	}
}
