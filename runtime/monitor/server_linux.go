package monitor

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/strata-engine/strata/runtime/proto"
	"github.com/strata-engine/strata/runtime/sandbox"
	"golang.org/x/sys/unix"
)

// serve accepts clients until the listener closes.
func (m *monitor) serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go m.handle(c)
	}
}

func (m *monitor) handle(nc net.Conn) {
	defer nc.Close()
	c := proto.NewConn(nc)
	var req proto.Request
	if err := c.ReadJSON(proto.KindRequest, &req); err != nil {
		return
	}
	switch req.Op {
	case proto.OpAttach:
		m.attach(c, &req)
	case proto.OpResize:
		reply(c, m.io.resize(req.Size))
	case proto.OpSignal:
		reply(c, m.signal(syscall.Signal(req.Signal)))
	case proto.OpWait:
		m.mu.Lock()
		if m.waiting == nil {
			m.mu.Unlock()
			c.WriteJSON(proto.KindResponse, proto.Response{ExitCode: m.code})
			return
		}
		m.waiting[c] = true
		m.mu.Unlock()
		// Hold the connection until run answers it; a client that
		// hangs up early is forgotten.
		for {
			if _, _, err := c.Read(); err != nil {
				break
			}
		}
		m.mu.Lock()
		if m.waiting != nil {
			delete(m.waiting, c)
		}
		m.mu.Unlock()
	case proto.OpExec:
		m.mu.Lock()
		if m.subs == nil {
			m.mu.Unlock()
			c.WriteJSON(proto.KindResponse, proto.Response{Error: "container is not running", Code: sandbox.CodeSetup})
			return
		}
		m.execs.Add(1)
		m.mu.Unlock()
		defer m.execs.Done()
		m.exec(c, &req)
	default:
		reply(c, fmt.Errorf("unknown request %q", req.Op))
	}
}

func reply(c *proto.Conn, err error) {
	var r proto.Response
	if err != nil {
		r.Error = err.Error()
	}
	c.WriteJSON(proto.KindResponse, r)
}

// output returns the sink for one stream of the main process: the log,
// then every attacher that asked for the stream.
func (m *monitor) output(stream string, k proto.Kind) func([]byte) {
	return func(p []byte) {
		m.log.write(stream, p)
		m.mu.Lock()
		defer m.mu.Unlock()
		for c, req := range m.subs {
			if (k == proto.KindStdout && req.Stdout) || (k == proto.KindStderr && req.Stderr) {
				if err := c.Write(k, p); err != nil {
					delete(m.subs, c)
				}
			}
		}
	}
}

// attach streams the main process's stdio with c until the container
// exits (the final frame is KindExit) or the client hangs up.
func (m *monitor) attach(c *proto.Conn, req *proto.Request) {
	m.mu.Lock()
	// The response goes first, under the lock that output frames are
	// sent under, so that none can precede it.
	reply(c, nil)
	if m.subs == nil {
		m.mu.Unlock()
		c.WriteJSON(proto.KindExit, proto.Exit{Code: m.code})
		return
	}
	m.subs[c] = req
	m.mu.Unlock()
	m.follow(c, req)
}

// follow reads c's input until the client goes away, then unsubscribes it.
func (m *monitor) follow(c *proto.Conn, req *proto.Request) {
	m.input(c, m.io, req.Stdin)
	m.mu.Lock()
	if m.subs != nil {
		delete(m.subs, c)
	}
	m.mu.Unlock()
}

// attachConn takes AttachFd as a connection.
func attachConn() (net.Conn, error) {
	f := os.NewFile(AttachFd, "attach")
	defer f.Close()
	nc, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("attach connection: %w", err)
	}
	return nc, nil
}

// preattach reads the starter's attach request from nc and subscribes it
// before the container starts (see AttachFd). false: nc holds no attach
// request (the starter died); the container runs unattached.
func (m *monitor) preattach(nc net.Conn) bool {
	c := proto.NewConn(nc)
	var req proto.Request
	if err := c.ReadJSON(proto.KindRequest, &req); err != nil || req.Op != proto.OpAttach {
		return false
	}
	m.mu.Lock()
	reply(c, nil)
	m.subs[c] = &req
	m.pre = c
	m.mu.Unlock()
	return true
}

// dropAttach unsubscribes the starter's attachment of a container that
// did not start.
func (m *monitor) dropAttach() {
	m.mu.Lock()
	if m.subs != nil && m.pre != nil {
		delete(m.subs, m.pre)
	}
	m.pre = nil
	m.mu.Unlock()
}

// followAttach serves the starter's attachment, once the container runs,
// until the client or the monitor (closing the connection) goes away.
func (m *monitor) followAttach() {
	m.mu.Lock()
	c, req := m.pre, m.subs[m.pre]
	m.pre = nil
	m.mu.Unlock()
	if c != nil && req != nil {
		go m.follow(c, req)
	}
}

// input reads a client's frames into io until the client goes away.
func (m *monitor) input(c *proto.Conn, io *stdio, stdin bool) {
	for {
		k, p, err := c.Read()
		if err != nil {
			return
		}
		switch k {
		case proto.KindStdin:
			if stdin {
				io.writeStdin(p)
			}
		case proto.KindStdinClose:
			if stdin {
				io.closeStdin()
			}
		case proto.KindResize:
			var sz proto.Size
			if parseJSON(p, &sz) == nil {
				io.resize(&sz)
			}
		}
	}
}

// signal sends sig to the container. SIGKILL goes to init, whose death
// takes the whole pid namespace with it; anything else goes to the main
// command directly (init is pid 1 and would ignore what it does not handle).
func (m *monitor) signal(sig syscall.Signal) error {
	select {
	case <-m.exited:
		return errors.New("container is not running")
	default:
	}
	pid := m.mainPid
	if sig == unix.SIGKILL || pid == 0 {
		pid = m.initPid
	}
	if err := unix.Kill(pid, sig); err != nil {
		return os.NewSyscallError("kill", err)
	}
	return nil
}

// exec runs another process in the container through init.
func (m *monitor) exec(c *proto.Conn, req *proto.Request) {
	if req.Process == nil || len(req.Process.Args) == 0 {
		c.WriteJSON(proto.KindResponse, proto.Response{Error: "no command specified", Code: sandbox.CodeSetup})
		return
	}
	io, err := newStdio(req.Process.Tty, req.Stdin)
	if err != nil {
		reply(c, err)
		return
	}
	defer io.closeAll()
	// The client's terminal size, before the command can ask for it.
	if err := io.resize(req.Size); err != nil {
		logf("exec terminal size: %v", err)
	}
	m.mu.Lock()
	id := m.nextID
	m.nextID++
	m.mu.Unlock()
	ch := m.waiter(id)
	err = m.ctl.Send(&sandbox.Message{Op: sandbox.OpExec, ID: id, Process: req.Process}, io.child[:]...)
	io.closeChild()
	if err != nil {
		c.WriteJSON(proto.KindResponse, proto.Response{Error: "container is not running", Code: sandbox.CodeSetup})
		return
	}
	msg := <-ch
	if msg == nil || msg.Op != sandbox.OpStarted {
		r := proto.Response{Error: "container is not running", Code: sandbox.CodeSetup}
		if msg != nil {
			r = proto.Response{Error: msg.Error, Code: msg.Code}
		}
		c.WriteJSON(proto.KindResponse, r)
		return
	}
	c.WriteJSON(proto.KindResponse, proto.Response{Pid: hostPid(m.initPid, msg.Pid)})

	var wg sync.WaitGroup
	sink := func(k proto.Kind, want bool) func([]byte) {
		return func(p []byte) {
			if want && !req.Detach {
				c.Write(k, p)
			}
		}
	}
	wg.Add(1)
	go func() { defer wg.Done(); pump(io.stdout, sink(proto.KindStdout, req.Stdout)) }()
	if io.stderr != nil {
		wg.Add(1)
		go func() { defer wg.Done(); pump(io.stderr, sink(proto.KindStderr, req.Stderr)) }()
	}
	if !req.Detach {
		go m.input(c, io, req.Stdin)
	}
	code := 137 // init died under it
	for msg := range ch {
		if msg.Op == sandbox.OpExit {
			code = msg.Code
			break
		}
	}
	m.mu.Lock()
	if m.waiters != nil {
		delete(m.waiters, id)
	}
	m.mu.Unlock()
	wg.Wait()
	if !req.Detach {
		c.WriteJSON(proto.KindExit, proto.Exit{Code: code})
	}
}

// hostPid maps a pid of the container's namespace to the host's: the
// child of init whose NSpid ends with nsPid. 0 when not found.
func hostPid(initPid, nsPid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", initPid, initPid))
	if err != nil {
		return 0
	}
	for _, f := range strings.Fields(string(b)) {
		status, err := os.ReadFile("/proc/" + f + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
				ids := strings.Fields(v)
				if len(ids) > 0 && ids[len(ids)-1] == strconv.Itoa(nsPid) {
					pid, _ := strconv.Atoi(f)
					return pid
				}
			}
		}
	}
	return 0
}
