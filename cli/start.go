package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/runtime"
)

type startOptions struct {
	attach      bool
	interactive bool
	detachKeys  string
}

func (a *app) newStartCommand() *cobra.Command {
	var o startOptions
	c := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args:  minArgs(1),
		Annotations: map[string]string{
			annotAliases: "strata container start, strata start",
		},
		RunE: func(c *cobra.Command, args []string) error {
			if _, err := runtime.ParseDetachKeys(o.detachKeys); err != nil {
				return err
			}
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			if o.attach || o.interactive {
				if len(args) > 1 {
					return errors.New("you cannot start and attach multiple containers at once")
				}
				return a.startAttached(c, rt, args[0], o)
			}
			// Like Docker: each failure is reported as it happens, then
			// the command fails naming them all.
			var failed []string
			for _, ref := range args {
				err := rt.Start(c.Context(), ref)
				if err != nil {
					report(a.err, containerError(ref, err))
					failed = append(failed, ref)
					continue
				}
				fmt.Fprintln(a.out, ref)
			}
			if len(failed) > 0 {
				return fmt.Errorf("failed to start containers: %s", strings.Join(failed, ", "))
			}
			return nil
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.attach, "attach", "a", false, "Attach STDOUT/STDERR and forward signals")
	f.BoolVarP(&o.interactive, "interactive", "i", false, "Attach container's STDIN")
	f.StringVar(&o.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return c
}

// startAttached is start -a/-i: the container starts with the local
// streams attached, and the command ends with it.
func (a *app) startAttached(c *cobra.Command, rt *runtime.Runtime, ref string, o startOptions) error {
	ctr, err := lookup(c.Context(), rt, ref)
	if err != nil {
		return err
	}
	tty := ctr.Config.Process.Tty
	stdin := o.interactive && ctr.Config.OpenStdin
	attach := rt.Run
	if ctr.State.Status == runtime.Running {
		// Docker attaches to a running container without restarting it.
		attach = rt.Attach
	}
	code, detached, err := a.attachTo(c.Context(), rt, ctr.ID(), attachSetup{
		tty: tty, stdin: stdin, closeStdin: true, detachKeys: o.detachKeys, sigProxy: !tty,
	}, attach)
	if err != nil || detached {
		return err
	}
	return exitStatus(code)
}
