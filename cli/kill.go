package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/runtime"
)

func (a *app) newKillCommand() *cobra.Command {
	var signal string
	c := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  minArgs(1),
		Annotations: map[string]string{
			annotAliases: "strata container kill, strata kill",
		},
		RunE: func(c *cobra.Command, args []string) error {
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			return a.forEach(args, func(ref string) error {
				// Docker's texts: "cannot kill container: REF: why".
				sig, err := runtime.ParseSignal(signal)
				if err != nil {
					return fmt.Errorf("cannot kill container: %s: %w", ref, err)
				}
				ctr, err := lookup(c.Context(), rt, ref)
				if err != nil {
					return err
				}
				err = rt.Kill(c.Context(), ctr.ID(), sig)
				if errors.Is(err, runtime.ErrNotRunning) {
					err = notRunning(ctr)
				}
				if err != nil {
					return fmt.Errorf("cannot kill container: %s: %w", ref, err)
				}
				return nil
			})
		},
	}
	c.Flags().StringVarP(&signal, "signal", "s", "", `Signal to send to the container (default "KILL")`)
	return c
}
