package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/runtime"
)

// newContainerCommand is "strata container", the management command that
// groups the container commands; as in Docker, most of them also exist at
// the top level (run, ps, rm, …).
func (a *app) newContainerCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "container",
		Short: "Manage containers",
		Args:  noArgs,
		RunE:  showHelp,
	}
	ls := a.newPsCommand()
	ls.Use = "ls [OPTIONS]"
	ls.Aliases = []string{"ps", "list"}

	rm := a.newRmCommand()
	rm.Aliases = []string{"remove"}

	c.AddCommand(
		a.newAttachCommand(),
		a.newCommitCommand(),
		a.newCpCommand(),
		a.newCreateCommand(),
		a.newDiffCommand(),
		a.newExecCommand(),
		a.newContainerInspectCommand(),
		a.newKillCommand(),
		a.newLogsCommand(),
		ls,
		a.newPortCommand(),
		a.newContainerPruneCommand(),
		a.newRenameCommand(),
		a.newRestartCommand(),
		rm,
		a.newRunCommand(),
		a.newStartCommand(),
		a.newStatsCommand(),
		a.newStopCommand(),
		a.newTopCommand(),
		a.newWaitCommand(),
	)
	return c
}

// runtime opens the container runtime of the store at --root, and the
// store itself.
func (a *app) runtime() (*runtime.Runtime, *layers.Store, error) {
	s, err := a.store()
	if err != nil {
		return nil, nil, err
	}
	return runtime.New(a.root, s), s, nil
}

// containerDir is where the runtime keeps a container's files (see the
// runtime package's doc for the layout).
func (a *app) containerDir(id string) string {
	return filepath.Join(a.root, "containers", id)
}

// containerError gives the runtime's lookup errors Docker's texts, which
// scripts match: "No such container: x", and the ambiguous prefix.
func containerError(ref string, err error) error {
	switch {
	case errors.Is(err, runtime.ErrNotFound):
		return &layers.NotFoundError{Kind: "container", Name: ref}
	case errors.Is(err, runtime.ErrAmbiguous):
		return fmt.Errorf("multiple IDs found with provided prefix: %s", ref)
	}
	return err
}

// lookup finds the container ref names: its name, id or a unique prefix.
func lookup(ctx context.Context, rt *runtime.Runtime, ref string) (*runtime.Container, error) {
	c, err := rt.Inspect(ctx, ref)
	if err != nil {
		return nil, containerError(ref, err)
	}
	return c, nil
}

// notRunning is Docker's text for an operation that needs a running
// container.
func notRunning(c *runtime.Container) error {
	return fmt.Errorf("container %s is not running", c.ID())
}

// forEach runs op on every container named, printing each name given once
// op succeeds, as Docker's stop, kill, rm, … do, and returns the failures
// one per line.
func (a *app) forEach(refs []string, op func(ref string) error) error {
	var errs []error
	for _, ref := range refs {
		if err := op(ref); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(a.out, ref)
	}
	return joinErrors(errs)
}
