//go:build linux

package fs_test

import (
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/strata-engine/strata/fs/posixtest"
)

// The unprivileged test runs the conformance suite as an ordinary user
// inside a user namespace of its own, where it is root, as a rootless
// engine does: the test binary starts itself as the user (stage 1), which
// starts itself in new user and mount namespaces mapping the user to 0
// (stage 2), which runs TestConformance.
const stageEnv = "STRATA_USERNS_STAGE"

const testUser = "strata-test"

// userNSStage handles stage 1 of the unprivileged test, called from
// TestMain. Stage 2 is an ordinary test run.
func userNSStage() {
	if os.Getenv(stageEnv) != "1" {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), stageEnv+"=2")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		GidMappingsEnableSetgroups: false,
	}
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		os.Stderr.WriteString("stage 2: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(0)
}

// unprivileged reports whether this is the stage 2 run.
func unprivileged() bool { return os.Getenv(stageEnv) == "2" }

func TestUnprivileged(t *testing.T) {
	if unprivileged() {
		t.Skip("already inside the user namespace")
	}
	if !posixtest.InitialRoot() {
		t.Skip("needs root in the initial user namespace to set up an ordinary user")
	}
	st, err := os.Stat("/dev/fuse")
	if err != nil {
		t.Skipf("needs /dev/fuse: %v", err)
	}
	usr, created := ensureUser(t)
	uid, _ := strconv.Atoi(usr.Uid)
	gid, _ := strconv.Atoi(usr.Gid)

	// Distributions ship /dev/fuse 0666; make it so for the test.
	if mode := st.Mode().Perm(); mode&0o006 != 0o006 {
		if err := os.Chmod("/dev/fuse", 0o666); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod("/dev/fuse", mode) })
	}

	// The user needs the test binary and a TMPDIR of its own.
	base := t.TempDir()
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := searchableUp(base); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(base, "fs.test")
	if err := copyFile(exe, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(base, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, uid, gid); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })

	cmd := exec.Command(exe, "-test.run=^(TestConformance|TestMountFlags|TestKilledServer|TestBoundedFds)$", "-test.count=1", "-test.v")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TMPDIR=" + tmp, "HOME=" + tmp, stageEnv + "=1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("conformance as %s in a user namespace: %v\n%s", usr.Username, err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestConformance/index/") {
		t.Errorf("conformance as %s: the cases did not run:\n%s", usr.Username, out)
	}
	if testing.Verbose() {
		t.Logf("%s", out)
	}
	_ = created
}

// ensureUser returns the test user, creating it (and removing it at the
// end of the test) when it does not exist.
func ensureUser(t *testing.T) (*user.User, bool) {
	t.Helper()
	if u, err := user.Lookup(testUser); err == nil {
		return u, false
	}
	if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/bin/false", testUser).CombinedOutput(); err != nil {
		t.Skipf("cannot create user %s: %v: %s", testUser, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", testUser).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", testUser, err, out)
		}
	})
	u, err := user.Lookup(testUser)
	if err != nil {
		t.Fatal(err)
	}
	return u, true
}

// searchableUp lets everyone through the directories above dir.
func searchableUp(dir string) error {
	for p := filepath.Dir(dir); p != "/"; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, st.Mode().Perm()|0o011); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyFile copies the running test binary to dst.
func copyFile(dst string, mode os.FileMode) error {
	src, err := os.Executable()
	if err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
