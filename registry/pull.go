package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/reference"
)

// Event is one step in the pull or push of one blob, with Docker's words
// for it. Pull: "Pulling fs layer", "Waiting", "Downloading", "Verifying
// Checksum", "Download complete", "Pull complete", "Already exists". Push:
// "Preparing", "Waiting", "Pushing", "Pushed", "Layer already exists",
// "Mounted from REPO".
type Event struct {
	ID      string // the blob's short id: 12 hex digits
	Status  string
	Current int64 // bytes moved so far ("Downloading", "Pushing")
	Total   int64 // the blob's size
}

// Progress receives events. The operations call it from one goroutine at
// a time, never concurrently.
type Progress func(Event)

// Platform is an operating system and architecture ("linux/arm64/v8").
type Platform = v1.Platform

// PullOptions are the choices of Pull.
type PullOptions struct {
	Options
	// Platform picks an image out of a manifest list or OCI index, and
	// is required of a single image when set. Nil means the host's.
	Platform *v1.Platform
	Progress Progress
}

// PullResult is what Pull did.
type PullResult struct {
	Image *layers.Image
	// Digest is what the reference resolved to in the registry: the
	// digest of the manifest list or index when there is one, else of
	// the manifest. name@Digest is recorded as a repository digest.
	Digest digest.Digest
	// UpToDate is true when the store already had this image under
	// this name and nothing was downloaded.
	UpToDate bool
}

// HostPlatform is the platform images are pulled for by default.
func HostPlatform() v1.Platform {
	p := v1.Platform{OS: "linux", Architecture: goruntime.GOARCH}
	if p.Architecture == "arm64" {
		p.Variant = "v8"
	}
	return p
}

// Pull fetches the image ref names into s: its manifest and config kept
// byte for byte (so its id is the registry's config digest), its layers
// downloaded in parallel and streamed straight into the store, those the
// store has already skipped. The image is recorded under ref only once
// every layer is in; a pull that fails or is interrupted leaves the
// layers it completed (each verified), and a new pull starts from them.
func Pull(ctx context.Context, s *layers.Store, ref reference.Reference, opts PullOptions) (*PullResult, error) {
	res, err := pull(ctx, s, ref, &opts)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, describe("pull", ref.Familiar(), ref.FamiliarName(), err)
	}
	return res, nil
}

func pull(ctx context.Context, s *layers.Store, ref reference.Reference, opts *PullOptions) (*PullResult, error) {
	repo, err := opts.repository(ref)
	if err != nil {
		return nil, err
	}
	var nref name.Reference = repo.Tag(ref.Tag())
	if ref.IsDigested() {
		nref = repo.Digest(ref.Digest().String())
	}
	progress := serialize(opts.Progress)
	ropts := opts.remoteOptions(ctx)
	desc, err := remote.Get(nref, ropts...)
	if err != nil {
		return nil, err
	}
	img, err := pickImage(desc, opts.Platform)
	if err != nil {
		return nil, &opError{msg: err.Error() + " (" + ref.Familiar() + ")", kind: ErrPlatform, cause: err}
	}
	rawMan, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	man, cfg, err := parseImage(rawMan, rawCfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	// A single image must be for the platform asked for; an index's
	// entry already was chosen by it.
	if opts.Platform != nil && !desc.MediaType.IsIndex() && !matches(ocispec.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}, *opts.Platform) {
		return nil, &opError{kind: ErrPlatform, msg: fmt.Sprintf("image with reference %s was found but does not match the specified platform: wanted %s, actual: %s/%s",
			ref.Familiar(), opts.Platform, cfg.OS, cfg.Architecture)}
	}
	resolved := digest.Digest(desc.Digest.String())
	repoDigest := ref.FamiliarName() + "@" + resolved.String()

	tx, err := s.Begin()
	if err != nil {
		return nil, err
	}
	defer tx.Close()

	todo, upToDate := plan(ctx, s, ref, man, cfg, repoDigest)
	for _, l := range man.Layers {
		if upToDate && len(todo) == 0 {
			break // Docker says nothing of the layers then
		}
		if _, ok := todo[l.Digest]; ok {
			progress(Event{ID: layers.ShortID(l.Digest), Status: "Pulling fs layer", Total: l.Size})
		} else {
			progress(Event{ID: layers.ShortID(l.Digest), Status: "Already exists", Total: l.Size})
		}
	}
	if err := download(ctx, tx, img, man, cfg, todo, opts.jobs(), progress); err != nil {
		return nil, err
	}
	var tags []string
	if !ref.IsDigested() {
		tags = []string{ref.String()}
	}
	stored, err := tx.PutImage(ctx, rawMan, rawCfg, tags, []string{repoDigest})
	if err != nil {
		return nil, err
	}
	return &PullResult{Image: stored, Digest: resolved, UpToDate: upToDate && len(todo) == 0}, nil
}

// plan lists the layers to download (blob digest → diffID) and tells
// whether the store has this very image under this name already.
func plan(ctx context.Context, s *layers.Store, ref reference.Reference, man *ocispec.Manifest, cfg *ocispec.Image, repoDigest string) (map[digest.Digest]digest.Digest, bool) {
	todo := map[digest.Digest]digest.Digest{}
	for i, l := range man.Layers {
		diffID := cfg.RootFS.DiffIDs[i]
		if !s.HasLayer(l.Digest, diffID) {
			todo[l.Digest] = diffID
		}
	}
	upToDate := false
	if have, err := s.ResolveImage(ctx, ref.Familiar()); err == nil {
		upToDate = have.ID == man.Config.Digest && containsString(have.RepoDigests, repoDigest)
	}
	return todo, upToDate
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseImage reads a manifest (OCI or Docker schema 2) and its config and
// checks that they agree.
func parseImage(rawMan, rawCfg []byte) (*ocispec.Manifest, *ocispec.Image, error) {
	var man ocispec.Manifest
	if err := json.Unmarshal(rawMan, &man); err != nil {
		return nil, nil, fmt.Errorf("manifest: %v", err)
	}
	switch types.MediaType(man.MediaType) {
	case types.OCIManifestSchema1, types.DockerManifestSchema2, "":
	default:
		return nil, nil, fmt.Errorf("unsupported manifest media type %q", man.MediaType)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(rawCfg, &cfg); err != nil {
		return nil, nil, fmt.Errorf("config %s: %v", man.Config.Digest, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(man.Layers) {
		return nil, nil, fmt.Errorf("manifest lists %d layers but its config %d", len(man.Layers), len(cfg.RootFS.DiffIDs))
	}
	for _, l := range man.Layers {
		if err := l.Digest.Validate(); err != nil {
			return nil, nil, fmt.Errorf("layer %q: %v", l.Digest, err)
		}
		if l.Size < 0 {
			return nil, nil, fmt.Errorf("layer %s: negative size", l.Digest)
		}
	}
	return &man, &cfg, nil
}

// pickImage resolves a manifest list or OCI index to the image for
// platform (the host's when nil), as Docker does.
func pickImage(desc *remote.Descriptor, platform *v1.Platform) (v1.Image, error) {
	if !desc.MediaType.IsIndex() {
		return desc.Image()
	}
	want := HostPlatform()
	if platform != nil {
		want = *platform
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, m := range im.Manifests {
		if m.Platform == nil || !m.MediaType.IsImage() {
			continue
		}
		p := ocispec.Platform{OS: m.Platform.OS, Architecture: m.Platform.Architecture, Variant: m.Platform.Variant}
		if matches(p, want) {
			return idx.Image(m.Digest)
		}
	}
	return nil, fmt.Errorf("no matching manifest for %s in the manifest list entries", want.String())
}

// matches reports whether an image for have runs on want. A variant
// counts only when want names one; arm64's v8 is its only variant.
func matches(have ocispec.Platform, want v1.Platform) bool {
	if have.OS != want.OS || have.Architecture != want.Architecture {
		return false
	}
	norm := func(arch, v string) string {
		if arch == "arm64" && v == "" {
			return "v8"
		}
		return v
	}
	return want.Variant == "" || norm(have.Architecture, have.Variant) == norm(want.Architecture, want.Variant)
}

// download streams the layers of todo into the store, jobs at a time.
// The first failure stops the others; the layers that completed stay.
func download(ctx context.Context, tx *layers.Tx, img v1.Image, man *ocispec.Manifest, cfg *ocispec.Image, todo map[digest.Digest]digest.Digest, jobs int, progress Progress) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	started := map[digest.Digest]bool{}
	queued := 0
	for _, l := range man.Layers {
		diffID, ok := todo[l.Digest]
		if !ok || started[l.Digest] {
			continue
		}
		started[l.Digest] = true
		if queued >= jobs {
			progress(Event{ID: layers.ShortID(l.Digest), Status: "Waiting", Total: l.Size})
		}
		queued++
		l := l
		g.Go(func() error {
			if err := fetchLayer(gctx, tx, img, l, diffID, progress); err != nil {
				return fmt.Errorf("layer %s: %w", layers.ShortID(l.Digest), err)
			}
			return nil
		})
	}
	return g.Wait()
}

func fetchLayer(ctx context.Context, tx *layers.Tx, img v1.Image, desc ocispec.Descriptor, diffID digest.Digest, progress Progress) error {
	h, err := v1.NewHash(desc.Digest.String())
	if err != nil {
		return err
	}
	layer, err := img.LayerByDigest(h)
	if err != nil {
		return err
	}
	rc, err := layer.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	cr := &countingReader{ctx: ctx, r: rc, id: layers.ShortID(desc.Digest), total: desc.Size, progress: progress}
	if _, err := tx.PutLayer(ctx, cr, desc, diffID); err != nil {
		return err
	}
	progress(Event{ID: cr.id, Status: "Pull complete", Total: desc.Size})
	return nil
}

// countingReader reports a download's progress, and its end, and stops
// it when ctx is done (another layer failed, or the user interrupted).
type countingReader struct {
	ctx      context.Context
	r        io.Reader
	id       string
	n, total int64
	last     int64
	progress Progress
	done     bool
}

const progressStep = 512 << 10

func (c *countingReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n-c.last >= progressStep || (err == io.EOF && c.n > c.last) {
		c.last = c.n
		c.progress(Event{ID: c.id, Status: "Downloading", Current: c.n, Total: c.total})
	}
	if err == io.EOF && !c.done {
		c.done = true
		c.progress(Event{ID: c.id, Status: "Verifying Checksum", Current: c.n, Total: c.total})
		c.progress(Event{ID: c.id, Status: "Download complete", Current: c.n, Total: c.total})
	}
	return n, err
}

// serialize makes p safe to call from several goroutines, one at a time.
func serialize(p Progress) Progress {
	if p == nil {
		return func(Event) {}
	}
	var mu sync.Mutex
	return func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		p(e)
	}
}

// Tags lists the tags of a repository, for pull -a.
func Tags(ctx context.Context, repo reference.Reference, opts Options) ([]string, error) {
	r, err := opts.repository(repo)
	if err != nil {
		return nil, err
	}
	tags, err := remote.List(r, opts.remoteOptions(ctx)...)
	if err != nil {
		return nil, describe("list tags of", repo.FamiliarName(), repo.FamiliarName(), err)
	}
	sort.Strings(tags)
	return tags, nil
}

// ParsePlatform reads --platform: "os[/arch[/variant]]", "linux/arm64",
// or "arch" alone meaning linux ("arm64").
func ParsePlatform(s string) (*v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil || s == "" {
		return nil, &opError{msg: fmt.Sprintf("invalid platform %q: want os[/arch[/variant]]", s), kind: ErrInvalid}
	}
	if !strings.Contains(s, "/") && !knownOS[p.OS] {
		// "arm64" alone: the architecture, on linux.
		p.Architecture, p.OS = p.OS, "linux"
	}
	if p.Architecture == "" {
		p.Architecture = goruntime.GOARCH
	}
	return p, nil
}

var knownOS = map[string]bool{"linux": true, "windows": true, "darwin": true, "freebsd": true}
