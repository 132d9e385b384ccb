package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/strata-engine/strata/runtime/spec"
	"golang.org/x/sys/unix"
)

// File is the record of a container's cgroup, in its directory.
const File = "cgroup.json"

// Sentinels, tested with errors.Is.
var (
	// ErrUnavailable: no cgroup hierarchy this process may use
	// (unprivileged, or no controllers mounted).
	ErrUnavailable = errors.New("cgroups are not available")
)

// Cgroup is one container's cgroup: its directories, by controller under
// v1 (a directory may serve several co-mounted controllers), or the one
// directory of v2.
type Cgroup struct {
	V2 bool `json:"v2,omitempty"`
	// Dir is the v2 directory.
	Dir string `json:"dir,omitempty"`
	// Paths are the v1 directories by controller: memory, cpu,
	// cpuacct, pids, blkio.
	Paths map[string]string `json:"paths,omitempty"`
}

// v1Controllers are the v1 hierarchies a container gets a directory in.
var v1Controllers = []string{"memory", "cpu", "cpuacct", "pids", "blkio"}

// v2Controllers are enabled in the subtree of /sys/fs/cgroup/strata.
var v2Controllers = []string{"memory", "cpu", "pids", "io"}

const unifiedRoot = "/sys/fs/cgroup"

// Unified reports whether /sys/fs/cgroup is the cgroup v2 hierarchy.
func Unified() bool {
	var st unix.Statfs_t
	return unix.Statfs(unifiedRoot, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// Available reports, as an error naming the reason, whether this process
// can make cgroups: as root on a v1 or v2 host. An unprivileged user
// would need a delegated v2 subtree, which strata does not use yet.
func Available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w to an unprivileged user (no delegated cgroup); run as root", ErrUnavailable)
	}
	if Unified() {
		return nil
	}
	if _, err := v1Mounts(); err != nil {
		return err
	}
	return nil
}

// Create makes the cgroup of container id and writes r's limits. On
// error nothing is left behind.
func Create(id string, r *spec.Resources) (cg *Cgroup, err error) {
	if os.Geteuid() != 0 {
		return nil, Available()
	}
	if Unified() {
		cg = &Cgroup{V2: true, Dir: filepath.Join(unifiedRoot, "strata", id)}
		// Retried: a concurrent Remove may delete the parent between
		// its preparation and our mkdir.
		for i := 0; ; i++ {
			if err := v2Prepare(); err != nil {
				return nil, err
			}
			err := os.Mkdir(cg.Dir, 0o755)
			if err == nil {
				break
			}
			if !errors.Is(err, os.ErrNotExist) || i == 4 {
				return nil, fmt.Errorf("create cgroup: %w", err)
			}
		}
	} else {
		dirs, err := v1Dirs(id)
		if err != nil {
			return nil, err
		}
		cg = &Cgroup{Paths: dirs}
		for _, d := range cg.dirs() {
			if err := mkdirAll(d); err != nil {
				cg.Remove()
				return nil, fmt.Errorf("create cgroup: %w", err)
			}
		}
	}
	if err := cg.set(r); err != nil {
		cg.Remove()
		return nil, err
	}
	return cg, nil
}

// dirs are the distinct directories of cg, deepest-first order irrelevant
// (they are siblings in different hierarchies).
func (cg *Cgroup) dirs() []string {
	if cg.V2 {
		return []string{cg.Dir}
	}
	seen := map[string]bool{}
	var out []string
	for _, c := range v1Controllers {
		if d, ok := cg.Paths[c]; ok && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// set writes the limits.
func (cg *Cgroup) set(r *spec.Resources) error {
	if r == nil {
		return nil
	}
	var w writer
	if cg.V2 {
		d := cg.Dir
		if r.Memory > 0 {
			w.write(d, "memory.max", r.Memory)
			swap := r.MemorySwap
			if _, err := os.Stat(filepath.Join(d, "memory.swap.max")); err != nil {
				swap = 0 // no swap accounting: as v1 without memsw
			}
			switch {
			case swap < 0:
				w.writeString(d, "memory.swap.max", "max")
			case swap > 0:
				// v2 limits swap alone; Docker's flag is memory plus swap.
				w.write(d, "memory.swap.max", swap-r.Memory)
			}
		}
		if r.NanoCPUs > 0 {
			w.writeString(d, "cpu.max", fmt.Sprintf("%d %d", cpuQuota(r.NanoCPUs), cpuPeriod))
		}
		if r.CPUShares > 0 {
			w.write(d, "cpu.weight", sharesToWeight(r.CPUShares))
		}
		if r.PidsLimit > 0 {
			w.write(d, "pids.max", r.PidsLimit)
		}
		return w.err
	}
	p := cg.Paths
	if r.Memory > 0 {
		// The limit first: memsw must never be below it.
		w.write(p["memory"], "memory.limit_in_bytes", r.Memory)
		if r.MemorySwap != 0 {
			if _, err := os.Stat(filepath.Join(p["memory"], "memory.memsw.limit_in_bytes")); err == nil {
				w.write(p["memory"], "memory.memsw.limit_in_bytes", r.MemorySwap)
			}
		}
	}
	if r.NanoCPUs > 0 {
		w.write(p["cpu"], "cpu.cfs_period_us", cpuPeriod)
		w.write(p["cpu"], "cpu.cfs_quota_us", cpuQuota(r.NanoCPUs))
	}
	if r.CPUShares > 0 {
		w.write(p["cpu"], "cpu.shares", r.CPUShares)
	}
	if r.PidsLimit > 0 {
		// Init's main thread is in there too (ThreadTasks), and is
		// not the container's.
		w.write(p["pids"], "pids.max", r.PidsLimit+int64(len(cg.ThreadTasks())))
	}
	return w.err
}

// cpuPeriod is the CFS period for --cpus, Docker's 100 ms.
const cpuPeriod = 100000

func cpuQuota(nano int64) int64 { return nano * cpuPeriod / 1e9 }

// sharesToWeight maps v1 cpu.shares (2..262144) onto v2 cpu.weight
// (1..10000) as runc does.
func sharesToWeight(shares int64) int64 {
	return 1 + ((shares-2)*9999)/262142
}

// writer writes cgroup files until the first error.
type writer struct{ err error }

func (w *writer) write(dir, file string, v int64) { w.writeString(dir, file, strconv.FormatInt(v, 10)) }

func (w *writer) writeString(dir, file, v string) {
	if w.err != nil {
		return
	}
	if dir == "" {
		w.err = fmt.Errorf("set %s: %w (controller not mounted)", file, ErrUnavailable)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(v), 0); err != nil {
		w.err = fmt.Errorf("set %s to %s: %w", file, v, err)
	}
}

// Enter moves process pid (the container's init) into the cgroup — under
// v1, into every hierarchy but the pids one when that is mounted apart:
// there only init's forking thread joins, by itself (ThreadTasks; see the
// package comment).
func (cg *Cgroup) Enter(pid int) error {
	var w writer
	if cg.V2 {
		w.write(cg.Dir, "cgroup.procs", int64(pid))
		return w.err
	}
	split := cg.splitPids()
	for c, d := range cg.Paths {
		if c != "pids" || !split {
			w.write(d, "cgroup.procs", int64(pid))
		}
	}
	return w.err
}

// ThreadTasks lists the v1 "tasks" files that init's main thread must
// write "0" (itself) to, once its Go runtime has locked that thread and
// started its template thread: Go threads created later are cloned by
// the template thread, outside, and only the commands forked by the main
// thread count against --pids-limit. The monitor cannot move the thread
// itself: it knows its tid, but init's runtime is still starting then,
// cloning its first threads from that very thread.
func (cg *Cgroup) ThreadTasks() []string {
	if cg.V2 || !cg.splitPids() {
		return nil
	}
	return []string{filepath.Join(cg.Paths["pids"], "tasks")}
}

// splitPids: the v1 pids hierarchy is mounted alone, so a thread may join
// it without moving init's other threads in the memory or cpu ones.
func (cg *Cgroup) splitPids() bool {
	d, ok := cg.Paths["pids"]
	if !ok {
		return false
	}
	for c, o := range cg.Paths {
		if c != "pids" && o == d {
			return false
		}
	}
	return true
}

// OOMKilled reports whether the kernel's OOM killer killed a task of the
// cgroup (memory.oom_control under v1, memory.events under v2).
func (cg *Cgroup) OOMKilled() bool {
	path := filepath.Join(cg.Dir, "memory.events")
	if !cg.V2 {
		if cg.Paths["memory"] == "" {
			return false
		}
		path = filepath.Join(cg.Paths["memory"], "memory.oom_control")
	}
	kv, _ := readKV(path)
	return kv["oom_kill"] > 0
}

// Remove deletes the cgroup's directories. Tasks of a pid namespace whose
// init has just died may take a moment to leave: rmdir is retried on
// EBUSY for up to a second.
func (cg *Cgroup) Remove() error {
	var errs []error
	for _, d := range cg.dirs() {
		var err error
		for i := 0; i < 100; i++ {
			err = unix.Rmdir(d)
			if err != unix.EBUSY {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil && err != unix.ENOENT {
			errs = append(errs, &os.PathError{Op: "rmdir", Path: d, Err: err})
			continue
		}
		// The "strata" parent too, once empty (the last container's
		// removal leaves nothing behind); busy, it stays.
		unix.Rmdir(filepath.Dir(d))
	}
	return errors.Join(errs...)
}

// mkdirAll is os.MkdirAll retried when a concurrent Remove deleted the
// parent between its mkdirs.
func mkdirAll(d string) (err error) {
	for range 5 {
		if err = os.MkdirAll(d, 0o755); !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return err
}

// Save records cg in the container directory dir.
func (cg *Cgroup) Save(dir string, durable bool) error {
	write := spec.WriteJSONTransient
	if durable {
		write = spec.WriteJSON
	}
	return write(filepath.Join(dir, File), cg)
}

// Load reads the record of the cgroup of the container in dir;
// os.ErrNotExist when it has none.
func Load(dir string) (*Cgroup, error) {
	var cg Cgroup
	if err := spec.ReadJSON(filepath.Join(dir, File), &cg); err != nil {
		return nil, err
	}
	return &cg, nil
}

// v2Prepare makes /sys/fs/cgroup/strata and enables the controllers down
// to its children.
func v2Prepare() error {
	parent := filepath.Join(unifiedRoot, "strata")
	if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create cgroup: %w", err)
	}
	for _, d := range []string{unifiedRoot, parent} {
		avail, err := os.ReadFile(filepath.Join(d, "cgroup.controllers"))
		if err != nil {
			return err
		}
		var enable []string
		for _, c := range v2Controllers {
			if strings.Contains(" "+strings.TrimSpace(string(avail))+" ", " "+c+" ") {
				enable = append(enable, "+"+c)
			}
		}
		if len(enable) == 0 {
			continue
		}
		if err := os.WriteFile(filepath.Join(d, "cgroup.subtree_control"), []byte(strings.Join(enable, " ")), 0); err != nil {
			return fmt.Errorf("enable controllers in %s: %w", d, err)
		}
	}
	return nil
}

// mount is one v1 hierarchy: where it is mounted, and which cgroup its
// mount root is.
type mount struct {
	dir, root string
}

// v1Mounts finds the v1 hierarchy of each controller in
// /proc/self/mountinfo.
func v1Mounts() (map[string]mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]mount{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 36 35 0:30 /root /mnt/point rw,… shared:1 - cgroup cgroup rw,memory
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 || qf[0] != "cgroup" {
			continue
		}
		for _, opt := range strings.Split(qf[2], ",") {
			for _, c := range v1Controllers {
				if opt == c {
					if _, dup := out[c]; !dup {
						out[c] = mount{dir: unescape(pf[4]), root: unescape(pf[3])}
					}
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if _, ok := out["memory"]; !ok {
		return nil, fmt.Errorf("%w: no cgroup v1 memory controller mounted and /sys/fs/cgroup is not cgroup v2", ErrUnavailable)
	}
	return out, nil
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// v1Dirs returns the container's directory in each v1 hierarchy: under
// this process's own cgroup there, in strata/<id>.
func v1Dirs(id string) (map[string]string, error) {
	mounts, err := v1Mounts()
	if err != nil {
		return nil, err
	}
	own, err := ownCgroups()
	if err != nil {
		return nil, err
	}
	dirs := map[string]string{}
	for c, m := range mounts {
		rel, ok := own[c]
		if !ok {
			continue
		}
		rel = strings.TrimPrefix(rel, m.root)
		dirs[c] = filepath.Join(m.dir, rel, "strata", id)
	}
	return dirs, nil
}

// ownCgroups reads /proc/self/cgroup: this process's cgroup path by v1
// controller.
func ownCgroups() (map[string]string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		// 4:memory:/process_api/6d2b…
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[1] == "" {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out, nil
}

// readKV reads a cgroup file of "key value" lines.
func readKV(path string) (map[string]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 {
			if v, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				out[f[0]] = v
			}
		}
	}
	return out, nil
}

// readInt reads a cgroup file holding one number ("max" reads as -1).
func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return -1, nil
	}
	return strconv.ParseInt(s, 10, 64)
}
