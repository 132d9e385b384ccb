//go:build linux

package fs_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/strata-engine/strata/fs"
	"github.com/strata-engine/strata/fs/posixtest"
)

// TestExecPassthrough runs a program from a lower layer on a mount with
// passthrough: execve's open of a lower file is served by the kernel from
// the store's object, so the object must never be written through it.
// While the program runs, opening it for writing fails with ETXTBSY (as
// for any running program), and so it does while a read open that joined
// the program's mode lasts; once all are closed, a write copies the file
// up and leaves the object as it was.
func TestExecPassthrough(t *testing.T) {
	needFUSE(t)
	prog, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Skip("no /bin/sleep to run:", err)
	}
	layers := []posixtest.Layer{{
		posixtest.Dir("bin"),
		{Path: "bin/prog", Mode: syscall.S_IFREG | 0o755, Data: string(prog)},
		{Path: "bin/prog2", Mode: syscall.S_IFREG | 0o755, Data: string(prog) + "\n"},
		posixtest.File("etc/data", "lower data\n"),
	}}
	objects := filepath.Join(t.TempDir(), "objects")
	if err := os.Mkdir(objects, 0o755); err != nil {
		t.Fatal(err)
	}
	x, err := flatIndex(layers, objects)
	if err != nil {
		t.Fatal(err)
	}
	m := mountUnion(t, fs.Options{Lowers: []fs.Lower{fs.NewIndexLower(x, objects)}, Passthrough: true})
	if posixtest.InitialRoot() && passthroughKernel() && !m.srv.Passthrough() {
		t.Fatal("passthrough is off on a kernel and server that have it")
	}
	path := filepath.Join(m.dir, "bin/prog")

	// A file already open by a plain read keeps its I/O mode: the exec
	// must still work.
	held, err := os.Open(path + "2")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if out, err := runVia(path+"2", "0").CombinedOutput(); err != nil {
		t.Fatalf("exec with a read open: %v: %s", err, out)
	}
	if n := fs.LowerPassthroughOpens(m.srv); n != 0 {
		t.Errorf("%d passthrough opens of a file already open in cached mode", n)
	}
	held.Close()

	cmd := runVia(path, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitExe(t, cmd.Process.Pid, path)
	if m.srv.Passthrough() && fs.LowerPassthroughOpens(m.srv) == 0 {
		t.Error("the program was not opened in passthrough mode")
	}

	if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
		f.Close()
		t.Fatal("opened a running program for writing")
	} else if !errors.Is(err, syscall.ETXTBSY) {
		t.Fatalf("write open of a running program: %v, want ETXTBSY", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, prog) {
		t.Fatalf("read %d bytes of the running program, want its %d", len(got), len(prog))
	}
	// A read open made now joins the program's passthrough mode and
	// outlives it: the kernel no longer stops writers, the server must,
	// for an upper file cannot back an inode that the object backs.
	reader, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// Closed below; this one is for the failures in between, which
	// would otherwise keep the mount busy and leave it behind.
	defer reader.Close()
	cmd.Process.Kill()
	cmd.Wait()
	if m.srv.Passthrough() {
		if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			f.Close()
			t.Fatal("opened for writing a file whose lower object backs a passthrough open")
		} else if !errors.Is(err, syscall.ETXTBSY) {
			t.Fatalf("write open while a passthrough read is open: %v, want ETXTBSY", err)
		}
		if err := os.Truncate(path, 10); !errors.Is(err, syscall.ETXTBSY) {
			t.Fatalf("truncate while a passthrough read is open: %v, want ETXTBSY", err)
		}
	}
	reader.Close()

	// RELEASE reaches the server after close returns: retry a moment.
	var f *os.File
	for deadline := time.Now().Add(10 * time.Second); ; {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if !errors.Is(err, syscall.ETXTBSY) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("write open after the program exited: %v", err)
	}
	if _, err := f.WriteString("changed\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got, _ := os.ReadFile(path); string(got) != "changed\n" {
		t.Fatalf("after the write, read %q", got)
	}
	// Every object still holds what it held: nothing wrote through.
	found := false
	err = filepath.WalkDir(objects, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Equal(b, prog) {
			found = true
		}
		if bytes.HasPrefix(b, []byte("changed")) {
			t.Errorf("object %s was written through the mount", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatal("the program's object is gone or changed")
	}
}

// runVia runs prog through a shell's exec. The server runs in this
// process: a fork here (Go's is a vfork) holds this thread, and with
// GOMAXPROCS=1 the only P, until the child's execve returns, which for a
// program on the mount needs the server to run. The shell's execve
// happens in the shell, with us free to serve it.
func runVia(prog string, args ...string) *exec.Cmd {
	return exec.Command("/bin/sh", append([]string{"-c", `exec "$0" "$@"`, prog}, args...)...)
}

// waitExe waits until pid runs path.
func waitExe(t *testing.T, pid int, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); err == nil && exe == path {
			return
		}
	}
	t.Fatalf("process %d never ran %s", pid, path)
}
