package cli

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/runtime"
)

func (a *app) newTopCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "top CONTAINER",
		Short: "Display the running processes of a container",
		Args:  exactArgs(1),
		Annotations: map[string]string{
			annotAliases: "strata container top, strata top",
		},
		RunE: func(c *cobra.Command, args []string) error {
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			ctr, err := lookup(c.Context(), rt, args[0])
			if err != nil {
				return err
			}
			procs, err := rt.Top(c.Context(), ctr.ID())
			if errors.Is(err, runtime.ErrNotRunning) {
				return notRunning(ctr)
			}
			if err != nil {
				return err
			}
			// Docker runs ps(1) with the options given; strata lists the
			// processes of the container's pid namespace itself, in these
			// columns, with Docker's spacing.
			w := tabwriter.NewWriter(a.out, 20, 1, 3, ' ', 0)
			fmt.Fprintln(w, "PID\tPPID\tUID\tCMD")
			for _, p := range procs {
				fmt.Fprintf(w, "%d\t%d\t%d\t%s\n", p.PID, p.PPID, p.UID, strings.Join(p.Args, " "))
			}
			return w.Flush()
		},
	}
	c.Flags().SetInterspersed(false)
	return c
}
