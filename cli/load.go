package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

type loadOptions struct {
	input string
	quiet bool
}

func (a *app) newLoadCommand() *cobra.Command {
	var o loadOptions
	c := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load an image from a tar archive or STDIN",
		Args:  noArgs,
		Annotations: map[string]string{
			annotAliases: "strata image load, strata load",
		},
		RunE: func(c *cobra.Command, _ []string) error {
			return a.runLoad(c.Context(), o)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.input, "input", "i", "", "Read from tar archive file, instead of STDIN")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress the load output")
	return c
}

func (a *app) runLoad(ctx context.Context, o loadOptions) error {
	var r io.Reader = a.in
	if o.input == "" || o.input == "-" {
		if isTerminal(a.in) {
			return errors.New("requested load from stdin, but stdin is empty")
		}
	} else {
		f, err := os.Open(o.input)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	s, err := a.store()
	if err != nil {
		return err
	}
	imgs, err := s.Load(ctx, r)
	if err != nil {
		return err
	}
	// There is no progress to hide: -q only exists for Docker's scripts.
	for _, img := range imgs {
		if len(img.RepoTags) == 0 {
			fmt.Fprintln(a.out, "Loaded image ID:", img.ID)
			continue
		}
		for _, t := range img.RepoTags {
			fmt.Fprintln(a.out, "Loaded image:", t)
		}
	}
	return nil
}
