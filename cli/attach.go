package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/runtime"
)

type attachOptions struct {
	noStdin    bool
	sigProxy   bool
	detachKeys string
}

func (a *app) newAttachCommand() *cobra.Command {
	var o attachOptions
	c := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Args:  exactArgs(1),
		Annotations: map[string]string{
			annotAliases: "strata container attach, strata attach",
		},
		RunE: func(c *cobra.Command, args []string) error {
			if _, err := runtime.ParseDetachKeys(o.detachKeys); err != nil {
				return err
			}
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			ctr, err := lookup(c.Context(), rt, args[0])
			if err != nil {
				return err
			}
			if ctr.State.Status != runtime.Running {
				return errors.New("cannot attach to a stopped container, start it first")
			}
			tty := ctr.Config.Process.Tty
			if err := a.checkTTY(!o.noStdin, tty); err != nil {
				return err
			}
			code, detached, err := a.attachTo(c.Context(), rt, ctr.ID(), attachSetup{
				tty: tty, stdin: !o.noStdin && ctr.Config.OpenStdin,
				detachKeys: o.detachKeys, sigProxy: o.sigProxy,
			}, rt.Attach)
			if errors.Is(err, runtime.ErrNotRunning) {
				return errors.New("cannot attach to a stopped container, start it first")
			}
			if err != nil || detached {
				return err
			}
			return exitStatus(code)
		},
	}
	f := c.Flags()
	f.BoolVar(&o.noStdin, "no-stdin", false, "Do not attach STDIN")
	f.BoolVar(&o.sigProxy, "sig-proxy", true, "Proxy all received signals to the process")
	f.StringVar(&o.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return c
}
