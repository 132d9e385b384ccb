package cli

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/runtime"
)

// defaultStopTimeout is how long stop and restart wait before killing,
// Docker's default.
const defaultStopTimeout = 10

type stopOptions struct {
	signal  string
	timeout int
}

func (a *app) newStopCommand() *cobra.Command {
	var o stopOptions
	c := &cobra.Command{
		Use:   "stop [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Stop one or more running containers",
		Args:  minArgs(1),
		Annotations: map[string]string{
			annotAliases: "strata container stop, strata stop",
		},
		RunE: func(c *cobra.Command, args []string) error {
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			return a.forEach(args, func(ref string) error {
				return stop(c.Context(), rt, ref, o)
			})
		},
	}
	addStopFlags(c, &o)
	return c
}

func addStopFlags(c *cobra.Command, o *stopOptions) {
	f := c.Flags()
	f.StringVarP(&o.signal, "signal", "s", "", "Signal to send to the container")
	f.IntVarP(&o.timeout, "timeout", "t", defaultStopTimeout, "Seconds to wait before killing the container")
}

// stop stops one container: its stop signal (or the one given), up to the
// timeout (a negative one waits forever), then SIGKILL. A container that
// is not running is left as it is.
func stop(ctx context.Context, rt *runtime.Runtime, ref string, o stopOptions) error {
	c, err := lookup(ctx, rt, ref)
	if err != nil {
		return err
	}
	timeout := time.Duration(o.timeout) * time.Second
	if o.timeout < 0 {
		timeout = -1
	}
	if o.signal == "" {
		return rt.Stop(ctx, c.ID(), timeout)
	}
	// The runtime stops with the container's own stop signal; another
	// one is sent here, and the rest is the runtime's stop.
	sig, err := runtime.ParseSignal(o.signal)
	if err != nil {
		return err
	}
	if err := rt.Kill(ctx, c.ID(), sig); err != nil {
		if errors.Is(err, runtime.ErrNotRunning) {
			return nil
		}
		return err
	}
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if timeout >= 0 {
		wctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	if _, err := rt.Wait(wctx, c.ID()); err == nil || ctx.Err() != nil {
		return err
	}
	if err := rt.Kill(ctx, c.ID(), syscall.SIGKILL); err != nil && !errors.Is(err, runtime.ErrNotRunning) {
		return err
	}
	_, err = rt.Wait(ctx, c.ID())
	return err
}
