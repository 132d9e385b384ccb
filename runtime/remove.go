package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/strata-engine/strata/runtime/cgroups"
	"github.com/strata-engine/strata/runtime/spec"
	"golang.org/x/sys/unix"
)

// Remove deletes a container and releases its image. A running container
// is refused (ErrRunning) unless force, which kills it first.
func (r *Runtime) Remove(ctx context.Context, ref string, force bool) error {
	c, err := r.Inspect(ctx, ref)
	if err != nil {
		return err
	}
	id := c.Config.ID
	if c.State.Status == spec.Running {
		if !force {
			return fmt.Errorf("%w: cannot remove container %s: stop the container before removing or force remove", ErrRunning, short(id))
		}
		// Never wait for a monitor while holding a lock: it takes
		// the container's lock to record the exit.
		if err := r.Kill(ctx, id, unix.SIGKILL); err != nil && !errors.Is(err, ErrNotRunning) {
			return err
		}
		if _, err := r.Wait(ctx, id); err != nil {
			return err
		}
		// Exited now, but its monitor may still be unmounting: wait for
		// it below, or the MonitorAlive check refuses the removal.
		c.State.Status = spec.Exited
	}
	if c.State.Status == spec.Exited {
		// Its monitor may still be unmounting.
		if err := spec.WaitMonitor(r.dir(id)); err != nil {
			return err
		}
	}
	unlockStore, err := r.storeLock()
	if err != nil {
		return err
	}
	defer unlockStore()
	unlock, err := r.containerLock(id)
	if err != nil {
		return err
	}
	defer unlock()
	dir := r.dir(id)
	if spec.MonitorAlive(dir) {
		// Started again behind our back.
		return fmt.Errorf("%w: cannot remove container %s", ErrRunning, short(id))
	}
	// config.json goes first: without it the directory is no container.
	if err := os.Remove(filepath.Join(dir, spec.ConfigFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	unix.Unmount(filepath.Join(dir, spec.RootfsDir), unix.MNT_DETACH)
	// A monitor killed outright leaves its cgroup behind (its tasks
	// died with it).
	if cg, err := cgroups.Load(dir); err == nil {
		if err := cg.Remove(); err != nil {
			return fmt.Errorf("remove container %s: %w", short(id), err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove container %s: %w", short(id), err)
	}
	if c.Config.ImageID != "" && r.store != nil {
		if err := r.store.Release(id); err != nil {
			return fmt.Errorf("release image of %s: %w", short(id), err)
		}
	}
	return nil
}

// Rename gives a container a new name.
func (r *Runtime) Rename(ctx context.Context, ref, name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("invalid container name %q, only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	unlockStore, err := r.storeLock()
	if err != nil {
		return err
	}
	defer unlockStore()
	id, err := r.resolve(ref)
	if err != nil {
		return err
	}
	taken, err := r.names()
	if err != nil {
		return err
	}
	if other, ok := taken[name]; ok && other != id {
		return fmt.Errorf("%w: the container name %q is already in use by container %q", ErrNameInUse, "/"+name, other)
	}
	unlock, err := r.containerLock(id)
	if err != nil {
		return err
	}
	defer unlock()
	path := filepath.Join(r.dir(id), spec.ConfigFile)
	var cfg spec.Config
	if err := spec.ReadJSON(path, &cfg); err != nil {
		return err
	}
	cfg.Name = name
	return spec.WriteJSON(path, &cfg)
}
