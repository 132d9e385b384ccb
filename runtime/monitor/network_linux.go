package monitor

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/strata-engine/strata/network"
	"github.com/strata-engine/strata/runtime/phase"
	"github.com/strata-engine/strata/runtime/spec"
)

// leases are the container's addresses, leased while init starts.
type leases struct {
	l   []*network.Leased
	err error
}

// leaseNetworks leases an address on each of the container's networks
// (eth0, eth1, … in their order); it needs no namespace yet, so it runs
// while init is being cloned. On error nothing stays leased.
func (m *monitor) leaseNetworks() leases {
	var out []*network.Leased
	for i, n := range m.cfg.Networks {
		l, err := network.Lease(network.AttachOptions{
			Network: n, ID: m.cfg.ID, Dir: m.dir, Iface: fmt.Sprintf("eth%d", i),
			Hostname: m.cfg.Hostname, Names: append([]string{m.cfg.Name, m.cfg.ID[:12]}, n.Aliases...),
		})
		if err != nil {
			for _, l := range out {
				l.Release()
			}
			return leases{err: err}
		}
		out = append(out, l)
	}
	return leases{l: out}
}

// attachNetworks plugs the leased addresses into init's network
// namespace, publishes the ports on the first one's address, and writes
// the container's /etc/hosts. On error, everything is released.
func (m *monitor) attachNetworks(leased leases) ([]spec.Endpoint, error) {
	if leased.err != nil {
		return nil, leased.err
	}
	var eps []spec.Endpoint
	for i, l := range leased.l {
		ep, err := l.Plug(m.initPid)
		if err != nil {
			for _, rest := range leased.l[i+1:] {
				rest.Release()
			}
			m.releaseNetworks(m.cfg.Networks, eps)
			return nil, err
		}
		eps = append(eps, *ep)
	}
	if len(m.cfg.Ports) > 0 && len(eps) > 0 {
		proxy, bound, err := network.Publish(m.cfg.Ports, eps[0].IPAddress)
		if err != nil {
			m.releaseNetworks(m.cfg.Networks, eps)
			return nil, err
		}
		m.proxy, eps[0].Ports = proxy, bound
	}
	err := m.writeHosts(eps)
	for _, n := range m.cfg.Networks {
		if err == nil {
			err = network.RefreshHosts(n)
		}
	}
	if err != nil {
		m.releaseNetworks(m.cfg.Networks, eps)
		return nil, err
	}
	return eps, nil
}

// releaseNetworks detaches the endpoints (at exit, or a failed start),
// after closing the published ports, and drops their names from their
// peers' /etc/hosts.
func (m *monitor) releaseNetworks(networks []spec.NetworkConfig, eps []spec.Endpoint) {
	m.proxy.Close()
	var errs []error
	for _, n := range networks {
		var mine []spec.Endpoint
		for _, ep := range eps {
			if ep.Network == n.Name {
				mine = append(mine, ep)
			}
		}
		errs = append(errs, network.Release(n, mine), network.RefreshHosts(n))
	}
	if err := errors.Join(errs...); err != nil {
		logf("release networks: %v", err)
	}
	phase.Mark("networks released")
}

// releaseAtExit returns the release of the networks the container is on
// now: `network connect` and `disconnect` may have changed them since
// the start (they rewrite config.json and state.json).
func (m *monitor) releaseAtExit(started []spec.Endpoint) func() {
	networks, eps := m.cfg.Networks, started
	var cfg spec.Config
	var st spec.State
	if spec.ReadJSON(filepath.Join(m.dir, spec.ConfigFile), &cfg) == nil && spec.ReadJSON(filepath.Join(m.dir, spec.StateFile), &st) == nil {
		networks, eps = cfg.Networks, st.Endpoints
	}
	return func() { m.releaseNetworks(networks, eps) }
}

// writeHosts writes the container's /etc/hosts (bound over the image's
// by init): loopback names, then its own address under its host name, as
// Docker writes it. The file is new (rename), init binds it later.
func (m *monitor) writeHosts(eps []spec.Endpoint) error {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	if len(eps) > 0 {
		fmt.Fprintf(&b, "%s\t%s\n", eps[0].IPAddress, m.cfg.Hostname)
	}
	write := spec.WriteFile
	if m.cfg.AutoRemove {
		write = spec.WriteFileTransient
	}
	return write(filepath.Join(m.dir, spec.HostsFile), b.Bytes(), 0o644)
}
