package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/reference"
	"github.com/strata-engine/strata/registry"
)

type pullOptions struct {
	allTags  bool
	platform string
	quiet    bool
}

func (a *app) newPullCommand() *cobra.Command {
	var o pullOptions
	c := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Args:  exactArgs(1),
		Annotations: map[string]string{
			annotTop:     "4",
			annotAliases: "strata image pull, strata pull",
		},
		RunE: func(c *cobra.Command, args []string) error {
			return a.runPull(c.Context(), o, args[0])
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.allTags, "all-tags", "a", false, "Download all tagged images in the repository")
	f.StringVar(&o.platform, "platform", "", `Set platform if server is multi-platform capable ("linux/arm64")`)
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress verbose output")
	return c
}

// listFlag is a repeatable string flag shown as "list" in help.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }
func (l *listFlag) Type() string       { return "list" }

// registryOptions are the registry settings of this invocation: the
// --insecure-registry flags and the configuration files.
func (a *app) registryOptions() (registry.Options, error) {
	cfg, err := registry.LoadConfig(registry.ConfigPaths(a.getenv))
	if err != nil {
		return registry.Options{}, err
	}
	return registry.Options{
		Insecure:  append(append([]string(nil), a.insecure...), cfg.InsecureRegistries...),
		UserAgent: "strata/" + version,
	}, nil
}

func (a *app) runPull(ctx context.Context, o pullOptions, arg string) error {
	ref, err := reference.Parse(arg)
	if err != nil {
		return err
	}
	_, nameOnly := reference.ParseName(arg)
	named := nameOnly == nil
	if o.allTags && !named {
		return errors.New("tag can't be used with --all-tags/-a")
	}
	opts, err := a.registryOptions()
	if err != nil {
		return err
	}
	var platform *registry.Platform
	if o.platform != "" {
		p, err := registry.ParsePlatform(o.platform)
		if err != nil {
			return err
		}
		platform = p
	}
	s, err := a.store()
	if err != nil {
		return err
	}
	if !o.allTags {
		if named && !o.quiet {
			fmt.Fprintln(a.out, "Using default tag: latest")
		}
		res, err := a.pullOne(ctx, a.out, s, ref, opts, platform, o.quiet)
		if err != nil {
			return err
		}
		if !o.quiet {
			pullStatus(a.out, ref, res.UpToDate)
		}
		fmt.Fprintln(a.out, ref.String())
		return nil
	}
	tags, err := registry.Tags(ctx, ref, opts)
	if err != nil {
		return err
	}
	upToDate := true
	for _, tag := range tags {
		tref, err := ref.WithTag(tag)
		if err != nil {
			return err
		}
		res, err := a.pullOne(ctx, a.out, s, tref, opts, platform, o.quiet)
		if err != nil {
			return err
		}
		upToDate = upToDate && res.UpToDate
	}
	name, _ := reference.ParseName(ref.Name())
	if !o.quiet {
		pullStatus(a.out, name, upToDate)
	}
	fmt.Fprintln(a.out, name.String())
	return nil
}

// pullOne pulls one reference, showing Docker's lines for it up to its
// "Digest:" line.
func (a *app) pullOne(ctx context.Context, w io.Writer, s *layers.Store, ref reference.Reference, opts registry.Options, platform *registry.Platform, quiet bool) (*registry.PullResult, error) {
	id := ref.Tag()
	if ref.IsDigested() {
		id = ref.Digest().String()
	}
	if !quiet {
		fmt.Fprintf(w, "%s: Pulling from %s\n", id, ref.Path())
	}
	view := newProgress(ctx, w, quiet)
	res, err := registry.Pull(ctx, s, ref, registry.PullOptions{Options: opts, Platform: platform, Progress: view.events})
	view.finish(err == nil)
	if err != nil {
		return nil, err
	}
	if !quiet {
		fmt.Fprintln(w, "Digest:", res.Digest)
	}
	return res, nil
}

// pullStatus is Docker's summary line of a pull.
func pullStatus(w io.Writer, ref reference.Reference, upToDate bool) {
	if upToDate {
		fmt.Fprintln(w, "Status: Image is up to date for", ref.Familiar())
	} else {
		fmt.Fprintln(w, "Status: Downloaded newer image for", ref.Familiar())
	}
}

// Pull policies of run and create (--pull).
const (
	pullMissing = "missing"
	pullAlways  = "always"
	pullNever   = "never"
)

func checkPullPolicy(p string) error {
	switch p {
	case pullMissing, pullAlways, pullNever:
		return nil
	}
	return fmt.Errorf(`invalid pull option: '%s': must be one of "always", "missing" or "never"`, p)
}

// ensureImage carries out run's and create's --pull policy for image:
// pull it when missing (saying so, as Docker does, on stderr) or always.
func (a *app) ensureImage(ctx context.Context, policy, image string) error {
	if policy == pullNever || reference.LooksLikeID(image) {
		return nil
	}
	ref, err := reference.Parse(image)
	if err != nil {
		return nil // not a name: create reports it
	}
	s, err := a.store()
	if err != nil {
		return err
	}
	if policy == pullMissing {
		_, err := s.ResolveImage(ctx, image)
		if !errors.Is(err, layers.ErrNotFound) {
			return nil
		}
		fmt.Fprintf(a.err, "Unable to find image '%s' locally\n", ref.Familiar())
	}
	opts, err := a.registryOptions()
	if err != nil {
		return err
	}
	res, err := a.pullOne(ctx, a.err, s, ref, opts, nil, false)
	if err != nil {
		return err
	}
	pullStatus(a.err, ref, res.UpToDate)
	return nil
}
