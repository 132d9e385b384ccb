package cli

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/cli/format"
	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/runtime"
	"github.com/strata-engine/strata/runtime/spec"
)

const psTable = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

// psHeaders are the column titles of container lists.
var psHeaders = map[string]string{
	"ID":           "CONTAINER ID",
	"RunningFor":   "CREATED",
	"CreatedAt":    "CREATED AT",
	"LocalVolumes": "LOCAL VOLUMES",
}

// psRow is one line of "ps". Its fields and methods are what --format
// templates see, as in Docker.
type psRow struct {
	ID           string
	Image        string
	Command      string
	CreatedAt    string
	RunningFor   string
	Ports        string
	State        string
	Status       string
	Size         string
	Names        string
	Labels       string
	Mounts       string
	Networks     string
	LocalVolumes string

	labels map[string]string
}

// Label is the value of one label: {{.Label "com.example.x"}}.
func (r psRow) Label(name string) string { return r.labels[name] }

// MarshalJSON gives {{json .}} Docker's shape: keys sorted.
func (r psRow) MarshalJSON() ([]byte, error) { return format.Object(r) }

type psOptions struct {
	quiet   bool
	all     bool
	latest  bool
	last    int
	noTrunc bool
	size    bool
	format  string
	filter  filterFlag
}

func (a *app) newPsCommand() *cobra.Command {
	var o psOptions
	c := &cobra.Command{
		Use:   "ps [OPTIONS]",
		Short: "List containers",
		Args:  noArgs,
		Annotations: map[string]string{
			annotTop:     "3",
			annotAliases: "strata container ls, strata container list, strata container ps, strata ps",
		},
		RunE: func(c *cobra.Command, _ []string) error {
			return a.runPs(c.Context(), o)
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only display container IDs")
	f.BoolVarP(&o.size, "size", "s", false, "Display total file sizes")
	f.BoolVarP(&o.all, "all", "a", false, "Show all containers (default shows just running)")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate output")
	f.BoolVarP(&o.latest, "latest", "l", false, "Show the latest created container (includes all states)")
	f.IntVarP(&o.last, "last", "n", -1, "Show n last created containers (includes all states)")
	f.StringVar(&o.format, "format", "", formatHelp)
	f.VarP(&o.filter, "filter", "f", "Filter output based on conditions provided (id, name, label, status, exited, ancestor, before, since)")
	return c
}

func (a *app) runPs(ctx context.Context, o psOptions) error {
	if o.format != "" && o.format != format.Table && o.quiet {
		fmt.Fprintln(a.err, "WARNING: Ignoring custom format, because both --format and --quiet are set.")
		o.format = ""
	}
	rt, s, err := a.runtime()
	if err != nil {
		return err
	}
	limit := o.last
	if o.latest && limit == -1 {
		limit = 1
	}
	sel, err := newContainerFilter(ctx, rt, s, &o.filter)
	if err != nil {
		return err
	}
	all := o.all || limit > 0 || o.filter.has("status")
	ctrs, err := rt.List(ctx, all)
	if err != nil {
		return err
	}
	fmtText := listFormat(o.format, psTable, o.quiet)
	if fmtText == psTable && o.size {
		fmtText += `\t{{.Size}}`
	}
	images := imageCache{s: s, m: map[string]*layers.Image{}}
	var rows []psRow
	for _, c := range ctrs {
		if limit > 0 && len(rows) == limit {
			break
		}
		img := images.get(ctx, c.Config.ImageID)
		if !sel.match(c, img) {
			continue
		}
		rows = append(rows, a.psRow(ctx, s, c, img, !o.noTrunc, o.size || strings.Contains(fmtText, ".Size")))
	}
	return format.List(a.out, fmtText, psHeaders, rows)
}

// imageCache loads each image of a list once.
type imageCache struct {
	s *layers.Store
	m map[string]*layers.Image
}

// get returns the image of that id, or nil (a directory root, or an image
// gone from the store).
func (c imageCache) get(ctx context.Context, id string) *layers.Image {
	if id == "" {
		return nil
	}
	img, ok := c.m[id]
	if !ok {
		img, _ = c.s.ResolveImage(ctx, id)
		c.m[id] = img
	}
	return img
}

func (a *app) psRow(ctx context.Context, s *layers.Store, c *runtime.Container, img *layers.Image, trunc, withSize bool) psRow {
	cfg := c.Config
	r := psRow{
		ID:           cfg.ID,
		Image:        containerImage(ctx, s, c, trunc),
		Command:      strings.Join(cfg.Process.Args, " "),
		CreatedAt:    createdAt(cfg.Created),
		RunningFor:   since(cfg.Created),
		State:        string(c.State.Status),
		Status:       statusText(c.State),
		Names:        cfg.Name,
		Networks:     networkNames(cfg),
		LocalVolumes: "0",
		labels:       containerLabels(c, img),
	}
	if c.State.Status == runtime.Running {
		var bound []spec.PortBinding
		for _, ep := range c.State.Endpoints {
			bound = append(bound, ep.Ports...)
		}
		r.Ports = portsColumn(bound, cfg.ExposedPorts)
	}
	if trunc {
		r.ID = shortID(r.ID)
		r.Command = ellipsis(r.Command, 20)
	}
	r.Command = strconv.Quote(r.Command)
	var mounts []string
	for _, m := range cfg.Mounts {
		src := m.Source
		if trunc {
			src = ellipsis(src, 15)
		}
		mounts = append(mounts, src)
	}
	r.Mounts = strings.Join(mounts, ",")
	var labels []string
	for k, v := range r.labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	r.Labels = strings.Join(labels, ",")
	if withSize {
		rw := dirSize(filepath.Join(a.containerDir(cfg.ID), spec.UpperDir))
		r.Size = size(rw)
		if img != nil {
			r.Size = fmt.Sprintf("%s (virtual %s)", size(rw), size(rw+img.Size))
		}
	}
	return r
}

// containerImage is the IMAGE column: the name the container was created
// from while it still names the same image, else the image's id, as the
// Docker daemon reports it.
func containerImage(ctx context.Context, s *layers.Store, c *runtime.Container, trunc bool) string {
	cfg := c.Config
	switch {
	case cfg.ImageID == "":
		if cfg.RootfsDir != "" {
			return cfg.RootfsDir
		}
		return "<no image>"
	case cfg.Image != "":
		if img, err := s.ResolveImage(ctx, cfg.Image); err == nil && img.ID.String() == cfg.ImageID {
			return cfg.Image
		}
	}
	if trunc {
		return shortID(cfg.ImageID)
	}
	return cfg.ImageID
}

// containerLabels are a container's labels over its image's, as Docker
// merges them at create.
func containerLabels(c *runtime.Container, img *layers.Image) map[string]string {
	m := map[string]string{}
	if img != nil {
		for k, v := range img.Config.Config.Labels {
			m[k] = v
		}
	}
	for k, v := range c.Config.Labels {
		m[k] = v
	}
	return m
}

// statusText is Docker's STATUS: "Up 3 seconds", "Exited (0) 2 minutes
// ago", "Created".
func statusText(st runtime.State) string {
	now := time.Now().UTC()
	switch {
	case st.Status == runtime.Running:
		return "Up " + units.HumanDuration(now.Sub(st.StartedAt))
	case st.StartedAt.IsZero():
		return "Created"
	case st.FinishedAt.IsZero():
		return ""
	}
	return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
}

// dirSize is the bytes of regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// containerFilter is a parsed --filter of ps and container prune.
type containerFilter struct {
	f         *filterFlag
	ids       []*regexp.Regexp
	names     []*regexp.Regexp
	exited    []int
	ancestors []*layers.Image // nil entries: an ancestor that does not exist
	before    time.Time
	since     time.Time
	until     time.Time
}

// Container states Docker knows; strata's containers are only ever in
// three of them, but a filter on any is valid.
var containerStates = []string{"created", "running", "paused", "restarting", "removing", "exited", "dead"}

func newContainerFilter(ctx context.Context, rt *runtime.Runtime, s *layers.Store, f *filterFlag) (*containerFilter, error) {
	if err := f.validate("id", "name", "label", "status", "exited", "ancestor", "before", "since", "until"); err != nil {
		return nil, err
	}
	cf := &containerFilter{f: f}
	for _, v := range f.get("id") {
		re, err := regexp.Compile(v)
		if err != nil {
			re = regexp.MustCompile(regexp.QuoteMeta(v))
		}
		cf.ids = append(cf.ids, re)
	}
	for _, v := range f.get("name") {
		re, err := regexp.Compile(v)
		if err != nil {
			re = regexp.MustCompile(regexp.QuoteMeta(v))
		}
		cf.names = append(cf.names, re)
	}
	for _, v := range f.get("exited") {
		code, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("invalid filter 'exited=%s': %w", v, err)
		}
		cf.exited = append(cf.exited, code)
	}
	for _, v := range f.get("status") {
		if !slices.Contains(containerStates, v) {
			return nil, fmt.Errorf("invalid filter 'status=%s': invalid value for state (%s): must be one of %s", v, v, strings.Join(containerStates, ", "))
		}
	}
	for _, v := range f.get("ancestor") {
		img, err := s.ResolveImage(ctx, v)
		if err != nil {
			img = nil // Docker lists nothing for an unknown ancestor
		}
		cf.ancestors = append(cf.ancestors, img)
	}
	for _, key := range []string{"before", "since"} {
		for _, v := range f.get(key) {
			c, err := lookup(ctx, rt, v)
			if err != nil {
				return nil, err
			}
			if key == "before" {
				cf.before = c.Config.Created
			} else {
				cf.since = c.Config.Created
			}
		}
	}
	now := time.Now()
	for _, v := range f.get("until") {
		t, err := parseUntil(v, now)
		if err != nil {
			return nil, err
		}
		cf.until = t
	}
	return cf, nil
}

// match reports whether c (of image img, nil if unknown) passes every
// condition.
func (cf *containerFilter) match(c *runtime.Container, img *layers.Image) bool {
	cfg, st := c.Config, c.State
	switch {
	case len(cf.ids) > 0 && !anyMatch(cf.ids, cfg.ID),
		len(cf.names) > 0 && !anyMatch(cf.names, cfg.Name) && !anyMatch(cf.names, "/"+cfg.Name),
		cf.f.has("status") && !slices.Contains(cf.f.get("status"), string(st.Status)),
		!cf.f.matchLabels(containerLabels(c, img)),
		!cf.before.IsZero() && !cfg.Created.Before(cf.before),
		!cf.since.IsZero() && !cfg.Created.After(cf.since),
		!cf.until.IsZero() && !cfg.Created.Before(cf.until):
		return false
	}
	if len(cf.exited) > 0 && (st.Status != runtime.Exited || st.StartedAt.IsZero() || !slices.Contains(cf.exited, st.ExitCode)) {
		return false
	}
	if cf.f.has("ancestor") {
		ok := false
		for _, anc := range cf.ancestors {
			if anc != nil && img != nil && descends(img, anc) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// descends reports whether img is anc or was built on it: its layers begin
// with all of anc's (strata keeps no parent links; the layers say it).
func descends(img, anc *layers.Image) bool {
	if img.ID == anc.ID {
		return true
	}
	a, b := img.Config.RootFS.DiffIDs, anc.Config.RootFS.DiffIDs
	return len(b) > 0 && len(a) > len(b) && slices.Equal(a[:len(b)], b)
}

func anyMatch(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// networkNames is ps's NETWORKS: the networks a container is on, or its
// network mode (none, host).
func networkNames(cfg runtime.Config) string {
	if len(cfg.Networks) == 0 {
		return cfg.NetworkMode
	}
	var names []string
	for _, n := range cfg.Networks {
		names = append(names, n.Name)
	}
	return strings.Join(names, ",")
}
