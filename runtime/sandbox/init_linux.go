package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"

	"github.com/strata-engine/strata/runtime/phase"
	"github.com/strata-engine/strata/runtime/spec"
	"golang.org/x/sys/unix"
)

// forwarded are the signals Init passes on to the main command, as tini
// does; the rest keep the kernel's pid-1 behaviour (ignored unless sent
// from outside the namespace as SIGKILL or SIGSTOP).
var forwarded = []os.Signal{
	unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2,
	unix.SIGWINCH, unix.SIGCONT, unix.SIGALRM, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU,
}

// proc is one command Init started. Its exit is reported only after its
// start was: the reaper may see it die before start has sent OpStarted.
type proc struct {
	id      int
	pid     int
	mu      sync.Mutex
	started bool
	exited  bool
	code    int
}

// forkJob asks the main thread to fork one command.
type forkJob struct {
	cmd  *command
	pr   *proc
	done chan error
}

type initState struct {
	ctl      *Conn
	mu       sync.Mutex // guards procs and mainPid; held across fork so a fast exit finds its entry
	procs    map[int]*proc
	mainPid  int
	jobs     chan forkJob
	mainDone chan int // the main command's exit code; Init exits with it
}

// Init is the entry point of the container's pid 1. It must run on the
// main goroutine, locked to its thread (MaybeRunInit does that): that
// thread is restricted to the container's privileges and forks every
// command. Init never returns.
func Init() {
	phase.Open() // before pivot_root hides the trace file
	ctl := NewConn(3)
	closeExecFrom(3)
	m, files, err := ctl.Recv()
	phase.Mark("setup received")
	if err != nil || m.Op != OpSetup || m.Setup == nil {
		os.Exit(CodeSetup)
	}
	s := m.Setup
	var tree *os.File
	if s.RootTree && len(files) == 4 {
		tree, files = files[3], files[:3]
	}
	if len(files) != 3 || s.RootTree != (tree != nil) {
		os.Exit(CodeSetup)
	}
	var console *os.File
	if s.Process.Tty {
		console = files[0]
	}
	err = joinCgroups(s.CgroupTasks)
	if err == nil && !s.HostNetwork {
		err = loopbackUp()
	}
	if err == nil {
		err = setupRoot(s, tree, console)
		phase.Mark("root set up")
	}
	if err == nil {
		err = restrict(s.Ulimits)
	}
	if err != nil {
		ctl.Send(&Message{Op: OpFailed, ID: MainID, Code: CodeSetup, Error: err.Error()})
		os.Exit(CodeSetup)
	}
	// Init is the host's binary living in the container; keep the
	// container's processes out of /proc/1/exe and /proc/1/mem
	// (CVE-2019-5736).
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)

	in := &initState{ctl: ctl, procs: map[int]*proc{}, jobs: make(chan forkJob), mainDone: make(chan int, 2)}
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, append([]os.Signal{unix.SIGCHLD}, forwarded...)...)
	go in.signals(sigs)
	go in.start(MainID, &s.Process, files)
	go in.serve()
	for {
		select {
		case j := <-in.jobs:
			j.done <- in.fork(j)
		case code := <-in.mainDone:
			phase.Mark("main exited")
			os.Exit(code)
		}
	}
}

// joinCgroups moves the calling thread (Init's locked main thread) into
// the given cgroup v1 "tasks" files; writing "0" names the writer.
func joinCgroups(tasks []string) error {
	for _, t := range tasks {
		if err := os.WriteFile(t, []byte("0"), 0); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	return nil
}

// fork runs on the restricted main thread.
func (in *initState) fork(j forkJob) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	pid, err := syscall.ForkExec(j.cmd.path, j.cmd.argv, &j.cmd.attr)
	if err != nil {
		return err
	}
	j.pr.pid = pid
	in.procs[pid] = j.pr
	if j.pr.id == MainID {
		in.mainPid = pid
	}
	return nil
}

func (in *initState) signals(sigs chan os.Signal) {
	for sig := range sigs {
		if sig == unix.SIGCHLD {
			in.reap()
			continue
		}
		in.mu.Lock()
		pid := in.mainPid
		in.mu.Unlock()
		if pid > 0 {
			unix.Kill(pid, sig.(syscall.Signal))
		}
	}
}

// start starts one command and reports it; files are closed afterwards so
// that Init holds no end of the command's terminal or pipes.
func (in *initState) start(id int, p *spec.Process, files []*os.File) {
	pr := &proc{id: id}
	stdio := files
	if p.Tty {
		if t := containerTTY(files[0]); t != nil {
			defer t.Close()
			stdio = []*os.File{t, t, t}
		}
	}
	cmd, err := prepare(p, stdio)
	if err == nil {
		j := forkJob{cmd: cmd, pr: pr, done: make(chan error, 1)}
		in.jobs <- j
		if err = <-j.done; err != nil {
			err = execError(p.Args[0], err)
		}
	}
	for _, f := range files {
		f.Close()
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if err != nil {
		var ee *ExecError
		if !errors.As(err, &ee) {
			ee = &ExecError{Code: CodeSetup, Msg: err.Error()}
		}
		in.ctl.Send(&Message{Op: OpFailed, ID: id, Code: ee.Code, Error: ee.Msg})
		if id == MainID {
			in.mainDone <- ee.Code
		}
		return
	}
	pr.started = true
	phase.Mark("process %d forked", id)
	in.ctl.Send(&Message{Op: OpStarted, ID: id, Pid: pr.pid})
	if pr.exited {
		in.reportExit(pr)
	}
}

// reportExit sends pr's exit; pr.mu is held.
func (in *initState) reportExit(pr *proc) {
	in.ctl.Send(&Message{Op: OpExit, ID: pr.id, Code: pr.code})
	if pr.id == MainID {
		in.mainDone <- pr.code
	}
}

// reap collects every exited child: ours, and the orphans that the kernel
// hands to pid 1.
func (in *initState) reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		in.mu.Lock()
		pr := in.procs[pid]
		delete(in.procs, pid)
		in.mu.Unlock()
		if pr == nil {
			continue
		}
		pr.mu.Lock()
		pr.exited = true
		pr.code = exitCode(ws.Exited(), ws.ExitStatus(), int(ws.Signal()))
		if pr.started {
			in.reportExit(pr)
		}
		pr.mu.Unlock()
	}
}

// serve handles the monitor's exec requests until the socket closes.
func (in *initState) serve() {
	for {
		m, files, err := in.ctl.Recv()
		if err != nil {
			// The monitor is gone: nobody can use the container any
			// more, and its root is going away with the monitor.
			in.mainDone <- 137
			return
		}
		if m.Op != OpExec || m.Process == nil || len(files) != 3 {
			for _, f := range files {
				f.Close()
			}
			in.ctl.Send(&Message{Op: OpFailed, ID: m.ID, Code: CodeSetup, Error: fmt.Sprintf("bad request %q", m.Op)})
			continue
		}
		go in.start(m.ID, m.Process, files)
	}
}

// closeExecFrom marks every descriptor from fd on close-on-exec, as runc's
// CloseExecFrom: ForkExec passes a command its three stdio descriptors,
// but also anything else not close-on-exec that Init inherited — the
// monitor's are, but the monitor's own inheritance from the CLI, and the
// CLI's from its shell, may not be (such a descriptor, and once the FUSE
// device, reached the container's commands).
func closeExecFrom(fd int) {
	if unix.CloseRange(uint(fd), ^uint(0), unix.CLOSE_RANGE_CLOEXEC) == nil {
		return
	}
	// Before Linux 5.11.
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil && n >= fd {
			unix.CloseOnExec(n)
		}
	}
}

// containerTTY reopens a terminal the monitor made, a pty of the
// container's devpts instance, by its path in the container: the
// monitor's descriptor names a mount of the monitor's namespace, so
// /proc/self/fd/0 and ttyname(3) would not find it at /dev/pts/N. It
// returns nil when t is not such a pty (the descriptor is then used as it
// is).
func containerTTY(t *os.File) *os.File {
	var st unix.Stat_t
	if unix.Fstat(int(t.Fd()), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return nil
	}
	// Unix98 pty slaves: majors 136 to 143, 256 minors each.
	major, minor := unix.Major(st.Rdev), unix.Minor(st.Rdev)
	if major < 136 || major > 143 {
		return nil
	}
	path := fmt.Sprintf("/dev/pts/%d", (major-136)*256+minor)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	var st2 unix.Stat_t
	if unix.Fstat(fd, &st2) != nil || st2.Rdev != st.Rdev || st2.Dev != st.Dev || st2.Ino != st.Ino {
		unix.Close(fd)
		return nil
	}
	return os.NewFile(uintptr(fd), path)
}
