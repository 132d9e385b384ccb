package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/build"
	"github.com/strata-engine/strata/layers/reference"
)

type buildOptions struct {
	tags      []string
	quiet     bool
	file      string
	target    string
	buildArgs []string
	labels    []string
	iidfile   string
	noCache   bool
	rm        bool
	forceRm   bool
	network   string
	progress  string
}

func (a *app) newBuildCommand() *cobra.Command {
	var o buildOptions
	c := &cobra.Command{
		Use:   "build [OPTIONS] PATH",
		Short: "Build an image from a Dockerfile",
		Args:  exactArgs(1),
		Annotations: map[string]string{
			annotAliases: "strata image build, strata build, strata builder build",
			annotTop:     "4",
		},
		RunE: func(c *cobra.Command, args []string) error {
			return a.runBuild(c.Context(), o, args[0])
		},
	}
	f := c.Flags()
	f.StringArrayVarP(&o.tags, "tag", "t", nil, `Name and optionally a tag in the "name:tag" format`)
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress the build output and print image ID on success")
	f.StringVarP(&o.file, "file", "f", "", `Name of the Dockerfile (Default is "PATH/Dockerfile")`)
	f.StringVar(&o.target, "target", "", "Set the target build stage to build")
	f.StringArrayVar(&o.buildArgs, "build-arg", nil, "Set build-time variables")
	f.StringArrayVar(&o.labels, "label", nil, "Set metadata for an image")
	f.StringVar(&o.iidfile, "iidfile", "", "Write the image ID to the file")
	f.BoolVar(&o.noCache, "no-cache", false, "Do not use cache when building the image")
	f.BoolVar(&o.rm, "rm", true, "Remove intermediate containers after a successful build")
	f.BoolVar(&o.forceRm, "force-rm", false, "Always remove intermediate containers")
	f.StringVar(&o.network, "network", "default", `Set the networking mode for the RUN instructions during build ("none", "host")`)
	f.StringVar(&o.progress, "progress", "auto", `Set type of progress output ("auto", "plain", "tty")`)
	return c
}

// runBuild checks everything the user typed, then builds. The context is
// read in place; the Dockerfile is PATH/Dockerfile, or -f resolved against
// the working directory as Docker does ("-" is standard input).
func (a *app) runBuild(ctx context.Context, o buildOptions, contextPath string) error {
	if contextPath == "-" || strings.Contains(contextPath, "://") || strings.HasPrefix(contextPath, "git@") {
		return fmt.Errorf("unable to prepare context: %s: only a local directory can be a build context", contextPath)
	}
	st, err := os.Stat(contextPath)
	if err != nil {
		return fmt.Errorf("unable to prepare context: path %q not found", contextPath)
	}
	if !st.IsDir() {
		return fmt.Errorf("unable to prepare context: context must be a directory: %s", contextPath)
	}
	var tags []string
	for _, t := range o.tags {
		r, err := reference.Parse(t)
		if err != nil {
			return fmt.Errorf("invalid argument %q for \"-t, --tag\" flag: %w", t, err)
		}
		if r.IsDigested() {
			return fmt.Errorf("invalid argument %q for \"-t, --tag\" flag: a tag cannot name a digest", t)
		}
		tags = append(tags, r.Familiar())
	}
	switch o.network {
	case "default", "none", "host":
	default:
		return fmt.Errorf("network mode %q is not supported for build (none, host)", o.network)
	}
	switch o.progress {
	case "auto", "plain", "tty":
	default:
		return fmt.Errorf("invalid progress mode %q: use auto, plain or tty", o.progress)
	}
	opts := build.Options{
		ContextDir: contextPath, Tags: tags, Target: o.target, NoCache: o.noCache,
		Remove: o.rm, ForceRemove: o.forceRm, NetworkMode: o.network,
		BuildArgs: map[string]string{}, Labels: map[string]string{},
	}
	if o.network == "default" {
		opts.NetworkMode = "none"
	}
	for _, kv := range o.buildArgs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			// "--build-arg NAME" takes the value from the environment,
			// and is left out when that has none.
			if v, ok = os.LookupEnv(k); !ok {
				continue
			}
		}
		opts.BuildArgs[k] = v
	}
	for _, kv := range o.labels {
		k, v, _ := strings.Cut(kv, "=")
		opts.Labels[k] = v
	}
	if err := a.readDockerfile(&opts, o.file, contextPath); err != nil {
		return err
	}

	var progress bytes.Buffer // -q: shown only if the build fails
	var out io.Writer = &progress
	var view *ttyView
	if !o.quiet {
		out = a.out
		if o.progress == "tty" || o.progress == "auto" && isTerminal(a.out) {
			view = newTTYView(a.out)
			out = view
		}
	}
	opts.Out = out
	if view != nil {
		opts.RunOut = view.run()
	}
	rt, s, err := a.runtime()
	if err != nil {
		return err
	}
	res, err := build.Build(ctx, s, rt, opts)
	if view != nil {
		view.close(err != nil)
	}
	if err != nil {
		if o.quiet {
			a.err.Write(progress.Bytes())
		}
		var re *build.RunError
		if errors.As(err, &re) {
			// Docker prints a failed RUN's message as it is.
			fmt.Fprintln(a.err, err)
			return &exitError{code: exitFailure}
		}
		return err
	}
	id := res.Image.ID.String()
	if o.iidfile != "" {
		if err := os.WriteFile(o.iidfile, []byte(id), 0o644); err != nil {
			return fmt.Errorf("write image ID to %s: %w", o.iidfile, err)
		}
	}
	if o.quiet {
		fmt.Fprintln(a.out, id)
		return nil
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(out, "[Warning]", w)
	}
	fmt.Fprintln(a.out, "Successfully built", res.Image.ShortID())
	for _, t := range tags {
		fmt.Fprintln(a.out, "Successfully tagged", t)
	}
	return nil
}

// readDockerfile reads the Dockerfile: -f as given (relative to the
// working directory; "-" is standard input), else PATH/Dockerfile (or
// PATH/dockerfile, which Docker accepts too).
func (a *app) readDockerfile(opts *build.Options, file, contextPath string) error {
	if file == "-" {
		data, err := io.ReadAll(a.in)
		if err != nil {
			return fmt.Errorf("read Dockerfile from standard input: %w", err)
		}
		opts.Dockerfile, opts.DockerfileName = data, "Dockerfile"
		return nil
	}
	if file == "" {
		file = filepath.Join(contextPath, "Dockerfile")
		if _, err := os.Lstat(file); err != nil {
			if alt := filepath.Join(contextPath, "dockerfile"); fileExistsCLI(alt) {
				file = alt
			}
		}
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fmt.Errorf("unable to prepare context: unable to evaluate symlinks in Dockerfile path: %w", err)
	}
	data, err := os.ReadFile(real)
	if err != nil {
		return fmt.Errorf("unable to prepare context: %w", err)
	}
	opts.Dockerfile, opts.DockerfilePath, opts.DockerfileName = data, abs, filepath.Base(file)
	return nil
}

func fileExistsCLI(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
