package cli

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/runtime"
)

type execOptions struct {
	interactive bool
	tty         bool
	detach      bool
	env         []string
	envFiles    []string
	workdir     string
	user        string
	detachKeys  string
	privileged  bool
}

func (a *app) newExecCommand() *cobra.Command {
	var o execOptions
	c := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Args:  minArgs(2),
		Annotations: map[string]string{
			annotTop:     "2",
			annotAliases: "strata container exec, strata exec",
		},
		RunE: func(c *cobra.Command, args []string) error {
			return a.runExec(c.Context(), o, args[0], args[1:])
		},
	}
	f := c.Flags()
	f.SetInterspersed(false)
	f.StringVar(&o.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	f.BoolVarP(&o.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	f.BoolVarP(&o.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	f.BoolVarP(&o.detach, "detach", "d", false, "Detached mode: run command in the background")
	f.StringVarP(&o.user, "user", "u", "", `Username or UID (format: "<name|uid>[:<group|gid>]")`)
	f.BoolVar(&o.privileged, "privileged", false, "Give extended privileges to the command (not supported)")
	f.StringArrayVarP(&o.env, "env", "e", nil, "Set environment variables")
	f.StringArrayVar(&o.envFiles, "env-file", nil, "Read in a file of environment variables")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	return c
}

func (a *app) runExec(ctx context.Context, o execOptions, ref string, cmd []string) error {
	if o.privileged {
		return errors.New("exec --privileged is not supported")
	}
	if _, err := runtime.ParseDetachKeys(o.detachKeys); err != nil {
		return err
	}
	env, err := environment(o.env, o.envFiles, a.lookupEnv)
	if err != nil {
		return err
	}
	rt, _, err := a.runtime()
	if err != nil {
		return err
	}
	// The container's existence is checked before the terminal, as in
	// Docker, so that an unknown name says so.
	ctr, err := lookup(ctx, rt, ref)
	if err != nil {
		return err
	}
	if !o.detach {
		if err := a.checkTTY(o.interactive, o.tty); err != nil {
			return err
		}
	}
	if ctr.State.Status != runtime.Running {
		return notRunning(ctr)
	}
	eo := runtime.ExecOptions{
		Cmd: cmd, Env: env, Tty: o.tty, WorkingDir: o.workdir, User: o.user, Detach: o.detach,
	}
	exec := func(ctx context.Context, id string, ao runtime.AttachOptions) (int, bool, error) {
		eo.AttachOptions = ao
		return rt.Exec(ctx, id, eo)
	}
	var code int
	if o.detach {
		code, _, err = exec(ctx, ctr.ID(), runtime.AttachOptions{})
	} else {
		if o.tty {
			sizes, stop := a.sizeFeed()
			defer stop()
			eo.Resize = sizes
		}
		code, _, err = a.attachTo(ctx, rt, ctr.ID(), attachSetup{
			tty: o.tty, stdin: o.interactive, closeStdin: true, detachKeys: o.detachKeys, sigProxy: false,
		}, exec)
	}
	var se *runtime.StartError
	switch {
	case errors.As(err, &se):
		return withCode(se.Code, errors.New(se.Msg))
	case errors.Is(err, runtime.ErrNotRunning):
		return notRunning(ctr)
	case err != nil:
		return err
	}
	return exitStatus(code)
}
