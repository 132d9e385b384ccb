package monitor

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/creack/pty"
	"github.com/strata-engine/strata/runtime/proto"
)

// stdio is the monitor's side of one process's standard streams: a pty
// master, or pipes. child holds the ends the process gets; the monitor
// closes its copies once they are sent, so that EOF means the process (and
// everything that inherited them) is gone.
type stdio struct {
	tty    bool
	master *os.File // tty only

	inMu  sync.Mutex
	stdin io.WriteCloser // nil without stdin

	stdout, stderr io.Reader // stderr is nil with a tty
	child          [3]*os.File
}

func newStdio(tty, openStdin bool) (*stdio, error) {
	s := &stdio{tty: tty}
	if tty {
		master, slave, err := pty.Open()
		if err != nil {
			return nil, err
		}
		s.master, s.stdout = master, master
		if openStdin {
			s.stdin = master
		}
		s.child = [3]*os.File{slave, slave, slave}
		return s, nil
	}
	var err error
	if openStdin {
		r, w, perr := os.Pipe()
		if perr != nil {
			return nil, perr
		}
		s.stdin, s.child[0] = w, r
	} else if s.child[0], err = os.Open(os.DevNull); err != nil {
		return nil, err
	}
	for i, dst := range []*io.Reader{&s.stdout, &s.stderr} {
		r, w, err := os.Pipe()
		if err != nil {
			s.closeChild()
			return nil, err
		}
		*dst, s.child[i+1] = r, w
	}
	return s, nil
}

// closeChild closes the monitor's copies of the process's ends.
func (s *stdio) closeChild() {
	seen := map[*os.File]bool{}
	for _, f := range s.child {
		if f != nil && !seen[f] {
			f.Close()
			seen[f] = true
		}
	}
}

// writeStdin feeds the process's input; a nil stdin swallows it.
func (s *stdio) writeStdin(p []byte) {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	if s.stdin != nil {
		s.stdin.Write(p)
	}
}

// closeStdin gives the process EOF on its input (pipes only: a terminal
// has no EOF, the attacher sends ^D itself).
func (s *stdio) closeStdin() {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	if s.stdin != nil && !s.tty {
		s.stdin.Close()
		s.stdin = nil
	}
}

func (s *stdio) resize(sz *proto.Size) error {
	if !s.tty || sz == nil {
		return nil
	}
	return pty.Setsize(s.master, &pty.Winsize{Rows: sz.Rows, Cols: sz.Cols})
}

// pump copies r to out until EOF. A pty master reads EIO once every slave
// descriptor is closed, which is its EOF.
func pump(r io.Reader, out func([]byte)) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			out(buf[:n])
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.EIO) && !errors.Is(err, os.ErrClosed) {
				logf("read output: %v", err)
			}
			return
		}
	}
}

// closeAll closes the monitor's ends.
func (s *stdio) closeAll() {
	s.closeStdin()
	for _, r := range []io.Reader{s.stdout, s.stderr} {
		if c, ok := r.(io.Closer); ok {
			c.Close()
		}
	}
}
