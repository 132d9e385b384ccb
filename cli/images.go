package cli

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/cli/format"
	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/reference"
)

const (
	imagesTable        = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince}}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}"
	imagesTableDigests = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince}}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}"
)

// imageHeaders are the column titles of image lists.
var imageHeaders = map[string]string{
	"ID":           "IMAGE ID",
	"CreatedSince": "CREATED",
	"CreatedAt":    "CREATED AT",
	"SharedSize":   "SHARED SIZE",
	"UniqueSize":   "UNIQUE SIZE",
}

// imageRow is one line of "images": one name of an image. Its fields are
// what --format templates see.
type imageRow struct {
	Repository   string
	Tag          string
	Digest       string
	ID           string
	CreatedSince string
	CreatedAt    string
	Size         string
	Containers   string
	SharedSize   string
	UniqueSize   string
}

// MarshalJSON gives {{json .}} Docker's shape: keys sorted.
func (r imageRow) MarshalJSON() ([]byte, error) { return format.Object(r) }

type imagesOptions struct {
	match   string
	quiet   bool
	all     bool
	noTrunc bool
	digests bool
	format  string
	filter  filterFlag
}

func (a *app) newImagesCommand() *cobra.Command {
	var o imagesOptions
	c := &cobra.Command{
		Use:   "images [OPTIONS] [REPOSITORY[:TAG]]",
		Short: "List images",
		Args:  maxArgs(1),
		Annotations: map[string]string{
			annotTop:     "7",
			annotAliases: "strata image ls, strata image list, strata images",
		},
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				o.match = args[0]
			}
			n, err := a.runImages(c.Context(), o)
			if err == nil && n == 0 && o.match != "" && c.CalledAs() == "images" {
				ambiguousHint(a, c, o.match)
			}
			return err
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only show image IDs")
	f.BoolVarP(&o.all, "all", "a", false, "Show all images, untagged (dangling) ones included")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate output")
	f.BoolVar(&o.digests, "digests", false, "Show digests")
	f.StringVar(&o.format, "format", "", formatHelp)
	f.VarP(&o.filter, "filter", "f", "Filter the list with key=value conditions (dangling, label, before, since, reference, until)")
	return c
}

// ambiguousHint helps whoever typed "strata images ls" for "strata image
// ls": the word was taken as a repository and matched nothing.
func ambiguousHint(a *app, c *cobra.Command, word string) {
	img, _, err := c.Root().Find([]string{"image", word})
	if err == nil && img != nil && img.Name() != "image" {
		fmt.Fprintf(a.err, "No images found matching %q: did you mean \"%s image %s\"?\n", word, c.Root().Name(), word)
	}
}

func (a *app) runImages(ctx context.Context, o imagesOptions) (int, error) {
	filter := o.filter
	if o.match != "" {
		filter.add("reference", o.match)
	}
	if err := filter.validate("dangling", "label", "before", "since", "reference", "until"); err != nil {
		return 0, err
	}
	s, err := a.store()
	if err != nil {
		return 0, err
	}
	imgs, err := s.Images(ctx)
	if err != nil {
		return 0, err
	}
	imgs, err = filterImages(ctx, s, imgs, &filter, o.all)
	if err != nil {
		return 0, err
	}

	table := imagesTable
	if o.digests {
		table = imagesTableDigests
	}
	fmtText := listFormat(o.format, table, o.quiet)
	if format.IsTable(fmtText) && o.digests && !strings.Contains(fmtText, "{{.Digest}}") {
		fmtText += `\t{{.Digest}}`
	}
	withDigests := o.digests || strings.Contains(fmtText, "{{.Digest}}")

	var rows []imageRow
	for _, img := range imgs {
		rows = append(rows, imageRows(img, !o.noTrunc, withDigests, o.digests)...)
	}
	if err := format.List(a.out, fmtText, imageHeaders, rows); err != nil {
		return 0, err
	}
	return len(imgs), nil
}

// filterImages keeps the images that pass filter. A reference filter also
// narrows each image's names to those it matches, as Docker's does.
func filterImages(ctx context.Context, s *layers.Store, imgs []*layers.Image, filter *filterFlag, all bool) ([]*layers.Image, error) {
	showDangling, onlyDangling := all, false
	if filter.has("dangling") {
		d, err := filter.boolValue("dangling")
		if err != nil {
			return nil, err
		}
		showDangling, onlyDangling = d, d
	}
	var before, after time.Time
	for _, v := range filter.get("before") {
		ref, err := s.ResolveImage(ctx, v)
		if err != nil {
			return nil, err
		}
		if before.IsZero() || ref.Created.Before(before) {
			before = ref.Created
		}
	}
	for _, v := range filter.get("since") {
		ref, err := s.ResolveImage(ctx, v)
		if err != nil {
			return nil, err
		}
		if ref.Created.After(after) {
			after = ref.Created
		}
	}
	var until time.Time
	now := time.Now()
	for _, v := range filter.get("until") {
		t, err := parseUntil(v, now)
		if err != nil {
			return nil, err
		}
		if until.IsZero() || t.Before(until) {
			until = t
		}
	}
	patterns := filter.get("reference")
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("invalid reference filter %q: %w", p, err)
		}
	}

	var out []*layers.Image
	for _, img := range imgs {
		dangling := len(img.RepoTags) == 0
		switch {
		case dangling && !showDangling,
			!dangling && onlyDangling,
			!before.IsZero() && !img.Created.Before(before),
			!after.IsZero() && !img.Created.After(after),
			!until.IsZero() && !img.Created.Before(until),
			!filter.matchLabels(img.Config.Config.Labels):
			continue
		}
		if len(patterns) > 0 {
			narrowed := *img
			narrowed.RepoTags = matchingRefs(img.RepoTags, patterns)
			narrowed.RepoDigests = matchingRefs(img.RepoDigests, patterns)
			if len(narrowed.RepoTags) == 0 && len(narrowed.RepoDigests) == 0 {
				continue
			}
			img = &narrowed
		}
		out = append(out, img)
	}
	return out, nil
}

// matchingRefs returns the references that match one of the shell patterns,
// compared with the familiar reference ("busybox:latest") and with the
// familiar name alone ("busybox").
func matchingRefs(refs []string, patterns []string) []string {
	var out []string
	for _, s := range refs {
		ref, err := reference.Parse(s)
		if err != nil {
			continue
		}
		for _, p := range patterns {
			ok, _ := path.Match(p, ref.Familiar())
			if !ok {
				ok, _ = path.Match(p, ref.FamiliarName())
			}
			if ok {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// imageRows makes the lines of one image: one per repository and tag (and
// per digest of that repository when digests are shown), or one "<none>"
// line for an image without names.
func imageRows(img *layers.Image, trunc, withDigests, digestRows bool) []imageRow {
	base := imageRow{
		ID:           img.ID.String(),
		CreatedSince: since(img.Created),
		CreatedAt:    createdAt(img.Created),
		Size:         size(img.Size),
		Containers:   "N/A",
		SharedSize:   "N/A",
		UniqueSize:   "N/A",
	}
	if trunc {
		base.ID = shortID(base.ID)
	}
	row := func(repo, tag, dgst string) imageRow {
		r := base
		r.Repository, r.Tag, r.Digest = repo, tag, dgst
		return r
	}
	if len(img.RepoTags) == 0 && len(img.RepoDigests) == 0 {
		return []imageRow{row("<none>", "<none>", "<none>")}
	}

	tags := map[string][]string{}
	for _, s := range img.RepoTags {
		if ref, err := reference.Parse(s); err == nil && ref.Tag() != "" {
			tags[ref.FamiliarName()] = append(tags[ref.FamiliarName()], ref.Tag())
		}
	}
	digests := map[string][]string{}
	for _, s := range img.RepoDigests {
		if ref, err := reference.Parse(s); err == nil && ref.IsDigested() {
			digests[ref.FamiliarName()] = append(digests[ref.FamiliarName()], ref.Digest().String())
		}
	}

	var rows []imageRow
	for _, repo := range sortedKeys(tags) {
		ds := digests[repo]
		delete(digests, repo)
		if !withDigests {
			ds = nil
		}
		for _, tag := range sorted(tags[repo]) {
			if len(ds) == 0 {
				rows = append(rows, row(repo, tag, "<none>"))
				continue
			}
			for _, d := range ds {
				rows = append(rows, row(repo, tag, d))
			}
		}
	}
	// Repositories known only by digest.
	for _, repo := range sortedKeys(digests) {
		if !digestRows {
			rows = append(rows, row(repo, "<none>", ""))
			continue
		}
		for _, d := range digests[repo] {
			rows = append(rows, row(repo, "<none>", d))
		}
	}
	return rows
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
