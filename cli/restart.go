package cli

import (
	"github.com/spf13/cobra"
)

func (a *app) newRestartCommand() *cobra.Command {
	var o stopOptions
	c := &cobra.Command{
		Use:   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Restart one or more containers",
		Args:  minArgs(1),
		Annotations: map[string]string{
			annotAliases: "strata container restart, strata restart",
		},
		RunE: func(c *cobra.Command, args []string) error {
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			return a.forEach(args, func(ref string) error {
				if err := stop(c.Context(), rt, ref, o); err != nil {
					return err
				}
				return rt.Start(c.Context(), ref)
			})
		},
	}
	addStopFlags(c, &o)
	return c
}
