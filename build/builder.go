package build

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/index"
	"github.com/strata-engine/strata/runtime"
	"github.com/strata-engine/strata/runtime/phase"
)

// Options are the choices of one build, as `docker build` takes them.
type Options struct {
	// ContextDir is the build context, read in place.
	ContextDir string
	// Dockerfile is the Dockerfile's text; DockerfilePath where it came
	// from ("" for standard input), which selects its ignore file and
	// keeps it out of COPY, and DockerfileName how errors name it.
	Dockerfile     []byte
	DockerfilePath string
	DockerfileName string
	// Tags name the result (references, already checked).
	Tags []string
	// Target is the stage to stop at ("" for the last).
	Target string
	// BuildArgs are --build-arg values.
	BuildArgs map[string]string
	// Labels are added to the result's config.
	Labels map[string]string
	// NoCache builds every step anew (the new steps are still cached).
	NoCache bool
	// Remove removes intermediate containers (docker build --rm,
	// default true), ForceRemove also after a failed step.
	Remove, ForceRemove bool
	// NetworkMode is RUN's network: "none" (default) or "host".
	NetworkMode string
	// Out receives Docker's step lines and the output of RUN; nil
	// discards them. RunOut, when set, takes RUN's output instead.
	Out    io.Writer
	RunOut io.Writer
}

// Result is what a build made.
type Result struct {
	Image    *layers.Image
	Warnings []string
}

// StepError is a failed build step: the Dockerfile line and the message.
type StepError struct {
	File string
	Line int
	Err  error
}

func (e *StepError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// RunError is a RUN whose command exited non-zero, with Docker's text.
type RunError struct {
	Cmd  []string
	Code int
}

func (e *RunError) Error() string {
	return fmt.Sprintf("The command '%s' returned a non-zero code: %d", strings.Join(e.Cmd, " "), e.Code)
}

// builder is one build in progress.
type builder struct {
	store  *layers.Store
	rt     *runtime.Runtime
	opts   Options
	out    io.Writer
	runOut io.Writer
	bc     *buildContext
	holder string                          // prefix of this build's holds
	images map[digest.Digest]*layers.Image // loaded so far
	// manifests maps every image id of the store to its manifest, read
	// once at the start (cache entries are checked against it).
	manifests map[digest.Digest]digest.Digest
	flat      map[digest.Digest]*index.Index
	step      int
	steps     int
	global    *argSet
	used      map[string]bool // build args some instruction consumed
	stages    []*stage
	warn      []string
	bg        sync.WaitGroup // containers being removed
	escape    rune           // the Dockerfile's escape character
}

// stage is the state of one build stage.
type stage struct {
	name   string
	img    *layers.Image // nil: scratch, nothing added yet
	cfg    ocispec.Image
	args   *argSet
	shell  []string
	cmdSet bool // CMD given in this stage (ENTRYPOINT then keeps it)
}

// Build parses the Dockerfile, builds the stages up to the target and
// returns the image, tagged with opts.Tags. On error nothing is tagged and
// no container is left behind.
func Build(ctx context.Context, s *layers.Store, rt *runtime.Runtime, opts Options) (*Result, error) {
	if opts.DockerfileName == "" {
		opts.DockerfileName = "Dockerfile"
	}
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	stages, meta, escape, err := parse(opts.Dockerfile, opts.DockerfileName)
	if err != nil {
		return nil, err
	}
	last := len(stages) - 1
	if opts.Target != "" {
		last = -1
		for i, st := range stages {
			if strings.EqualFold(st.Name, opts.Target) {
				last = i
			}
		}
		if last < 0 {
			return nil, fmt.Errorf("target stage %q could not be found", opts.Target)
		}
	}
	stages = stages[:last+1]
	bc, err := openContext(opts.ContextDir, opts.DockerfilePath)
	if err != nil {
		return nil, err
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	b := &builder{
		store: s, rt: rt, opts: opts, out: out, runOut: out, bc: bc,
		holder: fmt.Sprintf("%s%d-%s", buildHolderPrefix, os.Getpid(), hex.EncodeToString(rnd[:])),
		images: map[digest.Digest]*layers.Image{},
		flat:   map[digest.Digest]*index.Index{},
		used:   map[string]bool{},
		escape: escape,
	}
	if opts.RunOut != nil {
		b.runOut = opts.RunOut
	}
	for _, st := range stages {
		b.steps += 1 + len(st.Commands)
	}
	releaseStaleHolds(s)
	if err := b.loadImages(ctx); err != nil {
		return nil, err
	}
	defer b.releaseHolds()
	defer b.bg.Wait()
	if b.global, err = b.metaArgs(meta); err != nil {
		return nil, err
	}
	var final *stage
	for i := range stages {
		if final, err = b.buildStage(ctx, &stages[i]); err != nil {
			return nil, err
		}
		b.stages = append(b.stages, final)
	}
	if len(opts.Labels) > 0 {
		if err := b.addLabels(ctx, final); err != nil {
			return nil, err
		}
	}
	if final.img == nil {
		// FROM scratch and nothing else: an image without layers.
		if err := b.commit(ctx, final, nil, "", ""); err != nil {
			return nil, err
		}
	}
	for _, t := range opts.Tags {
		if err := s.Tag(ctx, final.img, t); err != nil {
			return nil, err
		}
	}
	var unused []string
	for k := range opts.BuildArgs {
		if !b.used[k] && !predefinedArgs[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		b.warn = append(b.warn, fmt.Sprintf("One or more build-args %v were not consumed", unused))
	}
	return &Result{Image: final.img, Warnings: b.warn}, nil
}

func (b *builder) loadImages(ctx context.Context) error {
	m, err := b.store.ImageManifests(ctx)
	if err != nil {
		return err
	}
	b.manifests = m
	return nil
}

// image returns the image with id, if the store has it.
func (b *builder) image(id digest.Digest) (*layers.Image, bool) {
	if img, ok := b.images[id]; ok {
		return img, true
	}
	md, ok := b.manifests[id]
	if !ok {
		return nil, false
	}
	img, err := b.store.LoadImage(md)
	if err != nil {
		return nil, false
	}
	b.images[id] = img
	return img, true
}

func (b *builder) releaseHolds() {
	for i := range b.steps + 1 {
		b.store.Release(fmt.Sprintf("%s-%d", b.holder, i))
	}
}

func (b *builder) printf(format string, args ...any) {
	fmt.Fprintf(b.out, format, args...)
}

// buildStage runs one stage: FROM, its triggers, its instructions.
func (b *builder) buildStage(ctx context.Context, ds *instructions.Stage) (*stage, error) {
	b.step++
	b.printf("Step %d/%d : %s\n", b.step, b.steps, ds.SourceCode)
	st, err := b.from(ctx, ds)
	if err != nil {
		return nil, &StepError{File: b.opts.DockerfileName, Line: stageLine(ds), Err: err}
	}
	if err := b.onbuild(ctx, st); err != nil {
		return nil, &StepError{File: b.opts.DockerfileName, Line: stageLine(ds), Err: err}
	}
	for _, cmd := range ds.Commands {
		b.step++
		phase.Mark("build: step %d", b.step)
		b.printf("Step %d/%d : %s\n", b.step, b.steps, cmd)
		if err := b.dispatch(ctx, st, cmd); err != nil {
			var se *StepError
			if errors.As(err, &se) {
				return nil, err
			}
			return nil, &StepError{File: b.opts.DockerfileName, Line: lineOf(cmd), Err: err}
		}
	}
	return st, nil
}

// from starts a stage on its base: scratch, an earlier stage or an image
// of the store.
func (b *builder) from(ctx context.Context, ds *instructions.Stage) (*stage, error) {
	base, err := b.expandGlobal(ds.BaseName)
	if err != nil {
		return nil, err
	}
	if base == "" {
		return nil, errors.New("base name (" + ds.BaseName + ") should not be blank")
	}
	st := &stage{name: ds.Name, args: newArgSet(), shell: append([]string{}, defaultShell...)}
	switch {
	case base == "scratch":
		st.cfg = ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: goruntime.GOARCH}}
	case b.stageNamed(base) != nil:
		prev := b.stageNamed(base)
		st.img, st.cfg, st.shell = prev.img, prev.cfg, append([]string{}, prev.shell...)
	default:
		img, err := b.store.ResolveImage(ctx, base)
		if err != nil {
			if errors.Is(err, layers.ErrNotFound) {
				return nil, fmt.Errorf("base image %s is not in the store: strata build does not pull; pull, load or import it first: %w", base, err)
			}
			return nil, err
		}
		b.images[img.ID] = img
		st.img, st.cfg = img, cloneConfig(img)
		var sh []string
		if v, ok := st.cfg.Config.Labels[ShellLabel]; ok && json.Unmarshal([]byte(v), &sh) == nil && len(sh) > 0 {
			st.shell = sh
		}
	}
	if ds.Platform != "" {
		if err := b.checkPlatform(ds.Platform, st.cfg); err != nil {
			return nil, err
		}
	}
	if st.img != nil {
		if err := b.store.Hold(fmt.Sprintf("%s-%d", b.holder, b.step), st.img.ID); err != nil {
			return nil, err
		}
		b.printf(" ---> %s\n", st.img.ShortID())
	}
	return st, nil
}

func (b *builder) stageNamed(name string) *stage {
	for _, s := range b.stages {
		if s.name != "" && strings.EqualFold(s.name, name) {
			return s
		}
	}
	return nil
}

func (b *builder) checkPlatform(p string, cfg ocispec.Image) error {
	want, err := b.expandGlobal(p)
	if err != nil {
		return err
	}
	parts := strings.Split(want, "/")
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return fmt.Errorf("invalid platform %q: want os/arch[/variant]", want)
	}
	if parts[0] != cfg.OS || parts[1] != cfg.Architecture {
		return fmt.Errorf("image platform %s/%s does not match the requested platform %s (strata builds for this machine only)", cfg.OS, cfg.Architecture, want)
	}
	return nil
}

// cloneConfig returns a private copy of an image's config.
func cloneConfig(img *layers.Image) ocispec.Image {
	var c ocispec.Image
	if err := json.Unmarshal(img.RawConfig, &c); err != nil {
		return img.Config
	}
	return c
}

// onbuild runs the ONBUILD triggers of the stage's base, which the new
// image then no longer carries (as Docker clears them).
func (b *builder) onbuild(ctx context.Context, st *stage) error {
	var keys []string
	for k := range st.cfg.Config.Labels {
		if strings.HasPrefix(k, OnbuildLabel+".") {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Slice(keys, func(i, j int) bool {
		a, _ := strconv.Atoi(strings.TrimPrefix(keys[i], OnbuildLabel+"."))
		c, _ := strconv.Atoi(strings.TrimPrefix(keys[j], OnbuildLabel+"."))
		return a < c
	})
	var triggers []string
	for _, k := range keys {
		triggers = append(triggers, st.cfg.Config.Labels[k])
		delete(st.cfg.Config.Labels, k)
	}
	if len(st.cfg.Config.Labels) == 0 {
		st.cfg.Config.Labels = nil
	}
	b.printf("# Executing %d build trigger", len(triggers))
	if len(triggers) > 1 {
		b.printf("s")
	}
	b.printf("\n")
	for _, t := range triggers {
		res, err := parser.Parse(strings.NewReader(t + "\n"))
		if err != nil {
			return fmt.Errorf("ONBUILD %s: %w", t, err)
		}
		for _, n := range res.AST.Children {
			cmd, err := instructions.ParseCommand(n)
			if err != nil {
				return fmt.Errorf("ONBUILD %s: %w", t, err)
			}
			c, ok := cmd.(instructions.Command)
			if !ok {
				return fmt.Errorf("ONBUILD %s: not an instruction a trigger can run", t)
			}
			if err := b.dispatch(ctx, st, c); err != nil {
				return fmt.Errorf("ONBUILD %s: %w", t, err)
			}
		}
	}
	return nil
}

// env is what variables expand to in the stage: its ARGs, overridden by
// its ENV (Docker's rule).
func (b *builder) env(st *stage) shell.EnvGetter {
	env := st.args.environ()
	env = append(env, st.cfg.Config.Env...)
	return shell.EnvsFromSlice(env)
}

// commit makes the stage's next image: its config plus history entry,
// its layers plus layer (nil for a metadata step), and records it in the
// cache under key.
func (b *builder) commit(ctx context.Context, st *stage, layer *layers.Layer, createdBy, key string) error {
	tx, err := b.store.Begin()
	if err != nil {
		return err
	}
	defer tx.Close()
	return b.commitTx(ctx, tx, st, layer, createdBy, key)
}

// commitTx is commit in the Tx that wrote layer, so that GC cannot take
// the layer before the image refers to it.
func (b *builder) commitTx(ctx context.Context, tx *layers.Tx, st *stage, layer *layers.Layer, createdBy, key string) error {
	now := time.Now().UTC()
	cfg := st.cfg
	cfg.Created = &now
	if createdBy != "" {
		cfg.History = append(cfg.History[:len(cfg.History):len(cfg.History)], ocispec.History{
			Created: &now, CreatedBy: createdBy, EmptyLayer: layer == nil,
		})
	}
	var ls []*layers.Layer
	if st.img != nil {
		for i, d := range st.img.Manifest.Layers {
			ls = append(ls, &layers.Layer{Blob: d, Info: &st.img.Layers[i]})
		}
	}
	if layer != nil {
		ls = append(ls, layer)
	}
	img, err := tx.CreateImage(ctx, cfg, ls, nil)
	if err != nil {
		return err
	}
	if key != "" {
		if err := b.store.Hold(layers.CacheHolderPrefix+key, img.ID); err != nil {
			return err
		}
	}
	b.images[img.ID] = img
	st.img, st.cfg = img, cloneConfig(img)
	phase.Mark("build: step %d image %s", b.step, img.ShortID())
	b.printf(" ---> %s\n", img.ShortID())
	return nil
}

// key is the cache key of a step: the parent image, the instruction as
// expanded, and extra (the sources' digest, the build args a RUN sees).
func (b *builder) key(st *stage, cmd any, extra string) string {
	parent := "scratch"
	if st.img != nil {
		parent = st.img.ID.String()
	}
	data, _ := json.Marshal(cmd)
	cfg, _ := json.Marshal(st.cfg.Config) // triggers cleared, SHELL: not in the parent's id
	d := digest.FromString(strings.Join([]string{"strata-build-v1", parent, fmt.Sprintf("%T", cmd), string(data), string(cfg), strings.Join(st.shell, "\x01"), extra}, "\x00"))
	return d.Encoded()
}

// cached moves the stage to the image cached under key, if there is one
// and the cache may be used.
func (b *builder) cached(st *stage, key string) bool {
	if b.opts.NoCache {
		return false
	}
	id, err := b.store.HeldImage(layers.CacheHolderPrefix + key)
	if err != nil {
		return false
	}
	img, ok := b.image(id)
	if !ok {
		return false // removed since (rmi)
	}
	st.img, st.cfg = img, cloneConfig(img)
	b.printf(" ---> Using cache\n ---> %s\n", img.ShortID())
	return true
}

// objectPath returns where the store keeps a content.
func (b *builder) objectPath(d index.Digest) string { return b.store.ObjectPath(d) }

// index returns the flattened index of the stage's image (nil: scratch).
func (b *builder) index(ctx context.Context, img *layers.Image) (*index.Index, error) {
	if img == nil || len(img.Layers) == 0 {
		return nil, nil
	}
	if x, ok := b.flat[img.ID]; ok {
		return x, nil
	}
	x, err := b.store.ImageIndex(ctx, img)
	if err != nil {
		return nil, err
	}
	b.flat[img.ID] = x
	return x, nil
}

// lex returns a shell lexer with the Dockerfile's escape character.
func (b *builder) lex() *shell.Lex {
	if b.escape == 0 {
		return shell.NewLex('\\')
	}
	return shell.NewLex(b.escape)
}
