package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/strata-engine/strata/runtime/spec"
)

// StateDir is where IPAM records live (see the package comment).
var StateDir = "/run/strata/net"

// Sentinels, tested with errors.Is.
var (
	ErrExhausted = errors.New("no available IPv4 addresses")
	ErrNotFound  = errors.New("network not found")
	ErrInUse     = errors.New("network is in use")
	ErrExists    = errors.New("network already exists")
)

// lease is one address handed out.
type lease struct {
	Container string `json:"container"` // id
	Dir       string `json:"dir"`       // the container's directory (liveness)
	Veth      string `json:"veth"`      // host end of its veth pair
	// Hostname is the container's own; Names are what its peers on a
	// user-defined network resolve to it (name, short id, aliases).
	Hostname string   `json:"hostname,omitempty"`
	Names    []string `json:"names,omitempty"`
}

// record is a bridge's IPAM record.
type record struct {
	Subnet string            `json:"subnet"`
	Leases map[string]*lease `json:"leases"` // by address
	NAT    bool              `json:"nat,omitempty"`
}

// locked runs f with bridge's record, under its lock, and writes the
// record back if f changed it (returns true).
func locked(bridge string, f func(r *record) (bool, error)) error {
	if err := os.MkdirAll(StateDir, 0o700); err != nil {
		return err
	}
	unlock, err := spec.Lock(filepath.Join(StateDir, bridge+".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	path := filepath.Join(StateDir, bridge+".json")
	r := &record{}
	if err := spec.ReadJSON(path, r); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if r.Leases == nil {
		r.Leases = map[string]*lease{}
	}
	changed, err := f(r)
	if changed {
		// Transient: /run is memory, and a torn record after a
		// crash of the machine cannot matter (nothing runs).
		if werr := spec.WriteJSONTransient(path, r); err == nil {
			err = werr
		}
	}
	return err
}

// allocate leases the lowest free address of subnet (the first is the
// gateway's).
func (r *record) allocate(subnet netip.Prefix, l *lease) (netip.Addr, error) {
	gw := subnet.Masked().Addr().Next()
	for a := gw.Next(); subnet.Contains(a) && subnet.Contains(a.Next()); a = a.Next() {
		if _, taken := r.Leases[a.String()]; !taken {
			r.Leases[a.String()] = l
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%w in network %s", ErrExhausted, subnet)
}

// stale lists the leases whose container has no live monitor.
func (r *record) stale() []string {
	var out []string
	for a, l := range r.Leases {
		if !spec.MonitorAlive(l.Dir) {
			out = append(out, a)
		}
	}
	return out
}
