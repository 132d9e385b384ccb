package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/dedup"
	"github.com/strata-engine/strata/fsbench"
	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/index"
	"github.com/strata-engine/strata/runbench"
)

// newBenchCommand is "strata bench": storage benchmarks.
func (a *app) newBenchCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark filesystems and containers",
		Args:  noArgs,
		RunE:  showHelp,
	}
	c.AddCommand(a.newBenchFsCommand(), a.newBenchRunCommand())
	return c
}

type benchRunOptions struct {
	runtimes []string
	reps     int
	parallel int
	format   string
	scratch  string
	quiet    bool
}

func (a *app) newBenchRunCommand() *cobra.Command {
	var o benchRunOptions
	c := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND [ARG...]]",
		Short: "Measure container start latency and throughput",
		Long: `Run COMMAND (default /bin/true) in containers of IMAGE, with "strata run --rm"
and, when installed, runc and crun on an OCI bundle of the same image: REPS
runs one after another (interleaved between runtimes) for the latency, then
REPS x PARALLEL runs, PARALLEL at a time, for the throughput.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return a.runBenchRun(c.Context(), o, args[0], args[1:])
		},
	}
	f := c.Flags()
	f.SetInterspersed(false)
	f.StringSliceVar(&o.runtimes, "runtime", runbench.AllRuntimes, "Runtimes to compare")
	f.IntVarP(&o.reps, "reps", "n", 20, "Sequential runs per runtime")
	f.IntVar(&o.parallel, "parallel", 0, "Containers at once in the throughput phase (default: the CPU count)")
	f.StringVar(&o.format, "format", "table", `Output format: "table" or "json"`)
	f.StringVar(&o.scratch, "scratch", "", "Directory for the OCI bundle (default: the store's tmp)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Do not log each step to the standard error")
	return c
}

func (a *app) runBenchRun(ctx context.Context, o benchRunOptions, ref string, cmd []string) error {
	if o.format != "table" && o.format != "json" {
		return &usageError{fmt.Sprintf("invalid --format %q: want \"table\" or \"json\"", o.format)}
	}
	if o.reps < 1 || o.parallel < 0 {
		return &usageError{"--reps must be 1 or more and --parallel 0 or more"}
	}
	s, err := a.store()
	if err != nil {
		return err
	}
	img, err := s.ResolveImage(ctx, ref)
	if err != nil {
		return err
	}
	env, err := a.benchSetup(ctx, s, img, o.scratch, o.quiet)
	if err != nil {
		return err
	}
	defer env.release()
	res, err := runbench.Run(ctx, runbench.Options{
		Image: ref, Merged: env.merged, Objects: s,
		Strata:   env.strata,
		Command:  cmd,
		Runtimes: o.runtimes, Reps: o.reps, Parallel: o.parallel,
		Scratch: env.scratch, Log: env.log,
	})
	if err != nil {
		return err
	}
	if o.format == "json" {
		return res.WriteJSON(a.out)
	}
	return res.WriteTable(a.out)
}

type benchFsOptions struct {
	synthetic string
	fs        []string
	workloads []string
	reps      int
	format    string
	chart     string
	compare   string
	input     string
	scratch   string
	quiet     bool
}

func (a *app) newBenchFsCommand() *cobra.Command {
	var o benchFsOptions
	var about strings.Builder
	for _, w := range fsbench.Workloads() {
		fmt.Fprintf(&about, "  %-10s %s\n", w, fsbench.WorkloadAbout(w))
	}
	c := &cobra.Command{
		Use:   "fs [OPTIONS] [IMAGE]",
		Short: "Compare union filesystems on an image's layers",
		Long: `Run the union-filesystem workloads on the layers of IMAGE (or of a generated
image, --synthetic) over Strata's filesystem, kernel overlayfs and
fuse-overlayfs, interleaved, each run on a fresh mount, and report the median
times and their ratios to overlayfs. Filesystems that cannot run here are
skipped with the reason.

Workloads:
` + about.String() + `
--synthetic takes "files=N,size=MIN-MAX,layers=N,big=SIZE,seed=N" (defaults:
files=20000,size=512-64KiB,layers=5,big=64MiB,seed=1), or "default".`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ref := ""
			if len(args) == 1 {
				ref = args[0]
			}
			if o.input != "" {
				if ref != "" || o.synthetic != "" {
					return &usageError{"--input reports a saved run: it takes no IMAGE or --synthetic"}
				}
				return a.reportBenchFs(o, nil)
			}
			o.synthetic = strings.TrimSpace(o.synthetic)
			if c.Flags().Changed("synthetic") && o.synthetic == "" {
				o.synthetic = "default"
			}
			return a.runBenchFs(c.Context(), o, ref)
		},
	}
	f := c.Flags()
	f.StringVar(&o.synthetic, "synthetic", "", "Generate the image to measure (see above)")
	f.StringSliceVar(&o.fs, "fs", fsbench.AllContenders, "Filesystems to compare")
	f.StringSliceVar(&o.workloads, "workload", nil, "Workloads to run (default all)")
	f.IntVarP(&o.reps, "reps", "n", 3, "Runs of each workload on each filesystem")
	f.StringVar(&o.format, "format", "table", `Output format: "table", "csv" or "json"`)
	f.StringVar(&o.chart, "chart", "", "Also draw the ratios as an SVG chart to this file")
	f.StringVar(&o.compare, "compare", "", "Contrast this run with one saved with --format json")
	f.StringVar(&o.input, "input", "", "Report a run saved with --format json instead of running one")
	f.StringVar(&o.scratch, "scratch", "", "Directory for mounts and layer copies (default: the store's tmp)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Do not log each step to the standard error")
	return c
}

// checkBenchFsOutput validates the output options before a long run.
func checkBenchFsOutput(o benchFsOptions) error {
	switch o.format {
	case "table", "csv", "json":
	default:
		return &usageError{fmt.Sprintf("invalid --format %q: want \"table\", \"csv\" or \"json\"", o.format)}
	}
	if o.chart != "" {
		if err := dedup.CheckChartName(o.chart); err != nil {
			return &usageError{err.Error()}
		}
	}
	if o.compare != "" {
		if _, err := fsbench.ReadResult(o.compare); err != nil {
			return err
		}
	}
	return nil
}

func (a *app) runBenchFs(ctx context.Context, o benchFsOptions, ref string) error {
	if err := checkBenchFsOutput(o); err != nil {
		return err
	}
	if o.reps < 1 {
		return &usageError{fmt.Sprintf("invalid --reps %d: want 1 or more", o.reps)}
	}
	if (ref == "") == (o.synthetic == "") {
		return &usageError{"\"strata bench fs\" takes an IMAGE or --synthetic, not both"}
	}
	var syn fsbench.Synthetic
	if o.synthetic != "" {
		var err error
		if syn, err = fsbench.ParseSynthetic(o.synthetic); err != nil {
			return &usageError{err.Error()}
		}
	}

	s, err := a.store()
	if err != nil {
		return err
	}
	logw := a.err
	if o.quiet {
		logw = io.Discard
	}
	var img *layers.Image
	if o.synthetic != "" {
		ref = syn.Ref()
		if img, err = s.ResolveImage(ctx, ref); err != nil {
			if !errors.Is(err, layers.ErrNotFound) {
				return err
			}
			fmt.Fprintf(logw, "generating %s (about %d MB)\n", ref, syn.ContentSize()/1e6)
			if img, err = syn.Make(ctx, s); err != nil {
				return err
			}
		}
	} else if img, err = s.ResolveImage(ctx, ref); err != nil {
		return err
	}
	env, err := a.benchSetup(ctx, s, img, o.scratch, o.quiet)
	if err != nil {
		return err
	}
	defer env.release()
	var lowers []*index.Index
	for _, l := range img.Layers {
		x, err := s.LayerIndex(l.DiffID)
		if err != nil {
			return err
		}
		lowers = append(lowers, x)
	}
	res, err := fsbench.Run(ctx, fsbench.Options{
		Image: img.ID.String(), Merged: env.merged, Layers: lowers, Objects: s,
		Strata:     env.strata,
		Contenders: o.fs, Workloads: o.workloads, Reps: o.reps,
		Scratch: env.scratch, Log: logw,
	})
	if err != nil {
		return err
	}
	res.Image = ref
	return a.reportBenchFs(o, res)
}

// reportBenchFs writes a run's result (read from --input when res is
// nil) as --format, --chart and --compare ask.
func (a *app) reportBenchFs(o benchFsOptions, res *fsbench.Result) error {
	if err := checkBenchFsOutput(o); err != nil {
		return err
	}
	var err error
	if res == nil {
		if res, err = fsbench.ReadResult(o.input); err != nil {
			return err
		}
	}
	var old *fsbench.Result
	if o.compare != "" {
		if old, err = fsbench.ReadResult(o.compare); err != nil {
			return err
		}
	}
	if o.chart != "" {
		if err := writeFileAtomic(o.chart, func(w io.Writer) error { return res.WriteChart(w) }); err != nil {
			return err
		}
	}
	switch o.format {
	case "csv":
		err = res.WriteCSV(a.out)
	case "json":
		err = res.WriteJSON(a.out)
	default:
		err = res.WriteTable(a.out)
	}
	if err != nil || old == nil {
		return err
	}
	fmt.Fprintln(a.out)
	return fsbench.WriteComparison(a.out, old, res)
}

// benchEnv is what both benchmarks need of an image and of this strata.
type benchEnv struct {
	merged  *index.Index
	strata  []string // this binary on this store
	scratch string
	log     io.Writer
	release func()
}

// benchSetup holds img for the run (whatever else prunes meanwhile),
// loads its merged index and finds this binary; release lets the image go.
func (a *app) benchSetup(ctx context.Context, s *layers.Store, img *layers.Image, scratch string, quiet bool) (*benchEnv, error) {
	holder := fmt.Sprintf("bench-%d", os.Getpid())
	if err := s.Hold(holder, img.ID); err != nil {
		return nil, err
	}
	env := &benchEnv{release: func() { s.Release(holder) }, scratch: scratch, log: a.err}
	var err error
	if env.merged, err = s.ImageIndex(ctx, img); err != nil {
		env.release()
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		env.release()
		return nil, err
	}
	env.strata = []string{self, "--root", s.Root()}
	if env.scratch == "" {
		env.scratch = filepath.Join(s.Root(), "tmp")
	}
	if quiet {
		env.log = io.Discard
	}
	return env, nil
}
