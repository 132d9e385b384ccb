package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/runtime"
	"github.com/strata-engine/strata/runtime/spec"
)

const containerPruneWarning = "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?"

func (a *app) newContainerPruneCommand() *cobra.Command {
	var (
		force  bool
		filter filterFlag
	)
	c := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all stopped containers",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := filter.validate("label", "until"); err != nil {
				return err
			}
			if !force {
				yes, err := a.confirm(c.Context(), containerPruneWarning)
				if err != nil || !yes {
					return err
				}
			}
			reclaimed, err := a.pruneContainers(c.Context(), &filter)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.out, "Total reclaimed space:", totalSize(reclaimed))
			return nil
		},
	}
	f := c.Flags()
	f.BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	f.Var(&filter, "filter", `Provide filter values (e.g. "until=<timestamp>")`)
	return c
}

// pruneContainers removes every container that is not running (and passes
// filter), lists them under "Deleted Containers:" and returns the bytes
// their writable layers held.
func (a *app) pruneContainers(ctx context.Context, filter *filterFlag) (int64, error) {
	rt, s, err := a.runtime()
	if err != nil {
		return 0, err
	}
	sel, err := newContainerFilter(ctx, rt, s, filter)
	if err != nil {
		return 0, err
	}
	ctrs, err := rt.List(ctx, true)
	if err != nil {
		return 0, err
	}
	images := imageCache{s: s, m: map[string]*layers.Image{}}
	var (
		deleted   []string
		reclaimed int64
		errs      []error
	)
	for _, c := range ctrs {
		if c.State.Status == runtime.Running || !sel.match(c, images.get(ctx, c.Config.ImageID)) {
			continue
		}
		n := dirSize(filepath.Join(a.containerDir(c.ID()), spec.UpperDir))
		if err := rt.Remove(ctx, c.ID(), false); err != nil {
			if !errors.Is(err, runtime.ErrNotFound) && !errors.Is(err, runtime.ErrRunning) {
				errs = append(errs, err)
			}
			continue
		}
		deleted = append(deleted, c.ID())
		reclaimed += n
	}
	if len(deleted) > 0 {
		fmt.Fprintln(a.out, "Deleted Containers:")
		for _, id := range deleted {
			fmt.Fprintln(a.out, id)
		}
		fmt.Fprintln(a.out)
	}
	return reclaimed, joinErrors(errs)
}
