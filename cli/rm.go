package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/runtime"
	"github.com/strata-engine/strata/runtime/spec"
)

type rmOptions struct {
	force   bool
	volumes bool
}

func (a *app) newRmCommand() *cobra.Command {
	var o rmOptions
	c := &cobra.Command{
		Use:   "rm [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Remove one or more containers",
		Args:  minArgs(1),
		Annotations: map[string]string{
			annotAliases: "strata container rm, strata container remove, strata rm",
		},
		RunE: func(c *cobra.Command, args []string) error {
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			var errs []error
			for _, ref := range args {
				err := a.remove(c, rt, ref, o)
				switch {
				case err == nil:
					fmt.Fprintln(a.out, ref)
				case o.force && errors.Is(err, layers.ErrNotFound):
					// -f: a name that matches nothing is no failure.
				default:
					errs = append(errs, err)
				}
			}
			return joinErrors(errs)
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
	// Strata has no volumes: -v is accepted for scripts written for Docker.
	f.BoolVarP(&o.volumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
	return c
}

func (a *app) remove(c *cobra.Command, rt *runtime.Runtime, ref string, o rmOptions) error {
	name := strings.Trim(ref, "/")
	if name == "" {
		return errors.New("container name cannot be empty")
	}
	ctr, err := lookup(c.Context(), rt, name)
	if err != nil {
		return err
	}
	err = rt.Remove(c.Context(), ctr.ID(), o.force)
	if o.force && errors.Is(err, runtime.ErrRunning) {
		// Killed, but its monitor was still unmounting when the
		// runtime looked: once it has gone, removal goes through.
		spec.WaitMonitor(a.containerDir(ctr.ID()))
		err = rt.Remove(c.Context(), ctr.ID(), o.force)
	}
	switch {
	case errors.Is(err, runtime.ErrRunning):
		return fmt.Errorf("cannot remove container %q: container is running: stop the container before removing or force remove", name)
	case err != nil:
		return fmt.Errorf("cannot remove container %q: %w", name, containerError(name, err))
	}
	return nil
}
