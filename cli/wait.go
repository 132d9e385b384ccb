package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) newWaitCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  minArgs(1),
		Annotations: map[string]string{
			annotAliases: "strata container wait, strata wait",
		},
		RunE: func(c *cobra.Command, args []string) error {
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			var errs []error
			for _, ref := range args {
				ctr, err := lookup(c.Context(), rt, ref)
				if err == nil {
					var code int
					if code, err = rt.Wait(c.Context(), ctr.ID()); err == nil {
						fmt.Fprintln(a.out, code)
						continue
					}
				}
				errs = append(errs, err)
			}
			return joinErrors(errs)
		},
	}
}
