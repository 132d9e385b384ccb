// Package entry dispatches the runtime's hidden entry points: the
// container monitor, the rootless user-namespace stage before it, and the
// container's init. The strata binary calls Run first thing (through
// runtime.MaybeRunInit), and so does strata-runtime, the small binary the
// CLI starts monitors from when it is installed beside it: linking only
// the runtime, it starts in a third of the time the whole CLI takes, and
// a container start pays that twice (monitor, init).
package entry

import (
	"fmt"
	"os"
	goruntime "runtime"

	"github.com/strata-engine/strata/runtime/monitor"
	"github.com/strata-engine/strata/runtime/phase"
	"github.com/strata-engine/strata/runtime/sandbox"
	"github.com/strata-engine/strata/runtime/spec"
	"golang.org/x/sys/unix"
)

// Run runs the hidden entry point named by spec.EntryEnv and exits the
// process; without it, it returns false at once.
func Run() bool {
	phase.Mark("main")
	entry := os.Getenv(spec.EntryEnv)
	if entry == "" {
		return false
	}
	// Capabilities, no_new_privs and credentials set on the way to an
	// exec are per thread: do everything on this one.
	goruntime.LockOSThread()
	os.Unsetenv(spec.EntryEnv)
	switch entry {
	case spec.EntryMonitor:
		monitor.Main(os.Args[1:])
	case spec.EntryUserns:
		usernsStage()
	case spec.EntryInit:
		sandbox.Init()
	}
	os.Exit(125)
	return true
}

// usernsStage runs in the fresh user namespace, unmapped and without
// capabilities, until the parent has written the id maps; executing
// ourselves again then makes us root of the namespace with every
// capability in it, and we continue as the monitor.
func usernsStage() {
	// The descriptor we wait on follows the monitor's.
	a, _ := monitor.ParseArgs(os.Args[1:])
	usernsRelease := monitor.ReadyFd + a.Fds()
	var b [1]byte
	if n, _ := unix.Read(usernsRelease, b[:]); n != 1 {
		os.Exit(125)
	}
	unix.Close(usernsRelease)
	env := append(os.Environ(), spec.EntryEnv+"="+spec.EntryMonitor)
	err := unix.Exec("/proc/self/exe", append([]string{"strata-monitor"}, os.Args[1:]...), env)
	fmt.Fprintf(os.Stderr, "re-exec monitor in user namespace: %v\n", err)
	os.Exit(125)
}
