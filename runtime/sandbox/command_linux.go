package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/strata-engine/strata/runtime/spec"
	"golang.org/x/sys/unix"
)

// DefaultPath is the PATH a container gets when its image sets none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Exit codes of a command that could not start, as Docker reports them.
const (
	CodeSetup         = 125 // the runtime failed
	CodeCannotExecute = 126
	CodeNotFound      = 127
)

// ExecError is a command that could not be started; Code is 125, 126 or
// 127 and Msg reads like runc's (`exec: "x": executable file not found in
// $PATH`).
type ExecError struct {
	Code int
	Msg  string
}

func (e *ExecError) Error() string { return e.Msg }

// restrict reduces the calling thread to what a container's commands may
// have: Docker's capability set, no_new_privs, and as many open files as
// the hard limit allows, or the --ulimit values given. All of these are per thread (the rlimit is per
// process), and a child inherits the forking thread's: Init calls this on
// its locked main thread and forks every command from there. Init's other
// threads keep their privileges but never fork and never run container
// code.
func restrict(ulimits []spec.Ulimit) error {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return os.NewSyscallError("getrlimit", err)
	}
	// Never above the hard limit: raising that needs CAP_SYS_RESOURCE,
	// and Docker leaves it as the daemon's. Calling Setrlimit also stops
	// Go from restoring its startup soft limit in our children.
	rl.Cur = rl.Max
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return os.NewSyscallError("setrlimit(RLIMIT_NOFILE)", err)
	}
	if err := setUlimits(ulimits); err != nil {
		return err
	}
	if err := dropCaps(); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl(PR_SET_NO_NEW_PRIVS)", err)
	}
	return nil
}

// command is a Process made ready to fork: resolved path, environment,
// credentials.
type command struct {
	path string
	argv []string
	attr syscall.ProcAttr
}

// prepare resolves p inside the container (Init is already there): the
// user from /etc/passwd and /etc/group, the command on PATH, the working
// directory, created if missing as Docker does.
func prepare(p *spec.Process, stdio []*os.File) (*command, error) {
	passwd, closeP := openOptional("/etc/passwd")
	group, closeG := openOptional("/etc/group")
	id, err := lookupUser(p.User, passwd, group)
	closeP()
	closeG()
	if err != nil {
		return nil, &ExecError{Code: CodeSetup, Msg: err.Error()}
	}
	env := withDefaults(p.Env, id.home)
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	if err := os.MkdirAll(cwd, 0o755); err != nil {
		return nil, &ExecError{Code: CodeSetup, Msg: fmt.Sprintf("mkdir %s: %v", cwd, errors.Unwrap(err))}
	}
	if len(p.Args) == 0 {
		return nil, &ExecError{Code: CodeSetup, Msg: "no command specified"}
	}
	path, err := lookPath(p.Args[0], env)
	if err != nil {
		return nil, err
	}
	cred := &syscall.Credential{Uid: id.uid, Gid: id.gid, Groups: id.groups}
	// A user namespace with a single mapping has setgroups(2) disabled
	// (the kernel's rule for unprivileged mappings); keep our groups.
	if b, err := os.ReadFile("/proc/self/setgroups"); err == nil && strings.TrimSpace(string(b)) == "deny" {
		cred.NoSetGroups = true
	}
	return &command{
		path: path,
		argv: p.Args,
		attr: syscall.ProcAttr{
			Dir:   cwd,
			Env:   env,
			Files: []uintptr{stdio[0].Fd(), stdio[1].Fd(), stdio[2].Fd()},
			Sys: &syscall.SysProcAttr{
				// The child sets its groups, gid and uid before
				// exec; leaving uid 0 clears its capabilities (no
				// PR_SET_KEEPCAPS), as Docker's non-root users get.
				Credential: cred,
				// Its own session, so a terminal becomes its
				// controlling terminal and job control works.
				Setsid:  true,
				Setctty: p.Tty,
				Ctty:    0,
			},
		},
	}, nil
}

// execError turns fork/exec's errno into Docker's codes.
func execError(name string, err error) *ExecError {
	code := CodeCannotExecute
	if errors.Is(err, unix.ENOENT) {
		code = CodeNotFound
	}
	return &ExecError{Code: code, Msg: fmt.Sprintf("exec: %q: %v", name, err)}
}

// lookPath finds a command as execvp would, with the container's PATH.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, checkExecutable(file, file)
	}
	dirs := DefaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			dirs = v
		}
	}
	for _, dir := range filepath.SplitList(dirs) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &ExecError{Code: CodeNotFound, Msg: fmt.Sprintf("exec: %q: executable file not found in $PATH", file)}
}

func checkExecutable(name, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return &ExecError{Code: CodeNotFound, Msg: fmt.Sprintf("exec: %q: stat %s: no such file or directory", name, path)}
	}
	if fi.IsDir() {
		return &ExecError{Code: CodeCannotExecute, Msg: fmt.Sprintf("exec: %q: is a directory", name)}
	}
	if fi.Mode()&0o111 == 0 {
		return &ExecError{Code: CodeCannotExecute, Msg: fmt.Sprintf("exec: %q: permission denied", name)}
	}
	return nil
}

// withDefaults adds PATH and HOME when the environment lacks them.
func withDefaults(env []string, home string) []string {
	hasPath, hasHome := false, false
	for _, kv := range env {
		hasPath = hasPath || strings.HasPrefix(kv, "PATH=")
		hasHome = hasHome || strings.HasPrefix(kv, "HOME=")
	}
	out := append([]string(nil), env...)
	if !hasPath {
		out = append(out, "PATH="+DefaultPath)
	}
	if !hasHome {
		out = append(out, "HOME="+home)
	}
	return out
}
