package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/strata-engine/strata/fs"
	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/archive"
	"github.com/strata-engine/strata/runtime"
	"github.com/strata-engine/strata/runtime/phase"
)

// runtimeFiles are the files the runtime binds into every container; a
// RUN layer leaves them out unless the image has them (as docker diff and
// commit do).
var runtimeFiles = []string{"etc/hosts", "etc/hostname", "etc/resolv.conf"}

// runArgs is the command a RUN runs: shell form under the stage's SHELL,
// heredocs as BuildKit runs them.
func (b *builder) runArgs(st *stage, c *instructions.RunCommand) ([]string, error) {
	args := c.CmdLine
	if len(c.Files) > 0 {
		if len(args) != 1 || !c.PrependShell {
			return nil, fmt.Errorf("parsing produced an invalid run command: %v", args)
		}
		if hd := parser.MustParseHeredoc(args[0]); hd != nil && len(c.Files) == 1 && !strings.HasPrefix(c.Files[0].Data, "#!") {
			// RUN <<EOF alone: the document is the script.
			data := c.Files[0].Data
			if c.Files[0].Chomp {
				data = parser.ChompHeredocContent(data)
			}
			args = []string{data}
		} else {
			// A command with heredocs (or a script with its own
			// interpreter): the shell reads them as it would.
			var sb strings.Builder
			sb.WriteString(args[0])
			for _, f := range c.Files {
				sb.WriteByte('\n')
				sb.WriteString(f.Data)
				sb.WriteString(f.Name)
			}
			if hd != nil && len(c.Files) == 1 {
				// "#!" script: hand it to its interpreter on stdin.
				interp := strings.Fields(strings.TrimPrefix(strings.SplitN(c.Files[0].Data, "\n", 2)[0], "#!"))
				if len(interp) > 0 {
					sb.Reset()
					sb.WriteString(strings.Join(interp, " ") + " <<'" + c.Files[0].Name + "'\n" + c.Files[0].Data + c.Files[0].Name)
				}
			}
			args = []string{sb.String()}
		}
	}
	if c.PrependShell {
		return append(append([]string{}, st.shell...), strings.Join(args, " ")), nil
	}
	if len(args) == 0 {
		return nil, errors.New("RUN needs a command")
	}
	return append([]string{}, args...), nil
}

// run runs a RUN in a container on the stage's image; the container's
// upper layer becomes the step's layer.
func (b *builder) run(ctx context.Context, st *stage, c *instructions.RunCommand) error {
	for _, f := range c.FlagsUsed {
		if f != "network" {
			return fmt.Errorf("RUN --%s is not supported", f)
		}
	}
	network := b.opts.NetworkMode
	if n := instructions.GetNetwork(c); n != instructions.NetworkDefault {
		network = n
	}
	if network == "" || network == "default" {
		network = "none"
	}
	argv, err := b.runArgs(st, c)
	if err != nil {
		return err
	}
	env, hist := b.runEnv(st)
	key := b.key(st, c, strings.Join(argv, "\x01")+"\x00"+strings.Join(env, "\x01")+"\x00"+network)
	if b.cached(st, key) {
		return nil
	}
	if st.img == nil {
		return errors.New("RUN on an empty image: FROM scratch has no command to run until something is copied in")
	}
	ctr, err := b.rt.Create(ctx, runtime.CreateOptions{
		Image:       st.img.ID.String(),
		Entrypoint:  argv,
		Cmd:         []string{},
		Env:         env,
		WorkingDir:  st.cfg.Config.WorkingDir,
		User:        st.cfg.Config.User,
		NetworkMode: network,
		Labels:      map[string]string{"dev.strata.build": b.holder},
	})
	if err != nil {
		return err
	}
	id := ctr.ID()
	b.printf(" ---> Running in %s\n", id[:12])
	removed := false
	remove := func() {
		if removed || !(b.opts.Remove || b.opts.ForceRemove) {
			return
		}
		removed = true
		b.printf("Removing intermediate container %s\n", id[:12])
		if err := b.rt.Remove(context.WithoutCancel(ctx), id, true); err != nil {
			b.printf("Error removing intermediate container %s: %v\n", id[:12], err)
		}
	}
	// A failed or interrupted step leaves no container (--rm, the
	// default, or --force-rm); --rm=false keeps it for a look.
	defer remove()
	phase.Mark("build: RUN %s created", id[:12])
	code, _, err := b.rt.Run(ctx, id, runtime.AttachOptions{Stdout: b.runOut, Stderr: b.runOut})
	phase.Mark("build: RUN %s exited %d", id[:12], code)
	if err != nil {
		var se *runtime.StartError
		if errors.As(err, &se) {
			return &RunError{Cmd: argv, Code: se.Code}
		}
		return err
	}
	if code != 0 {
		return &RunError{Cmd: argv, Code: code}
	}
	tx, err := b.store.Begin()
	if err != nil {
		return err
	}
	defer tx.Close()
	layer, err := b.diff(ctx, tx, st, id)
	if err != nil {
		return err
	}
	phase.Mark("build: RUN %s layer written", id[:12])
	if b.opts.Remove || b.opts.ForceRemove {
		// The layer is written: the container (its upper directory may
		// hold thousands of files) goes while the next steps run. Build
		// waits for it before returning.
		removed = true
		b.printf("Removing intermediate container %s\n", id[:12])
		b.bg.Go(func() { b.rt.Remove(context.WithoutCancel(ctx), id, true) })
	}
	return b.commitTx(ctx, tx, st, layer, hist+strings.Join(argv, " "), key)
}

// diff writes container id's upper directory as a layer.
func (b *builder) diff(ctx context.Context, tx *layers.Tx, st *stage, id string) (*layers.Layer, error) {
	x, err := b.index(ctx, st.img)
	if err != nil {
		return nil, err
	}
	skip := map[string]bool{}
	for _, f := range runtimeFiles {
		if x == nil {
			skip[f] = true
		} else if _, ok := x.Resolve(f); !ok {
			skip[f] = true
		}
	}
	uids, gids := runtime.IDMappings()
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(fs.WriteDiff(ctx, pw, b.rt.UpperDir(id), b.store.ObjectsDir(), fs.DiffOptions{
			UIDMap: idMaps(uids), GIDMap: idMaps(gids),
			Skip: func(rel string) bool { return skip[rel] },
		}))
	}()
	layer, err := tx.NewLayer(ctx, pr, archive.Gzip)
	pr.CloseWithError(errors.New("build: layer not read to its end"))
	<-done
	if err != nil {
		return nil, fmt.Errorf("layer of %s: %w", id[:12], err)
	}
	return layer, nil
}

func idMaps(m []syscall.SysProcIDMap) []fs.IDMap {
	var out []fs.IDMap
	for _, r := range m {
		out = append(out, fs.IDMap{ContainerID: uint32(r.ContainerID), HostID: uint32(r.HostID), Size: uint32(r.Size)})
	}
	return out
}
