package runtime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/opencontainers/go-digest"
	"github.com/strata-engine/strata/runtime/monitor"
	"github.com/strata-engine/strata/runtime/phase"
	"github.com/strata-engine/strata/runtime/sandbox"
	"github.com/strata-engine/strata/runtime/spec"
	"golang.org/x/sys/unix"
)

// Start starts a created or exited container and returns once its command
// runs. A command that cannot start is a *StartError (125, 126, 127).
// Starting a running container does nothing, as with Docker.
func (r *Runtime) Start(ctx context.Context, ref string) error {
	c, err := r.Inspect(ctx, ref)
	if err != nil {
		return err
	}
	if c.State.Status == spec.Running {
		return nil
	}
	return r.launch(ctx, c, nil)
}

// launch starts c's monitor and waits for its report. attach, when not
// nil, is the monitor's end of a connection carrying an attach request
// (monitor.AttachFd); launch closes it.
func (r *Runtime) launch(ctx context.Context, c *Container, attach *os.File) error {
	if attach != nil {
		defer attach.Close()
	}
	dir := r.dir(c.Config.ID)
	if c.State.Status == spec.Exited {
		// The last run's monitor may still be finishing.
		if err := spec.WaitMonitor(dir); err != nil {
			return err
		}
	}
	ours, theirs, err := sandbox.Pair()
	if err != nil {
		return err
	}
	defer ours.Close()
	logFile, err := os.OpenFile(filepath.Join(dir, spec.MonitorLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		theirs.Close()
		return err
	}
	defer logFile.Close()
	a := monitor.Args{StoreRoot: r.root, ID: c.Config.ID, Attach: attach != nil, Build: spec.Build()}
	if c.Config.RootfsDir == "" {
		if r.store == nil {
			theirs.Close()
			return errors.New("no image store to start the container from")
		}
		if a.Index, err = r.store.ImageIndexFile(ctx, digest.Digest(c.Config.ImageID)); err != nil {
			theirs.Close()
			return err
		}
		a.Objects = r.store.ObjectsDir()
		phase.Mark("image index ready")
	}
	args := a.Encode()
	extra := []*os.File{theirs}
	if attach != nil {
		extra = append(extra, attach)
	}
	cmd := &exec.Cmd{
		Path:       r.exe,
		Args:       append([]string{"strata-monitor"}, args...),
		Env:        append(os.Environ(), spec.EntryEnv+"="+spec.EntryMonitor),
		Stdout:     logFile,
		Stderr:     logFile,
		ExtraFiles: extra,
		Dir:        "/",
		SysProcAttr: &syscall.SysProcAttr{
			// Its own session: the monitor outlives the CLI and its
			// terminal. Its own mount namespace: see the package doc.
			Setsid:     true,
			Cloneflags: unix.CLONE_NEWNS,
		},
	}
	var mapper func(pid int) error
	if os.Geteuid() != 0 {
		if mapper, err = rootless(cmd); err != nil {
			theirs.Close()
			return err
		}
	}
	phase.Mark("exec monitor")
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		return fmt.Errorf("start monitor: %w", err)
	}
	for _, f := range cmd.ExtraFiles[len(extra):] {
		f.Close()
	}
	go cmd.Wait() // reap it if we outlive it
	if mapper != nil {
		if err := mapper(cmd.Process.Pid); err != nil {
			cmd.Process.Kill()
			return err
		}
	}
	m, _, err := ours.Recv()
	phase.Mark("monitor reported")
	if err != nil {
		return fmt.Errorf("container monitor exited: %s", lastLine(filepath.Join(dir, spec.MonitorLog)))
	}
	if m.Op != sandbox.OpStarted {
		return &StartError{Code: m.Code, Msg: m.Error}
	}
	return nil
}

// attachPair returns a connected pair of stream sockets: ours, and the
// monitor's end (monitor.AttachFd).
func attachPair() (net.Conn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, os.NewSyscallError("socketpair", err)
	}
	theirs := os.NewFile(uintptr(fds[1]), "attach")
	f := os.NewFile(uintptr(fds[0]), "attach")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		theirs.Close()
		return nil, nil, fmt.Errorf("attach connection: %w", err)
	}
	return nc, theirs, nil
}

// rootless prepares cmd to start the monitor in a new user namespace in
// which the caller is root. With /etc/subuid and /etc/subgid ranges and
// newuidmap/newgidmap, the namespace also maps those ranges (so images
// with other owners work): the child waits, unmapped, until the returned
// mapper has run the setuid helpers, then re-executes itself as root of
// the namespace. Otherwise the caller alone is mapped, which the kernel
// lets us write directly.
func rootless(cmd *exec.Cmd) (func(pid int) error, error) {
	cmd.SysProcAttr.Cloneflags |= unix.CLONE_NEWUSER
	uid, gid := os.Getuid(), os.Getgid()
	subU, errU := subIDs("/etc/subuid", uid)
	subG, errG := subIDs("/etc/subgid", uid)
	newuidmap, errNU := exec.LookPath("newuidmap")
	newgidmap, errNG := exec.LookPath("newgidmap")
	if errU != nil || errG != nil || errNU != nil || errNG != nil {
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}}
		cmd.SysProcAttr.GidMappingsEnableSetgroups = false
		return nil, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, r)
	for i, kv := range cmd.Env {
		if strings.HasPrefix(kv, spec.EntryEnv+"=") {
			cmd.Env[i] = spec.EntryEnv + "=" + spec.EntryUserns
		}
	}
	return func(pid int) error {
		defer w.Close()
		p := strconv.Itoa(pid)
		for _, c := range []struct {
			bin  string
			id   int
			subs [2]int
		}{{newuidmap, uid, subU}, {newgidmap, gid, subG}} {
			args := []string{p, "0", strconv.Itoa(c.id), "1", "1", strconv.Itoa(c.subs[0]), strconv.Itoa(c.subs[1])}
			if out, err := exec.Command(c.bin, args...).CombinedOutput(); err != nil {
				return fmt.Errorf("%s %s: %v: %s", filepath.Base(c.bin), strings.Join(args, " "), err, strings.TrimSpace(string(out)))
			}
		}
		_, err := w.Write([]byte{1})
		return err
	}, nil
}

// subIDs returns the first subordinate id range of uid in file.
func subIDs(file string, uid int) ([2]int, error) {
	names := map[string]bool{strconv.Itoa(uid): true}
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		names[u.Username] = true
	}
	f, err := os.Open(file)
	if err != nil {
		return [2]int{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(p) != 3 || !names[p[0]] {
			continue
		}
		start, err1 := strconv.Atoi(p[1])
		count, err2 := strconv.Atoi(p[2])
		if err1 == nil && err2 == nil && count > 0 {
			return [2]int{start, count}, nil
		}
	}
	return [2]int{}, errors.New("no subordinate ids in " + file)
}

// lastLine returns the last non-empty line of a file, for errors.
func lastLine(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) == 0 || lines[len(lines)-1] == "" {
		return "no diagnostics in " + path
	}
	return lines[len(lines)-1]
}
