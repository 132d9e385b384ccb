package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/runtime/spec"
)

// Sentinels, tested with errors.Is.
var (
	ErrNotFound   = errors.New("no such container")
	ErrAmbiguous  = errors.New("ambiguous container id prefix")
	ErrNameInUse  = errors.New("container name already in use")
	ErrRunning    = errors.New("container is running")
	ErrNotRunning = errors.New("container is not running")
)

// The data of a container, as the API hands it out.
type (
	Config = spec.Config
	State  = spec.State
	Mount  = spec.Mount
	Status = spec.Status
)

// Statuses.
const (
	Created = spec.Created
	Running = spec.Running
	Exited  = spec.Exited
)

// StartError is a command that could not start. Code is what `docker run`
// exits with: 125 (the engine failed), 126 (cannot execute), 127 (not
// found); Msg reads like Docker's.
type StartError struct {
	Code int
	Msg  string
}

func (e *StartError) Error() string { return e.Msg }

// Container is one container: its record and what happened to it.
type Container struct {
	Config Config
	State  State
}

// ID returns the container's full id.
func (c *Container) ID() string { return c.Config.ID }

// Runtime manages the containers of one store root.
type Runtime struct {
	root  string
	store *layers.Store
	// exe is what the monitor is started from (RuntimeBinary).
	exe string
}

// New returns the runtime of the store at root. store may be nil when only
// directory roots are used (CreateOptions.RootfsDir).
func New(root string, store *layers.Store) *Runtime {
	return &Runtime{root: root, store: store, exe: RuntimeBinary()}
}

// RuntimeEnv names a strata-runtime binary to start monitors from, in
// place of the one found beside the running binary.
const RuntimeEnv = "STRATA_RUNTIME"

// RuntimeBinary returns the program container monitors are started from:
// $STRATA_RUNTIME if set, else strata-runtime in the running binary's
// directory if it is there, else the running binary itself, whose
// MaybeRunInit runs the same code. strata-runtime links the runtime only
// and starts in a third of the time (see package entry).
func RuntimeBinary() string {
	if p := os.Getenv(RuntimeEnv); p != "" {
		return p
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "strata-runtime")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return "/proc/self/exe"
}

func (r *Runtime) containersDir() string { return filepath.Join(r.root, "containers") }

func (r *Runtime) dir(id string) string { return filepath.Join(r.root, "containers", id) }

// storeLock takes containers/.lock.
func (r *Runtime) storeLock() (func(), error) {
	if err := os.MkdirAll(r.containersDir(), 0o711); err != nil {
		return nil, err
	}
	return spec.Lock(filepath.Join(r.containersDir(), ".lock"))
}

// containerLock takes containers/<id>/lock.
func (r *Runtime) containerLock(id string) (func(), error) {
	unlock, err := spec.Lock(filepath.Join(r.dir(id), spec.LockFile))
	if err != nil {
		return nil, fmt.Errorf("lock container %s: %w", short(id), err)
	}
	return unlock, nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
