package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/cli/format"
	"github.com/strata-engine/strata/registry"
)

type searchOptions struct {
	filter  filterFlag
	format  string
	limit   int
	noTrunc bool
}

const searchTable = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}"

var searchHeaders = map[string]string{
	"Name": "NAME", "Description": "DESCRIPTION", "StarCount": "STARS", "IsOfficial": "OFFICIAL",
}

// searchDescriptionWidth is where Docker cuts a description, with "…".
const searchDescriptionWidth = 45

func (a *app) newSearchCommand() *cobra.Command {
	var o searchOptions
	c := &cobra.Command{
		Use:   "search [OPTIONS] TERM",
		Short: "Search for images in Docker Hub or a registry (HOST[:PORT]/TERM)",
		Args:  exactArgs(1),
		Annotations: map[string]string{
			annotTop: "10",
		},
		RunE: func(c *cobra.Command, args []string) error {
			return a.runSearch(c.Context(), o, args[0])
		},
	}
	f := c.Flags()
	f.VarP(&o.filter, "filter", "f", "Filter output based on conditions provided (is-official, stars)")
	f.StringVar(&o.format, "format", "", "Pretty-print search using a Go template")
	f.IntVar(&o.limit, "limit", 0, "Max number of search results")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate output")
	return c
}

// searchRow is one line of search output.
type searchRow struct {
	r     registry.SearchResult
	trunc bool
}

func (s searchRow) Name() string { return s.r.Name }

func (s searchRow) Description() string {
	d := strings.NewReplacer("\n", " ", "\r", " ").Replace(s.r.Description)
	if s.trunc {
		if rs := []rune(d); len(rs) > searchDescriptionWidth {
			d = string(rs[:searchDescriptionWidth-1]) + "…"
		}
	}
	return d
}

func (s searchRow) StarCount() string { return strconv.Itoa(s.r.StarCount) }

func (s searchRow) IsOfficial() string {
	if s.r.IsOfficial {
		return "[OK]"
	}
	return ""
}

func (s searchRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"Name": s.r.Name, "Description": s.Description(), "StarCount": strconv.Itoa(s.r.StarCount),
		"IsOfficial": strconv.FormatBool(s.r.IsOfficial),
	})
}

func (a *app) runSearch(ctx context.Context, o searchOptions, term string) error {
	if err := o.filter.validate("is-official", "is-automated", "stars"); err != nil {
		return err
	}
	opts, err := a.registryOptions()
	if err != nil {
		return err
	}
	so := registry.SearchOptions{Options: opts, Limit: o.limit}
	for _, k := range []string{"is-official", "is-automated"} {
		for _, v := range o.filter.get(k) {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("invalid filter '%s=%s'", k, v)
			}
			if k == "is-official" {
				so.IsOfficial = &b
			} else {
				fmt.Fprintln(a.err, `WARNING: the "is-automated" filter is deprecated, and searching for "is-automated=true" will not yield any results in future.`)
				so.IsAuto = &b
			}
		}
	}
	for _, v := range o.filter.get("stars") {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("invalid filter 'stars=%s'", v)
		}
		so.Stars = max(so.Stars, n)
	}
	if o.limit != 0 && (o.limit < 1 || o.limit > 100) {
		return fmt.Errorf("limit %d is outside the range of [1, 100]", o.limit)
	}
	results, err := registry.Search(ctx, term, so)
	if err != nil {
		return err
	}
	rows := make([]searchRow, len(results))
	for i, r := range results {
		rows[i] = searchRow{r: r, trunc: !o.noTrunc}
	}
	return format.List(a.out, listFormat(o.format, searchTable, false), searchHeaders, rows)
}
