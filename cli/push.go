package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/reference"
	"github.com/strata-engine/strata/registry"
)

type pushOptions struct {
	allTags bool
	quiet   bool
}

func (a *app) newPushCommand() *cobra.Command {
	var o pushOptions
	c := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Upload an image to a registry",
		Args:  exactArgs(1),
		Annotations: map[string]string{
			annotTop:     "5",
			annotAliases: "strata image push, strata push",
		},
		RunE: func(c *cobra.Command, args []string) error {
			return a.runPush(c.Context(), o, args[0])
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.allTags, "all-tags", "a", false, "Push all tags of an image to the repository")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress verbose output")
	return c
}

func (a *app) runPush(ctx context.Context, o pushOptions, arg string) error {
	ref, err := reference.Parse(arg)
	if err != nil {
		return err
	}
	if ref.IsDigested() {
		return fmt.Errorf("cannot push a digest reference: %s", arg)
	}
	_, nameErr := reference.ParseName(arg)
	if o.allTags && nameErr != nil {
		return errors.New("tag can't be used with --all-tags/-a")
	}
	opts, err := a.registryOptions()
	if err != nil {
		return err
	}
	s, err := a.store()
	if err != nil {
		return err
	}
	imgs, err := s.Images(ctx)
	if err != nil {
		return err
	}
	// What to push: the tag, or with -a every tag of the repository.
	type target struct {
		ref reference.Reference
		img *layers.Image
	}
	var targets []target
	for _, img := range imgs {
		for _, t := range img.RepoTags {
			tr, err := reference.Parse(t)
			if err != nil || tr.Name() != ref.Name() {
				continue
			}
			if o.allTags || tr.Tag() == ref.Tag() {
				targets = append(targets, target{tr, img})
			}
		}
	}
	if len(targets) == 0 {
		return fmt.Errorf("An image does not exist locally with the tag: %s", ref.FamiliarName())
	}
	sort.Slice(targets, func(i, j int) bool { return targets[i].ref.Tag() < targets[j].ref.Tag() })
	if !o.quiet {
		fmt.Fprintf(a.out, "The push refers to repository [%s]\n", ref.Name())
	}
	for _, t := range targets {
		view := newProgress(ctx, a.out, o.quiet)
		res, err := registry.Push(ctx, s, t.img, t.ref, registry.PushOptions{Options: opts, Progress: view.events})
		view.finish(err == nil)
		if err != nil {
			return err
		}
		if !o.quiet {
			fmt.Fprintf(a.out, "%s: digest: %s size: %d\n", t.ref.Tag(), res.Digest, res.Size)
		}
	}
	if o.quiet {
		if o.allTags {
			fmt.Fprintln(a.out, ref.Name())
		} else {
			fmt.Fprintln(a.out, ref.String())
		}
	}
	return nil
}
