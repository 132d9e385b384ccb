//go:build linux

package posixtest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Case is one conformance check.
type Case struct {
	Name   string
	Layers []Layer // top first
	// Ids marks cases that act as other users: they need root in the
	// initial user namespace, and skip elsewhere.
	Ids bool
	// Layered marks cases about what only a layered union has (the
	// upper's on-disk form, inode numbers across copy-up): a plain
	// directory passes them trivially and they run anyway.
	Run func(t *testing.T, m Mounted, s *Setup)
}

// Run runs every case against s.
func Run(t *testing.T, s Setup) {
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			if c.Ids && !canSwitchIds() {
				t.Skip("needs root in the initial user namespace to act as other users")
			}
			m := s.Mount(t, c.Layers)
			c.Run(t, m, &s)
		})
	}
}

// canSwitchIds reports whether we are root with uids to switch to.
func canSwitchIds() bool {
	if os.Geteuid() != 0 {
		return false
	}
	b, err := os.ReadFile("/proc/self/uid_map")
	return err == nil && strings.Fields(string(b))[2] == "4294967295"
}

// asUser runs fn on an OS thread whose filesystem ids are uid and gid,
// without supplementary groups. The thread is thrown away afterwards.
func asUser(t *testing.T, uid, gid int, fn func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
			done <- e
			return
		}
		unix.Setfsgid(gid)
		unix.Setfsuid(uid)
		defer func() { done <- nil }()
		fn()
	}()
	if err := <-done; err != nil {
		t.Fatalf("switch to %d:%d: %v", uid, gid, err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

func wantRead(t *testing.T, path, want string) {
	t.Helper()
	if got := read(t, path); got != want {
		t.Errorf("read %s: got %q, want %q", filepath.Base(path), got, want)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func lstat(t *testing.T, path string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatalf("lstat: %v", err)
	}
	return st
}

func wantErr(t *testing.T, what string, err error, want syscall.Errno) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", what, err, want)
	}
}

func wantGone(t *testing.T, path string) {
	t.Helper()
	var st unix.Stat_t
	wantErr(t, "lstat "+filepath.Base(path), unix.Lstat(path, &st), unix.ENOENT)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// list returns the names in dir in the order readdir gives them.
func list(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatalf("open dir: %v", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		t.Fatalf("readdir: %v", err)
	}
	return names
}

// wantList checks the set of names in dir, and their order where s
// promises sorted listings.
func wantList(t *testing.T, s *Setup, dir string, want ...string) {
	t.Helper()
	got := list(t, dir)
	if s.Sorted && !sort.StringsAreSorted(got) {
		t.Errorf("readdir %s: not sorted: %q", filepath.Base(dir), got)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("readdir %s: got %q, want %q", filepath.Base(dir), got, want)
	}
}

// helperEnv names the action a child run of the test binary performs.
const helperEnv = "POSIXTEST_HELPER"

// RunHelper performs the action of a child process that a case started,
// and exits; it returns when the process is an ordinary test run. Call it
// first thing in TestMain.
func RunHelper() {
	action := os.Getenv(helperEnv)
	if action == "" {
		return
	}
	err := helpers[action](os.Args[len(os.Args)-1])
	if err != nil {
		os.Stderr.WriteString(action + ": " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(0)
}

var helpers = map[string]func(arg string) error{}

// runHelper runs action on arg in a child process.
func runHelper(t *testing.T, action, arg string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$", arg)
	cmd.Env = append(os.Environ(), helperEnv+"="+action)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s %s: %v: %s", action, filepath.Base(arg), err, out)
	}
}

// InitialRoot reports whether the process is root in the initial user
// namespace, with every id to switch to (cases marked Ids need it).
func InitialRoot() bool { return canSwitchIds() }
