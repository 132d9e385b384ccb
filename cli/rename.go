package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/runtime"
)

func (a *app) newRenameCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  exactArgs(2),
		Annotations: map[string]string{
			annotAliases: "strata container rename, strata rename",
		},
		RunE: func(c *cobra.Command, args []string) error {
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			ref, name := args[0], strings.TrimPrefix(args[1], "/")
			ctr, err := lookup(c.Context(), rt, ref)
			if err != nil {
				return fmt.Errorf("failed to rename container: %w", err)
			}
			if ctr.Config.Name == name {
				return errors.New("failed to rename container: Renaming a container with the same name as its current name")
			}
			err = rt.Rename(c.Context(), ctr.ID(), name)
			if errors.Is(err, runtime.ErrNameInUse) {
				id := "?"
				if other, ierr := rt.Inspect(c.Context(), name); ierr == nil {
					id = other.ID()
				}
				err = fmt.Errorf("Error when allocating new name: Conflict. The container name %q is already in use by container %q. You have to remove (or rename) that container to be able to reuse that name.", "/"+name, id)
			}
			if err != nil {
				return fmt.Errorf("failed to rename container: %w", err)
			}
			return nil
		},
	}
}
