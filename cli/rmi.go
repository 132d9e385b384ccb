package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/layers"
)

type rmiOptions struct {
	force   bool
	noPrune bool
}

func (a *app) newRmiCommand() *cobra.Command {
	var o rmiOptions
	c := &cobra.Command{
		Use:   "rmi [OPTIONS] IMAGE [IMAGE...]",
		Short: "Remove one or more images",
		Args:  minArgs(1),
		Annotations: map[string]string{
			annotAliases: "strata image rm, strata image remove, strata rmi",
		},
		RunE: func(c *cobra.Command, args []string) error {
			return a.runRmi(c.Context(), o, args)
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.force, "force", "f", false, "Remove the image even if it has several names or is in use")
	f.BoolVar(&o.noPrune, "no-prune", false, "Do not delete untagged parents")
	return c
}

// runRmi removes each image in turn, going on past failures. As in
// Docker, names that match nothing are only reported under --force (exit
// status 0); any other failure makes the command fail.
func (a *app) runRmi(ctx context.Context, o rmiOptions, refs []string) error {
	s, err := a.store()
	if err != nil {
		return err
	}
	var (
		errs  []error
		fatal bool
	)
	for _, ref := range refs {
		events, err := s.RemoveImage(ctx, ref, layers.RemoveOptions{Force: o.force, NoPrune: o.noPrune})
		// Whatever was done before a failure is still reported.
		for _, ev := range events {
			if ev.Deleted != "" {
				fmt.Fprintln(a.out, "Deleted:", ev.Deleted)
			} else {
				fmt.Fprintln(a.out, "Untagged:", ev.Untagged)
			}
		}
		if err != nil {
			if !errors.Is(err, layers.ErrNotFound) {
				fatal = true
			}
			errs = append(errs, err)
		}
	}
	err = joinErrors(errs)
	if err != nil && o.force && !fatal {
		report(a.err, err)
		return nil
	}
	return err
}
