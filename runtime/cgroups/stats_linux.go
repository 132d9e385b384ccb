package cgroups

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Stats is a cgroup's usage at one moment.
type Stats struct {
	// CPU is the CPU time its tasks used since it was made.
	CPU time.Duration
	// Memory is the memory in use less inactive file cache (what Docker
	// shows); MemoryLimit its limit, 0 when there is none.
	Memory, MemoryLimit uint64
	// Pids is the number of tasks.
	Pids uint64
	// BlockRead, BlockWrite: bytes read from and written to block
	// devices.
	BlockRead, BlockWrite uint64
}

// noLimit: v1 writes an unlimited memory limit as a huge number (the
// largest multiple of the page size); anything above 2^62 is none.
const noLimit = 1 << 62

// Stats reads the cgroup's usage. Files a kernel lacks read as zero.
func (cg *Cgroup) Stats() (Stats, error) {
	var s Stats
	if cg.V2 {
		d := cg.Dir
		if _, err := os.Stat(d); err != nil {
			return s, err
		}
		cpu, _ := readKV(filepath.Join(d, "cpu.stat"))
		s.CPU = time.Duration(cpu["usage_usec"]) * time.Microsecond
		mem, _ := readInt(filepath.Join(d, "memory.current"))
		ms, _ := readKV(filepath.Join(d, "memory.stat"))
		s.Memory = usage(mem, ms["inactive_file"])
		if lim, err := readInt(filepath.Join(d, "memory.max")); err == nil && lim > 0 && lim < noLimit {
			s.MemoryLimit = uint64(lim)
		}
		pids, _ := readInt(filepath.Join(d, "pids.current"))
		s.Pids = uint64(max(pids, 0))
		s.BlockRead, s.BlockWrite = ioStatV2(filepath.Join(d, "io.stat"))
		return s, nil
	}
	p := cg.Paths
	if _, err := os.Stat(p["memory"]); err != nil {
		return s, err
	}
	if ns, err := readInt(filepath.Join(p["cpuacct"], "cpuacct.usage")); err == nil {
		s.CPU = time.Duration(ns)
	}
	mem, _ := readInt(filepath.Join(p["memory"], "memory.usage_in_bytes"))
	ms, _ := readKV(filepath.Join(p["memory"], "memory.stat"))
	s.Memory = usage(mem, ms["total_inactive_file"])
	if lim, err := readInt(filepath.Join(p["memory"], "memory.limit_in_bytes")); err == nil && lim > 0 && lim < noLimit {
		s.MemoryLimit = uint64(lim)
	}
	pids, _ := readInt(filepath.Join(p["pids"], "pids.current"))
	s.Pids = uint64(max(pids-int64(len(cg.ThreadTasks())), 0)) // init's thread is not the container's
	s.BlockRead, s.BlockWrite = blkioV1(filepath.Join(p["blkio"], "blkio.throttle.io_service_bytes"))
	return s, nil
}

func usage(current, inactiveFile int64) uint64 {
	if inactiveFile < current {
		current -= inactiveFile
	}
	return uint64(max(current, 0))
}

// blkioV1 sums blkio.throttle.io_service_bytes: "8:0 Read 4096" lines.
func blkioV1(path string) (read, write uint64) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) != 3 {
			continue
		}
		n, _ := strconv.ParseUint(fl[2], 10, 64)
		switch fl[1] {
		case "Read":
			read += n
		case "Write":
			write += n
		}
	}
	return read, write
}

// ioStatV2 sums io.stat: "8:0 rbytes=4096 wbytes=0 rios=1 …" lines.
func ioStatV2(path string) (read, write uint64) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		for _, kv := range strings.Fields(line) {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseUint(v, 10, 64)
			switch k {
			case "rbytes":
				read += n
			case "wbytes":
				write += n
			}
		}
	}
	return read, write
}
