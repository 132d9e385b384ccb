package cgroups

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-engine/strata/runtime/spec"
)

// TestLifecycle makes a real cgroup with every limit, moves a process in,
// reads its stats and removes it.
func TestLifecycle(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make cgroups")
	}
	if err := Available(); err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	id := "strata-test-" + filepath.Base(t.TempDir())
	r := &spec.Resources{Memory: 64 << 20, MemorySwap: 128 << 20, NanoCPUs: 5e8, CPUShares: 512, PidsLimit: 7}
	cg, err := Create(id, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cg.Remove() })

	want := map[string]string{}
	if cg.V2 {
		want = map[string]string{"memory.max": "67108864", "cpu.max": "50000 100000", "pids.max": "7", "cpu.weight": "20"}
		for f, v := range want {
			checkFile(t, filepath.Join(cg.Dir, f), v)
		}
	} else {
		checkFile(t, filepath.Join(cg.Paths["memory"], "memory.limit_in_bytes"), "67108864")
		checkFile(t, filepath.Join(cg.Paths["cpu"], "cpu.cfs_quota_us"), "50000")
		checkFile(t, filepath.Join(cg.Paths["cpu"], "cpu.shares"), "512")
		pids := "7"
		if cg.splitPids() {
			pids = "8" // and init's forking thread
		}
		checkFile(t, filepath.Join(cg.Paths["pids"], "pids.max"), pids)
	}

	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := cg.Enter(cmd.Process.Pid); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal(err)
	}
	// Joined while alive, so Remove must wait for it to be gone.
	dir := cg.Dir
	if !cg.V2 {
		dir = cg.Paths["memory"]
	}
	procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if strings.TrimSpace(string(procs)) == "" {
		t.Errorf("cgroup.procs: got nothing, want the process")
	}
	st, err := cg.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.MemoryLimit != 64<<20 {
		t.Errorf("MemoryLimit: got %d, want %d", st.MemoryLimit, 64<<20)
	}
	if cg.OOMKilled() {
		t.Error("OOMKilled: got true, want false")
	}
	if err := cg.Remove(); err == nil {
		t.Error("Remove with a live process: got nil, want EBUSY")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if err := cg.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	for _, d := range cg.dirs() {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: got %v, want it gone", d, err)
		}
	}
}

// TestCreateBadLimit: a limit the kernel refuses leaves no cgroup.
func TestCreateBadLimit(t *testing.T) {
	if os.Geteuid() != 0 || Unified() {
		t.Skip("needs root and cgroup v1")
	}
	if err := Available(); err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	id := "strata-test-" + filepath.Base(t.TempDir())
	// memsw below the memory limit is refused by the kernel.
	_, err := Create(id, &spec.Resources{Memory: 64 << 20, MemorySwap: 32 << 20})
	if err == nil {
		t.Fatal("Create: got nil, want an error")
	}
	dirs, _ := v1Dirs(id)
	for _, d := range dirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: got %v, want it gone", d, err)
		}
	}
}

func checkFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if got := strings.TrimSpace(string(b)); err != nil || got != want {
		t.Errorf("%s: got %q (%v), want %q", path, got, err, want)
	}
}

func TestParsers(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"shares 2", sharesToWeight(2), int64(1)},
		{"shares 1024", sharesToWeight(1024), int64(39)},
		{"shares max", sharesToWeight(262144), int64(10000)},
		{"unescape", unescape(`/a\040b`), "/a b"},
		{"unescape plain", unescape(`/sys/fs/cgroup/memory`), "/sys/fs/cgroup/memory"},
		{"cpu quota", cpuQuota(1.5e9), int64(150000)},
	}
	r, w := blkioV1(write("blkio", "8:0 Read 4096\n8:0 Write 512\n8:16 Read 100\n8:0 Total 4608\nTotal 4708\n"))
	tests = append(tests, struct {
		name      string
		got, want any
	}{"blkio v1", [2]uint64{r, w}, [2]uint64{4196, 512}})
	r, w = ioStatV2(write("io.stat", "8:0 rbytes=4096 wbytes=512 rios=1 wios=1\n8:16 rbytes=4 wbytes=0\n"))
	tests = append(tests, struct {
		name      string
		got, want any
	}{"io.stat", [2]uint64{r, w}, [2]uint64{4100, 512}})
	kv, _ := readKV(write("oom", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"))
	tests = append(tests, struct {
		name      string
		got, want any
	}{"oom_control", kv["oom_kill"], int64(3)})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestSplitPids(t *testing.T) {
	tests := []struct {
		name  string
		paths map[string]string
		want  int
	}{
		{"apart", map[string]string{"memory": "/m/x", "pids": "/p/x"}, 1},
		{"co-mounted", map[string]string{"memory": "/m/x", "pids": "/m/x"}, 0},
		{"no pids", map[string]string{"memory": "/m/x"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cg := &Cgroup{Paths: tt.paths}
			if got := len(cg.ThreadTasks()); got != tt.want {
				t.Errorf("got %d thread tasks, want %d", got, tt.want)
			}
		})
	}
}
