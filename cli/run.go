package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/runtime"
	"github.com/strata-engine/strata/runtime/spec"
)

type runOptions struct {
	containerOptions
	detach     bool
	detachKeys string
	sigProxy   bool
}

func (a *app) newRunCommand() *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  minArgs(1),
		Annotations: map[string]string{
			annotTop:     "1",
			annotAliases: "strata container run, strata run",
		},
		RunE: func(c *cobra.Command, args []string) error {
			return a.runRun(c.Context(), c, o, args)
		},
	}
	f := c.Flags()
	addContainerFlags(f, &o.containerOptions)
	f.BoolVarP(&o.detach, "detach", "d", false, "Run container in background and print container ID")
	f.StringVar(&o.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	f.BoolVar(&o.sigProxy, "sig-proxy", true, "Proxy received signals to the process")
	return c
}

func (a *app) runRun(ctx context.Context, c *cobra.Command, o runOptions, args []string) error {
	co, err := o.createOptions(c.Flags(), args, a.lookupEnv)
	if err != nil {
		return runError("run", exitEngine, err)
	}
	for _, w := range o.warnings {
		fmt.Fprintln(a.err, w)
	}
	if !o.detach {
		if err := a.checkTTY(o.interactive, o.tty); err != nil {
			return err
		}
	}
	if _, err := runtime.ParseDetachKeys(o.detachKeys); err != nil {
		return err
	}
	rt, _, err := a.runtime()
	if err != nil {
		return runError("run", exitEngine, err)
	}
	if err := a.ensureImage(ctx, o.pull, co.Image); err != nil {
		return runError("run", exitEngine, err)
	}
	ctr, err := a.create(ctx, rt, co, "run")
	if err != nil {
		return err
	}
	id := ctr.ID()

	if o.detach {
		if err := rt.Start(ctx, id); err != nil {
			a.removeAfterFailure(rt, id, o.autoRemove)
			return runError("run", exitEngine, err)
		}
		fmt.Fprintln(a.out, id)
		return nil
	}

	code, detached, err := a.attachTo(ctx, rt, id, attachSetup{
		tty: o.tty, stdin: o.interactive, closeStdin: true,
		detachKeys: o.detachKeys, sigProxy: o.sigProxy,
	}, rt.Run)
	if err != nil {
		a.removeAfterFailure(rt, id, o.autoRemove)
		return runError("run", exitEngine, err)
	}
	if detached {
		return nil
	}
	if o.autoRemove {
		// The monitor removes the container once it has exited; docker
		// run returns only when that is done.
		spec.WaitMonitor(a.containerDir(id))
	}
	return exitStatus(code)
}

// removeAfterFailure removes a --rm container that never ran.
func (a *app) removeAfterFailure(rt *runtime.Runtime, id string, autoRemove bool) {
	if !autoRemove {
		return
	}
	ctx := context.Background()
	spec.WaitMonitor(a.containerDir(id))
	if err := rt.Remove(ctx, id, true); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		a.log.Debug("remove after failed start", "id", id, "err", err)
	}
}

// exitStatus makes the CLI exit with a container's status, silently.
func exitStatus(code int) error {
	if code == 0 {
		return nil
	}
	return &exitError{code: code}
}

// attachSetup says how the local streams meet a container's.
type attachSetup struct {
	tty        bool // the container has a terminal
	stdin      bool // send our stdin
	closeStdin bool // and close the container's when ours ends
	detachKeys string
	sigProxy   bool
}

// attachFunc is Runtime.Run or Runtime.Attach.
type attachFunc func(ctx context.Context, ref string, opts runtime.AttachOptions) (int, bool, error)

// attachTo connects the local streams to the container with attach (which
// starts it, for run). With a terminal, the local one is put in raw mode
// and its size followed; without, the signals the CLI receives go to the
// container.
func (a *app) attachTo(ctx context.Context, rt *runtime.Runtime, id string, s attachSetup, attach attachFunc) (int, bool, error) {
	opts := runtime.AttachOptions{
		Stdout:     a.out,
		Stderr:     a.err,
		DetachKeys: s.detachKeys,
		CloseStdin: s.closeStdin,
	}
	if s.stdin {
		opts.Stdin = a.in
	}
	if !s.tty {
		if s.sigProxy {
			// The container decides what a signal means; this command
			// ends when it does.
			ctx = context.WithoutCancel(ctx)
			stop := proxySignals(ctx, rt, id)
			defer stop()
		}
		return attach(ctx, id, opts)
	}
	// A terminal merges the streams: all of it is output.
	opts.Stderr = a.out
	if rows, cols, ok := a.terminalSize(); ok {
		opts.Size = &runtime.TermSize{Rows: rows, Cols: cols}
	}
	if s.stdin {
		restore, err := a.rawInput()
		if err != nil {
			return 0, false, err
		}
		defer restore()
	}
	stop := a.watchSize(ctx, rt, id)
	defer stop()
	return attach(ctx, id, opts)
}
