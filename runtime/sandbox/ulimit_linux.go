package sandbox

import (
	"fmt"
	"os"

	"github.com/strata-engine/strata/runtime/spec"
	"golang.org/x/sys/unix"
)

// rlimits maps Docker's --ulimit names to resources.
var rlimits = map[string]int{
	"core": unix.RLIMIT_CORE, "cpu": unix.RLIMIT_CPU, "data": unix.RLIMIT_DATA,
	"fsize": unix.RLIMIT_FSIZE, "locks": unix.RLIMIT_LOCKS, "memlock": unix.RLIMIT_MEMLOCK,
	"msgqueue": unix.RLIMIT_MSGQUEUE, "nice": unix.RLIMIT_NICE, "nofile": unix.RLIMIT_NOFILE,
	"nproc": unix.RLIMIT_NPROC, "rss": unix.RLIMIT_RSS, "rtprio": unix.RLIMIT_RTPRIO,
	"rttime": unix.RLIMIT_RTTIME, "sigpending": unix.RLIMIT_SIGPENDING, "stack": unix.RLIMIT_STACK,
	"as": unix.RLIMIT_AS,
}

// KnownUlimit reports whether name is an rlimit --ulimit accepts.
func KnownUlimit(name string) bool { _, ok := rlimits[name]; return ok }

// setUlimits sets the container's --ulimit values on Init itself. Rlimits
// belong to the process, not the thread, so they bind Init too; Init
// needs few descriptors and no more processes than its threads, and
// every command it forks inherits them — exactly as runc sets them on its
// init before exec. Raising a hard limit needs CAP_SYS_RESOURCE, which
// Init still has here (restrict drops it afterwards).
func setUlimits(ul []spec.Ulimit) error {
	for _, u := range ul {
		res, ok := rlimits[u.Name]
		if !ok {
			return fmt.Errorf("ulimit %q: unknown resource", u.Name)
		}
		rl := unix.Rlimit{Cur: rlimValue(u.Soft), Max: rlimValue(u.Hard)}
		if err := unix.Setrlimit(res, &rl); err != nil {
			return os.NewSyscallError(fmt.Sprintf("setrlimit(%s=%d:%d)", u.Name, u.Soft, u.Hard), err)
		}
	}
	return nil
}

// rlimValue maps Docker's -1 (unlimited) to RLIM_INFINITY.
func rlimValue(v int64) uint64 {
	if v < 0 {
		return unix.RLIM_INFINITY
	}
	return uint64(v)
}
