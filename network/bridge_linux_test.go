package network

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/strata-engine/strata/runtime/spec"
)

// testNetwork is a network of this test process alone: its own bridge
// and /29 (five addresses), removed with its NAT table and IPAM record
// at the end.
func testNetwork(t *testing.T) spec.NetworkConfig {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make bridges and network namespaces")
	}
	t.Setenv("STRATA_NO_IP_FORWARD", "1")
	StateDir = t.TempDir()
	pid := os.Getpid()
	n := spec.NetworkConfig{
		Name: "test", ID: "t", Bridge: fmt.Sprintf("stn%d", pid%1000000),
		Subnet: fmt.Sprintf("10.%d.%d.0/29", 200+pid%50, (pid/50)%256),
	}
	t.Cleanup(func() {
		DeleteBridge(n.Bridge)
		if c, err := nftables.New(); err == nil {
			c.DelTable(natTable(n.Bridge))
			c.Flush()
		}
	})
	return n
}

// sandbox is a process in a network namespace of its own, standing in
// for a container's init, and a container directory whose monitor.lock
// it "holds" until dead is called.
type sandbox struct {
	pid  int
	dir  string
	lock *os.File
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	dir := t.TempDir()
	f, ok, err := spec.TryLock(filepath.Join(dir, spec.MonitorLock))
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	t.Cleanup(func() { f.Close() })
	return &sandbox{pid: cmd.Process.Pid, dir: dir, lock: f}
}

// dead makes the sandbox's "monitor" die without cleaning up.
func (s *sandbox) dead() { s.lock.Close() }

func linkExists(name string) bool {
	_, err := netlink.LinkByName(name)
	return err == nil
}

func natExists(t *testing.T, bridge string) bool {
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListTableOfFamily(natTable(bridge).Name, nftables.TableFamilyIPv4)
	return err == nil
}

func TestAttachRelease(t *testing.T) {
	n := testNetwork(t)
	sb := newSandbox(t)
	ep, err := Attach(AttachOptions{Network: n, ID: "c1aaaaaaaaaaaaaaaaaa", Dir: sb.dir, Pid: sb.pid, Iface: "eth0"})
	if err != nil {
		t.Fatal(err)
	}
	gw := ep.Gateway
	if want := gw[:len(gw)-1] + "2"; ep.IPAddress != want || ep.IPPrefixLen != 29 {
		t.Errorf("address: got %s/%d, want %s/29", ep.IPAddress, ep.IPPrefixLen, want)
	}
	if !linkExists(n.Bridge) || !linkExists(ep.HostVeth) {
		t.Errorf("bridge %s or veth %s missing", n.Bridge, ep.HostVeth)
	}
	if !natExists(t, n.Bridge) {
		t.Error("NAT table missing with a lease")
	}
	// Inside: eth0 with the address and MAC, and the default route.
	ns, err := netns.GetFromPid(sb.pid)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if got := eth0.Attrs().HardwareAddr.String(); got != ep.MacAddress {
		t.Errorf("MAC: got %s, want %s", got, ep.MacAddress)
	}
	routes, _ := h.RouteList(eth0, netlink.FAMILY_V4)
	var def bool
	for _, r := range routes {
		def = def || (r.Dst == nil || r.Dst.IP.IsUnspecified()) && r.Gw.String() == gw
	}
	if !def {
		t.Errorf("no default route via %s: %v", gw, routes)
	}

	if err := Release(n, []spec.Endpoint{*ep}); err != nil {
		t.Fatal(err)
	}
	if linkExists(ep.HostVeth) {
		t.Errorf("veth %s left after Release", ep.HostVeth)
	}
	if natExists(t, n.Bridge) {
		t.Error("NAT table left after the last lease")
	}
}

// TestExhaustionAndReclaim: a /29 has five addresses; the sixth
// container is refused with ErrExhausted until one whose monitor died
// is reclaimed — its veth deleted, its address handed out again.
func TestExhaustionAndReclaim(t *testing.T) {
	n := testNetwork(t)
	var sbs []*sandbox
	var eps []*spec.Endpoint
	for i := 0; i < 6; i++ {
		sb := newSandbox(t)
		ep, err := Attach(AttachOptions{Network: n, ID: fmt.Sprintf("c%dbbbbbbbbbbbbbbbbbbbb", i), Dir: sb.dir, Pid: sb.pid, Iface: "eth0"})
		if i == 5 {
			if !errors.Is(err, ErrExhausted) {
				t.Fatalf("sixth Attach: got %v, want ErrExhausted", err)
			}
			sbs = append(sbs, sb)
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range eps {
			if o.IPAddress == ep.IPAddress {
				t.Fatalf("address %s handed out twice", ep.IPAddress)
			}
		}
		sbs, eps = append(sbs, sb), append(eps, ep)
	}
	// The second container's monitor dies without cleaning up.
	sbs[1].dead()
	ep, err := Attach(AttachOptions{Network: n, ID: "c5bbbbbbbbbbbbbbbbbbbb", Dir: sbs[5].dir, Pid: sbs[5].pid, Iface: "eth0"})
	if err != nil {
		t.Fatalf("Attach after a monitor died: %v", err)
	}
	if ep.IPAddress != eps[1].IPAddress {
		t.Errorf("reclaimed address: got %s, want %s", ep.IPAddress, eps[1].IPAddress)
	}
	if linkExists(eps[1].HostVeth) {
		t.Errorf("dead container's veth %s not deleted", eps[1].HostVeth)
	}
	// The rest go; with the last, the NAT rules.
	for i, e := range append(eps, ep) {
		if i != 1 {
			if err := Release(n, []spec.Endpoint{*e}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if natExists(t, n.Bridge) {
		t.Error("NAT table left after the last lease")
	}
}

func TestDefault(t *testing.T) {
	tests := []struct {
		bridge, subnet string
		want           string // subnet, or the error
	}{
		{"", "", DefaultSubnet},
		{"br0", "10.5.0.7/16", "10.5.0.0/16"},
		{"this-name-is-too-long", "", `invalid bridge name "this-name-is-too-long": at most 15 letters, digits, '_', '.', '-'`},
		{"", "10.0.0.0/31", "invalid subnet 10.0.0.0/31: too small, at most /30"},
		{"", "fd00::/64", `invalid subnet "fd00::/64": want an IPv4 CIDR such as 10.87.0.0/16`},
	}
	for _, tt := range tests {
		t.Run(tt.bridge+tt.subnet, func(t *testing.T) {
			t.Setenv(EnvBridge, tt.bridge)
			t.Setenv(EnvSubnet, tt.subnet)
			n, err := Default()
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				got = n.Subnet
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestConcurrentAttach: starts racing for one bridge never share an
// address (the record's flock), and the last release drops the NAT.
func TestConcurrentAttach(t *testing.T) {
	n := testNetwork(t)
	const k = 5
	sbs := make([]*sandbox, k)
	for i := range sbs {
		sbs[i] = newSandbox(t)
	}
	eps := make([]*spec.Endpoint, k)
	errs := make([]error, k)
	var wg sync.WaitGroup
	for i := range k {
		wg.Go(func() {
			eps[i], errs[i] = Attach(AttachOptions{Network: n, ID: fmt.Sprintf("c%dcccccccccccccccccccc", i), Dir: sbs[i].dir, Pid: sbs[i].pid, Iface: "eth0"})
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range k {
		if errs[i] != nil {
			t.Fatalf("Attach %d: %v", i, errs[i])
		}
		if seen[eps[i].IPAddress] {
			t.Fatalf("address %s handed out twice", eps[i].IPAddress)
		}
		seen[eps[i].IPAddress] = true
	}
	for i := range k {
		wg.Go(func() {
			if err := Release(n, []spec.Endpoint{*eps[i]}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if natExists(t, n.Bridge) {
		t.Error("NAT table left after the last lease")
	}
}
