package network

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/strata-engine/strata/runtime/spec"
)

// The default network, Docker's "bridge".
const (
	DefaultName   = "bridge"
	DefaultBridge = "strata0"
	DefaultSubnet = "10.87.0.0/16"
)

// Environment overrides of the default network's bridge and subnet, so
// that tests (and users beside another strata0) get their own.
const (
	EnvBridge = "STRATA_BRIDGE"
	EnvSubnet = "STRATA_BRIDGE_SUBNET"
)

// Network is a network's definition, as `network inspect` shows it.
type Network struct {
	Name    string            `json:"name"`
	ID      string            `json:"id"`
	Bridge  string            `json:"bridge"`
	Subnet  string            `json:"subnet"`
	Gateway string            `json:"gateway"`
	Created time.Time         `json:"created"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// Config is what a container records of the network it joins.
func (n *Network) Config() spec.NetworkConfig {
	return spec.NetworkConfig{Name: n.Name, ID: n.ID, Bridge: n.Bridge, Subnet: n.Subnet}
}

// Default is the default network, its bridge and subnet from the
// environment (EnvBridge, EnvSubnet) or the defaults.
func Default() (*Network, error) {
	n := &Network{Name: DefaultName, Bridge: DefaultBridge, Subnet: DefaultSubnet}
	if v := os.Getenv(EnvBridge); v != "" {
		n.Bridge = v
	}
	if v := os.Getenv(EnvSubnet); v != "" {
		n.Subnet = v
	}
	if err := n.check(); err != nil {
		return nil, err
	}
	// A stable id: the default network of one bridge is always the same.
	n.ID = fmt.Sprintf("%x", sha(n.Bridge+" "+n.Subnet))
	return n, nil
}

// validBridge: an interface name of at most 15 bytes (IFNAMSIZ-1).
func validBridge(s string) bool { return len(s) <= 15 && validName(s) }

// check validates the bridge name and subnet, and sets the gateway.
func (n *Network) check() error {
	if !validBridge(n.Bridge) {
		return fmt.Errorf("invalid bridge name %q: at most 15 letters, digits, '_', '.', '-'", n.Bridge)
	}
	p, err := netip.ParsePrefix(n.Subnet)
	if err != nil || !p.Addr().Is4() {
		return fmt.Errorf("invalid subnet %q: want an IPv4 CIDR such as 10.87.0.0/16", n.Subnet)
	}
	if p.Bits() > 30 {
		return fmt.Errorf("invalid subnet %s: too small, at most /30", p)
	}
	n.Subnet = p.Masked().String()
	n.Gateway = p.Masked().Addr().Next().String()
	return nil
}

// Store holds the user-defined networks of a store root.
type Store struct{ dir string }

// NewStore returns the networks under root/networks.
func NewStore(root string) *Store { return &Store{dir: filepath.Join(root, "networks")} }

// validName is Docker's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]*. (Not
// a regexp: compiling one at package init cost every strata process,
// container monitors included, a millisecond.)
func validName(s string) bool {
	for i, c := range []byte(s) {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return s != ""
}

// Lookup finds a network by name, id or unique id prefix; the default
// one is "bridge".
func (s *Store) Lookup(ref string) (*Network, error) {
	if ref == DefaultName {
		return Default()
	}
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	var found []*Network
	for _, n := range all {
		if n.Name == ref || n.ID == ref {
			return n, nil
		}
		if len(ref) >= 1 && strings.HasPrefix(n.ID, ref) {
			found = append(found, n)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return nil, notFound(ref)
}

// inUseError reads as Docker's message and is ErrInUse.
type inUseError string

func (e inUseError) Error() string        { return string(e) }
func (e inUseError) Is(target error) bool { return target == ErrInUse }

// notFound reads as Docker's "network NAME not found" and is ErrNotFound.
type notFound string

func (e notFound) Error() string        { return "network " + string(e) + " not found" }
func (e notFound) Is(target error) bool { return target == ErrNotFound }

// List returns the default network and the user-defined ones, by name.
func (s *Store) List() ([]*Network, error) {
	def, err := Default()
	if err != nil {
		return nil, err
	}
	out := []*Network{def}
	ents, err := os.ReadDir(s.dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		var n Network
		if err := spec.ReadJSON(filepath.Join(s.dir, e.Name()), &n); err != nil {
			return nil, err
		}
		out = append(out, &n)
	}
	sort.Slice(out[1:], func(i, j int) bool { return out[1+i].Name < out[1+j].Name })
	return out, nil
}

// CreateOptions describe a new network.
type CreateOptions struct {
	Name   string
	Subnet string // "" picks a free 10.x.y.0/24
	Bridge string // "" derives one from the id
	Labels map[string]string
}

// Create defines a network. Its bridge is made when a container first
// joins it.
func (s *Store) Create(o CreateOptions) (*Network, error) {
	if !validName(o.Name) {
		return nil, fmt.Errorf("invalid network name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", o.Name)
	}
	if o.Name == DefaultName || o.Name == "none" || o.Name == "host" {
		return nil, fmt.Errorf("%s is a pre-defined network and cannot be created", o.Name)
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := spec.Lock(filepath.Join(s.dir, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	id := randomID()
	n := &Network{Name: o.Name, ID: id, Bridge: o.Bridge, Subnet: o.Subnet, Created: time.Now().UTC(), Labels: o.Labels}
	if n.Bridge == "" {
		n.Bridge = "br-" + id[:12]
	}
	if n.Subnet == "" {
		n.Subnet = freeSubnet(all)
	}
	if err := n.check(); err != nil {
		return nil, err
	}
	mine, _ := netip.ParsePrefix(n.Subnet)
	for _, o := range all {
		if o.Name == n.Name {
			return nil, fmt.Errorf("%w: network with name %s already exists", ErrExists, n.Name)
		}
		if p, err := netip.ParsePrefix(o.Subnet); err == nil && p.Overlaps(mine) {
			return nil, fmt.Errorf("invalid pool request: Pool overlaps with other one on this address space (%s of network %s)", o.Subnet, o.Name)
		}
		if o.Bridge == n.Bridge {
			return nil, fmt.Errorf("bridge %s is already used by network %s", n.Bridge, o.Name)
		}
	}
	if err := spec.WriteJSON(filepath.Join(s.dir, n.Name+".json"), n); err != nil {
		return nil, err
	}
	return n, nil
}

// Remove deletes a user-defined network's definition and its bridge.
// inUse names the containers that use it (the caller knows them); a
// network in use is refused.
func (s *Store) Remove(n *Network, inUse []string) error {
	if n.Name == DefaultName {
		return fmt.Errorf("%s is a pre-defined network and cannot be removed", n.Name)
	}
	if len(inUse) > 0 {
		return inUseError(fmt.Sprintf("error while removing network: network %s id %s has active endpoints (%s)", n.Name, n.ID, strings.Join(inUse, ", ")))
	}
	unlock, err := spec.Lock(filepath.Join(s.dir, ".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.Remove(filepath.Join(s.dir, n.Name+".json")); err != nil {
		return err
	}
	if err := removeBridge(n); err != nil {
		return err
	}
	// The bridge's lock file goes too: nothing can join a network
	// whose definition is gone.
	os.Remove(filepath.Join(StateDir, n.Bridge+".lock"))
	return nil
}

// freeSubnet picks the first 10.90.x.0/24 no network uses.
func freeSubnet(all []*Network) string {
	for x := 0; x < 256; x++ {
		c := netip.MustParsePrefix(fmt.Sprintf("10.90.%d.0/24", x))
		free := true
		for _, n := range all {
			if p, err := netip.ParsePrefix(n.Subnet); err == nil && p.Overlaps(c) {
				free = false
			}
		}
		if free {
			return c.String()
		}
	}
	return ""
}

func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
