package cli

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/cli/format"
	"github.com/strata-engine/strata/layers"
)

const (
	historyTable      = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
	historyTableExact = "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
	// createdByWidth is where a truncated CREATED BY column ends, with "…".
	createdByWidth = 45
)

var historyHeaders = map[string]string{
	"ID":           "IMAGE",
	"CreatedSince": "CREATED",
	"CreatedAt":    "CREATED AT",
	"CreatedBy":    "CREATED BY",
}

// historyRow is one step of an image's history, newest first.
type historyRow struct {
	ID           string
	CreatedSince string
	CreatedAt    string
	CreatedBy    string
	Size         string
	Comment      string
}

func (r historyRow) MarshalJSON() ([]byte, error) { return format.Object(r) }

type historyOptions struct {
	human   bool
	quiet   bool
	noTrunc bool
	format  string
}

func (a *app) newHistoryCommand() *cobra.Command {
	var o historyOptions
	c := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args:  exactArgs(1),
		Annotations: map[string]string{
			annotAliases: "strata image history, strata history",
		},
		RunE: func(c *cobra.Command, args []string) error {
			return a.runHistory(c.Context(), o, args[0])
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.human, "human", "H", true, "Print sizes and dates in human readable format")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only show image IDs")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate output")
	f.StringVar(&o.format, "format", "", formatHelp)
	return c
}

func (a *app) runHistory(ctx context.Context, o historyOptions, ref string) error {
	s, err := a.store()
	if err != nil {
		return err
	}
	img, err := s.ResolveImage(ctx, ref)
	if err != nil {
		return err
	}
	table := historyTable
	if !o.human {
		table = historyTableExact
	}
	var rows []historyRow
	for _, st := range historySteps(img) {
		rows = append(rows, st.row(!o.noTrunc, o.human))
	}
	return format.List(a.out, listFormat(o.format, table, o.quiet), historyHeaders, rows)
}

// historyStep is one entry of an image's history with the size of the
// layer it made.
type historyStep struct {
	id        string // the image's id on the newest step, else "<missing>"
	created   time.Time
	createdBy string
	comment   string
	size      int64
}

// historySteps pairs the config's history with the image's layers, newest
// first. Steps that made no layer (ENV, CMD…) have size 0. Only the newest
// step has an id: strata keeps no intermediate images, like a pulled image
// in Docker. An image without history shows one step per layer.
func historySteps(img *layers.Image) []historyStep {
	var steps []historyStep
	hist := img.Config.History
	if len(hist) == 0 {
		for _, l := range img.Layers {
			steps = append(steps, historyStep{created: img.Created, size: l.Size})
		}
	}
	layer := 0
	for _, h := range hist {
		st := historyStep{createdBy: h.CreatedBy, comment: h.Comment}
		if h.Created != nil {
			st.created = *h.Created
		}
		if !h.EmptyLayer && layer < len(img.Layers) {
			st.size = img.Layers[layer].Size
			layer++
		}
		steps = append(steps, st)
	}
	// Newest first.
	for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
		steps[i], steps[j] = steps[j], steps[i]
	}
	for i := range steps {
		steps[i].id = "<missing>"
	}
	if len(steps) > 0 {
		steps[0].id = img.ID.String()
	}
	return steps
}

// beforeEpoch is where creation times stop being meaningful: reproducible
// builds set them to 1970, and "56 years ago" helps nobody.
var beforeEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func (st historyStep) row(trunc, human bool) historyRow {
	r := historyRow{
		ID:        st.id,
		CreatedAt: st.created.Format(time.RFC3339),
		CreatedBy: strings.ReplaceAll(st.createdBy, "\t", " "),
		Comment:   st.comment,
	}
	if trunc && r.ID != "<missing>" {
		r.ID = shortID(r.ID)
	}
	if trunc {
		r.CreatedBy = ellipsis(r.CreatedBy, createdByWidth)
	}
	switch {
	case !human:
		r.CreatedSince = r.CreatedAt
		r.Size = strconv.FormatInt(st.size, 10)
	case !st.created.After(beforeEpoch):
		r.CreatedSince = "N/A"
		r.Size = size(st.size)
	default:
		r.CreatedSince = since(st.created)
		r.Size = size(st.size)
	}
	return r
}

// ellipsis shortens s to n characters, the last one "…".
func ellipsis(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	return string(rs[:n-1]) + "…"
}
