package network

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/strata-engine/strata/runtime/phase"
	"github.com/strata-engine/strata/runtime/spec"
)

// AttachOptions say which container joins which network.
type AttachOptions struct {
	Network spec.NetworkConfig
	// ID and Dir are the container's id and directory (its lease names
	// them; Dir's monitor.lock tells whether it still runs).
	ID, Dir string
	// Pid is a process in the container's network namespace (its init).
	Pid int
	// Iface is the name inside the container: eth0, eth1, …
	Iface string
	// Hostname and Names: the container's host name, and the names
	// its peers on a user-defined network know it by.
	Hostname string
	Names    []string
}

// Attach connects the container to its network: Lease, then Plug into
// o.Pid's namespace. On error nothing is left.
func Attach(o AttachOptions) (*spec.Endpoint, error) {
	l, err := Lease(o)
	if err != nil {
		return nil, err
	}
	return l.Plug(o.Pid)
}

// Leased is an address leased for a container, its bridge made and NAT
// installed, waiting for the container's namespace (Plug) — which a
// monitor does not have yet when it leases, so that leasing overlaps
// init's start.
type Leased struct {
	o      AttachOptions
	addr   netip.Prefix
	gw     netip.Addr
	mac    net.HardwareAddr
	ep     spec.Endpoint
	closed bool
}

// Lease leases an address on the container's network, makes the bridge
// if it is missing and installs the NAT rules with the bridge's first
// lease, all under the bridge's lock. Release or Plug follow.
func Lease(o AttachOptions) (*Leased, error) {
	subnet, err := netip.ParsePrefix(o.Network.Subnet)
	if err != nil || !subnet.Addr().Is4() {
		return nil, fmt.Errorf("network %s: bad subnet %q", o.Network.Name, o.Network.Subnet)
	}
	subnet = subnet.Masked()
	gw := subnet.Addr().Next()
	veth := vethName(o.ID, o.Iface)
	var addr netip.Addr
	err = locked(o.Network.Bridge, func(r *record) (bool, error) {
		reclaim(r)
		if r.Subnet != "" && r.Subnet != subnet.String() {
			return true, fmt.Errorf("network %s: bridge %s is in use with subnet %s, not %s", o.Network.Name, o.Network.Bridge, r.Subnet, subnet)
		}
		r.Subnet = subnet.String()
		var err error
		if addr, err = r.allocate(subnet, &lease{Container: o.ID, Dir: o.Dir, Veth: veth, Hostname: o.Hostname, Names: o.Names}); err != nil {
			return true, err
		}
		phase.Mark("network %s: address leased", o.Network.Name)
		if err = ensureBridge(o.Network.Bridge, gw, subnet.Bits()); err == nil && !r.NAT {
			if err = nat(true, o.Network.Bridge, subnet); err == nil {
				r.NAT = true
			}
		}
		if err != nil {
			delete(r.Leases, addr.String())
			dropNAT(r, o.Network.Bridge)
		}
		return true, err
	})
	if err != nil {
		return nil, err
	}
	mac := macFor(addr)
	return &Leased{
		o: o, addr: netip.PrefixFrom(addr, subnet.Bits()), gw: gw, mac: mac,
		ep: spec.Endpoint{
			Network: o.Network.Name, NetworkID: o.Network.ID, Bridge: o.Network.Bridge,
			IPAddress: addr.String(), IPPrefixLen: subnet.Bits(), Gateway: gw.String(),
			MacAddress: mac.String(), HostVeth: veth, Iface: o.Iface, Aliases: o.Network.Aliases,
		},
	}, nil
}

// Plug moves a new veth's peer into pid's network namespace as the
// lease's interface, configured and up, with the default route when it
// is eth0. No lock is needed: the lease is ours (our monitor is alive),
// and a bridge with a lease keeps its NAT. On error the lease is
// released.
func (l *Leased) Plug(pid int) (*spec.Endpoint, error) {
	l.o.Pid = pid
	if err := plug(l.o, l.ep.HostVeth, l.mac, l.addr, l.gw); err != nil {
		l.Release()
		return nil, fmt.Errorf("network %s: %w", l.o.Network.Name, err)
	}
	l.closed = true
	ep := l.ep
	return &ep, nil
}

// Release gives a lease back unused (the container did not start).
func (l *Leased) Release() {
	if l == nil || l.closed {
		return
	}
	l.closed = true
	Release(l.o.Network, []spec.Endpoint{l.ep})
}

// Release disconnects a container's endpoints on the network: deletes the
// host ends of their veths (gone already if the namespace died), frees
// their addresses, and the NAT rules with the bridge's last lease. It
// also reclaims any stale lease of the bridge.
func Release(n spec.NetworkConfig, eps []spec.Endpoint) error {
	return locked(n.Bridge, func(r *record) (bool, error) {
		for _, ep := range eps {
			if l, ok := r.Leases[ep.IPAddress]; ok && l.Veth == ep.HostVeth {
				delete(r.Leases, ep.IPAddress)
			}
			deleteLink(ep.HostVeth)
		}
		reclaim(r)
		return true, dropNAT(r, n.Bridge)
	})
}

// reclaim frees the stale leases of r and deletes their veths.
func reclaim(r *record) {
	for _, a := range r.stale() {
		deleteLink(r.Leases[a].Veth)
		delete(r.Leases, a)
	}
}

// dropNAT removes the bridge's NAT rules once no lease is left.
func dropNAT(r *record, bridge string) error {
	if len(r.Leases) > 0 || !r.NAT {
		return nil
	}
	subnet, err := netip.ParsePrefix(r.Subnet)
	if err != nil {
		return err
	}
	if err := nat(false, bridge, subnet); err != nil {
		return err
	}
	r.NAT = false
	return nil
}

func deleteLink(name string) {
	if l, err := netlink.LinkByName(name); err == nil {
		netlink.LinkDel(l)
	}
}

// vethName is the host end's name: at most 15 bytes (IFNAMSIZ-1), from
// the container's id and, past eth0, the interface's number.
func vethName(id, iface string) string {
	n := "veth" + id[:11]
	if iface != "" && iface != "eth0" {
		n = "veth" + id[:8] + iface[len(iface)-min(3, len(iface)):]
	}
	return n
}

// macFor derives the MAC address from the IPv4 address, as Docker does:
// 02:42 and the address's four bytes, unique on the bridge as the
// address is.
func macFor(a netip.Addr) net.HardwareAddr {
	b := a.As4()
	return net.HardwareAddr{0x02, 0x42, b[0], b[1], b[2], b[3]}
}

// ensureBridge makes the bridge with the gateway's address, up, unless
// it exists. Under the bridge's lock.
func ensureBridge(name string, gw netip.Addr, bits int) error {
	if _, err := netlink.LinkByName(name); err == nil {
		return nil
	}
	la := netlink.NewLinkAttrs()
	la.Name = name
	br := &netlink.Bridge{LinkAttrs: la}
	if err := netlink.LinkAdd(br); err != nil {
		return fmt.Errorf("create bridge %s: %w", name, err)
	}
	a := &netlink.Addr{IPNet: &net.IPNet{IP: gw.AsSlice(), Mask: net.CIDRMask(bits, 32)}}
	if err := netlink.AddrAdd(br, a); err != nil {
		netlink.LinkDel(br)
		return fmt.Errorf("address bridge %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		netlink.LinkDel(br)
		return fmt.Errorf("bring up bridge %s: %w", name, err)
	}
	return nil
}

// DeleteBridge removes a network's bridge (network rm, tests).
func DeleteBridge(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return err
	}
	return netlink.LinkDel(l)
}

// plug makes the veth pair with its peer created directly in the
// container's namespace as iface, and configures that end through a
// netlink handle bound to the namespace: no thread of ours ever enters
// it (setns on a Go thread would need locking and restoring).
func plug(o AttachOptions, veth string, mac net.HardwareAddr, addr netip.Prefix, gw netip.Addr) error {
	br, err := netlink.LinkByName(o.Network.Bridge)
	if err != nil {
		return fmt.Errorf("bridge %s: %w", o.Network.Bridge, err)
	}
	ns, err := netns.GetFromPid(o.Pid)
	if err != nil {
		return fmt.Errorf("network namespace of %d: %w", o.Pid, err)
	}
	defer ns.Close()
	la := netlink.NewLinkAttrs()
	la.Name = veth
	la.MasterIndex = br.Attrs().Index
	la.MTU = br.Attrs().MTU
	v := &netlink.Veth{LinkAttrs: la, PeerName: o.Iface, PeerHardwareAddr: mac, PeerNamespace: netlink.NsFd(ns)}
	if err := netlink.LinkAdd(v); err != nil {
		return fmt.Errorf("create veth %s: %w", veth, err)
	}
	phase.Mark("veth made")
	if err := netlink.LinkSetUp(v); err != nil {
		return fmt.Errorf("bring up %s: %w", veth, err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	if o.Iface == "eth0" {
		// Docker's containers have loopback up.
		if lo, err := h.LinkByName("lo"); err == nil {
			h.LinkSetUp(lo)
		}
	}
	peer, err := h.LinkByName(o.Iface)
	if err != nil {
		return fmt.Errorf("%s in the container: %w", o.Iface, err)
	}
	if err := h.AddrAdd(peer, &netlink.Addr{IPNet: &net.IPNet{IP: addr.Addr().AsSlice(), Mask: net.CIDRMask(addr.Bits(), 32)}}); err != nil {
		return fmt.Errorf("address %s: %w", o.Iface, err)
	}
	if err := h.LinkSetUp(peer); err != nil {
		return fmt.Errorf("bring up %s: %w", o.Iface, err)
	}
	if o.Iface == "eth0" {
		r := &netlink.Route{LinkIndex: peer.Attrs().Index, Gw: gw.AsSlice(), Scope: netlink.SCOPE_UNIVERSE}
		if err := h.RouteAdd(r); err != nil {
			return fmt.Errorf("default route via %s: %w", gw, err)
		}
	}
	return nil
}

// sysctlForward enables IPv4 forwarding, which NAT for containers needs,
// as Docker does; a host that has it on is left alone.
func sysctlForward() error {
	const path = "/proc/sys/net/ipv4/ip_forward"
	b, err := os.ReadFile(path)
	if err != nil || len(b) > 0 && b[0] == '1' {
		return err
	}
	if os.Getenv("STRATA_NO_IP_FORWARD") == "1" {
		return nil
	}
	return os.WriteFile(path, []byte("1"), 0)
}

// removeBridge deletes a network's bridge, its IPAM record and its NAT
// rules (left only if a lease was never released), under its lock.
func removeBridge(n *Network) error {
	return locked(n.Bridge, func(r *record) (bool, error) {
		reclaim(r)
		if len(r.Leases) > 0 {
			return true, inUseError(fmt.Sprintf("error while removing network: network %s id %s has active endpoints", n.Name, n.ID))
		}
		if err := dropNAT(r, n.Bridge); err != nil {
			return true, err
		}
		if err := DeleteBridge(n.Bridge); err != nil {
			return true, err
		}
		os.Remove(fmt.Sprintf("%s/%s.json", StateDir, n.Bridge))
		return false, nil
	})
}

func sha(s string) [32]byte { return sha256.Sum256([]byte(s)) }
