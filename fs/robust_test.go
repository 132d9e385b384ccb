//go:build linux

package fs_test

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	strata "github.com/strata-engine/strata/fs"
	"github.com/strata-engine/strata/fs/posixtest"
	"github.com/strata-engine/strata/layers/index"
)

// serveEnv makes the test binary a server for TestKilledServer: it mounts
// "lower:upper:work:mnt" and serves until killed.
const serveEnv = "STRATA_TEST_SERVE"

func serveStage() {
	spec := os.Getenv(serveEnv)
	if spec == "" {
		return
	}
	p := strings.Split(spec, ":")
	_, err := strata.Mount(context.Background(), p[3], strata.Options{
		Lowers: []strata.Lower{strata.NewDirLower(p[0])}, UpperDir: p[1], WorkDir: p[2],
	})
	if err != nil {
		fmt.Println("mount:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	select {}
}

// TestKilledServer kills a server in the middle of changes and checks
// that the upper it leaves mounts again and shows a whole tree.
func TestKilledServer(t *testing.T) {
	needFUSE(t)
	base := t.TempDir()
	lower, upper, work, mnt := filepath.Join(base, "lower"), filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "mnt")
	for _, d := range []string{lower, upper, work, mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := posixtest.WriteDir(lower, posixtest.Flatten(posixtest.Image()), posixtest.None); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("0123456789abcdef", 1<<16)
	if err := os.WriteFile(filepath.Join(lower, "big"), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"="+strings.Join([]string{lower, upper, work, mnt}, ":"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { posixtest.Unmount(mnt) })
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("server: %q", line)
	}

	// Changes that complete, then a stream of changes cut by the kill.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(mnt, "etc/passwd"), []byte("changed"), 0o644))
	must(os.Rename(filepath.Join(mnt, "usr"), filepath.Join(mnt, "usr2")))
	must(os.Remove(filepath.Join(mnt, "var/cache/a")))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			d := filepath.Join(mnt, fmt.Sprintf("d%d", i))
			if os.Mkdir(d, 0o755) != nil {
				return
			}
			os.WriteFile(filepath.Join(d, "f"), []byte("data"), 0o644)
			os.Rename(filepath.Join(mnt, "usr2"), filepath.Join(mnt, "usr3"))
			os.Rename(filepath.Join(mnt, "usr3"), filepath.Join(mnt, "usr2"))
			f, err := os.OpenFile(filepath.Join(mnt, "big"), os.O_WRONLY, 0)
			if err != nil {
				return
			}
			f.WriteAt([]byte("x"), int64(i))
			f.Close()
			if i == 20 {
				cmd.Process.Kill()
			}
		}
	}()
	<-done
	cmd.Wait()
	must(posixtest.Unmount(mnt))

	m := mountUnion(t, strata.Options{Lowers: []strata.Lower{strata.NewDirLower(lower)}, UpperDir: upper, WorkDir: work})
	if b, err := os.ReadFile(filepath.Join(m.dir, "etc/passwd")); err != nil || string(b) != "changed" {
		t.Errorf("etc/passwd: got %q, %v, want changed", b, err)
	}
	if _, err := os.Stat(filepath.Join(m.dir, "var/cache/a")); !os.IsNotExist(err) {
		t.Errorf("var/cache/a: got %v, want it gone", err)
	}
	_, err2 := os.Stat(filepath.Join(m.dir, "usr2/bin/tool"))
	_, err3 := os.Stat(filepath.Join(m.dir, "usr3/bin/tool"))
	if (err2 == nil) == (err3 == nil) {
		t.Errorf("usr2/bin/tool: %v; usr3/bin/tool: %v; want exactly one", err2, err3)
	}
	if b, err := os.ReadFile(filepath.Join(m.dir, "big")); err != nil || len(b) != len(big) || string(b[64:]) != big[64:] {
		t.Errorf("big: %d bytes, %v; want %d, the tail unchanged", len(b), err, len(big))
	}
	// Every file reads, no whiteout shows, and the work directory is clean.
	err = filepath.WalkDir(m.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".wh.") {
			t.Errorf("%s: a whiteout shows", p)
		}
		if d.Type().IsRegular() {
			_, err = os.ReadFile(p)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(work, "strata-work")); len(ents) != 0 {
		t.Errorf("work directory after remount: %d entries left", len(ents))
	}
}

// TestBoundedFds walks a 100k-file image and checks the server keeps no
// descriptor per file.
func TestBoundedFds(t *testing.T) {
	needFUSE(t)
	objects := t.TempDir()
	x, err := index.Merge(genImage(t, objects, 2, 100000)...)
	if err != nil {
		t.Fatal(err)
	}
	m := mountUnion(t, strata.Options{Lowers: []strata.Lower{strata.NewIndexLower(x, objects)}})
	before := countFds(t)
	n := 0
	err = filepath.WalkDir(m.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			var st syscall.Stat_t
			if err := syscall.Lstat(p, &st); err != nil {
				return err
			}
			if n%100 == 0 {
				if _, err := os.ReadFile(p); err != nil {
					return err
				}
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := countFds(t); after > before+16 {
		t.Errorf("open descriptors: %d before walking %d files, %d after", before, n, after)
	}
	if n < 90000 {
		t.Errorf("walked %d files, want the whole image", n)
	}
}

func countFds(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestMountFlags checks what the mount looks like from outside: no nosuid
// or nodev added, and passthrough in use exactly when the server may.
func TestMountFlags(t *testing.T) {
	needFUSE(t)
	m := mountUnion(t, strata.Options{Lowers: []strata.Lower{strata.NewDirLower(t.TempDir())}, Passthrough: true})
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[4] != m.dir {
			continue
		}
		found = true
		for _, o := range strings.Split(f[5], ",") {
			if o == "nosuid" || o == "nodev" {
				if o == "nodev" && !posixtest.InitialRoot() {
					continue // the kernel adds it to mounts of a user namespace
				}
				t.Errorf("mount options %s: has %s", f[5], o)
			}
		}
	}
	if !found {
		t.Fatalf("%s not in mountinfo", m.dir)
	}
	if want := posixtest.InitialRoot() && passthroughKernel(); m.srv.Passthrough() != want {
		t.Errorf("passthrough: got %v, want %v", m.srv.Passthrough(), want)
	}
}

// passthroughKernel reports whether the kernel has FUSE passthrough.
func passthroughKernel() bool {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return false
	}
	var rel []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		rel = append(rel, byte(c))
	}
	var major, minor int
	fmt.Sscanf(string(rel), "%d.%d", &major, &minor)
	return major > 6 || major == 6 && minor >= 9
}
