package monitor

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/runtime/proto"
	"github.com/strata-engine/strata/runtime/sandbox"
	"github.com/strata-engine/strata/runtime/spec"
	"golang.org/x/sys/unix"
)

func logf(format string, args ...any) { log.Printf(format, args...) }

// ReadyFd is the descriptor on which the monitor reports to whoever
// started it: one sandbox.Message, OpStarted (Pid: the container's init,
// host pid) or OpFailed (Code, Error). With Hold, the monitor then reads
// it until EOF before it lets the container's output flow, so that the
// starter can attach first and miss nothing.
const ReadyFd = 3

// Args are the monitor's command line after the program name.
type Args struct {
	StoreRoot string
	ID        string
	Hold      bool
}

// Encode returns the command line for a.
func (a Args) Encode() []string {
	h := "0"
	if a.Hold {
		h = "1"
	}
	return []string{a.StoreRoot, a.ID, h}
}

// monitor is the state of one container's monitor process.
type monitor struct {
	dir   string
	store string
	cfg   spec.Config
	io    *stdio
	log   *logWriter
	ctl   *sandbox.Conn

	initPid int
	mainPid int // host pid of the main command (0 until known)

	mu      sync.Mutex
	subs    map[*proto.Conn]*proto.Request
	waiting map[*proto.Conn]bool          // wait requests, answered at exit
	execs   sync.WaitGroup                // exec sessions, finished before we exit
	waiters map[int]chan *sandbox.Message // by process ID
	nextID  int
	exited  chan struct{} // closed once exitCode is final
	code    int
}

// Main is the monitor's entry point. It never returns.
func Main(args []string) {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix(fmt.Sprintf("monitor[%d] ", os.Getpid()))
	ready := sandbox.NewConn(ReadyFd)
	unix.CloseOnExec(ReadyFd)
	if len(args) != 3 {
		ready.Send(&sandbox.Message{Op: sandbox.OpFailed, Code: sandbox.CodeSetup, Error: "monitor: bad arguments"})
		os.Exit(2)
	}
	a := Args{StoreRoot: args[0], ID: args[1], Hold: args[2] == "1"}
	code, err := run(context.Background(), a, ready)
	if err != nil {
		logf("%v", err)
		var ee *sandbox.ExecError
		if !errors.As(err, &ee) {
			ee = &sandbox.ExecError{Code: sandbox.CodeSetup, Msg: err.Error()}
		}
		ready.Send(&sandbox.Message{Op: sandbox.OpFailed, Code: ee.Code, Error: ee.Msg})
		os.Exit(1)
	}
	os.Exit(code)
}

func run(ctx context.Context, a Args, ready *sandbox.Conn) (int, error) {
	dir := filepath.Join(a.StoreRoot, "containers", a.ID)
	lock, ok, err := spec.TryLock(filepath.Join(dir, spec.MonitorLock))
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, errors.New("container is already running")
	}
	defer lock.Close()
	m := &monitor{dir: dir, store: a.StoreRoot, subs: map[*proto.Conn]*proto.Request{}, waiting: map[*proto.Conn]bool{},
		waiters: map[int]chan *sandbox.Message{}, nextID: 1, exited: make(chan struct{})}
	if err := spec.ReadJSON(filepath.Join(dir, spec.ConfigFile), &m.cfg); err != nil {
		return 0, err
	}
	// We run in a mount namespace of our own (Start asked for one):
	// host mounts still propagate in, ours never out, and they all
	// vanish with us however we die.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return 0, &os.PathError{Op: "make / rslave", Path: "/", Err: err}
	}
	root := m.rootfs()
	rootDir, unmountOnce, err := root.Mount(ctx)
	if err != nil {
		return 0, err
	}
	var once sync.Once
	unmount := func() (err error) {
		once.Do(func() { err = unmountOnce() })
		return err
	}
	defer func() {
		if err := unmount(); err != nil {
			logf("unmount rootfs: %v", err)
		}
	}()
	if m.io, err = newStdio(m.cfg.Process.Tty, m.cfg.OpenStdin); err != nil {
		return 0, err
	}
	if m.log, err = openLog(filepath.Join(dir, spec.LogFile)); err != nil {
		return 0, err
	}
	defer m.log.close()

	l, err := listen(dir)
	if err != nil {
		return 0, err
	}
	defer os.Remove(filepath.Join(dir, spec.SocketFile))
	defer l.Close()

	initDone, err := m.startInit(rootDir)
	if err != nil {
		return 0, err
	}
	first := <-m.waiter(sandbox.MainID)
	if first == nil || first.Op != sandbox.OpStarted {
		<-initDone
		ee := &sandbox.ExecError{Code: sandbox.CodeSetup, Msg: "container init exited during setup"}
		if first != nil {
			ee = &sandbox.ExecError{Code: first.Code, Msg: first.Error}
		}
		m.setState(func(s *spec.State) { s.ExitCode, s.Error = ee.Code, ee.Msg })
		return 0, ee
	}
	m.mainPid = hostPid(m.initPid, first.Pid)
	now := time.Now().UTC()
	m.setState(func(s *spec.State) {
		*s = spec.State{Status: spec.Running, Pid: m.initPid, MonitorPid: os.Getpid(), StartedAt: now}
	})
	go m.serve(l)
	ready.Send(&sandbox.Message{Op: sandbox.OpStarted, Pid: m.initPid})
	if a.Hold {
		// The starter closes its end once it has attached, or dies.
		var b [1]byte
		unix.Read(ready.Fd(), b[:])
	}
	ready.Close()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); pump(m.io.stdout, m.output("stdout", proto.KindStdout)) }()
	if m.io.stderr != nil {
		wg.Add(1)
		go func() { defer wg.Done(); pump(m.io.stderr, m.output("stderr", proto.KindStderr)) }()
	}
	ws := <-initDone
	code := sandbox.ExitStatus(ws)
	wg.Wait() // every writer is in the dead pid namespace: EOF comes
	m.io.closeAll()
	m.log.flush()

	finished := time.Now().UTC()
	m.setState(func(s *spec.State) {
		s.Status, s.ExitCode, s.FinishedAt, s.Pid = spec.Exited, code, finished, 0
	})
	m.mu.Lock()
	m.code = code
	close(m.exited)
	subs, waiting := m.subs, m.waiting
	m.subs, m.waiting = nil, nil
	m.mu.Unlock()
	for c := range subs {
		c.WriteJSON(proto.KindExit, proto.Exit{Code: code})
	}
	for c := range waiting {
		c.WriteJSON(proto.KindResponse, proto.Response{ExitCode: code})
	}
	m.execs.Wait()
	if m.cfg.AutoRemove {
		m.autoRemove(unmount)
	}
	return 0, nil
}

func (m *monitor) rootfs() Rootfs {
	if m.cfg.RootfsDir != "" {
		return dirRootfs{dir: m.cfg.RootfsDir}
	}
	return unionRootfs{
		storeRoot: m.store, imageID: m.cfg.ImageID,
		target: filepath.Join(m.dir, spec.RootfsDir),
		upper:  filepath.Join(m.dir, spec.UpperDir), work: filepath.Join(m.dir, spec.WorkDir),
	}
}

// listen makes monitor.sock. sun_path holds 108 bytes, less than a store
// root plus a 64-digit id may need, so the socket is bound through
// /proc/self/fd of the directory.
func listen(dir string) (net.Listener, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	os.Remove(filepath.Join(dir, spec.SocketFile))
	l, err := net.Listen("unix", fmt.Sprintf("/proc/self/fd/%d/%s", d.Fd(), spec.SocketFile))
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", filepath.Join(dir, spec.SocketFile), err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	return l, nil
}

// setState rewrites state.json under the container's lock.
func (m *monitor) setState(f func(*spec.State)) {
	unlock, err := spec.Lock(filepath.Join(m.dir, spec.LockFile))
	if err != nil {
		logf("lock: %v", err)
		return
	}
	defer unlock()
	var s spec.State
	path := filepath.Join(m.dir, spec.StateFile)
	if err := spec.ReadJSON(path, &s); err != nil {
		logf("read state: %v", err)
	}
	f(&s)
	if err := spec.WriteJSON(path, &s); err != nil {
		logf("%v", err)
	}
}

// startInit starts the container's init in new namespaces and sends it its
// setup. The returned channel yields init's wait status.
func (m *monitor) startInit(rootDir string) (<-chan syscall.WaitStatus, error) {
	ctl, theirs, err := sandbox.Pair()
	if err != nil {
		return nil, err
	}
	m.ctl = ctl
	flags := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC)
	if m.cfg.NetworkMode != "host" {
		flags |= unix.CLONE_NEWNET
	}
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{"strata-init"},
		Env:        []string{spec.EntryEnv + "=" + spec.EntryInit},
		ExtraFiles: []*os.File{theirs},
		Stderr:     os.Stderr,
		// Never a directory on our own FUSE mount: the child's chdir
		// would wait on this process's server (go-fuse's deadlocks).
		Dir: "/",
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: flags,
			// The container dies with its monitor: nobody could
			// serve its root any more.
			Pdeathsig: unix.SIGKILL,
		},
	}
	started := make(chan error, 1)
	done := make(chan syscall.WaitStatus, 1)
	go func() {
		// Pdeathsig fires when the forking thread exits, not the
		// process; this thread stays until the child is gone.
		goruntime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
		done <- cmd.ProcessState.Sys().(syscall.WaitStatus)
	}()
	if err := <-started; err != nil {
		theirs.Close()
		return nil, fmt.Errorf("start container init: %w", err)
	}
	theirs.Close()
	m.initPid = cmd.Process.Pid
	userNS := isUserNS()
	setup := &sandbox.Setup{
		Rootfs: rootDir, Dir: m.dir, Hostname: m.cfg.Hostname, Mounts: m.cfg.Mounts,
		ReadOnly: m.cfg.ReadOnly, HostNetwork: m.cfg.NetworkMode == "host", UserNS: userNS,
		Process: m.cfg.Process,
	}
	err = ctl.Send(&sandbox.Message{Op: sandbox.OpSetup, Setup: setup}, m.io.child[:]...)
	m.io.closeChild()
	if err != nil {
		cmd.Process.Kill()
		return nil, err
	}
	go m.readControl()
	return done, nil
}

// readControl dispatches init's messages to whoever waits for them. When
// init is gone every waiter gets nil.
func (m *monitor) readControl() {
	for {
		msg, files, err := m.ctl.Recv()
		for _, f := range files {
			f.Close()
		}
		m.mu.Lock()
		if err != nil {
			for id, ch := range m.waiters {
				close(ch)
				delete(m.waiters, id)
			}
			m.waiters = nil
			m.mu.Unlock()
			return
		}
		ch := m.waiters[msg.ID]
		m.mu.Unlock()
		if ch != nil {
			ch <- msg
		}
	}
}

// waiter returns the channel on which process id's messages arrive.
func (m *monitor) waiter(id int) chan *sandbox.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := make(chan *sandbox.Message, 4)
	if m.waiters == nil {
		close(ch)
		return ch
	}
	m.waiters[id] = ch
	return ch
}

// isUserNS reports whether we run in a user namespace other than the
// initial one (where mknod of devices is refused).
func isUserNS() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
}

func (m *monitor) autoRemove(unmount func() error) {
	if err := unmount(); err != nil {
		logf("unmount: %v", err)
	}
	if m.cfg.ImageID != "" {
		if st, err := layers.Open(m.store); err == nil {
			st.Release(m.cfg.ID)
		}
	}
	if err := os.RemoveAll(m.dir); err != nil {
		logf("auto-remove: %v", err)
	}
}
