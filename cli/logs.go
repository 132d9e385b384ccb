package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/runtime"
)

type logsOptions struct {
	follow     bool
	tail       string
	timestamps bool
}

func (a *app) newLogsCommand() *cobra.Command {
	var o logsOptions
	c := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Args:  exactArgs(1),
		Annotations: map[string]string{
			annotAliases: "strata container logs, strata logs",
		},
		RunE: func(c *cobra.Command, args []string) error {
			tail := -1
			if o.tail != "all" {
				n, err := strconv.Atoi(o.tail)
				if err != nil {
					return fmt.Errorf("invalid value for \"tail\": %q: must be a number or \"all\"", o.tail)
				}
				if n >= 0 {
					tail = n
				}
			}
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			ctr, err := lookup(c.Context(), rt, args[0])
			if err != nil {
				return err
			}
			return rt.Logs(c.Context(), ctr.ID(), runtime.LogsOptions{
				Follow: o.follow, Tail: tail, Timestamps: o.timestamps,
				Stdout: a.out, Stderr: a.err,
			})
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.follow, "follow", "f", false, "Follow log output")
	f.StringVarP(&o.tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	f.BoolVarP(&o.timestamps, "timestamps", "t", false, "Show timestamps")
	return c
}
