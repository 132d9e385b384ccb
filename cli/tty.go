package cli

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/strata-engine/strata/runtime"
)

// errNotTTY is Docker's refusal of -it when stdin is not a terminal.
var errNotTTY = errors.New("cannot attach stdin to a TTY-enabled container because stdin is not a terminal")

// checkTTY is Docker's rule: attaching stdin to a container with a
// terminal needs a terminal here.
func (a *app) checkTTY(attachStdin, tty bool) error {
	if tty && attachStdin && !isTerminal(a.in) {
		return errNotTTY
	}
	return nil
}

// fd returns the descriptor of s when s is a terminal.
func terminalFd(s any) (int, bool) {
	f, ok := s.(interface{ Fd() uintptr })
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

// rawInput puts the local terminal (stdin) in raw mode, so that every key,
// Ctrl-C and the detach keys included, goes to the container's terminal,
// which does the echoing and line editing. The returned function restores
// the terminal; it is safe to call more than once, and callers defer it so
// that every way out restores the mode.
func (a *app) rawInput() (restore func(), err error) {
	fd, ok := terminalFd(a.in)
	if !ok {
		return func() {}, nil
	}
	st, err := term.MakeRaw(fd)
	if err != nil {
		return nil, err
	}
	return sync.OnceFunc(func() { term.Restore(fd, st) }), nil
}

// terminalSize is the local terminal's size: stdout's, else stdin's.
func (a *app) terminalSize() (rows, cols uint16, ok bool) {
	for _, s := range []any{a.out, a.in} {
		if fd, isTerm := terminalFd(s); isTerm {
			if w, h, err := term.GetSize(fd); err == nil && w > 0 && h > 0 {
				return uint16(h), uint16(w), true
			}
		}
	}
	return 0, 0, false
}

// watchSize keeps the container's terminal the size of the local one: once
// as soon as the container runs (run calls this before the container has
// started, so it tries for a while), then on every SIGWINCH, until the
// returned function is called.
func (a *app) watchSize(ctx context.Context, rt *runtime.Runtime, id string) (stop func()) {
	if _, _, ok := a.terminalSize(); !ok {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	done := make(chan struct{})
	resize := func() error {
		rows, cols, ok := a.terminalSize()
		if !ok {
			return nil
		}
		return rt.Resize(ctx, id, rows, cols)
	}
	go func() {
		defer close(done)
		for deadline := time.Now().Add(startTimeout); resize() != nil && time.Now().Before(deadline); {
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-winch:
				resize()
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		cancel()
		<-done
	}
}

// startTimeout bounds how long watchSize waits for a container to run.
const startTimeout = 10 * time.Second

// proxySignals forwards the signals a user sends to the CLI to the
// container's main process, as docker run and attach do without a terminal
// (--sig-proxy), until the returned function is called.
func proxySignals(ctx context.Context, rt *runtime.Runtime, id string) (stop func()) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-sigs:
				rt.Kill(ctx, id, s.(syscall.Signal))
			}
		}
	}()
	return func() {
		signal.Stop(sigs)
		cancel()
		<-done
	}
}

// sizeFeed sends the local terminal's size now and on every SIGWINCH,
// for an exec's terminal, until the returned function is called. It
// returns nil when standard input is no terminal.
func (a *app) sizeFeed() (<-chan runtime.TermSize, func()) {
	rows, cols, ok := a.terminalSize()
	if !ok {
		return nil, func() {}
	}
	sizes := make(chan runtime.TermSize, 1)
	sizes <- runtime.TermSize{Rows: rows, Cols: cols}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-winch:
				if rows, cols, ok := a.terminalSize(); ok {
					select {
					case sizes <- runtime.TermSize{Rows: rows, Cols: cols}:
					case <-stop:
						return
					}
				}
			}
		}
	}()
	return sizes, func() {
		signal.Stop(winch)
		close(stop)
		<-done
	}
}
