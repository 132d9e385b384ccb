// Package network connects containers to bridge networks, as Docker's
// default "bridge" network and user-defined networks do: a Linux bridge
// per network, a veth pair per container (one end on the bridge, the
// other, eth0, in the container's network namespace), an address from a
// per-bridge IPAM record, a default route through the bridge's address,
// and NAT for outbound traffic. Links and addresses are made with netlink
// (vishvananda/netlink), not by running ip(8); NAT rules by one
// iptables-restore run, since iptables has no stable library interface.
//
// # On disk
//
//	/run/strata/net/<bridge>.json   the IPAM record: subnet, leases, NAT installed
//	/run/strata/net/<bridge>.lock   flock: every change of that record, of the
//	                                bridge and of its NAT rules
//	<store>/networks/<name>.json    a user-defined network's definition
//
// The IPAM record is per bridge and host-wide, not per store: two stores
// using one bridge must not hand out one address twice. It lives in /run
// like podman's: it survives any strata process (the monitor, the CLI)
// but not a reboot, after which no container runs and nothing is leased.
// Each lease names the container's directory; a lease whose container has
// no live monitor (spec.MonitorAlive) is stale and is reclaimed — its
// veth deleted, its address freed — by the next Attach on that bridge,
// or by Release when the runtime notices the dead monitor.
//
// # NAT rules
//
// A bridge's rules (a MASQUERADE in nat POSTROUTING for its subnet, two
// ACCEPTs in filter FORWARD) carry the comment "strata:<bridge>"; they
// are added by the Attach that takes the first lease and deleted by the
// Release that frees the last. No other rule is ever touched.
//
// # Lock order
//
// A container's lock (runtime) may be held while taking a bridge's lock;
// never the reverse. Nothing waits for a monitor under a bridge's lock.
package network
