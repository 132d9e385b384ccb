package runtime

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// TopProcess is one process of a container, as the host sees it.
type TopProcess struct {
	PID, PPID, UID int
	Args           []string
}

// Top lists the processes in a running container's pid namespace (its
// init first).
func (r *Runtime) Top(ctx context.Context, ref string) ([]TopProcess, error) {
	c, err := r.running(ctx, ref)
	if err != nil {
		return nil, err
	}
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", c.State.Pid))
	if err != nil {
		return nil, fmt.Errorf("top %s: %w", short(c.Config.ID), err)
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []TopProcess
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err != nil || l != ns {
			continue
		}
		p := TopProcess{PID: pid}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				f := strings.Fields(line)
				if len(f) >= 2 && f[0] == "PPid:" {
					p.PPID, _ = strconv.Atoi(f[1])
				}
				if len(f) >= 2 && f[0] == "Uid:" {
					p.UID, _ = strconv.Atoi(f[1])
				}
			}
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
			p.Args = strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out, nil
}
