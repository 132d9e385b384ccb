package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/layers/tarball"
)

type saveOptions struct {
	output string
	format string
}

func (a *app) newSaveCommand() *cobra.Command {
	var o saveOptions
	c := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  minArgs(1),
		Annotations: map[string]string{
			annotAliases: "strata image save, strata save",
		},
		RunE: func(c *cobra.Command, args []string) error {
			return a.runSave(c.Context(), o, args)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.output, "output", "o", "", "Write to a file, instead of STDOUT")
	f.StringVar(&o.format, "format", "docker", `Archive format: "docker" (docker load) or "oci" (an OCI image layout)`)
	return c
}

func (a *app) runSave(ctx context.Context, o saveOptions, refs []string) error {
	var f tarball.Format
	switch o.format {
	case "docker", "docker-archive":
		f = tarball.DockerArchive
	case "oci", "oci-archive":
		f = tarball.OCIArchive
	default:
		return fmt.Errorf("invalid archive format %q: must be \"docker\" or \"oci\"", o.format)
	}
	if o.output == "" && isTerminal(a.out) {
		return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
	}
	s, err := a.store()
	if err != nil {
		return err
	}
	if o.output == "" {
		return s.Save(ctx, a.out, refs, f)
	}
	return writeAtomic(o.output, func(w io.Writer) error {
		return s.Save(ctx, w, refs, f)
	})
}

// writeAtomic writes a file through a temporary file beside it, renamed
// into place only once write has succeeded and the data is on disk: a
// failed save leaves neither a partial archive nor a damaged old one.
func writeAtomic(name string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save to %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
