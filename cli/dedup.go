package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/dedup"
	"github.com/strata-engine/strata/layers"
)

// newDedupCommand is "strata dedup": deduplication experiments on the
// images of the store.
func (a *app) newDedupCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "dedup",
		Short: "Analyse how images deduplicate",
		Args:  noArgs,
		RunE:  showHelp,
	}
	c.AddCommand(a.newDedupReportCommand())
	return c
}

type dedupOptions struct {
	format    string
	top       int
	chunkSize string
	noChunks  bool
	chart     string
}

func (a *app) newDedupReportCommand() *cobra.Command {
	var o dedupOptions
	c := &cobra.Command{
		Use:   "report [OPTIONS] [IMAGE...]",
		Short: "Show what layer-, file- and chunk-level deduplication would store",
		Long: `Show what the given images (all images when none is given) need under each
deduplication strategy: a copy of every layer per image, each distinct layer
once (Docker), each distinct file content once (Strata), each distinct
fixed-size block, and each distinct content-defined (FastCDC) chunk. The
chunk strategies read every distinct content once; --no-chunks skips them.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return a.runDedupReport(c.Context(), o, args)
		},
	}
	f := c.Flags()
	f.StringVar(&o.format, "format", "table", `Output format: "table" or "json"`)
	f.IntVar(&o.top, "top", 10, "Number of most shared files to list")
	f.StringVar(&o.chunkSize, "chunk-size", "64KiB", "Block size, and average content-defined chunk size (a power of two)")
	f.BoolVar(&o.noChunks, "no-chunks", false, "Skip the chunk-level strategies (which read every file)")
	f.StringVar(&o.chart, "chart", "", "Also draw the strategies as an SVG chart to this file")
	return c
}

func (a *app) runDedupReport(ctx context.Context, o dedupOptions, refs []string) error {
	if o.format != "table" && o.format != "json" {
		return &usageError{fmt.Sprintf("invalid --format %q: want \"table\" or \"json\"", o.format)}
	}
	if o.top < 0 {
		return &usageError{fmt.Sprintf("invalid --top %d: want 0 or more", o.top)}
	}
	var chunks *dedup.ChunkOptions
	if !o.noChunks {
		n, err := units.RAMInBytes(o.chunkSize)
		if err != nil || n <= 0 || n > 1<<30 {
			return &usageError{fmt.Sprintf("invalid --chunk-size %q: want a size such as 64KiB", o.chunkSize)}
		}
		chunks = &dedup.ChunkOptions{Size: int(n)}
	}
	if o.chart != "" {
		if err := dedup.CheckChartName(o.chart); err != nil {
			return &usageError{err.Error()}
		}
	}

	s, err := a.store()
	if err != nil {
		return err
	}
	imgs, err := dedupImages(ctx, s, refs)
	if err != nil {
		return err
	}
	r, err := dedup.Analyse(ctx, s, dedup.Options{Images: imgs, Top: o.top, Chunks: chunks})
	if err != nil {
		return err
	}
	if o.chart != "" {
		if err := writeFileAtomic(o.chart, func(w io.Writer) error { return r.WriteChart(w) }); err != nil {
			return err
		}
	}
	if o.format == "json" {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "    ")
		return enc.Encode(r)
	}
	return writeDedupTable(a.out, r)
}

// dedupImages resolves refs (each image once, in the order given), or
// lists every image of the store.
func dedupImages(ctx context.Context, s *layers.Store, refs []string) ([]*layers.Image, error) {
	if len(refs) == 0 {
		imgs, err := s.Images(ctx)
		if err != nil {
			return nil, err
		}
		// Images lists an image once per tag; keep one of each.
		var out []*layers.Image
		seen := map[string]bool{}
		for _, img := range imgs {
			if !seen[img.ID.String()] {
				seen[img.ID.String()] = true
				out = append(out, img)
			}
		}
		return out, nil
	}
	var out []*layers.Image
	seen := map[string]bool{}
	for _, ref := range refs {
		img, err := s.ResolveImage(ctx, ref)
		if err != nil {
			return nil, err
		}
		if !seen[img.ID.String()] {
			seen[img.ID.String()] = true
			out = append(out, img)
		}
	}
	return out, nil
}

// writeFileAtomic writes a file through write, beside its final name,
// and renames it: a failure leaves no half-written file.
func writeFileAtomic(name string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".strata-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

func writeDedupTable(out io.Writer, r *dedup.Report) error {
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	size := func(n int64) string { return units.HumanSizeWithPrecision(float64(n), 4) }
	pct := func(part, whole int64) string {
		if whole == 0 {
			return "0%"
		}
		return strconv.FormatFloat(100*float64(part)/float64(whole), 'f', 1, 64) + "%"
	}

	fmt.Fprintln(w, "IMAGE\tID\tLAYERS\tFILES\tLOGICAL\tUNIQUE\tSHARED")
	for _, img := range r.Images {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", img.Ref, layers.ShortID(img.ID),
			img.Layers, img.Files, size(img.Logical), size(img.Unique), size(img.Shared))
	}
	fmt.Fprintln(w)

	none := r.Strategies[0].Stored
	fmt.Fprintln(w, "STRATEGY\tSTORED\tSAVED\tOF LOGICAL\tUNITS\tDESCRIPTION")
	for _, s := range r.Strategies {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\n", s.Name, size(s.Stored), size(r.Saved(s)),
			pct(s.Stored, none), s.Units, s.Description)
	}
	fmt.Fprintf(w, "(compressed layer blobs, as a registry stores them: %s)\n", size(r.CompressedLayers))
	fmt.Fprintln(w)

	fmt.Fprintf(w, "Files: %d in %d distinct layers, %d distinct contents; %d contents in more than one layer, %d in more than one image\n",
		r.Files, r.Layers, r.Contents, r.SharedAcrossLayers, r.SharedAcrossImages)
	if len(r.Top) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "SIZE\tCOPIES\tLAYERS\tIMAGES\tSAVED\tPATH")
		for _, c := range r.Top {
			fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%s\t%s\n", size(c.Size), c.Copies, c.Layers, c.Images, size(c.Saved), c.Path)
		}
	}
	return w.Flush()
}
