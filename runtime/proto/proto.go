// Package proto is the protocol of a monitor's unix socket
// (containers/<id>/monitor.sock): length-prefixed typed frames. A client
// connects, sends one KindRequest, and reads one KindResponse; attach and
// exec then carry streams both ways until the monitor sends KindExit.
//
//	frame = kind (1 byte) | length (4 bytes, big endian) | payload
//
// Each connection is owned by one client; frames are written whole under
// the Conn's lock, so a stdout and a stderr writer can share it.
package proto

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/strata-engine/strata/runtime/spec"
)

// Kind is a frame's type.
type Kind byte

const (
	KindRequest    Kind = 1 // client → monitor, JSON Request, first frame
	KindResponse   Kind = 2 // monitor → client, JSON Response
	KindStdin      Kind = 3 // client → monitor, raw bytes
	KindStdinClose Kind = 4 // client → monitor: no more input
	KindStdout     Kind = 5 // monitor → client, raw bytes
	KindStderr     Kind = 6 // monitor → client, raw bytes
	KindResize     Kind = 7 // client → monitor, JSON Size
	KindExit       Kind = 8 // monitor → client, JSON Exit; last frame
)

// Ops of a Request.
const (
	OpAttach = "attach" // stream the main process's stdio
	OpResize = "resize" // set the main terminal's size
	OpSignal = "signal" // send Signal to the main process
	OpWait   = "wait"   // respond with the exit code once the container exits
	OpExec   = "exec"   // run Process in the container, streaming its stdio
)

// Request is the first frame of a connection.
type Request struct {
	Op     string `json:"op"`
	Stdin  bool   `json:"stdin,omitempty"`
	Stdout bool   `json:"stdout,omitempty"`
	Stderr bool   `json:"stderr,omitempty"`
	Signal int    `json:"signal,omitempty"`
	Size   *Size  `json:"size,omitempty"`
	// Exec: the process to run; Detach returns once it has started.
	Process *spec.Process `json:"process,omitempty"`
	Detach  bool          `json:"detach,omitempty"`
}

// Response answers a Request. Code is the exit code a CLI should use for a
// failure (125, 126, 127); ExitCode is the container's (wait).
type Response struct {
	Error    string `json:"error,omitempty"`
	Code     int    `json:"code,omitempty"`
	ExitCode int    `json:"exitCode,omitempty"`
	Pid      int    `json:"pid,omitempty"`
}

// Size is a terminal size.
type Size struct {
	Rows uint16 `json:"rows"`
	Cols uint16 `json:"cols"`
}

// Exit ends a stream.
type Exit struct {
	Code int `json:"code"`
}

// maxFrame bounds a frame so a confused peer cannot make us allocate
// without limit.
const maxFrame = 1 << 20

// Conn frames a stream connection.
type Conn struct {
	rw io.ReadWriter
	mu sync.Mutex
	hd [5]byte
}

// NewConn wraps rw.
func NewConn(rw io.ReadWriter) *Conn { return &Conn{rw: rw} }

// Write sends one frame.
func (c *Conn) Write(k Kind, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var hd [5]byte
	hd[0] = byte(k)
	binary.BigEndian.PutUint32(hd[1:], uint32(len(p)))
	if _, err := c.rw.Write(hd[:]); err != nil {
		return err
	}
	_, err := c.rw.Write(p)
	return err
}

// WriteJSON sends v as one frame of kind k.
func (c *Conn) WriteJSON(k Kind, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Write(k, b)
}

// Read receives one frame. Only one goroutine may read.
func (c *Conn) Read() (Kind, []byte, error) {
	if _, err := io.ReadFull(c.rw, c.hd[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(c.hd[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("frame of %d bytes exceeds %d", n, maxFrame)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.rw, p); err != nil {
		return 0, nil, err
	}
	return Kind(c.hd[0]), p, nil
}

// ReadJSON receives one frame that must be of kind k and decodes it.
func (c *Conn) ReadJSON(k Kind, v any) error {
	got, p, err := c.Read()
	if err != nil {
		return err
	}
	if got != k {
		return fmt.Errorf("got frame kind %d, want %d", got, k)
	}
	return json.Unmarshal(p, v)
}

// Writer returns an io.Writer that sends each Write as one frame of kind k.
func (c *Conn) Writer(k Kind) io.Writer { return frameWriter{c, k} }

type frameWriter struct {
	c *Conn
	k Kind
}

func (w frameWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		n := min(len(p), maxFrame)
		if err := w.c.Write(w.k, p[:n]); err != nil {
			return 0, err
		}
		p = p[n:]
	}
	return total, nil
}
