package cli

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// nobodyDir prepares a directory the user nobody can use, holding this
// test binary as strata and the busybox tarball, with /dev/fuse usable;
// it skips the test where that cannot be done.
func nobodyDir(t *testing.T) string {
	t.Helper()
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

	return dir
}

// TestUnprivileged runs the core of the Docker workflow — import, run,
// exec, ps, stop, cp into the stopped container, commit, rm — as an
// ordinary user (nobody), who can mount
// nothing but FUSE, and only inside the user namespace strata makes. The
// test binary stands in for strata, as in the scripts.
func TestUnprivileged(t *testing.T) {
	dir := nobodyDir(t)
	script := `set -e
cd "$D"
export STRATA_ROOT="$D/home/store" HOME="$D/home"
./strata import busybox.tar busybox >/dev/null
if ./strata run --rm --network none -m 32m busybox true 2>home/err; then echo limited; else echo "refused $?"; fi
head -1 home/err
./strata run --rm --network none busybox sh -c 'id -u; echo written > /tmp/f; cat /tmp/f; grep -c " / / .* - fuse.strata " /proc/self/mountinfo'
./strata run -d --name u1 --network none busybox sh -c 'echo changed > /etc/motd; exec sleep 60' >/dev/null
./strata exec u1 sh -c 'while [ ! -s /etc/motd ]; do sleep 0.1; done; cat /etc/motd'
./strata ps --format '{{.Names}} {{.Image}}'
./strata stop -t 1 u1
echo from-host > home/hostfile
./strata cp home/hostfile u1:/etc/copied
./strata commit u1 busybox:committed >/dev/null
./strata rm u1
./strata run --rm --network none busybox:committed sh -c 'cat /etc/motd /etc/copied; stat -c "%u %g %a" /etc/copied'
./strata ps -a -q | wc -l
`
	cmd := exec.Command("su", "-s", "/bin/sh", "nobody", "-c", script)
	cmd.Env = append(os.Environ(), "D="+dir)
	out, err := cmd.CombinedOutput()
	want := "refused 125\nstrata: resource limits unavailable: cgroups are not available to an unprivileged user (no delegated cgroup); run as root\n" +
		"0\nwritten\n1\nchanged\nu1 busybox\nu1\nu1\nchanged\nfrom-host\n0 0 644\n0\n"
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

// TestUnprivilegedNetwork: an ordinary user's containers get a network
// through slirp4netns where /dev/net/tun is usable — they reach a server
// on the host's own address — and, where it is not, run with loopback
// only and say so. The test sets /dev/net/tun's mode for each case and
// restores it.
func TestUnprivilegedNetwork(t *testing.T) {
	dir := nobodyDir(t)
	if _, err := exec.LookPath("slirp4netns"); err != nil {
		t.Skip("needs slirp4netns")
	}
	st, err := os.Stat("/dev/net/tun")
	if err != nil {
		t.Skipf("no /dev/net/tun: %v", err)
	}
	mode := st.Mode().Perm()
	t.Cleanup(func() { os.Chmod("/dev/net/tun", mode) })
	// A server on the host's first non-loopback IPv4 address: slirp4netns
	// reaches the host's addresses, not its loopback.
	hostIP := ""
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			hostIP = n.IP.String()
			break
		}
	}
	if hostIP == "" {
		t.Skip("no non-loopback IPv4 address")
	}
	l, err := net.Listen("tcp4", hostIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("from host\n"))
			c.Close()
		}
	}()
	tests := []struct {
		name string
		mode os.FileMode
		want string
	}{
		{"slirp4netns", 0o666, "tap0 10.0.2.100/24\nfrom host\n127.0.0.1:[0-9]+\nfrom the container\n"},
		{"no tun", 0o600, `WARNING: /dev/net/tun is not usable: open /dev/net/tun: permission denied: the container has no network but loopback \(--network none\)\nno tap0\n`},
	}
	script := `set -e
cd "$D"
export STRATA_ROOT="$D/home/store" HOME="$D/home"
./strata images -q | grep -q . || ./strata import busybox.tar busybox >/dev/null
./strata run --rm busybox sh -c 'if ip -o -4 addr show tap0 >/dev/null 2>&1; then ip -o -4 addr show tap0 | awk "{print \$2, \$4}"; nc -w 5 ` + hostIP + ` ` + fmt.Sprint(l.Addr().(*net.TCPAddr).Port) + `; else echo no tap0; fi'
if [ -e /dev/net/tun ] && ./strata run -d --name pub -p 127.0.0.1::80 busybox sh -c 'while :; do echo from the container | nc -l -p 80; done' >/dev/null 2>&1; then
	hp=$(./strata port pub 80); echo "$hp"
	for i in $(seq 50); do busybox nc -w 2 ${hp%:*} ${hp#*:} </dev/null 2>/dev/null && break; sleep 0.1; done
	./strata rm -f pub >/dev/null
fi
`
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.Chmod("/dev/net/tun", tt.mode); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("su", "-s", "/bin/sh", "nobody", "-c", script)
			cmd.Env = append(os.Environ(), "D="+dir)
			out, err := cmd.CombinedOutput()
			if err != nil || !regexp.MustCompile(`^`+tt.want+`$`).Match(out) {
				t.Fatalf("as nobody: %v\ngot:\n%s\nwant:\n%s", err, out, tt.want)
			}
		})
	}
}
