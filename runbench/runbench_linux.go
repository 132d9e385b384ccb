// Package runbench measures container start-up: Strata's `run --rm`
// against runc and crun running the same image from an OCI bundle, one
// container after another (latency) and several at once (throughput).
//
// Every run is a whole process, as a user starts it: the CLI, the runtime,
// the container's `true`, and the teardown. Strata runs on its union
// filesystem; runc and crun on the image's merged tree laid out in a plain
// directory, which is as cheap as a root can be, so their figures are the
// floor Strata is measured against.
//
// crun refuses hosts with hybrid cgroups (v1 controllers with a cgroup2
// mount that has none of them); there the runs happen in a private mount
// namespace with cgroup2's cgroup.controllers hidden under an empty file,
// for every runtime alike.
package runbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"github.com/strata-engine/strata/fsbench"
	"github.com/strata-engine/strata/layers/index"
)

// Runtime names.
const (
	Strata = "strata"
	Runc   = "runc"
	Crun   = "crun"
)

// AllRuntimes are the runtimes a run compares, Strata first.
var AllRuntimes = []string{Strata, Runc, Crun}

// Options describe a run.
type Options struct {
	// Image is the image's reference; Merged its merged index, laid out
	// as the OCI bundle's root for runc and crun.
	Image   string
	Merged  *index.Index
	Objects fsbench.Objects
	// Strata is the command line that runs strata on the same store.
	Strata []string
	// Command is what each container runs (default /bin/true).
	Command []string

	Runtimes []string // default AllRuntimes
	// Reps is how many sequential runs each runtime makes (default 20);
	// Parallel how many run at once in the throughput phase (default the
	// CPU count), which makes Reps×Parallel runs per runtime.
	Reps, Parallel int
	// Scratch is where the bundle is made; it is removed at the end.
	Scratch string
	Log     io.Writer
}

// Result is a run's figures.
type Result struct {
	Image    string   `json:"image"`
	Command  []string `json:"command"`
	Reps     int      `json:"reps"`
	Parallel int      `json:"parallel"`
	Runtimes []Figure `json:"runtimes"`
	Skipped  []Skip   `json:"skipped,omitempty"`
	// HiddenCgroup2 tells whether the runs happened with cgroup2's
	// controllers hidden, for crun's sake.
	HiddenCgroup2 bool `json:"hiddenCgroup2"`
}

// Figure is one runtime's measurements.
type Figure struct {
	Name string `json:"name"`
	// Latencies are the sequential runs' wall times, in seconds.
	Latencies []float64 `json:"latencies"`
	Median    float64   `json:"median"`
	Min       float64   `json:"min"`
	Max       float64   `json:"max"`
	// Sequential and Parallel are containers per second, one at a time
	// and Parallel at a time.
	Sequential float64 `json:"sequentialPerSecond"`
	ParallelPS float64 `json:"parallelPerSecond"`
}

// Skip is a runtime that could not run, and why.
type Skip struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

type runner struct {
	opts   Options
	bundle string
	seq    int
	mu     sync.Mutex
}

// Run measures the runtimes.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Reps <= 0 {
		opts.Reps = 20
	}
	if opts.Parallel <= 0 {
		opts.Parallel = goruntime.NumCPU()
	}
	if len(opts.Runtimes) == 0 {
		opts.Runtimes = AllRuntimes
	}
	if len(opts.Command) == 0 {
		opts.Command = []string{"/bin/true"}
	}
	res := &Result{Image: opts.Image, Command: opts.Command, Reps: opts.Reps, Parallel: opts.Parallel}
	var runtimes []string
	for _, rt := range opts.Runtimes {
		switch rt {
		case Strata:
			runtimes = append(runtimes, rt)
		case Runc, Crun:
			if _, err := exec.LookPath(rt); err != nil {
				res.Skipped = append(res.Skipped, Skip{rt, rt + " is not installed (Debian package " + rt + ")"})
			} else if os.Geteuid() != 0 {
				res.Skipped = append(res.Skipped, Skip{rt, "its bundle needs root here"})
			} else {
				runtimes = append(runtimes, rt)
			}
		default:
			return nil, fmt.Errorf("unknown runtime %q (there are %s)", rt, strings.Join(AllRuntimes, ", "))
		}
	}
	r := &runner{opts: opts}
	if len(runtimes) > 1 || (len(runtimes) == 1 && runtimes[0] != Strata) {
		dir, err := os.MkdirTemp(opts.Scratch, "strata-bench-run-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		r.bundle = dir
		r.logf("laying out %s as an OCI bundle for %s", opts.Image, strings.Join(runtimes[1:], " and "))
		if err := r.makeBundle(ctx); err != nil {
			return nil, err
		}
	}

	// Everything below runs on one locked thread (and the parallel
	// workers on theirs), in the mount namespace crun needs.
	var hide func() (func(), error)
	if contains(runtimes, Crun) && hybridCgroups() {
		res.HiddenCgroup2 = true
		hide = hideCgroup2
	}

	figs := make(map[string]*Figure)
	for _, rt := range runtimes {
		figs[rt] = &Figure{Name: rt}
	}
	err := onThread(hide, func() error {
		// Sequential, interleaved: no runtime always follows the same one.
		for rep := 0; rep < opts.Reps; rep++ {
			for k := range runtimes {
				rt := runtimes[(k+rep)%len(runtimes)]
				d, err := r.once(ctx, rt)
				if err != nil {
					return err
				}
				figs[rt].Latencies = append(figs[rt].Latencies, d.Seconds())
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.logf("%d sequential runs of each done; now %d at a time", opts.Reps, opts.Parallel)
	for _, rt := range runtimes {
		ps, err := r.parallel(ctx, rt, hide)
		if err != nil {
			return nil, err
		}
		f := figs[rt]
		f.ParallelPS = ps
		sorted := append([]float64(nil), f.Latencies...)
		sort.Float64s(sorted)
		f.Min, f.Max = sorted[0], sorted[len(sorted)-1]
		f.Median = sorted[len(sorted)/2]
		if len(sorted)%2 == 0 {
			f.Median = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
		}
		var total float64
		for _, v := range f.Latencies {
			total += v
		}
		f.Sequential = float64(len(f.Latencies)) / total
		res.Runtimes = append(res.Runtimes, *f)
	}
	return res, nil
}

func (r *runner) logf(format string, args ...any) {
	if r.opts.Log != nil {
		fmt.Fprintf(r.opts.Log, format+"\n", args...)
	}
}

// once runs one container to completion and returns its wall time.
func (r *runner) once(ctx context.Context, rt string) (time.Duration, error) {
	r.mu.Lock()
	r.seq++
	id := fmt.Sprintf("strata-bench-%d-%d", os.Getpid(), r.seq)
	r.mu.Unlock()
	var cmd *exec.Cmd
	switch rt {
	case Strata:
		args := append(append([]string{}, r.opts.Strata[1:]...), "run", "--rm", "--network", "none", r.opts.Image)
		cmd = exec.CommandContext(ctx, r.opts.Strata[0], append(args, r.opts.Command...)...)
	default:
		cmd = exec.CommandContext(ctx, rt, "run", "--bundle", r.bundle, id)
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("%s: %v: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(out.String()))
	}
	return d, nil
}

// parallel runs Reps×Parallel containers, Parallel at a time, and
// returns containers per second.
func (r *runner) parallel(ctx context.Context, rt string, hide func() (func(), error)) (float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	total := r.opts.Reps * r.opts.Parallel
	work := make(chan struct{}, total)
	for range total {
		work <- struct{}{}
	}
	close(work)
	errs := make(chan error, r.opts.Parallel)
	start := time.Now()
	var wg sync.WaitGroup
	for range r.opts.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- onThread(hide, func() error {
				for range work {
					if _, err := r.once(ctx, rt); err != nil {
						cancel()
						return err
					}
				}
				return nil
			})
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return 0, err
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return float64(total) / elapsed.Seconds(), nil
}

// makeBundle lays out the merged tree as rootfs and writes config.json.
func (r *runner) makeBundle(ctx context.Context) error {
	rootfs := filepath.Join(r.bundle, "rootfs")
	if err := fsbench.LayOut(ctx, r.opts.Merged, r.opts.Objects, rootfs); err != nil {
		return fmt.Errorf("bundle root: %w", err)
	}
	b, err := json.MarshalIndent(bundleConfig(r.opts.Command), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.bundle, "config.json"), b, 0o644)
}

// bundleConfig is the OCI runtime configuration of the runc and crun
// containers: the namespaces, mounts and capabilities a `strata run
// --network none` container has, so that all do the same work. The
// rlimits are left alone (raising nofile fails here, as for podman).
func bundleConfig(args []string) map[string]any {
	caps := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
		"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
		"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}
	ns := []map[string]string{}
	for _, t := range []string{"pid", "network", "ipc", "uts", "mount"} {
		ns = append(ns, map[string]string{"type": t})
	}
	mount := func(dst, typ, src string, opts ...string) map[string]any {
		return map[string]any{"destination": dst, "type": typ, "source": src, "options": opts}
	}
	return map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{
			"terminal": false,
			"user":     map[string]int{"uid": 0, "gid": 0},
			"args":     args,
			"env":      []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			"cwd":      "/",
			"capabilities": map[string][]string{
				"bounding": caps, "effective": caps, "permitted": caps,
			},
			"noNewPrivileges": true,
		},
		"root":     map[string]any{"path": "rootfs", "readonly": true},
		"hostname": "bench",
		"mounts": []map[string]any{
			mount("/proc", "proc", "proc"),
			mount("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
			mount("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"),
			mount("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
			mount("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
			mount("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"),
		},
		"linux": map[string]any{
			"namespaces": ns,
			"maskedPaths": []string{"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"},
			"readonlyPaths": []string{"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
}

// hybridCgroups tells whether /sys/fs/cgroup is v1 with a cgroup2 mount
// beside it, the layout crun refuses.
func hybridCgroups() bool {
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) != nil || st.Type == unix.CGROUP2_SUPER_MAGIC {
		return false
	}
	_, err := os.Stat("/sys/fs/cgroup/unified/cgroup.controllers")
	return err == nil
}

// hideCgroup2 moves the calling (locked) thread into a private mount
// namespace where cgroup2's cgroup.controllers reads empty; the returned
// function does nothing (the thread is not reused: onThread leaves it
// locked, so the runtime ends it with its goroutine).
func hideCgroup2() (func(), error) {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return nil, &os.SyscallError{Syscall: "unshare(CLONE_NEWNS)", Err: err}
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, &os.PathError{Op: "make / private", Path: "/", Err: err}
	}
	empty, err := os.CreateTemp("", "strata-bench-empty-")
	if err != nil {
		return nil, err
	}
	empty.Close()
	defer os.Remove(empty.Name()) // the bind keeps the inode
	const controllers = "/sys/fs/cgroup/unified/cgroup.controllers"
	if err := unix.Mount(empty.Name(), controllers, "", unix.MS_BIND, ""); err != nil {
		return nil, &os.PathError{Op: "bind over", Path: controllers, Err: err}
	}
	return func() {}, nil
}

// onThread runs fn on a thread of its own, first moved by setup (when
// not nil) into whatever namespace it makes. The thread is never handed
// back to other goroutines: it ends when fn returns.
func onThread(setup func() (func(), error), fn func() error) error {
	done := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		// No UnlockOSThread: a thread in another mount namespace must not
		// run other goroutines, so the runtime ends it with this one.
		if setup != nil {
			if _, err := setup(); err != nil {
				done <- err
				return
			}
		}
		done <- fn()
	}()
	return <-done
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// WriteTable writes the figures, with ratios to the first runtime that is
// not Strata (runc when it ran).
func (r *Result) WriteTable(w io.Writer) error {
	var ref *Figure
	for i := range r.Runtimes {
		if r.Runtimes[i].Name != Strata {
			ref = &r.Runtimes[i]
			break
		}
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	head := "RUNTIME\tMEDIAN\tMIN\tMAX\tSEQUENTIAL\tPARALLEL (%d AT ONCE)"
	if ref != nil {
		head += "\tMEDIAN / " + strings.ToUpper(ref.Name)
	}
	fmt.Fprintf(tw, head+"\n", r.Parallel)
	ms := func(s float64) string { return fmt.Sprintf("%.1fms", s*1000) }
	for _, f := range r.Runtimes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f/s\t%.1f/s", f.Name, ms(f.Median), ms(f.Min), ms(f.Max), f.Sequential, f.ParallelPS)
		if ref != nil {
			fmt.Fprintf(tw, "\t%.2fx", f.Median/ref.Median)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s, %s: %d sequential runs each, then %d in parallel (%d at once)\n",
		r.Image, strings.Join(r.Command, " "), r.Reps, r.Reps*r.Parallel, r.Parallel)
	if r.HiddenCgroup2 {
		fmt.Fprintln(w, "hybrid cgroups: all runs in a mount namespace hiding cgroup2's controllers (for crun)")
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "skipped %s: %s\n", s.Name, s.Reason)
	}
	return nil
}

// WriteJSON writes the whole result.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
