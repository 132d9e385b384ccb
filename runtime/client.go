package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/strata-engine/strata/runtime/proto"
	"github.com/strata-engine/strata/runtime/spec"
)

// dial connects to a container's monitor and sends req. The socket is
// reached through /proc/self/fd of the container directory, because the
// full path may not fit in sun_path.
func (r *Runtime) dial(ctx context.Context, id string, req *proto.Request) (net.Conn, *proto.Conn, error) {
	d, err := os.Open(r.dir(id))
	if err != nil {
		return nil, nil, err
	}
	defer d.Close()
	var dl net.Dialer
	nc, err := dl.DialContext(ctx, "unix", fmt.Sprintf("/proc/self/fd/%d/%s", d.Fd(), spec.SocketFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, errConnRefused) {
			return nil, nil, fmt.Errorf("%w: %s", ErrNotRunning, short(id))
		}
		return nil, nil, fmt.Errorf("connect to monitor of %s: %w", short(id), err)
	}
	c := proto.NewConn(nc)
	if err := c.WriteJSON(proto.KindRequest, req); err != nil {
		nc.Close()
		return nil, nil, err
	}
	// A cancelled context ends the exchange.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	return &ctxConn{Conn: nc, stop: stop}, c, nil
}

type ctxConn struct {
	net.Conn
	stop func() bool
}

func (c *ctxConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// call sends req and returns the response.
func (r *Runtime) call(ctx context.Context, id string, req *proto.Request) (*proto.Response, error) {
	nc, c, err := r.dial(ctx, id, req)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	var resp proto.Response
	if err := c.ReadJSON(proto.KindResponse, &resp); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s (monitor hung up)", ErrNotRunning, short(id))
	}
	if resp.Error != "" {
		if resp.Code != 0 {
			return &resp, &StartError{Code: resp.Code, Msg: resp.Error}
		}
		return &resp, errors.New(resp.Error)
	}
	return &resp, nil
}

// running resolves ref and checks that it runs.
func (r *Runtime) running(ctx context.Context, ref string) (*Container, error) {
	c, err := r.Inspect(ctx, ref)
	if err != nil {
		return nil, err
	}
	if c.State.Status != spec.Running {
		return nil, fmt.Errorf("%w: %s", ErrNotRunning, short(c.Config.ID))
	}
	return c, nil
}

// exitCode re-reads a container's exit code once its monitor is gone.
func (r *Runtime) exitCode(id string) int {
	// The connection dropped, so the monitor is exiting or dead; once
	// its lock is free its last word (or our repair) is on disk.
	spec.WaitMonitor(r.dir(id))
	c, err := r.load(id)
	if err != nil {
		return 137
	}
	return c.State.ExitCode
}
