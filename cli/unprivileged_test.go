package cli

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnprivileged runs the core of the Docker workflow — import, run,
// exec, ps, stop, commit, rm — as an ordinary user (nobody), who can mount
// nothing but FUSE, and only inside the user namespace strata makes. The
// test binary stands in for strata, as in the scripts.
func TestUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to become an ordinary user")
	}
	if _, err := exec.LookPath("su"); err != nil {
		t.Skip("needs su")
	}
	busybox := busyboxTar(t)
	if busybox == "" {
		t.Skip("needs Debian's busybox-static")
	}
	// Distributions ship /dev/fuse 0666; this machine has 0600.
	st, err := os.Stat("/dev/fuse")
	if err != nil {
		t.Skipf("no /dev/fuse: %v", err)
	}
	if mode := st.Mode().Perm(); mode&0o006 != 0o006 {
		if err := os.Chmod("/dev/fuse", 0o666); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod("/dev/fuse", mode) })
	}

	// A directory nobody can use (t.TempDir's parents are private).
	dir, err := os.MkdirTemp("", "strata-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("pkill", "-u", "nobody", "-f", filepath.Join(dir, "strata")).Run()
		os.RemoveAll(dir)
	})
	os.Chmod(dir, 0o755)
	copyFile(t, os.Args[0], filepath.Join(dir, "strata"), 0o755)
	copyFile(t, busybox, filepath.Join(dir, "busybox.tar"), 0o644)
	home := filepath.Join(dir, "home")
	os.Mkdir(home, 0o755)
	os.Chown(home, 65534, 65534)

	script := `set -e
cd "$D"
export STRATA_ROOT="$D/home/store" HOME="$D/home"
./strata import busybox.tar busybox >/dev/null
if ./strata run --rm -m 32m busybox true 2>home/err; then echo limited; else echo "refused $?"; fi
head -1 home/err
./strata run --rm busybox sh -c 'id -u; echo written > /tmp/f; cat /tmp/f; grep -c " / / .* - fuse.strata " /proc/self/mountinfo'
./strata run -d --name u1 busybox sh -c 'echo changed > /etc/motd; exec sleep 60' >/dev/null
./strata exec u1 sh -c 'while [ ! -s /etc/motd ]; do sleep 0.1; done; cat /etc/motd'
./strata ps --format '{{.Names}} {{.Image}}'
./strata stop -t 1 u1
./strata commit u1 busybox:committed >/dev/null
./strata rm u1
./strata run --rm busybox:committed cat /etc/motd
./strata ps -a -q | wc -l
`
	cmd := exec.Command("su", "-s", "/bin/sh", "nobody", "-c", script)
	cmd.Env = append(os.Environ(), "D="+dir)
	out, err := cmd.CombinedOutput()
	want := "refused 125\nstrata: resource limits unavailable: cgroups are not available to an unprivileged user (no delegated cgroup); run as root\n" +
		"0\nwritten\n1\nchanged\nu1 busybox\nu1\nu1\nchanged\n0\n"
	if err != nil || string(out) != want {
		t.Fatalf("as nobody: %v\ngot:\n%s\nwant:\n%s", err, out, want)
	}
	// Nothing of nobody's is left running.
	if out, _ := exec.Command("pgrep", "-u", "nobody", "-f", filepath.Join(dir, "strata")).Output(); strings.TrimSpace(string(out)) != "" {
		t.Errorf("processes left: %s", out)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
