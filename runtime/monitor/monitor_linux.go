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
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/strata-engine/strata/layers/holds"
	"github.com/strata-engine/strata/network"
	"github.com/strata-engine/strata/runtime/cgroups"
	"github.com/strata-engine/strata/runtime/phase"
	"github.com/strata-engine/strata/runtime/proto"
	"github.com/strata-engine/strata/runtime/sandbox"
	"github.com/strata-engine/strata/runtime/spec"
	"golang.org/x/sys/unix"
)

func logf(format string, args ...any) { log.Printf(format, args...) }

// startGC is the GC percentage to restore once the container runs.
var startGC = 100

// ReadyFd is the descriptor on which the monitor reports to whoever
// started it: one sandbox.Message, OpStarted (Pid: the container's init,
// host pid) or OpFailed (Code, Error).
const ReadyFd = 3

// AttachFd is, with Args.Attach, a stream connection to the starter on
// which it has already written an attach request (package proto): the
// monitor answers it and subscribes it to the container's output before
// the container starts, so that it misses nothing. This saves `run` the
// round trips of dialling monitor.sock after the start while the output
// is held back.
const AttachFd = ReadyFd + 1

// Args are the monitor's command line after the program name.
type Args struct {
	StoreRoot string
	ID        string
	Attach    bool // AttachFd is open
	// Index is the image's flattened index file and Objects the store's
	// object directory (layers.Store.ImageIndexFile, ObjectsDir), for a
	// container with an image root; empty for a directory root. The
	// starter prepares them so that the monitor needs no store code.
	Index, Objects string
	// Build is the starter's build (spec.Build): a strata-runtime from
	// another build refuses to run rather than misread the container.
	Build string
}

// Encode returns the command line for a.
func (a Args) Encode() []string {
	h := "0"
	if a.Attach {
		h = "1"
	}
	return []string{a.StoreRoot, a.ID, h, a.Index, a.Objects, a.Build}
}

// ParseArgs reads a command line made by Encode.
func ParseArgs(args []string) (Args, bool) {
	if len(args) != 6 {
		return Args{}, false
	}
	return Args{StoreRoot: args[0], ID: args[1], Attach: args[2] == "1",
		Index: args[3], Objects: args[4], Build: args[5]}, true
}

// Fds is the number of descriptors from ReadyFd on that the monitor takes.
func (a Args) Fds() int {
	if a.Attach {
		return 2
	}
	return 1
}

// monitor is the state of one container's monitor process.
type monitor struct {
	dir   string
	store string
	args  Args
	cfg   spec.Config
	io    *stdio
	log   *logWriter
	ctl   *sandbox.Conn

	initPid  int
	killInit func()
	cgroup   *cgroups.Cgroup // nil without limits
	proxy    *network.Proxy  // published ports; nil without
	slirp    *network.Slirp  // --network slirp4netns; nil otherwise
	mainPid  int             // host pid of the main command (0 until known)

	pre *proto.Conn // the starter's attachment (Args.Attach), until followed

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
	unix.CloseOnExec(AttachFd) // if open: init must not inherit it
	a, ok := ParseArgs(args)
	if !ok {
		ready.Send(&sandbox.Message{Op: sandbox.OpFailed, Code: sandbox.CodeSetup, Error: "monitor: bad arguments (is strata-runtime from the same build as strata?)"})
		os.Exit(2)
	}
	if a.Build != spec.Build() {
		exe, _ := os.Executable()
		ready.Send(&sandbox.Message{Op: sandbox.OpFailed, Code: sandbox.CodeSetup,
			Error: fmt.Sprintf("%s is from build %q, strata from build %q: install both from the same build", exe, spec.Build(), a.Build)})
		os.Exit(2)
	}
	// Starting a container allocates a few MiB at once (go-fuse's
	// request buffers above all), which made the monitor collect garbage
	// once or twice while it started, on the CPUs that the container's
	// init needs then. run sets the default back a while after the
	// container started (at once, it would collect right then, while a
	// short command runs).
	startGC = debug.SetGCPercent(400)
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
	m := &monitor{dir: dir, store: a.StoreRoot, args: a, subs: map[*proto.Conn]*proto.Request{}, waiting: map[*proto.Conn]bool{},
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
	// The container's ptys come from a devpts instance of its own,
	// mounted on /dev/pts here: /dev/ptmx opens the instance at pts/
	// beside it, so every pty this monitor makes (the container's
	// terminal, exec -t's) is one of the container's, numbered from 0,
	// and init binds the instance as the container's /dev/pts. Its
	// mount namespace is copied from ours below, instance included.
	if err := mountPts(); err != nil {
		return 0, err
	}
	phase.Mark("config read, / rslave")
	// Init starts first, and waits for its setup: its start-up (clone
	// into fresh namespaces, exec, the Go runtime) is the longest step
	// of a start, and it overlaps the mount and the rest below. Its
	// mount namespace is copied now, without the union: the union is
	// handed to it as a detached mount (sendSetup). spawnInit returns
	// once init has exec'd, and must: go-fuse opens /dev/fuse without
	// O_CLOEXEC (marking it just after), so an exec concurrent with the
	// mount could leak the FUSE device into the container.
	//
	// A bridge network's address is leased meanwhile (its NAT installed
	// with a bridge's first lease): that needs no namespace yet.
	var leased chan leases
	if len(m.cfg.Networks) > 0 {
		leased = make(chan leases, 1)
		go func() { leased <- m.leaseNetworks() }()
	}
	initDone, err := m.spawnInit()
	if err != nil {
		if leased != nil {
			for _, l := range (<-leased).l {
				l.Release()
			}
		}
		return 0, err
	}
	phase.Mark("init spawned")
	setupSent, started := false, false
	var cg *cgroups.Cgroup
	defer func() {
		if !setupSent {
			// Failed before init got its setup: it waits for
			// one, and must not outlive us.
			m.killInit()
			<-initDone
		}
		if cg != nil {
			// The record stays if the cgroup does, for rm to retry.
			if err := cg.Remove(); err != nil {
				logf("remove cgroup: %v", err)
			} else {
				os.Remove(filepath.Join(dir, cgroups.File))
			}
		}
	}()
	// Networks are attached while the union mounts: init waits for
	// its setup, so its command never runs unconnected.
	var (
		eps    []spec.Endpoint
		netErr chan error
	)
	if m.cfg.NetworkMode == network.Slirp4netns {
		// Its exec here, before the union mounts: go-fuse's /dev/fuse,
		// open without close-on-exec for a moment then, must not leak
		// into it. Its configuring tap0 overlaps the mount.
		if m.slirp, err = network.StartSlirp(m.initPid, m.dir); err != nil {
			return 0, err
		}
		netErr = make(chan error, 1)
		go func() {
			ep := spec.Endpoint{Network: network.Slirp4netns, IPAddress: network.SlirpAddress}
			err := m.slirp.Ready()
			if err == nil && len(m.cfg.Ports) > 0 {
				ep.Ports, err = m.slirp.Publish(m.cfg.Ports)
			}
			if err == nil {
				err = m.writeHosts([]spec.Endpoint{ep})
			}
			if err == nil && len(ep.Ports) > 0 {
				// Kept in the state for port, ps and inspect.
				eps = []spec.Endpoint{ep}
			}
			netErr <- err
		}()
		defer func() {
			if netErr != nil {
				<-netErr
			}
			m.slirp.Stop()
		}()
	}
	if len(m.cfg.Networks) > 0 {
		netErr = make(chan error, 1)
		go func() {
			var err error
			eps, err = m.attachNetworks(<-leased)
			netErr <- err
		}()
		defer func() {
			if netErr != nil {
				<-netErr // an early return: wait, then undo
			}
			if eps != nil {
				m.releaseNetworks(m.cfg.Networks, eps)
			}
		}()
	}
	// Only a container with limits gets a cgroup: the others' start
	// pays nothing for it (stats reads them from /proc instead). Init
	// joins it before its setup, so before it forks any command.
	if m.cfg.Resources.NeedsCgroup() {
		if cg, err = m.enterCgroup(); err != nil {
			return 0, err
		}
		m.cgroup = cg
		phase.Mark("cgroup made")
	}
	root := m.rootfs()
	rootDir, unmountOnce, err := root.Mount(ctx)
	if err != nil {
		return 0, err
	}
	phase.Mark("rootfs mounted")
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
	defer m.io.closeChild()
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

	if a.Attach {
		nc, err := attachConn()
		if err != nil {
			return 0, err
		}
		defer nc.Close()
		// Answered and subscribed now, before any output can flow;
		// its input is read once the container runs (followAttach).
		if m.preattach(nc) {
			defer func() {
				if !started {
					m.dropAttach()
				}
			}()
			// The starter's terminal size, before the command can
			// ask for it.
			m.mu.Lock()
			size := m.subs[m.pre].Size
			m.mu.Unlock()
			if err := m.io.resize(size); err != nil {
				logf("terminal size: %v", err)
			}
		}
	}
	phase.Mark("stdio, log, socket ready")
	// Before the root's clone: an error return with that detached
	// mount open would leave the union's unmount waiting on it.
	if netErr != nil {
		err := <-netErr
		netErr = nil
		if err != nil {
			return 0, err
		}
		phase.Mark("networks attached")
	}
	var tree *os.File
	if _, ours := root.(unionRootfs); ours {
		if tree, err = cloneMount(rootDir); err != nil {
			return 0, err
		}
	}
	if err := m.sendSetup(rootDir, tree); err != nil {
		return 0, err
	}
	setupSent = true
	phase.Mark("init started, setup sent")
	first := <-m.waiter(sandbox.MainID)
	phase.Mark("init reported")
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
		*s = spec.State{Status: spec.Running, Pid: m.initPid, MonitorPid: os.Getpid(), StartedAt: now, Endpoints: eps}
	})
	go m.serve(l)
	phase.Mark("state running written")
	ready.Send(&sandbox.Message{Op: sandbox.OpStarted, Pid: m.initPid})
	ready.Close()
	started = true
	m.followAttach()
	gc := time.AfterFunc(time.Second, func() { debug.SetGCPercent(startGC) })
	defer gc.Stop()
	phase.Mark("started, output flows")

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); pump(m.io.stdout, m.output("stdout", proto.KindStdout)) }()
	if m.io.stderr != nil {
		wg.Add(1)
		go func() { defer wg.Done(); pump(m.io.stderr, m.output("stderr", proto.KindStderr)) }()
	}
	ws := <-initDone
	phase.Mark("init exited")
	// Published ports stop answering before the exit shows; the
	// networks are released once it is recorded (the state's endpoints,
	// which connect and disconnect may have changed, are read first).
	m.proxy.Close()
	var release func()
	if eps != nil {
		release = m.releaseAtExit(eps)
		eps = nil
	}
	code := sandbox.ExitStatus(ws)
	oom := cg != nil && cg.OOMKilled()
	wg.Wait() // every writer is in the dead pid namespace: EOF comes
	m.io.closeAll()
	m.log.flush()
	phase.Mark("output drained")

	finished := time.Now().UTC()
	m.setState(func(s *spec.State) {
		s.Status, s.ExitCode, s.FinishedAt, s.Pid = spec.Exited, code, finished, 0
		s.OOMKilled, s.Endpoints = oom, nil
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
	phase.Mark("state exited written, exit sent")
	if release != nil {
		release()
	}
	m.execs.Wait()
	if m.cfg.AutoRemove {
		m.autoRemove(unmount)
		phase.Mark("removed")
	}
	return 0, nil
}

// enterCgroup makes the container's cgroup, records it, and moves init
// into it.
func (m *monitor) enterCgroup() (*cgroups.Cgroup, error) {
	cg, err := cgroups.Create(m.cfg.ID, m.cfg.Resources)
	if err != nil {
		return nil, err
	}
	if err = cg.Save(m.dir, !m.cfg.AutoRemove); err == nil {
		err = cg.Enter(m.initPid)
	}
	if err != nil {
		cg.Remove()
		os.Remove(filepath.Join(m.dir, cgroups.File))
		return nil, err
	}
	return cg, nil
}

func (m *monitor) rootfs() Rootfs {
	if m.cfg.RootfsDir != "" {
		return dirRootfs{dir: m.cfg.RootfsDir}
	}
	return unionRootfs{
		index: m.args.Index, objects: m.args.Objects,
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

// setState rewrites state.json under the container's lock: durably,
// except for a --rm container, whose record this monitor deletes at exit
// and which nobody needs after a crash (see spec.WriteJSONTransient).
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
	write := spec.WriteJSON
	if m.cfg.AutoRemove {
		write = spec.WriteJSONTransient
	}
	if err := write(path, &s); err != nil {
		logf("%v", err)
	}
}

// spawnInit starts the container's init in new namespaces; it waits for
// its setup (sendSetup). The returned channel yields init's wait status.
func (m *monitor) spawnInit() (<-chan syscall.WaitStatus, error) {
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
		Env:        append([]string{spec.EntryEnv + "=" + spec.EntryInit}, phase.Env()...),
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
	m.killInit = func() { cmd.Process.Kill() }
	return done, nil
}

// sendSetup tells init how to build the container's root, and starts
// reading its reports. tree, when not nil, is the root as a detached mount
// (the union, which init's namespace, copied before the mount, lacks);
// sendSetup closes it.
func (m *monitor) sendSetup(rootDir string, tree *os.File) error {
	setup := &sandbox.Setup{
		Rootfs: rootDir, Dir: m.dir, Hostname: m.cfg.Hostname, Mounts: m.cfg.Mounts,
		ReadOnly: m.cfg.ReadOnly, HostNetwork: m.cfg.NetworkMode == "host", UserNS: isUserNS(),
		Process: m.cfg.Process, RootTree: tree != nil,
	}
	if r := m.cfg.Resources; r != nil {
		setup.Ulimits = r.Ulimits
	}
	if m.cgroup != nil {
		setup.CgroupTasks = m.cgroup.ThreadTasks()
	}
	files := m.io.child[:]
	if tree != nil {
		defer tree.Close()
		files = append(files, tree)
	}
	err := m.ctl.Send(&sandbox.Message{Op: sandbox.OpSetup, Setup: setup}, files...)
	m.io.closeChild()
	if err != nil {
		return fmt.Errorf("send setup to init: %w", err)
	}
	go m.readControl()
	return nil
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
	phase.Mark("unmounted")
	if m.cfg.ImageID != "" {
		if err := holds.Release(m.store, m.cfg.ID); err != nil {
			logf("release image: %v", err)
		}
	}
	// Rename first, so that the container disappears at once: removing
	// in place deletes monitor.lock before the rest, and a waiter that
	// finds the lock gone would see a half-removed directory.
	gone := m.dir + ".removing"
	if err := os.Rename(m.dir, gone); err != nil {
		logf("auto-remove: %v", err)
		gone = m.dir
	}
	if err := os.RemoveAll(gone); err != nil {
		logf("auto-remove: %v", err)
	}
}

// mountPts mounts a new devpts instance on /dev/pts, in the monitor's own
// mount namespace. gid=5 is the tty group, which a user namespace may not
// map; ptmxmode makes pts/ptmx usable.
func mountPts() error {
	flags := uintptr(unix.MS_NOSUID | unix.MS_NOEXEC)
	err := unix.Mount("devpts", "/dev/pts", "devpts", flags, "newinstance,ptmxmode=0666,mode=0620,gid=5")
	if err != nil {
		err = unix.Mount("devpts", "/dev/pts", "devpts", flags, "newinstance,ptmxmode=0666,mode=0620")
	}
	if err != nil {
		return &os.PathError{Op: "mount devpts", Path: "/dev/pts", Err: err}
	}
	return nil
}
