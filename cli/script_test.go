package cli

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/network"
	"github.com/strata-engine/strata/registry/registrytest"
	"github.com/strata-engine/strata/runtime"
	"github.com/strata-engine/strata/runtime/spec"
)

// TestMain lets the test binary stand in for the strata command: scripts
// run "strata …" as a real process, with real exit statuses and streams.
func TestMain(m *testing.M) {
	// Containers' monitors, inits and exec stages are this binary,
	// re-executed by the runtime.
	if runtime.MaybeRunInit() {
		return
	}
	// The pty tests run this binary as strata itself.
	if os.Getenv(asStrataEnv) == "1" {
		os.Exit(Main(append([]string{"strata"}, os.Args[1:]...)))
	}
	testscript.Main(cleanupM{m, testNetworkEnv()}, map[string]func(){
		"strata":    func() { os.Exit(Main(os.Args)) },
		"strata-fs": func() { os.Exit(Main(os.Args)) },
	})
}

// asStrataEnv makes the test binary run as the strata command.
const asStrataEnv = "STRATA_TEST_AS_STRATA"

// TestScript runs the scripts under testdata/script, one per command, named
// after it (images.txtar, rmi_errors.txtar). Each script runs in parallel
// with the others, in its own $WORK, with its own store at $STRATA_ROOT.
// Conditions beyond testscript's own ([exec:skopeo], [unix], …): [root],
// [busybox] when $BUSYBOX_TAR is a real root filesystem tarball, and
// [registry] when Debian's docker-registry is installed.
func TestScript(t *testing.T) {
	busybox := busyboxTar(t)
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: false,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			root := filepath.Join(env.WorkDir, ".strata")
			env.Setenv("STRATA_ROOT", root)
			// A script that fails half way leaves no container running.
			env.Defer(func() { removeContainers(env.T(), root) })
			// No terminal and no user configuration leak into scripts.
			env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("XDG_DATA_HOME", "")
			env.Setenv("BUSYBOX_TAR", busybox)
			for _, k := range []string{network.EnvBridge, network.EnvSubnet, "STRATA_NO_IP_FORWARD"} {
				env.Setenv(k, os.Getenv(k)) // see testNetworkEnv
			}
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Geteuid() == 0, nil
			case "busybox":
				return busybox != "", nil
			case "registry":
				return registrytest.Available(), nil
			}
			return false, &unknownCondition{cond}
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"exits":        exits,
			"mktar":        mktar,
			"sharedprefix": sharedPrefix,
			"registry":     startRegistry,
			"capture": func(ts *testscript.TestScript, neg bool, args []string) {
				// capture VAR: $VAR is the previous command's stdout,
				// trimmed, so that ids can be used by later lines.
				if neg || len(args) != 1 {
					ts.Fatalf("usage: capture VAR")
				}
				ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile("stdout")))
			},
		},
		UpdateScripts: os.Getenv("UPDATE_SCRIPTS") != "",
	})
}

// busyboxTar makes, once for all scripts, the busybox root filesystem
// tarball of testdata/busybox from Debian's busybox-static, or returns ""
// when that is not installed.
func busyboxTar(t *testing.T) string {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Logf("no /bin/busybox (Debian's busybox-static): [busybox] scripts skip")
		return ""
	}
	out := filepath.Join(t.TempDir(), "busybox.tar")
	cmd := exec.Command("go", "run", "./testdata/busybox", "-o", out)
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./testdata/busybox: %v\n%s", err, b)
	}
	return out
}

// exits runs a command like exec and fails unless its exit status is the
// one given: "exits 125 strata --bogus". Its stdout and stderr are kept for
// the stdout and stderr commands that follow.
func exits(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exits")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exits STATUS COMMAND [ARG...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad status %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// mktar writes a tar of the files under a directory of the script's work
// tree, with fixed times and ownership so that the same files always make
// the same layer: "mktar [-z] OUT.tar DIR". Symbolic links are written as
// such; -z gzips the tar.
func mktar(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! mktar")
	}
	gz := len(args) > 0 && args[0] == "-z"
	if gz {
		args = args[1:]
	}
	if len(args) != 2 {
		ts.Fatalf("usage: mktar [-z] OUT.tar DIR")
	}
	out, err := os.Create(ts.MkAbs(args[0]))
	ts.Check(err)
	var w io.Writer = out
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(out)
		w = zw
	}
	tw := tar.NewWriter(w)
	dir := ts.MkAbs(args[1])
	epoch := time.Unix(1700000000, 0)
	ts.Check(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		hdr.ModTime, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = epoch, 0, 0, "", ""
		hdr.Format = tar.FormatPAX
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	}))
	ts.Check(tw.Close())
	if zw != nil {
		ts.Check(zw.Close())
	}
	ts.Check(out.Close())
}

// sharedPrefix sets $VAR to a one-digit prefix that at least two of the
// ids listed in the previous command's stdout share: "sharedprefix VAR".
func sharedPrefix(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sharedprefix VAR")
	}
	seen := map[byte]bool{}
	for _, id := range strings.Fields(ts.ReadFile("stdout")) {
		if seen[id[0]] {
			ts.Setenv(args[0], id[:1])
			return
		}
		seen[id[0]] = true
	}
	ts.Fatalf("no two ids share a first digit")
}

// removeContainers force-removes every container of the store at root.
func removeContainers(t interface{ Log(...any) }, root string) {
	if _, err := os.Stat(filepath.Join(root, "containers")); err != nil {
		return
	}
	s, err := layers.Open(root)
	if err != nil {
		t.Log(err)
		return
	}
	rt := runtime.New(root, s)
	ctrs, err := rt.List(context.Background(), true)
	if err != nil {
		t.Log(err)
		return
	}
	for _, c := range ctrs {
		err := rt.Remove(context.Background(), c.ID(), true)
		if errors.Is(err, runtime.ErrRunning) {
			// Killed, its monitor still unmounting: wait for it.
			spec.WaitMonitor(filepath.Join(root, "containers", c.ID()))
			err = rt.Remove(context.Background(), c.ID(), true)
		}
		if err != nil {
			t.Log("remove leftover container:", err)
		}
	}
}

type unknownCondition struct{ name string }

func (e *unknownCondition) Error() string { return "unknown condition " + e.name }

// startRegistry starts a real registry (Debian's docker-registry) for the
// rest of the script on a free loopback port and sets $REGISTRY to its
// HOST:PORT: "registry [-auth USER:PASSWORD] [VAR]" (VAR instead of
// REGISTRY for a second one). It stops when the script ends.
func startRegistry(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! registry")
	}
	var opts registrytest.Options
	if len(args) >= 2 && args[0] == "-auth" {
		user, pass, ok := strings.Cut(args[1], ":")
		if !ok {
			ts.Fatalf("usage: registry [-auth USER:PASSWORD] [VAR]")
		}
		opts.Users = map[string]string{user: pass}
		args = args[2:]
	}
	v := "REGISTRY"
	if len(args) == 1 {
		v = args[0]
	} else if len(args) > 1 {
		ts.Fatalf("usage: registry [-auth USER:PASSWORD] [VAR]")
	}
	dir := ts.MkAbs(".registry-" + v)
	ts.Check(os.MkdirAll(dir, 0o755))
	r, err := registrytest.StartIn(dir, opts)
	ts.Check(err)
	ts.Defer(r.Stop)
	ts.Setenv(v, r.Host)
}
