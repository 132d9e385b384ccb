package fsbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"golang.org/x/sys/unix"

	"github.com/strata-engine/strata/layers/index"
)

// Options describe a run.
type Options struct {
	// Image is the image's reference, as `strata mount` takes it; Merged
	// its merged index and Layers its layers' indexes, bottom first.
	Image   string
	Merged  *index.Index
	Layers  []*index.Index
	Objects Objects
	// Strata is the command line that runs strata on the same store
	// (the binary, then global flags such as --root).
	Strata []string
	// FuseOverlayfs is the fuse-overlayfs binary ("fuse-overlayfs").
	FuseOverlayfs string

	Contenders []string // default AllContenders
	Workloads  []string // default all
	Reps       int      // default 3
	// Scratch is the directory under which a run makes its own (it must
	// exist); everything is removed at the end.
	Scratch string
	// Log, when not nil, gets a line per step.
	Log io.Writer
}

// runner is one run in progress.
type runner struct {
	opts      Options
	dir       string   // the run's own directory under Scratch
	layerDirs []string // the layers laid out, bottom first
	mounted   map[string]bool
}

func (r *runner) logf(format string, args ...any) {
	if r.opts.Log != nil {
		fmt.Fprintf(r.opts.Log, format+"\n", args...)
	}
}

// Run measures the workloads on the contenders and returns the samples.
// Contenders that cannot run here are listed in Result.Skipped.
func Run(ctx context.Context, opts Options) (res *Result, err error) {
	if opts.Reps <= 0 {
		opts.Reps = 3
	}
	if len(opts.Contenders) == 0 {
		opts.Contenders = AllContenders
	}
	if len(opts.Workloads) == 0 {
		opts.Workloads = Workloads()
	}
	if opts.FuseOverlayfs == "" {
		opts.FuseOverlayfs = "fuse-overlayfs"
	}
	var wls []workload
	for _, name := range opts.Workloads {
		i := workloadIndex(name)
		if i < 0 {
			return nil, fmt.Errorf("unknown workload %q (there are %s)", name, strings.Join(Workloads(), ", "))
		}
		wls = append(wls, workloads[i])
	}
	for _, c := range opts.Contenders {
		if !contains(AllContenders, c) {
			return nil, fmt.Errorf("unknown filesystem %q (there are %s)", c, strings.Join(AllContenders, ", "))
		}
	}
	t, err := findTargets(opts.Merged)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", opts.Image, err)
	}

	r := &runner{opts: opts, mounted: map[string]bool{}}
	mounters, skipped := r.contenders(opts.Contenders)
	if len(mounters) == 0 {
		return nil, fmt.Errorf("no filesystem to measure: %s", joinReasons(skipped))
	}
	needDirs := mounters[Overlay] != nil || mounters[FuseOverlayfs] != nil
	if err := checkSpace(opts.Scratch, opts.Layers, needDirs, t); err != nil {
		return nil, err
	}
	if r.dir, err = os.MkdirTemp(opts.Scratch, "strata-bench-fs-"); err != nil {
		return nil, err
	}
	defer func() {
		if cerr := r.cleanup(); cerr != nil && err == nil {
			err = cerr
		}
	}()

	res = &Result{
		Image: opts.Image, Layers: len(opts.Layers), Entries: opts.Merged.Len(),
		Reps: opts.Reps, Machine: machine(), Started: time.Now().UTC(),
	}
	for _, c := range opts.Contenders {
		if reason, ok := skipped[c]; ok {
			res.Skipped = append(res.Skipped, Skip{Name: c, Reason: reason})
		} else {
			res.Contenders = append(res.Contenders, c)
		}
	}
	if needDirs {
		r.logf("laying out %d layers as directories for overlayfs", len(opts.Layers))
		for i, x := range opts.Layers {
			d := filepath.Join(r.dir, "layers", fmt.Sprint(i))
			if err := LayOut(ctx, x, opts.Objects, d); err != nil {
				return nil, fmt.Errorf("layer %d: %w", i, err)
			}
			r.layerDirs = append(r.layerDirs, d)
		}
	}

	checks := map[string]int64{} // workload/phase: the first contender's check
	checkedBy := map[string]string{}
	seq := 0
	for rep := 0; rep < opts.Reps; rep++ {
		for _, w := range wls {
			for k := range res.Contenders {
				// Rotate the order each repetition: no contender always
				// runs right after another's writeback.
				c := res.Contenders[(k+rep)%len(res.Contenders)]
				seq++
				times, values, cold, err := r.once(ctx, mounters[c], w, t, seq)
				if err != nil {
					return nil, fmt.Errorf("%s on %s: %w", w.name, c, err)
				}
				res.CachesDropped = cold
				for i, phase := range w.phases {
					key := w.name + "/" + phase
					if first, ok := checks[key]; !ok {
						checks[key], checkedBy[key] = values[i], c
					} else if values[i] != first {
						return nil, fmt.Errorf("%s %s: %s saw %d where %s saw %d: the filesystems disagree",
							w.name, phase, c, values[i], checkedBy[key], first)
					}
					res.Samples = append(res.Samples, Sample{
						Workload: w.name, Phase: phase, Contender: c, Rep: rep, Seconds: times[i].Seconds(),
					})
					r.logf("rep %d  %-9s %-5s %-15s %s", rep+1, w.name, phase, c, times[i].Round(10*time.Microsecond))
				}
			}
		}
	}
	return res, nil
}

// once runs one workload's phases on a fresh mount of one contender.
func (r *runner) once(ctx context.Context, mount mounter, w workload, t *targets, seq int) (times []time.Duration, values []int64, dropped bool, err error) {
	base := filepath.Join(r.dir, fmt.Sprint(seq))
	m := mountSpec{mnt: base + "/mnt", upper: base + "/upper", work: base + "/work"}
	for _, d := range []string{m.mnt, m.upper, m.work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, nil, false, err
		}
	}
	// Recorded before mounting: a mount interrupted half way may still
	// complete (a FUSE daemon finishing its start), and cleanup must try.
	r.mounted[m.mnt] = true
	if err := mount(ctx, m); err != nil {
		return nil, nil, false, err
	}
	defer func() {
		if uerr := unmount(m.mnt); uerr != nil && err == nil {
			err = uerr
		}
		delete(r.mounted, m.mnt)
		if rerr := os.RemoveAll(base); rerr != nil && err == nil {
			err = rerr
		}
	}()
	dropped = dropCaches()
	for range w.phases {
		if err := ctx.Err(); err != nil {
			return nil, nil, false, err
		}
		start := time.Now()
		v, err := w.run(ctx, m.mnt, t)
		d := time.Since(start)
		if err != nil {
			return nil, nil, false, err
		}
		times = append(times, d)
		values = append(values, v)
	}
	return times, values, dropped, nil
}

// cleanup unmounts whatever is still mounted and removes the run's
// directory.
func (r *runner) cleanup() error {
	var errs []error
	for mnt := range r.mounted {
		if err := unmount(mnt); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if err := os.RemoveAll(r.dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkSpace refuses a run whose layer directories and writes would not
// fit in the scratch directory's filesystem.
func checkSpace(dir string, layers []*index.Index, dirs bool, t *targets) error {
	var need int64
	if dirs {
		for _, x := range layers {
			for i := uint32(0); int(i) < x.Len(); i++ {
				need += x.Size(i) + 512
			}
		}
	}
	// The writes: copy-up of the largest files, new files, compiled
	// outputs; twice over for safety.
	need += 2 * (t.bigSize*copyUpFiles + writeFiles*writeFileSize + maxSources*smallFile/16)
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return &os.PathError{Op: "statfs", Path: dir, Err: err}
	}
	free := int64(st.Bavail) * st.Bsize
	if need > free {
		return fmt.Errorf("not enough space in %s: the run needs about %s, %s is free (choose another place with --scratch)",
			dir, units.BytesSize(float64(need)), units.BytesSize(float64(free)))
	}
	return nil
}

func machine() Machine {
	var u unix.Utsname
	_ = unix.Uname(&u)
	m := Machine{
		Kernel: unix.ByteSliceToString(u.Release[:]),
		Arch:   goruntime.GOARCH,
		CPUs:   goruntime.NumCPU(),
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		m.Memory = int64(si.Totalram) * int64(si.Unit)
	}
	return m
}

func workloadIndex(name string) int {
	for i, w := range workloads {
		if w.name == name {
			return i
		}
	}
	return -1
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func joinReasons(m map[string]string) string {
	var parts []string
	for _, c := range AllContenders {
		if r, ok := m[c]; ok {
			parts = append(parts, c+": "+r)
		}
	}
	return strings.Join(parts, "; ")
}
