package cli

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/fs"
	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/index"
	"github.com/strata-engine/strata/runtime"
	"github.com/strata-engine/strata/runtime/spec"
)

func (a *app) newDiffCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "Inspect changes to files or directories on a container's filesystem",
		Args:  exactArgs(1),
		Annotations: map[string]string{
			annotAliases: "strata container diff, strata diff",
		},
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			rt, s, err := a.runtime()
			if err != nil {
				return err
			}
			ctr, err := lookup(ctx, rt, args[0])
			if err != nil {
				return err
			}
			changes, _, err := a.changes(ctx, s, ctr)
			if err != nil {
				return err
			}
			for _, ch := range changes {
				fmt.Fprintf(a.out, "%c %s\n", ch.Kind, ch.Path)
			}
			return nil
		},
	}
}

// runtimeFiles are the files the runtime binds over in every container;
// when the image lacks them it creates them, empty, in the container's
// upper directory. They are the engine's, not changes the container made:
// Docker keeps them in a hidden layer, and diff and commit leave them out.
var runtimeFiles = []string{"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}

// changes lists what the container changed in its image's tree, without
// the runtime's own files, and returns those that were left out (paths
// relative to the root, as in a layer tar).
func (a *app) changes(ctx context.Context, s *layers.Store, ctr *runtime.Container) ([]fs.Change, map[string]bool, error) {
	if ctr.Config.ImageID == "" {
		return nil, nil, fmt.Errorf("container %s has no image to compare with", ctr.ID())
	}
	img, err := s.ResolveImage(ctx, ctr.Config.ImageID)
	if err != nil {
		return nil, nil, err
	}
	x, err := s.ImageIndex(ctx, img)
	if err != nil {
		return nil, nil, err
	}
	// The upper directory is read as it is, also while the container
	// runs, as docker diff does.
	all, err := fs.Changes(ctx, filepath.Join(a.containerDir(ctr.ID()), spec.UpperDir), x)
	if err != nil {
		return nil, nil, err
	}
	return dropRuntimeFiles(all, x)
}

// dropRuntimeFiles removes the runtime's files that the image lacks from
// changes, and the change of their directory when nothing else in it
// changed.
func dropRuntimeFiles(all []fs.Change, x *index.Index) ([]fs.Change, map[string]bool, error) {
	dropped := map[string]bool{}
	for _, f := range runtimeFiles {
		if _, ok := x.Resolve(f); !ok {
			dropped[f] = true
		}
	}
	dirs := map[string]bool{}
	for _, ch := range all {
		if !dropped[ch.Path] && ch.Path != "/" {
			dirs[path.Dir(ch.Path)] = true
		}
	}
	var out []fs.Change
	rel := map[string]bool{}
	for _, ch := range all {
		if dropped[ch.Path] && ch.Kind == fs.Added {
			rel[strings.TrimPrefix(ch.Path, "/")] = true
			continue
		}
		if ch.Kind == fs.Changed && isParentOfDropped(ch.Path, dropped) && !dirs[ch.Path] {
			continue
		}
		out = append(out, ch)
	}
	return out, rel, nil
}

func isParentOfDropped(dir string, dropped map[string]bool) bool {
	for f := range dropped {
		if path.Dir(f) == dir {
			return true
		}
	}
	return false
}
