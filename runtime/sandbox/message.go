package sandbox

import (
	"syscall"

	"github.com/strata-engine/strata/runtime/spec"
)

// Ops of the control messages between the monitor and Init.
const (
	OpSetup   = "setup"   // monitor → init: set up and start the main command
	OpExec    = "exec"    // monitor → init: start Process with the 3 fds sent
	OpStarted = "started" // init → monitor: process ID is running as Pid
	OpFailed  = "failed"  // init → monitor: process ID could not start
	OpExit    = "exit"    // init → monitor: process ID exited with Code
)

// MainID is the process ID of the container's main command.
const MainID = 0

// Message is one control message. Messages carrying file descriptors
// (OpSetup, OpExec: stdin, stdout, stderr; then OpSetup's root tree)
// send them as SCM_RIGHTS.
type Message struct {
	Op      string        `json:"op"`
	ID      int           `json:"id"`
	Setup   *Setup        `json:"setup,omitempty"`
	Process *spec.Process `json:"process,omitempty"`
	Pid     int           `json:"pid,omitempty"`
	Code    int           `json:"code,omitempty"`
	Error   string        `json:"error,omitempty"`
}

// Setup tells Init how to build the container's root.
type Setup struct {
	// Rootfs is the directory (in the monitor's mount namespace) that
	// becomes "/"; Dir is the container's directory, whose hosts,
	// hostname and resolv.conf files are bound into /etc.
	Rootfs   string       `json:"rootfs"`
	Dir      string       `json:"dir"`
	Hostname string       `json:"hostname"`
	Mounts   []spec.Mount `json:"mounts,omitempty"`
	ReadOnly bool         `json:"readOnly,omitempty"`
	// HostNetwork: the container shares the host's network namespace,
	// so sysfs cannot be mounted fresh when in a user namespace.
	HostNetwork bool `json:"hostNetwork,omitempty"`
	// UserNS: Init runs in a user namespace (rootless); device nodes
	// cannot be created and are bound from the host instead.
	UserNS bool `json:"userns,omitempty"`
	// RootTree: the message carries a fourth file, Rootfs as a detached
	// mount (open_tree), which Init attaches at Rootfs in its own
	// namespace (the monitor's union, mounted after Init's namespace was
	// copied).
	RootTree bool         `json:"rootTree,omitempty"`
	Process  spec.Process `json:"process"`
	// Ulimits are set on Init itself before it forks any command, so
	// that every command (main and exec) inherits them.
	Ulimits []spec.Ulimit `json:"ulimits,omitempty"`
	// CgroupTasks are cgroup v1 "tasks" files that Init's main thread
	// joins (writes "0" to) before anything else: the thread that forks
	// every command, apart from Init's other threads (package
	// runtime/cgroups). Paths in the monitor's mount namespace, which
	// Init's is a copy of until pivot_root.
	CgroupTasks []string `json:"cgroupTasks,omitempty"`
}

// ExitCode turns a wait status into the shell's convention: the exit
// status, or 128 plus the signal that killed the process.
func exitCode(exited bool, status, signal int) int {
	if exited {
		return status
	}
	return 128 + signal
}

// ExitStatus is exitCode for a wait status.
func ExitStatus(ws syscall.WaitStatus) int {
	return exitCode(ws.Exited(), ws.ExitStatus(), int(ws.Signal()))
}
