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

// attachNetworks connects init's network namespace to the container's
// networks (eth0, eth1, … in their order) and writes its /etc/hosts.
// On error, whatever was attached is released.
func (m *monitor) attachNetworks() ([]spec.Endpoint, error) {
	var eps []spec.Endpoint
	for i, n := range m.cfg.Networks {
		ep, err := network.Attach(network.AttachOptions{
			Network: n, ID: m.cfg.ID, Dir: m.dir, Pid: m.initPid, Iface: fmt.Sprintf("eth%d", i),
		})
		if err != nil {
			m.releaseNetworks(eps)
			return nil, err
		}
		eps = append(eps, *ep)
	}
	if len(m.cfg.Ports) > 0 && len(eps) > 0 {
		// Published on the first network's address.
		proxy, bound, err := network.Publish(m.cfg.Ports, eps[0].IPAddress)
		if err != nil {
			m.releaseNetworks(eps)
			return nil, err
		}
		m.proxy, eps[0].Ports = proxy, bound
	}
	if err := m.writeHosts(eps); err != nil {
		m.proxy.Close()
		m.releaseNetworks(eps)
		return nil, err
	}
	return eps, nil
}

// releaseNetworks detaches the endpoints (at exit, or a failed start),
// after closing the published ports.
func (m *monitor) releaseNetworks(eps []spec.Endpoint) {
	m.proxy.Close()
	var errs []error
	for _, n := range m.cfg.Networks {
		var mine []spec.Endpoint
		for _, ep := range eps {
			if ep.Network == n.Name {
				mine = append(mine, ep)
			}
		}
		errs = append(errs, network.Release(n, mine))
	}
	if err := errors.Join(errs...); err != nil {
		logf("release networks: %v", err)
	}
	phase.Mark("networks released")
}

// writeHosts writes the container's /etc/hosts (bound over the image's
// by init): loopback names, then its own address under its host name, as
// Docker writes it.
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
