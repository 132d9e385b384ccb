package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/build"
	"github.com/strata-engine/strata/fs"
	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/archive"
	"github.com/strata-engine/strata/layers/reference"
	"github.com/strata-engine/strata/runtime"
	"github.com/strata-engine/strata/runtime/spec"
)

type commitOptions struct {
	message string
	author  string
	changes []string
	pause   bool
	noPause bool
}

func (a *app) newCommitCommand() *cobra.Command {
	var o commitOptions
	c := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Args:  rangeArgs(1, 2),
		Annotations: map[string]string{
			annotAliases: "strata container commit, strata commit",
		},
		RunE: func(c *cobra.Command, args []string) error {
			if c.Flag("pause").Changed {
				if c.Flag("no-pause").Changed {
					return errors.New("conflicting options: --no-pause and --pause cannot be used together")
				}
				fmt.Fprintln(a.err, "Flag --pause has been deprecated, and enabled by default. Use --no-pause to disable pausing during commit.")
			}
			var ref string
			if len(args) > 1 {
				ref = args[1]
			}
			return a.runCommit(c.Context(), o, args[0], ref)
		},
	}
	f := c.Flags()
	f.SetInterspersed(false)
	f.StringVarP(&o.message, "message", "m", "", "Commit message")
	f.StringVarP(&o.author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	f.StringArrayVarP(&o.changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	// Strata cannot pause a container (no cgroup freezer): a running one
	// is committed as it is, as with Docker's --no-pause. Both flags are
	// accepted for scripts written for Docker.
	f.BoolVarP(&o.pause, "pause", "p", true, "Pause container during commit (deprecated: use --no-pause instead)")
	// Docker marks --pause deprecated; cobra would print that notice on
	// stdout, where the new id goes, so RunE prints it on stderr.
	f.Lookup("pause").Hidden = true
	f.BoolVar(&o.noPause, "no-pause", false, "Disable pausing container during commit")
	return c
}

// runCommit makes an image of the container's image plus one layer: the
// container's upper directory as an OCI layer diff. The parent's layers
// are reused as they are; only the new layer is written.
func (a *app) runCommit(ctx context.Context, o commitOptions, ctrRef, ref string) error {
	var refs []string
	if ref != "" {
		r, err := reference.Parse(ref)
		if err != nil {
			return err
		}
		refs = []string{r.String()}
	}
	rt, s, err := a.runtime()
	if err != nil {
		return err
	}
	ctr, err := lookup(ctx, rt, ctrRef)
	if err != nil {
		return err
	}
	if ctr.Config.ImageID == "" {
		return fmt.Errorf("container %s has no image to commit onto", ctr.ID())
	}
	parent, err := s.ResolveImage(ctx, ctr.Config.ImageID)
	if err != nil {
		return err
	}
	cfg, err := commitConfig(ctr, parent, o)
	if err != nil {
		return err
	}
	_, skip, err := a.changes(ctx, s, ctr)
	if err != nil {
		return err
	}

	tx, err := s.Begin()
	if err != nil {
		return err
	}
	defer tx.Close()
	upper := filepath.Join(a.containerDir(ctr.ID()), spec.UpperDir)
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(writeDiff(ctx, pw, upper, s.ObjectsDir(), skip))
	}()
	layer, err := tx.NewLayer(ctx, pr, archive.Gzip)
	pr.CloseWithError(errors.New("commit: layer not read to its end"))
	<-done
	if err != nil {
		return fmt.Errorf("commit %s: %w", shortID(ctr.ID()), err)
	}
	ls := make([]*layers.Layer, 0, len(parent.Layers)+1)
	for i, d := range parent.Manifest.Layers {
		ls = append(ls, &layers.Layer{Blob: d, Info: &parent.Layers[i]})
	}
	img, err := tx.CreateImage(ctx, cfg, append(ls, layer), refs)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.out, img.ID)
	return nil
}

// writeDiff writes the upper's layer tar to w, without the entries named
// in skip (the runtime's own files), with owners mapped back from the user
// namespace an unprivileged container ran in.
func writeDiff(ctx context.Context, w io.Writer, upper, objects string, skip map[string]bool) error {
	uids, gids := runtime.IDMappings()
	return fs.WriteDiff(ctx, w, upper, objects, fs.DiffOptions{
		UIDMap: idMaps(uids),
		GIDMap: idMaps(gids),
		Skip:   func(rel string) bool { return skip[rel] },
	})
}

func idMaps(m []syscall.SysProcIDMap) []fs.IDMap {
	var out []fs.IDMap
	for _, r := range m {
		out = append(out, fs.IDMap{ContainerID: uint32(r.ContainerID), HostID: uint32(r.HostID), Size: uint32(r.Size)})
	}
	return out
}

// commitConfig is the new image's config, as docker commit makes it: the
// parent's, with what the container runs (its environment, command,
// working directory, user, labels), then the --change instructions, and
// one more history entry.
func commitConfig(ctr *runtime.Container, parent *layers.Image, o commitOptions) (ocispec.Image, error) {
	cfg := parent.Config
	cc := cfg.Config
	pc := ctr.Config.Process
	cc.Env = containerEnv(ctr, parent)
	cc.Entrypoint, cc.Cmd = effectiveCommand(ctr, parent)
	cc.WorkingDir = pc.Cwd
	if pc.Cwd == "/" && parent.Config.Config.WorkingDir == "" {
		cc.WorkingDir = ""
	}
	cc.User = pc.User
	cc.Labels = containerLabels(ctr, parent)
	if len(cc.Labels) == 0 {
		cc.Labels = nil
	}
	if err := build.ApplyChanges(&cc, o.changes); err != nil {
		return cfg, err
	}
	cfg.Config = cc
	now := time.Now().UTC()
	cfg.Created = &now
	if o.author != "" {
		cfg.Author = o.author
	}
	cfg.History = append(cfg.History[:len(cfg.History):len(cfg.History)], ocispec.History{
		Created:   &now,
		CreatedBy: strings.Join(ctr.Config.Cmd, " "),
		Author:    o.author,
		Comment:   o.message,
	})
	if len(ctr.Config.Cmd) == 0 {
		cfg.History[len(cfg.History)-1].CreatedBy = strings.Join(cc.Cmd, " ")
	}
	return cfg, nil
}

// containerEnv is the environment the container was given, without what
// the runtime adds for the process alone (HOSTNAME, TERM for a terminal),
// which Docker does not record either.
func containerEnv(ctr *runtime.Container, img *layers.Image) []string {
	imageHas := map[string]bool{}
	if img != nil {
		for _, kv := range img.Config.Config.Env {
			k, _, _ := strings.Cut(kv, "=")
			imageHas[k] = true
		}
	}
	var env []string
	for _, kv := range ctr.Config.Process.Env {
		switch {
		case kv == "HOSTNAME="+ctr.Config.Hostname && !imageHas["HOSTNAME"],
			kv == "TERM=xterm" && ctr.Config.Process.Tty && !imageHas["TERM"]:
			continue
		}
		env = append(env, kv)
	}
	return env
}

// effectiveCommand is the entrypoint and command a container runs, as
// Docker records them: the user's where given, else the image's (whose
// command --entrypoint drops).
func effectiveCommand(ctr *runtime.Container, img *layers.Image) (entrypoint, cmd []string) {
	entrypoint, cmd = ctr.Config.Entrypoint, ctr.Config.Cmd
	if img != nil && entrypoint == nil {
		entrypoint = img.Config.Config.Entrypoint
		if cmd == nil {
			cmd = img.Config.Config.Cmd
		}
	}
	if len(entrypoint) == 0 {
		entrypoint = nil
	}
	return entrypoint, cmd
}
