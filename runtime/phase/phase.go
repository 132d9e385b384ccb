// Package phase timestamps the start-up and shut-down phases of the
// runtime's processes (the CLI, the monitor, the container's init) when
// the environment variable STRATA_TRACE is set, so that the latency of
// `strata run` can be taken apart without strace (which, following the
// FUSE server, deadlocks on the container's first page fault).
//
//	STRATA_TRACE=1       lines go to the process's standard error
//	STRATA_TRACE=/path   lines are appended to /path (one write per line)
//
// Use a file for --rm: the monitor's and init's standard error is the
// container's monitor.log, which --rm deletes. Each line reads
//
//	strata-trace 1234567.890 ms cpu 12.3 ms strata-monitor[4242] fuse mounted
//
// with CLOCK_MONOTONIC (the same clock in every process of one host, so
// lines of the three processes sort into one timeline) and the process's
// CPU time so far (user+system). Env passes the setting on to a child
// whose environment is built from scratch (init's). Without STRATA_TRACE,
// Mark costs one branch.
package phase

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// EnvVar is the variable that turns tracing on.
const EnvVar = "STRATA_TRACE"

var (
	setting = os.Getenv(EnvVar)
	once    sync.Once
	mu      sync.Mutex
	out     *os.File
	name    string
)

// Enabled reports whether tracing is on.
func Enabled() bool { return setting != "" }

// Env returns "STRATA_TRACE=..." for a child's environment, or nothing.
func Env() []string {
	if setting == "" {
		return nil
	}
	return []string{EnvVar + "=" + setting}
}

// Open opens the trace output now. A process about to leave the host's
// file system (init, before pivot_root) calls it so that later marks still
// reach a file named by path.
func Open() { once.Do(open) }

func open() {
	name = fmt.Sprintf("%s[%d]", filepath.Base(os.Args[0]), os.Getpid())
	if setting == "1" {
		out = os.Stderr
		return
	}
	f, err := os.OpenFile(setting, os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_CLOEXEC, 0o644)
	if err != nil {
		out = os.Stderr
		return
	}
	out = f
}

// Mark logs that the phase named by format has been reached.
func Mark(format string, args ...any) {
	if setting == "" {
		return
	}
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	cpu := float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
	Open()
	line := fmt.Sprintf("strata-trace %.3f ms cpu %.1f ms %s %s\n",
		float64(ts.Nano())/1e6, cpu, name, fmt.Sprintf(format, args...))
	mu.Lock()
	out.WriteString(line)
	mu.Unlock()
}
