package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/archive"
	"github.com/strata-engine/strata/runtime/phase"
)

// copy runs a COPY or ADD: the sources are written as a tar straight into
// a new layer, no container involved.
func (b *builder) copy(ctx context.Context, st *stage, sd instructions.SourcesAndDest, from, chown, chmod string, add, link, parents bool, exclude []string) error {
	name := "COPY"
	if add {
		name = "ADD"
	}
	if parents || len(exclude) > 0 {
		return fmt.Errorf("%s --parents and --exclude are not supported", name)
	}
	_ = link // --link changes how BuildKit caches; a layer is a layer here
	var tree sourceTree = b.bc
	if from != "" {
		t, err := b.fromTree(ctx, from)
		if err != nil {
			return err
		}
		tree = t
	}
	x, err := b.index(ctx, st.img)
	if err != nil {
		return err
	}
	dest := sd.DestPath
	if dest == "" {
		return fmt.Errorf("%s requires a destination", name)
	}
	destDir := strings.HasSuffix(dest, "/") || strings.HasSuffix(dest, "/.") || dest == "."
	if !path.IsAbs(dest) {
		wd := st.cfg.Config.WorkingDir
		if wd == "" {
			wd = "/"
		}
		dest = path.Join(wd, dest)
	}
	req := copyRequest{add: add, srcs: sd.SourcePaths, dest: path.Clean(dest), destDir: destDir}
	for _, sc := range sd.SourceContents {
		req.inline = append(req.inline, inlineFile{name: sc.Path, data: sc.Data})
	}
	if req.chmod, err = parseChmod(chmod); err != nil {
		return err
	}
	if req.chown, err = parseChown(chown, x, b.store.OpenObject); err != nil {
		return err
	}
	plan, err := planCopy(ctx, tree, x, req)
	if err != nil {
		return fmt.Errorf("%s failed: %w", name, err)
	}
	shown := req.dest
	if destDir && shown != "/" {
		shown += "/"
	}
	phase.Mark("build: %s planned: %d entries", name, len(plan.items))
	createdBy := fmt.Sprintf("/bin/sh -c #(nop) %s %s:%s in %s ", name, plan.kind, plan.sum, shown)
	key := b.key(st, &copyKey{Instruction: name, Dest: req.dest, DestDir: destDir}, plan.sum)
	if b.cached(st, key) {
		return nil
	}
	tx, err := b.store.Begin()
	if err != nil {
		return err
	}
	defer tx.Close()
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(writeTar(ctx, pw, plan.items))
	}()
	layer, err := tx.NewLayer(ctx, pr, archive.Gzip)
	pr.CloseWithError(errors.New("build: layer not read to its end"))
	<-done
	if err != nil {
		return fmt.Errorf("%s failed: %w", name, err)
	}
	return b.commitTx(ctx, tx, st, layer, createdBy, key)
}

// copyKey stands for a COPY/ADD in its cache key; the sources are in
// the plan's digest.
type copyKey struct {
	Instruction string
	Dest        string
	DestDir     bool
}

// fromTree is the root COPY --from reads: an earlier stage (by name or
// number) or an image of the store.
func (b *builder) fromTree(ctx context.Context, from string) (*imageTree, error) {
	var img *layers.Image
	if s := b.stageNamed(from); s != nil {
		img = s.img
	} else if n, err := strconv.Atoi(from); err == nil {
		if n < 0 || n >= len(b.stages) {
			return nil, fmt.Errorf("invalid from flag value %s: stage %d is not an earlier stage", from, n)
		}
		img = b.stages[n].img
	} else {
		i, err := b.store.ResolveImage(ctx, from)
		if err != nil {
			if errors.Is(err, layers.ErrNotFound) {
				return nil, fmt.Errorf("COPY --from=%s: image is not in the store (strata build does not pull): %w", from, err)
			}
			return nil, err
		}
		img = i
		b.images[img.ID] = img
	}
	x, err := b.index(ctx, img)
	if err != nil {
		return nil, err
	}
	return &imageTree{x: x, object: b.objectPath}, nil
}
