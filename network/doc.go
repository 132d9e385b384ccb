// Package network connects containers to bridge networks, as Docker's
// default "bridge" network and user-defined networks do: a Linux bridge
// per network, a veth pair per container (one end on the bridge, the
// other, eth0, in the container's network namespace), an address from a
// per-bridge IPAM record, a default route through the bridge's address,
// and NAT for outbound traffic. Links and addresses are made with netlink
// (vishvananda/netlink), not by running ip(8); the NAT rule with nftables
// netlink messages (google/nftables), not by running iptables(8), whose
// start-up alone cost 15–150 ms on a container's start path. Published
// ports are a userland proxy (Proxy) in the container's monitor; user
// networks resolve names through /etc/hosts (RefreshHosts); unprivileged
// containers use slirp4netns (StartSlirp).
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
// A bridge's rule lives in an nftables table of its own, "ip
// strata-<bridge>" (chain postrouting, type nat: masquerade what leaves
// the subnet by another interface); it is added by the Attach that takes
// the first lease and the table dropped by the Release that frees the
// last. No other table or rule is ever looked at. A host whose iptables
// FORWARD policy is DROP still drops forwarded traffic: an accept in our
// table cannot override another table's drop. IPv4 forwarding is turned
// on with the first rule, as Docker does, unless STRATA_NO_IP_FORWARD=1
// (the tests, which must not change the host).
//
// # Configuration
//
// The default network ("bridge") is the bridge strata0 with 10.87.0.0/16,
// or STRATA_BRIDGE and STRATA_BRIDGE_SUBNET (tests give every process a
// bridge of its own). User-defined networks get br-<id> and a free
// 10.90.x.0/24 unless given --subnet and -o
// com.docker.network.bridge.name.
//
// # Lock order
//
// A container's lock (runtime) may be held while taking a bridge's lock;
// never the reverse. Nothing waits for a monitor under a bridge's lock.
package network
