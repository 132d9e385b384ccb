package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/strata-engine/strata/runtime/cgroups"
	"github.com/strata-engine/strata/runtime/spec"
	"golang.org/x/sys/unix"
)

// isID reports whether s looks like a full container id.
func isID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ids lists the ids of every container directory.
func (r *Runtime) ids() ([]string, error) {
	ents, err := os.ReadDir(r.containersDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && isID(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// load reads one container, repairing the state of one whose monitor died.
func (r *Runtime) load(id string) (*Container, error) {
	dir := r.dir(id)
	c := &Container{}
	if err := spec.ReadJSON(filepath.Join(dir, spec.ConfigFile), &c.Config); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return nil, err
	}
	if err := spec.ReadJSON(filepath.Join(dir, spec.StateFile), &c.State); err != nil && !errors.Is(err, os.ErrNotExist) {
		if !c.Config.AutoRemove {
			return nil, err
		}
		// A --rm container's state is written without fsync (see
		// writeNew); after a crash it may be empty. Its monitor is
		// gone with the crash: it ended.
		c.State = spec.State{Status: spec.Exited, ExitCode: 137, Error: "state lost in a crash: " + err.Error()}
	}
	if c.State.Status == spec.Running && !spec.MonitorAlive(dir) {
		if err := r.reap(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// reap records that a running container's monitor is gone: its processes
// died with it (parent-death signal) and its mount with its namespace.
// Anything that escaped is cleaned here.
func (r *Runtime) reap(c *Container) error {
	unlock, err := r.containerLock(c.Config.ID)
	if err != nil {
		return err
	}
	defer unlock()
	dir := r.dir(c.Config.ID)
	var s spec.State
	if err := spec.ReadJSON(filepath.Join(dir, spec.StateFile), &s); err != nil {
		return err
	}
	if s.Status != spec.Running || spec.MonitorAlive(dir) {
		c.State = s // someone else got there
		return nil
	}
	if s.Pid > 0 {
		unix.Kill(s.Pid, unix.SIGKILL) // only ever our init: it dies with the monitor anyway
	}
	// A union mounted in the host's namespace (an older monitor, or one
	// started without a namespace) would be left dangling: detach it.
	unix.Unmount(filepath.Join(dir, spec.RootfsDir), unix.MNT_DETACH)
	os.Remove(filepath.Join(dir, spec.SocketFile))
	// Its addresses, veths and NAT rules, and its cgroup.
	releaseNetworks(c, &s)
	if cg, err := cgroups.Load(dir); err == nil && cg.Remove() == nil {
		os.Remove(filepath.Join(dir, cgroups.File))
	}
	s.Status, s.ExitCode, s.Pid = spec.Exited, 137, 0
	s.Error = "container monitor exited unexpectedly"
	s.FinishedAt = time.Now().UTC()
	if err := spec.WriteJSON(filepath.Join(dir, spec.StateFile), &s); err != nil {
		return err
	}
	c.State = s
	return nil
}

// resolve finds the id a user means: a full id, a name, or a unique id
// prefix (in that order, as Docker).
func (r *Runtime) resolve(ref string) (string, error) {
	ref = strings.TrimPrefix(ref, "/")
	if ref == "" {
		return "", fmt.Errorf("%w: %q", ErrNotFound, ref)
	}
	if isID(ref) {
		if _, err := os.Stat(r.dir(ref)); err == nil {
			return ref, nil
		}
	}
	ids, err := r.ids()
	if err != nil {
		return "", err
	}
	for _, id := range ids {
		var cfg spec.Config
		if spec.ReadJSON(filepath.Join(r.dir(id), spec.ConfigFile), &cfg) == nil && cfg.Name == ref {
			return id, nil
		}
	}
	var match []string
	for _, id := range ids {
		if strings.HasPrefix(id, ref) {
			match = append(match, id)
		}
	}
	switch len(match) {
	case 0:
		return "", fmt.Errorf("%w: %s", ErrNotFound, ref)
	case 1:
		return match[0], nil
	}
	return "", fmt.Errorf("%w: %s matches %d containers", ErrAmbiguous, ref, len(match))
}

// Inspect returns the container ref names (id, name or unique prefix).
func (r *Runtime) Inspect(ctx context.Context, ref string) (*Container, error) {
	id, err := r.resolve(ref)
	if err != nil {
		return nil, err
	}
	return r.load(id)
}

// List returns the running containers, or with all every container,
// newest first.
func (r *Runtime) List(ctx context.Context, all bool) ([]*Container, error) {
	ids, err := r.ids()
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := r.load(id)
		if errors.Is(err, ErrNotFound) {
			continue // removed while we listed
		}
		if err != nil {
			return nil, err
		}
		if all || c.State.Status == spec.Running {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Config.Created.After(out[j].Config.Created) })
	return out, nil
}
