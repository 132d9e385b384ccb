package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/build"
	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/archive"
	"github.com/strata-engine/strata/layers/reference"
)

type importOptions struct {
	changes     []string
	message     string
	compression string
}

func (a *app) newImportCommand() *cobra.Command {
	var o importOptions
	c := &cobra.Command{
		Use:   "import [OPTIONS] file|- [REPOSITORY[:TAG]]",
		Short: "Import the contents from a tarball to create a filesystem image",
		Args:  rangeArgs(1, 2),
		Annotations: map[string]string{
			annotAliases: "strata image import, strata import",
		},
		RunE: func(c *cobra.Command, args []string) error {
			var ref string
			if len(args) > 1 {
				ref = args[1]
			}
			return a.runImport(c.Context(), o, args[0], ref)
		},
	}
	f := c.Flags()
	f.StringArrayVarP(&o.changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	f.StringVarP(&o.message, "message", "m", "", "Set commit message for imported image")
	// Not a Docker flag: podman's name for the same choice.
	f.StringVar(&o.compression, "compression-format", "gzip", "Compress the new layer with gzip or zstd")
	return c
}

// runImport makes a one-layer image of a root filesystem tarball (plain,
// gzip or zstd) and prints its id. Everything the user typed is checked
// before the store is touched, so a mistake leaves no trace.
func (a *app) runImport(ctx context.Context, o importOptions, src, ref string) error {
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		return fmt.Errorf("import %s: importing from a URL is not supported; download the file and import it", src)
	}
	opts := layers.ImportOptions{Message: o.message, Source: src}
	switch o.compression {
	case "gzip":
		opts.Compression = archive.Gzip
	case "zstd":
		opts.Compression = archive.Zstd
	default:
		return fmt.Errorf("invalid compression format %q: use gzip or zstd", o.compression)
	}
	if ref != "" {
		if _, err := reference.Parse(ref); err != nil {
			return err
		}
		opts.Refs = []string{ref}
	}
	if err := build.ApplyChanges(&opts.Config, o.changes); err != nil {
		return err
	}

	var r io.Reader = a.in
	if src != "-" {
		f, err := os.Open(src)
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
	img, err := s.Import(ctx, r, opts)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.out, img.ID)
	return nil
}
