package runtime

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/strata-engine/strata/runtime/proto"
	"github.com/strata-engine/strata/runtime/spec"
	"golang.org/x/sys/unix"
)

// Kill sends sig to the container's main process (SIGKILL ends the whole
// container at once).
func (r *Runtime) Kill(ctx context.Context, ref string, sig syscall.Signal) error {
	c, err := r.running(ctx, ref)
	if err != nil {
		return err
	}
	_, err = r.call(ctx, c.Config.ID, &proto.Request{Op: proto.OpSignal, Signal: int(sig)})
	return err
}

// Wait blocks until the container is not running and returns its exit
// code. A container that is not running returns at once.
func (r *Runtime) Wait(ctx context.Context, ref string) (int, error) {
	c, err := r.Inspect(ctx, ref)
	if err != nil {
		return 0, err
	}
	id := c.Config.ID
	if c.State.Status != spec.Running {
		return c.State.ExitCode, nil
	}
	resp, err := r.call(ctx, id, &proto.Request{Op: proto.OpWait})
	if err == nil {
		return resp.ExitCode, nil
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if errors.Is(err, ErrNotRunning) {
		// The monitor went away between our look and our call, or
		// died: the state file says how it ended.
		return r.exitCode(id), nil
	}
	return 0, err
}

// Stop sends the container's stop signal (SIGTERM unless the image says
// otherwise), waits up to timeout, then kills it. A negative timeout waits
// forever.
func (r *Runtime) Stop(ctx context.Context, ref string, timeout time.Duration) error {
	c, err := r.Inspect(ctx, ref)
	if err != nil {
		return err
	}
	if c.State.Status != spec.Running {
		return nil
	}
	id := c.Config.ID
	sig := unix.SIGTERM
	if c.Config.StopSignal != "" {
		if s, err := ParseSignal(c.Config.StopSignal); err == nil {
			sig = s
		}
	}
	if err := r.Kill(ctx, id, sig); err != nil {
		if errors.Is(err, ErrNotRunning) {
			return nil
		}
		return err
	}
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if timeout >= 0 {
		wctx, cancel = context.WithTimeout(ctx, timeout)
	}
	_, err = r.Wait(wctx, id)
	cancel()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := r.Kill(ctx, id, unix.SIGKILL); err != nil && !errors.Is(err, ErrNotRunning) {
		return err
	}
	_, err = r.Wait(ctx, id)
	return err
}

// Resize sets the size of the container's terminal.
func (r *Runtime) Resize(ctx context.Context, ref string, rows, cols uint16) error {
	c, err := r.running(ctx, ref)
	if err != nil {
		return err
	}
	_, err = r.call(ctx, c.Config.ID, &proto.Request{Op: proto.OpResize, Size: &proto.Size{Rows: rows, Cols: cols}})
	return err
}

// ParseSignal reads a signal as docker kill -s takes it: "KILL",
// "SIGKILL", "9"; "" is SIGKILL.
func ParseSignal(s string) (syscall.Signal, error) {
	if s == "" {
		return unix.SIGKILL, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal: %s", s)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("invalid signal: %s", s)
}
