package runtime

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-engine/strata/layers"
)

// buildRuntime builds cmd/strata-runtime into dir; vcs says whether the
// build records the commit (spec.Build), as make build's does.
func buildRuntime(t *testing.T, dir string, vcs bool) string {
	t.Helper()
	bin := filepath.Join(dir, "strata-runtime")
	out, err := exec.Command("go", "build", "-buildvcs="+map[bool]string{true: "auto", false: "false"}[vcs],
		"-o", bin, "../cmd/strata-runtime").CombinedOutput()
	if err != nil {
		t.Fatalf("go build strata-runtime: %v: %s", err, out)
	}
	return bin
}

// TestRuntimeBinary starts containers from strata-runtime, the binary that
// links only the runtime: the monitor runs it, serves the image's root
// from the index file the starter prepared, and a --rm container's
// monitor drops its image hold. A strata-runtime from another build is
// refused with an error that says so.
func TestRuntimeBinary(t *testing.T) {
	needRoot(t)
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("needs /dev/fuse")
	}
	bin := buildRuntime(t, t.TempDir(), false)
	t.Setenv(RuntimeEnv, bin)
	root := t.TempDir()
	st, err := layers.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := st.Import(ctx, bytes.NewReader(busyboxTar), layers.ImportOptions{Refs: []string{"busybox:test"}}); err != nil {
		t.Fatal(err)
	}
	r := New(root, st)
	if r.exe != bin {
		t.Fatalf("monitors start from %s, want %s", r.exe, bin)
	}
	t.Cleanup(func() {
		cs, _ := r.List(ctx, true)
		for _, c := range cs {
			r.Remove(ctx, c.Config.ID, true)
		}
	})

	c, err := r.Create(ctx, CreateOptions{Image: "busybox:test", Cmd: []string{"sleep", "30"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx, c.Config.ID); err != nil {
		t.Fatal(err)
	}
	c, err = r.Inspect(ctx, c.Config.ID)
	if err != nil {
		t.Fatal(err)
	}
	if exe, err := os.Readlink("/proc/" + strconv.Itoa(c.State.MonitorPid) + "/exe"); err != nil || exe != bin {
		t.Errorf("monitor %d runs %q (%v), want %s", c.State.MonitorPid, exe, err, bin)
	}
	if err := r.Stop(ctx, c.Config.ID, time.Second); err != nil {
		t.Fatal(err)
	}

	c, err = r.Create(ctx, CreateOptions{Image: "busybox:test", AutoRemove: true,
		Cmd: []string{"sh", "-c", "echo hi > /tmp/x && cat /tmp/x /proc/1/cmdline"}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	code, _, err := r.Run(ctx, c.Config.ID, AttachOptions{Stdout: &out, Stderr: &out})
	if err != nil || code != 0 || !strings.HasPrefix(out.String(), "hi\nstrata-init") {
		t.Fatalf("--rm run: %d %q %v", code, out.String(), err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		holds, _ := st.Holds()
		if _, ok := holds[c.Config.ID]; !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the --rm container's hold is still there: %v", holds)
		}
	}

	// Another build: its monitor refuses to run.
	other := buildRuntime(t, t.TempDir(), true)
	if b, _ := exec.Command("go", "version", "-m", other).Output(); !bytes.Contains(b, []byte("vcs.revision")) {
		t.Log("no vcs stamp outside a git checkout; mismatch not tested")
		return
	}
	t.Setenv(RuntimeEnv, other)
	r = New(root, st)
	c, err = r.Create(ctx, CreateOptions{Image: "busybox:test", Cmd: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Start(ctx, c.Config.ID)
	if err == nil || !strings.Contains(err.Error(), "install both from the same build") {
		t.Errorf("start from another build's strata-runtime: %v", err)
	}
}
