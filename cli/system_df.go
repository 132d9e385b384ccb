package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/cli/format"
	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/reference"
	"github.com/strata-engine/strata/runtime"
	"github.com/strata-engine/strata/runtime/spec"
)

const dfTable = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"

var dfHeaders = map[string]string{
	"Type":        "TYPE",
	"TotalCount":  "TOTAL",
	"Active":      "ACTIVE",
	"Size":        "SIZE",
	"Reclaimable": "RECLAIMABLE",
}

// dfRow is one line of "system df". The first four are Docker's; strata
// adds three about its file-level deduplication:
//
//	Layer Files     regular files in all distinct layers and their content:
//	                what a store of whole layers (Docker's) keeps
//	Stored Objects  the distinct contents among them: what strata keeps
//	Dedup Savings   the duplicate files and the bytes not stored twice
type dfRow struct {
	Type        string
	TotalCount  string
	Active      string
	Size        string
	Reclaimable string
}

func (r dfRow) MarshalJSON() ([]byte, error) { return format.Object(r) }

type dfOptions struct {
	verbose bool
	format  string
}

func (a *app) newSystemDfCommand() *cobra.Command {
	var o dfOptions
	c := &cobra.Command{
		Use:   "df [OPTIONS]",
		Short: "Show strata disk usage",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return a.runSystemDf(c.Context(), o)
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.verbose, "verbose", "v", false, "Show detailed information on space usage")
	f.StringVar(&o.format, "format", "", formatHelp)
	return c
}

func (a *app) runSystemDf(ctx context.Context, o dfOptions) error {
	s, err := a.store()
	if err != nil {
		return err
	}
	u, err := s.DiskUsage(ctx)
	if err != nil {
		return err
	}
	cu, err := a.containerUsage(ctx, s)
	if err != nil {
		return err
	}
	if o.verbose {
		return a.dfVerbose(u, cu, o.format)
	}
	return format.List(a.out, listFormat(o.format, dfTable, false), dfHeaders, dfRows(u, cu))
}

// reclaimable is Docker's "SIZE (PERCENT%)" of what could be freed.
func reclaimable(n, total int64) string {
	if total > 0 {
		return fmt.Sprintf("%s (%d%%)", totalSize(n), n*100/total)
	}
	return totalSize(n)
}

// containerUsage is the containers' share of "system df": each
// container and the bytes of its writable layer.
type containerUsage struct {
	ctrs  []*runtime.Container
	sizes []int64
}

func (a *app) containerUsage(ctx context.Context, s *layers.Store) (*containerUsage, error) {
	ctrs, err := runtime.New(a.root, s).List(ctx, true)
	if err != nil {
		return nil, err
	}
	cu := &containerUsage{ctrs: ctrs}
	for _, c := range ctrs {
		cu.sizes = append(cu.sizes, dirSize(filepath.Join(a.containerDir(c.ID()), spec.UpperDir)))
	}
	return cu, nil
}

// row is the Containers line: all of them, the running ones, their
// writable layers' bytes, and those of the stopped ones, which prune frees.
func (cu *containerUsage) row() dfRow {
	var active int
	var total, free int64
	for i, c := range cu.ctrs {
		total += cu.sizes[i]
		if c.State.Status == runtime.Running {
			active++
		} else {
			free += cu.sizes[i]
		}
	}
	return dfRow{
		Type:        "Containers",
		TotalCount:  strconv.Itoa(len(cu.ctrs)),
		Active:      strconv.Itoa(active),
		Size:        totalSize(total),
		Reclaimable: reclaimable(free, total),
	}
}

func dfRows(u *layers.Usage, cu *containerUsage) []dfRow {
	active := 0
	for _, iu := range u.Images {
		if iu.Holders > 0 {
			active++
		}
	}
	empty := dfRow{TotalCount: "0", Active: "0", Size: "0B", Reclaimable: "0B"}
	containers, volumes, cache := cu.row(), empty, empty
	volumes.Type, cache.Type = "Local Volumes", "Build Cache"
	cache.TotalCount = strconv.Itoa(u.CacheEntries)
	cache.Size = totalSize(u.CacheSize)
	cache.Reclaimable = reclaimable(u.CacheSize, u.CacheSize)

	saved := u.Saved()
	savedSize := totalSize(saved)
	if u.LayersSize > 0 {
		savedSize = fmt.Sprintf("%s (%d%%)", savedSize, saved*100/u.LayersSize)
	}
	return []dfRow{
		{
			Type:        "Images",
			TotalCount:  strconv.Itoa(len(u.Images)),
			Active:      strconv.Itoa(active),
			Size:        totalSize(u.LayersSize),
			Reclaimable: reclaimable(u.ReclaimableSize, u.LayersSize),
		},
		containers, volumes, cache,
		{Type: "Layer Files", TotalCount: strconv.Itoa(u.Files), Size: totalSize(u.LayersSize)},
		{Type: "Stored Objects", TotalCount: strconv.Itoa(u.Objects), Size: totalSize(u.StoredSize)},
		{Type: "Dedup Savings", TotalCount: strconv.Itoa(u.Files - u.Objects), Size: savedSize},
	}
}

const (
	dfImagesTable      = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}"
	dfContainersTable  = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}"
	dfVolumesTable     = "table {{.Name}}\t{{.Links}}\t{{.Size}}"
	dfBuildCacheTable  = "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}"
	dfObjectStoreTable = "table {{.Files}}\t{{.Objects}}\t{{.LogicalSize}}\t{{.StoredSize}}\t{{.Saved}}\t{{.BlobsSize}}\t{{.IndexSize}}"
)

// dfContainerRow is a container in "system df -v".
type dfContainerRow struct {
	ID, Image, Command, LocalVolumes, Size, RunningFor, Status, Names string
}

// Placeholder rows for the sections strata has nothing to show in yet;
// their fields name the columns.
type (
	dfVolumeRow struct {
		Name, Links, Size string
	}
	dfBuildCacheRow struct {
		ID, CacheType, Size, CreatedSince, LastUsedSince, UsageCount, Shared string
	}
)

// dfObjectStore is the verbose section on the object store.
type dfObjectStore struct {
	Files       int
	Objects     int
	LogicalSize string
	StoredSize  string
	Saved       string
	BlobsSize   string
	IndexSize   string
}

// dfReport is what a custom --format of "system df -v" renders, once.
type dfReport struct {
	Images      []imageRow
	Containers  []dfContainerRow
	Volumes     []dfVolumeRow
	BuildCache  []dfBuildCacheRow
	ObjectStore dfObjectStore
}

var (
	dfContainerHeaders  = map[string]string{"ID": "CONTAINER ID", "RunningFor": "CREATED"}
	dfVolumeHeaders     = map[string]string{"Name": "VOLUME NAME"}
	dfBuildCacheHeaders = map[string]string{"ID": "CACHE ID", "CreatedSince": "CREATED", "LastUsedSince": "LAST USED", "UsageCount": "USAGE"}
	dfObjectHeaders     = map[string]string{"LogicalSize": "LOGICAL SIZE", "StoredSize": "STORED SIZE", "BlobsSize": "BLOBS", "IndexSize": "INDEXES"}
)

func (a *app) dfVerbose(u *layers.Usage, cu *containerUsage, fmtText string) error {
	rep := dfReport{
		ObjectStore: dfObjectStore{
			Files:       u.Files,
			Objects:     u.Objects,
			LogicalSize: totalSize(u.LayersSize),
			StoredSize:  totalSize(u.StoredSize),
			Saved:       totalSize(u.Saved()),
			BlobsSize:   totalSize(u.BlobsSize),
			IndexSize:   totalSize(u.IndexSize),
		},
	}
	table := fmtText == "" || fmtText == format.Table
	for _, iu := range u.Images {
		rep.Images = append(rep.Images, dfImageRow(iu, table))
	}
	for i, c := range cu.ctrs {
		r := dfContainerRow{
			ID:           c.ID(),
			Image:        c.Config.Image,
			Command:      strconv.Quote(strings.Join(c.Config.Process.Args, " ")),
			LocalVolumes: "0",
			Size:         size(cu.sizes[i]),
			RunningFor:   since(c.Config.Created),
			Status:       statusText(c.State),
			Names:        c.Config.Name,
		}
		if table {
			r.ID = shortID(r.ID)
			r.Command = strconv.Quote(ellipsis(strings.Join(c.Config.Process.Args, " "), 20))
		}
		rep.Containers = append(rep.Containers, r)
	}
	if !table {
		return format.Execute(a.out, fmtText, rep)
	}

	sections := []struct {
		title string
		write func() error
	}{
		{"Images space usage:\n\n", func() error { return format.List(a.out, dfImagesTable, imageHeaders, rep.Images) }},
		{"\nContainers space usage:\n\n", func() error { return format.List(a.out, dfContainersTable, dfContainerHeaders, rep.Containers) }},
		{"\nLocal Volumes space usage:\n\n", func() error { return format.List(a.out, dfVolumesTable, dfVolumeHeaders, rep.Volumes) }},
		{"\nBuild cache usage: 0B\n\n", func() error { return format.List(a.out, dfBuildCacheTable, dfBuildCacheHeaders, rep.BuildCache) }},
		{"\nObject store usage:\n\n", func() error {
			return format.List(a.out, dfObjectStoreTable, dfObjectHeaders, []dfObjectStore{rep.ObjectStore})
		}},
	}
	for _, s := range sections {
		fmt.Fprint(a.out, s.title)
		if err := s.write(); err != nil {
			return err
		}
	}
	return nil
}

// dfImageRow is an image in "system df -v": its first name only, and how
// much of it is shared with other images.
func dfImageRow(iu layers.ImageUsage, trunc bool) imageRow {
	img := iu.Image
	r := imageRow{
		Repository:   "<none>",
		Tag:          "<none>",
		Digest:       "<none>",
		ID:           img.ID.String(),
		CreatedSince: since(img.Created),
		CreatedAt:    createdAt(img.Created),
		Size:         size(img.Size),
		SharedSize:   units.HumanSize(float64(iu.SharedSize)),
		UniqueSize:   units.HumanSize(float64(iu.UniqueSize)),
		Containers:   strconv.Itoa(iu.Holders),
	}
	if trunc {
		r.ID = shortID(r.ID)
	}
	if len(img.RepoTags) > 0 {
		if ref, err := reference.Parse(img.RepoTags[0]); err == nil {
			r.Repository, r.Tag = ref.FamiliarName(), ref.Tag()
		}
	}
	return r
}
