package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Conn is one end of a SOCK_SEQPACKET control socket: each message is one
// JSON document, with file descriptors alongside it. Send and Recv may be
// used from different goroutines; neither is safe for concurrent use with
// itself.
type Conn struct {
	fd   int
	once sync.Once
	buf  []byte // Recv's, reused and grown to the longest message seen
}

// NewConn wraps a socket descriptor.
func NewConn(fd int) *Conn { return &Conn{fd: fd} }

// Pair returns a connected pair of close-on-exec control sockets.
func Pair() (*Conn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, os.NewSyscallError("socketpair", err)
	}
	return &Conn{fd: fds[0]}, os.NewFile(uintptr(fds[1]), "control"), nil
}

// Fd returns the descriptor.
func (c *Conn) Fd() int { return c.fd }

// Close closes the socket. Closing twice is harmless: the descriptor
// number may belong to someone else by then.
func (c *Conn) Close() error {
	err := os.ErrClosed
	c.once.Do(func() { err = unix.Close(c.fd) })
	return err
}

// Send sends m with files (may be none).
func (c *Conn) Send(m *Message, files ...*os.File) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}
	if err := unix.Sendmsg(c.fd, b, oob, nil, 0); err != nil {
		return os.NewSyscallError("sendmsg", err)
	}
	return nil
}

// maxMessage bounds one control message; a setup with many mounts and a
// long environment stays far below it.
const maxMessage = 1 << 20

// Recv receives one message and the files that came with it. It returns
// io.EOF-like os.ErrClosed when the peer has closed its end.
func (c *Conn) Recv() (*Message, []*os.File, error) {
	oob := make([]byte, unix.CmsgSpace(16*4))
	for {
		// Peek at the message's length first (MSG_TRUNC reports a
		// datagram's full length): a buffer of maxMessage for every
		// message made the monitor collect garbage while it started
		// its container.
		var peek [1]byte
		size, _, _, _, err := unix.Recvmsg(c.fd, peek[:], nil, unix.MSG_PEEK|unix.MSG_TRUNC)
		if err == nil && size > cap(c.buf) {
			c.buf = make([]byte, min(size, maxMessage+1))
		}
		buf := c.buf[:cap(c.buf)]
		if len(buf) == 0 {
			buf = make([]byte, 1) // EOF still needs a buffer to say so
		}
		n, oobn, flags, _, err := unix.Recvmsg(c.fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, nil, os.NewSyscallError("recvmsg", err)
		}
		if n == 0 && oobn == 0 {
			return nil, nil, os.ErrClosed
		}
		files, err := parseRights(oob[:oobn])
		if err != nil {
			return nil, nil, err
		}
		m := new(Message)
		if n > maxMessage || flags&unix.MSG_TRUNC != 0 {
			err = fmt.Errorf("control message of %d bytes or more: too long", n)
		} else if err = json.Unmarshal(buf[:n], m); err != nil {
			err = fmt.Errorf("control message: %w", err)
		}
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, nil, err
		}
		return m, files, nil
	}
}

func parseRights(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, os.NewSyscallError("parse control message", err)
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "received"))
		}
	}
	return files, nil
}
