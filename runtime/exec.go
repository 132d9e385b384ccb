package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/strata-engine/strata/runtime/proto"
)

// ExecOptions describe a command to run in a running container, as
// `docker exec` takes them.
type ExecOptions struct {
	Cmd        []string
	Env        []string // KEY=VALUE, over the container's
	Tty        bool
	WorkingDir string // default: the container's
	User       string // default: the container's
	// Detach returns once the command has started; its output is dropped.
	Detach bool
	// Attach: Stdin nil means no input.
	AttachOptions
	// Resize, with Tty, carries the sizes the command's terminal should
	// take, from the first (sent as soon as the command runs) to the
	// last; the caller closes it or lets the exec end.
	Resize <-chan TermSize
}

// TermSize is a terminal's size.
type TermSize struct{ Rows, Cols uint16 }

// Exec runs a command in a running container and returns its exit code
// (0 when detached). A command that cannot start is a *StartError (126,
// 127). detached is true when the detach keys were typed.
func (r *Runtime) Exec(ctx context.Context, ref string, opts ExecOptions) (exitCode int, detached bool, err error) {
	c, err := r.running(ctx, ref)
	if err != nil {
		return 0, false, err
	}
	if len(opts.Cmd) == 0 {
		return 0, false, errors.New("exec: no command specified")
	}
	p := c.Config.Process
	p.Args = opts.Cmd
	p.Tty = opts.Tty
	p.Env = execEnv(p.Env, opts.Env, opts.Tty)
	if opts.WorkingDir != "" {
		p.Cwd = opts.WorkingDir
	}
	if opts.User != "" {
		p.User = opts.User
	}
	req := &proto.Request{Op: proto.OpExec, Process: &p, Detach: opts.Detach,
		Stdin: opts.Stdin != nil && !opts.Detach, Stdout: true, Stderr: true}
	if opts.Tty {
		size := opts.Size
		if size == nil && opts.Resize != nil {
			// The size the feed has ready (a terminal's current one)
			// is the initial size; later ones follow the start.
			select {
			case sz, ok := <-opts.Resize:
				if ok {
					size = &sz
				}
			default:
			}
		}
		if size != nil {
			req.Size = &proto.Size{Rows: size.Rows, Cols: size.Cols}
		}
	}
	nc, conn, err := r.dial(ctx, c.Config.ID, req)
	if err != nil {
		return 0, false, err
	}
	defer nc.Close()
	var resp proto.Response
	if err := conn.ReadJSON(proto.KindResponse, &resp); err != nil {
		return 0, false, fmt.Errorf("exec in %s: monitor hung up", short(c.Config.ID))
	}
	if resp.Error != "" {
		if resp.Code != 0 {
			return 0, false, &StartError{Code: resp.Code, Msg: resp.Error}
		}
		return 0, false, errors.New(resp.Error)
	}
	if opts.Detach {
		return 0, false, nil
	}
	keys, err := ParseDetachKeys(opts.DetachKeys)
	if err != nil {
		return 0, false, err
	}
	detach := make(chan struct{})
	if opts.Stdin != nil {
		go sendInput(conn, nc, opts.Stdin, keys, opts.CloseStdin, detach)
	}
	if opts.Tty && opts.Resize != nil {
		done := make(chan struct{})
		defer close(done)
		go sendSizes(conn, opts.Resize, done)
	}
	code, err := receive(conn, opts.Stdout, opts.Stderr)
	select {
	case <-detach:
		return 0, true, nil
	default:
	}
	if err != nil {
		if ctx.Err() != nil {
			return 0, false, ctx.Err()
		}
		return 137, false, nil // the container went away under it
	}
	return code, false, nil
}

// execEnv is the container's environment, with TERM per the exec's
// terminal and the user's variables over it.
func execEnv(base, user []string, tty bool) []string {
	var env []string
	for _, kv := range base {
		if !strings.HasPrefix(kv, "TERM=") {
			env = append(env, kv)
		}
	}
	if tty {
		env = append(env, "TERM=xterm")
	}
	return mergeEnv(env, user)
}

// sendSizes forwards terminal sizes to an exec's session until sizes is
// closed or the exec ends. The monitor applies them to the exec's own
// terminal (the main process's has Runtime.Resize).
func sendSizes(c *proto.Conn, sizes <-chan TermSize, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case sz, ok := <-sizes:
			if !ok {
				return
			}
			if c.WriteJSON(proto.KindResize, proto.Size{Rows: sz.Rows, Cols: sz.Cols}) != nil {
				return
			}
		}
	}
}
