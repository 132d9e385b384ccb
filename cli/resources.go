package cli

import (
	"fmt"
	goruntime "runtime"
	"strconv"
	"strings"

	"github.com/docker/go-units"
	"github.com/spf13/pflag"

	"github.com/strata-engine/strata/runtime/spec"
)

// resourceOptions are the limit flags of run and create, as Docker's.
type resourceOptions struct {
	memory     string
	memorySwap string
	cpus       string
	cpuShares  int64
	pidsLimit  int64
	ulimits    []string
}

// minMemory is the smallest --memory Docker accepts.
const minMemory = 6 * 1024 * 1024

func addResourceFlags(f *pflag.FlagSet, o *resourceOptions) {
	f.VarP(&typedString{&o.memory, "bytes"}, "memory", "m", "Memory limit")
	f.Var(&typedString{&o.memorySwap, "bytes"}, "memory-swap", `Swap limit equal to memory plus swap: '-1' to enable unlimited swap`)
	f.Var(&typedString{&o.cpus, "decimal"}, "cpus", "Number of CPUs")
	f.Int64VarP(&o.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	f.Int64Var(&o.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	f.Var(&typedList{&o.ulimits, "ulimit"}, "ulimit", "Ulimit options")
}

// typedString is a string flag whose help names its kind ("bytes",
// "decimal") as Docker's does; parsing waits for resources(), which
// reports all mistakes alike.
type typedString struct {
	p   *string
	typ string
}

func (v *typedString) String() string     { return *v.p }
func (v *typedString) Set(s string) error { *v.p = s; return nil }
func (v *typedString) Type() string       { return v.typ }

// typedList is a repeatable string flag, likewise.
type typedList struct {
	p   *[]string
	typ string
}

func (v *typedList) String() string     { return strings.Join(*v.p, ",") }
func (v *typedList) Set(s string) error { *v.p = append(*v.p, s); return nil }
func (v *typedList) Type() string       { return v.typ }

// resources turns the flags into the runtime's limits (nil for none),
// checked as Docker checks them.
func (o *resourceOptions) resources() (*spec.Resources, error) {
	var r spec.Resources
	if o.memory != "" {
		n, err := units.RAMInBytes(o.memory)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("invalid argument %q for \"-m, --memory\" flag: invalid size: '%s'", o.memory, o.memory)
		}
		r.Memory = n
	}
	if o.memorySwap != "" {
		if o.memorySwap == "-1" {
			r.MemorySwap = -1
		} else {
			n, err := units.RAMInBytes(o.memorySwap)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("invalid argument %q for \"--memory-swap\" flag: invalid size: '%s'", o.memorySwap, o.memorySwap)
			}
			r.MemorySwap = n
		}
	}
	switch {
	case r.Memory > 0 && r.Memory < minMemory:
		return nil, fmt.Errorf("Minimum memory limit allowed is 6MB")
	case r.MemorySwap != 0 && r.Memory == 0:
		return nil, fmt.Errorf("You should always set the Memory limit when using Memoryswap limit, see usage")
	case r.MemorySwap > 0 && r.MemorySwap < r.Memory:
		return nil, fmt.Errorf("Minimum memoryswap limit should be larger than memory limit, see usage")
	case r.Memory > 0 && r.MemorySwap == 0:
		// Docker's default: as much swap as memory.
		r.MemorySwap = 2 * r.Memory
	}
	if o.cpus != "" {
		v, err := strconv.ParseFloat(o.cpus, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"--cpus\" flag: failed to parse %s as a rational number", o.cpus, o.cpus)
		}
		n := goruntime.NumCPU()
		if v < 0.01 || v > float64(n) {
			return nil, fmt.Errorf("Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", n, n)
		}
		r.NanoCPUs = int64(v*1e9 + 0.5)
	}
	if o.cpuShares < 0 {
		return nil, fmt.Errorf("invalid CPU shares (%d): must not be negative", o.cpuShares)
	}
	r.CPUShares = o.cpuShares
	if o.pidsLimit > 0 {
		r.PidsLimit = o.pidsLimit
	}
	for _, s := range o.ulimits {
		u, err := units.ParseUlimit(s)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"--ulimit\" flag: %v", s, err)
		}
		r.Ulimits = append(r.Ulimits, spec.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	if !r.NeedsCgroup() && len(r.Ulimits) == 0 {
		return nil, nil
	}
	return &r, nil
}
