package runtime

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestRootless runs a container as an ordinary user: the test binary is
// run again as "nobody", whose runtime puts the monitor in a user
// namespace (caller mapped to root; nobody has no /etc/subuid range).
func TestRootless(t *testing.T) {
	needRoot(t)
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no unprivileged user to run as: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)

	// Everything the user needs: a copy of this binary and a store it
	// owns, under directories it may traverse.
	dir := t.TempDir()
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "runtime.test")
	if err := copyFile(self, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "store")
	if err := os.Mkdir(store, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(store, uid, gid); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "-test.run=^TestRootlessChild$", "-test.v", "-test.count=1")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/", "STRATA_TEST_ROOTLESS_STORE=" + store,
		"STRATA_TEST_ROOTLESS_ROOTFS=" + busyboxRoot}
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as %s: %v\n%s", u.Username, err, out)
	}
	if !bytes.Contains(out, []byte("--- PASS: TestRootlessChild")) {
		t.Fatalf("as %s: child did not pass:\n%s", u.Username, out)
	}
}

// TestRootlessChild is TestRootless's unprivileged half.
func TestRootlessChild(t *testing.T) {
	store := os.Getenv("STRATA_TEST_ROOTLESS_STORE")
	if store == "" {
		t.Skip("run by TestRootless as an unprivileged user")
	}
	if os.Geteuid() == 0 {
		t.Fatal("TestRootlessChild runs as root")
	}
	r := New(store, nil)
	ctx := context.Background()
	c, err := r.Create(ctx, CreateOptions{RootfsDir: os.Getenv("STRATA_TEST_ROOTLESS_ROOTFS"), Hostname: "rl",
		Cmd: []string{"/bin/sh", "-c", "echo hello; id -u; hostname; test -d /proc/1 && echo has1; grep CapEff /proc/self/status; exit 9"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Remove(ctx, c.Config.ID, true)
	var out bytes.Buffer
	code, _, err := r.Run(ctx, c.Config.ID, AttachOptions{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("run: %v (monitor log: %s)", err, lastLine(filepath.Join(store, "containers", c.Config.ID, "monitor.log")))
	}
	want := "hello\n0\nrl\nhas1\nCapEff:\t00000000a80425fb\n"
	if code != 9 || out.String() != want {
		t.Errorf("got %d %q, want 9 %q", code, out.String(), want)
	}
	if c, err := r.Inspect(ctx, c.Config.ID); err != nil || c.State.Status != Exited || !strings.Contains(string(c.State.Status), "exited") {
		t.Errorf("state after run: %+v %v", c, err)
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
