package runtime

import (
	"os"
	goruntime "runtime"

	"github.com/strata-engine/strata/runtime/monitor"
	"github.com/strata-engine/strata/runtime/phase"
	"github.com/strata-engine/strata/runtime/sandbox"
	"github.com/strata-engine/strata/runtime/spec"
)

// MaybeRunInit runs one of the runtime's hidden entry points (the monitor,
// the container's init, the exec stage) when the runtime re-executed this
// binary for it, and then exits the process. Otherwise it returns false at
// once. The main package — and TestMain of any test that starts containers
// — must call it first thing.
func MaybeRunInit() bool {
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
