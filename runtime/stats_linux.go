package runtime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/strata-engine/strata/runtime/cgroups"
)

// Stats is a running container's resource usage at one moment. CPU is
// cumulative: a rate needs two samples (Read tells them apart).
type Stats struct {
	Read time.Time
	cgroups.Stats
	// NetRx, NetTx: bytes received and sent on the container's own
	// interfaces (loopback not counted; zero with the host's network).
	NetRx, NetTx uint64
}

// Stats samples a running container's usage: from its cgroup when it has
// one (a container with limits), else from /proc, summing the processes
// of its pid namespace (a container without limits has no cgroup, so its
// start pays nothing for one).
func (r *Runtime) Stats(ctx context.Context, ref string) (*Stats, error) {
	c, err := r.running(ctx, ref)
	if err != nil {
		return nil, err
	}
	s := &Stats{Read: time.Now()}
	if cg, err := cgroups.Load(r.dir(c.Config.ID)); err == nil {
		if s.Stats, err = cg.Stats(); err != nil {
			return nil, fmt.Errorf("stats %s: %w", short(c.Config.ID), err)
		}
	} else if s.Stats, err = procStats(c.State.Pid); err != nil {
		return nil, fmt.Errorf("stats %s: %w", short(c.Config.ID), err)
	}
	if c.Config.NetworkMode != "host" {
		s.NetRx, s.NetTx = netDev(c.State.Pid)
	}
	return s, nil
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// every Linux architecture Go supports.
const clockTick = 100

// procStats sums the usage of the processes in init's pid namespace,
// init aside.
func procStats(initPid int) (cgroups.Stats, error) {
	var s cgroups.Stats
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", initPid))
	if err != nil {
		return s, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return s, err
	}
	page := uint64(os.Getpagesize())
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == initPid {
			continue // init is strata's, not the container's
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err != nil || l != ns {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The command name (field 2) may hold spaces: fields count
		// from its closing parenthesis.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 22 {
			continue
		}
		// After ")": state(3) … utime(14) stime(15) … num_threads(20) … rss(24).
		ut, _ := strconv.ParseUint(f[11], 10, 64)
		st, _ := strconv.ParseUint(f[12], 10, 64)
		th, _ := strconv.ParseUint(f[17], 10, 64)
		rss, _ := strconv.ParseUint(f[21], 10, 64)
		s.CPU += time.Duration(ut+st) * time.Second / clockTick
		s.Pids += th
		s.Memory += rss * page
		if io, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid)); err == nil {
			for _, line := range strings.Split(string(io), "\n") {
				k, v, _ := strings.Cut(line, ": ")
				n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
				switch k {
				case "read_bytes":
					s.BlockRead += n
				case "write_bytes":
					s.BlockWrite += n
				}
			}
		}
	}
	return s, nil
}

// netDev sums the bytes of the interfaces in pid's network namespace,
// loopback aside.
func netDev(pid int) (rx, tx uint64) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "net", "dev"))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 16 {
			continue
		}
		r, _ := strconv.ParseUint(f[0], 10, 64)
		t, _ := strconv.ParseUint(f[8], 10, 64)
		rx, tx = rx+r, tx+t
	}
	return rx, tx
}
