package cli

import (
	"github.com/spf13/cobra"
)

func (a *app) newTagCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:  exactArgs(2),
		Annotations: map[string]string{
			annotAliases: "strata image tag, strata tag",
		},
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.store()
			if err != nil {
				return err
			}
			img, err := s.ResolveImage(c.Context(), args[0])
			if err != nil {
				return err
			}
			return s.Tag(c.Context(), img, args[1])
		},
	}
	c.Flags().SetInterspersed(false)
	return c
}
