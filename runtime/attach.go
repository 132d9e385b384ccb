package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/strata-engine/strata/runtime/phase"
	"github.com/strata-engine/strata/runtime/proto"
	"github.com/strata-engine/strata/runtime/spec"
)

// DefaultDetachKeys is Docker's detach sequence.
const DefaultDetachKeys = "ctrl-p,ctrl-q"

// AttachOptions are the caller's ends of a container's (or an exec'd
// process's) stdio. A nil Stdin attaches no input; a nil Stdout or Stderr
// discards that stream.
type AttachOptions struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// DetachKeys ends the attachment without stopping the container when
	// typed on Stdin ("" is DefaultDetachKeys; "none" disables).
	DetachKeys string
	// CloseStdin gives the container EOF when Stdin ends (docker run -i);
	// otherwise the container's input stays open for a later attach.
	CloseStdin bool
	// Size is the client's terminal size, for a container with a
	// terminal: Run makes the container's terminal that size before its
	// command starts (later changes go through Resize).
	Size *TermSize
}

// Attach streams a running container's stdio until it exits, returning
// its exit code, or until the detach keys are typed (detached is true).
// Attaching to a container that is not running returns its exit code.
// The goroutine reading Stdin may stay blocked in Read after Attach
// returns; the CLI exits then anyway.
func (r *Runtime) Attach(ctx context.Context, ref string, opts AttachOptions) (exitCode int, detached bool, err error) {
	c, err := r.Inspect(ctx, ref)
	if err != nil {
		return 0, false, err
	}
	if c.State.Status != spec.Running {
		return 0, false, fmt.Errorf("%w: you cannot attach to a stopped container, start it first", ErrNotRunning)
	}
	return r.attach(ctx, c.Config.ID, opts)
}

// Run starts a created (or exited) container attached, as docker run: the
// attachment is made before the container exists (a connection handed to
// its monitor at start, monitor.AttachFd), so no output is lost.
func (r *Runtime) Run(ctx context.Context, ref string, opts AttachOptions) (exitCode int, detached bool, err error) {
	c, err := r.Inspect(ctx, ref)
	if err != nil {
		return 0, false, err
	}
	if c.State.Status == spec.Running {
		return 0, false, fmt.Errorf("%w: %s", ErrRunning, short(c.Config.ID))
	}
	nc, theirs, err := attachPair()
	if err != nil {
		return 0, false, err
	}
	pc := proto.NewConn(nc)
	// Written now, read by the monitor when it starts: a few hundred
	// bytes, far below a socket's buffer.
	if err := pc.WriteJSON(proto.KindRequest, attachRequest(opts)); err != nil {
		nc.Close()
		theirs.Close()
		return 0, false, err
	}
	if err := r.launch(ctx, c, theirs); err != nil {
		nc.Close()
		return 0, false, err
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	return r.stream(ctx, c.Config.ID, &ctxConn{Conn: nc, stop: stop}, pc, opts)
}

func attachRequest(opts AttachOptions) *proto.Request {
	req := &proto.Request{Op: proto.OpAttach, Stdin: opts.Stdin != nil, Stdout: true, Stderr: true}
	if opts.Size != nil {
		req.Size = &proto.Size{Rows: opts.Size.Rows, Cols: opts.Size.Cols}
	}
	return req
}

func (r *Runtime) attach(ctx context.Context, id string, opts AttachOptions) (int, bool, error) {
	nc, c, err := r.dial(ctx, id, attachRequest(opts))
	if err != nil {
		if errors.Is(err, ErrNotRunning) {
			return r.exitCode(id), false, nil
		}
		return 0, false, err
	}
	return r.stream(ctx, id, nc, c, opts)
}

// stream reads the response to an attach request sent on c, then carries
// the container's stdio until it exits or the detach keys are typed. It
// closes nc.
func (r *Runtime) stream(ctx context.Context, id string, nc net.Conn, c *proto.Conn, opts AttachOptions) (int, bool, error) {
	defer nc.Close()
	var resp proto.Response
	if err := c.ReadJSON(proto.KindResponse, &resp); err != nil {
		return r.exitCode(id), false, nil
	}
	if resp.Error != "" {
		return 0, false, errors.New(resp.Error)
	}
	phase.Mark("attached")
	keys, err := ParseDetachKeys(opts.DetachKeys)
	if err != nil {
		return 0, false, err
	}
	detach := make(chan struct{})
	if opts.Stdin != nil {
		go sendInput(c, nc, opts.Stdin, keys, opts.CloseStdin, detach)
	}
	code, err := receive(c, opts.Stdout, opts.Stderr)
	phase.Mark("exit received")
	select {
	case <-detach:
		return 0, true, nil
	default:
	}
	if ctx.Err() != nil {
		return 0, false, ctx.Err()
	}
	if err != nil {
		// The monitor hung up without a last word: it died.
		return r.exitCode(id), false, nil
	}
	return code, false, nil
}

// receive copies output frames until KindExit.
func receive(c *proto.Conn, stdout, stderr io.Writer) (int, error) {
	for {
		k, p, err := c.Read()
		if err != nil {
			return 0, err
		}
		switch k {
		case proto.KindStdout:
			if stdout != nil {
				stdout.Write(p)
			}
		case proto.KindStderr:
			if stderr != nil {
				stderr.Write(p)
			}
		case proto.KindExit:
			var e proto.Exit
			if err := json.Unmarshal(p, &e); err != nil {
				return 0, err
			}
			return e.Code, nil
		}
	}
}

// sendInput forwards in to the monitor, watching for the detach keys. A
// partial match is held back and sent once it stops matching, so typing
// ctrl-p alone still reaches the container.
func sendInput(c *proto.Conn, nc net.Conn, in io.Reader, keys []byte, closeStdin bool, detach chan struct{}) {
	w := c.Writer(proto.KindStdin)
	buf := make([]byte, 32<<10)
	matched := 0
	for {
		n, err := in.Read(buf)
		if n > 0 {
			out := make([]byte, 0, n+matched)
			for _, b := range buf[:n] {
				if len(keys) > 0 && b == keys[matched] {
					matched++
					if matched == len(keys) {
						close(detach)
						nc.Close()
						return
					}
					continue
				}
				if matched > 0 {
					out = append(out, keys[:matched]...)
					matched = 0
					if len(keys) > 0 && b == keys[0] {
						matched = 1
						continue
					}
				}
				out = append(out, b)
			}
			if len(out) > 0 {
				if _, err := w.Write(out); err != nil {
					return
				}
			}
		}
		if err != nil {
			if matched > 0 {
				w.Write(keys[:matched])
			}
			if closeStdin {
				c.Write(proto.KindStdinClose, nil)
			}
			return
		}
	}
}

// ParseDetachKeys reads Docker's detach key syntax: comma-separated
// "ctrl-<key>" or single characters.
func ParseDetachKeys(s string) ([]byte, error) {
	switch s {
	case "":
		s = DefaultDetachKeys
	case "none":
		return nil, nil
	}
	var out []byte
	for _, k := range strings.Split(s, ",") {
		if len(k) == 1 {
			out = append(out, k[0])
			continue
		}
		key, ok := strings.CutPrefix(strings.ToLower(k), "ctrl-")
		if !ok || len(key) != 1 {
			return nil, fmt.Errorf("invalid detach keys %q", s)
		}
		switch c := key[0]; {
		case c >= 'a' && c <= 'z':
			out = append(out, c-'a'+1)
		case c == '@':
			out = append(out, 0)
		case c >= '[' && c <= '_':
			out = append(out, c-'['+27)
		default:
			return nil, fmt.Errorf("invalid detach keys %q", s)
		}
	}
	return out, nil
}
