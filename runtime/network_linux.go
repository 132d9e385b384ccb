package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/strata-engine/strata/network"
	"github.com/strata-engine/strata/runtime/spec"
)

// ErrNetwork: a network that cannot be used here.
var ErrNetwork = errors.New("network unavailable")

// Networks returns the store's networks (the default one and the
// user-defined ones).
func (r *Runtime) Networks() *network.Store { return network.NewStore(r.root) }

// lookupNetwork resolves --network NAME for a new container.
func (r *Runtime) lookupNetwork(name string) (spec.NetworkConfig, error) {
	n, err := r.Networks().Lookup(name)
	if err != nil {
		return spec.NetworkConfig{}, err
	}
	if os.Geteuid() != 0 {
		return spec.NetworkConfig{}, fmt.Errorf("%w: network %s: bridge networks need root; use --network none or host", ErrNetwork, n.Name)
	}
	return n.Config(), nil
}

// releaseNetworks frees what a container whose monitor died left on its
// networks: addresses, veths, NAT rules (network.Release also reclaims
// any other stale lease of those bridges).
func releaseNetworks(c *Container, s *spec.State) {
	for _, n := range c.Config.Networks {
		var mine []spec.Endpoint
		for _, ep := range s.Endpoints {
			if ep.Network == n.Name {
				mine = append(mine, ep)
			}
		}
		network.Release(n, mine)
	}
	s.Endpoints = nil
}

// NetworkUsers lists the containers that are on network n (running or
// not), for `network rm` and `network inspect`.
func (r *Runtime) NetworkUsers(ctx context.Context, n *network.Network) ([]*Container, error) {
	all, err := r.List(ctx, true)
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, c := range all {
		for _, cn := range c.Config.Networks {
			if cn.ID == n.ID {
				out = append(out, c)
				break
			}
		}
	}
	return out, nil
}

// RemoveNetwork removes a user-defined network that no container uses.
func (r *Runtime) RemoveNetwork(ctx context.Context, ref string) error {
	n, err := r.Networks().Lookup(ref)
	if err != nil {
		return err
	}
	users, err := r.NetworkUsers(ctx, n)
	if err != nil {
		return err
	}
	var names []string
	for _, c := range users {
		names = append(names, c.Config.Name)
	}
	return r.Networks().Remove(n, names)
}

// Connect puts a container on one more network: recorded in its config
// for its next starts, and, when it runs, attached at once as the next
// ethN.
func (r *Runtime) Connect(ctx context.Context, ref, netRef string, aliases []string) error {
	c, err := r.Inspect(ctx, ref)
	if err != nil {
		return err
	}
	n, err := r.Networks().Lookup(netRef)
	if err != nil {
		return err
	}
	switch c.Config.NetworkMode {
	case "host", "none", network.Slirp4netns:
		// As Docker: these modes own the namespace's networking.
		return fmt.Errorf("%w: container %s cannot be connected to network %s: it uses network mode %s", ErrNetwork, c.Config.Name, n.Name, c.Config.NetworkMode)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: bridge networks need root", ErrNetwork)
	}
	id := c.Config.ID
	unlock, err := r.containerLock(id)
	if err != nil {
		return err
	}
	defer unlock()
	c, err = r.load(id)
	if err != nil {
		return err
	}
	for _, have := range c.Config.Networks {
		if have.ID == n.ID {
			return fmt.Errorf("endpoint with name %s already exists in network %s", c.Config.Name, n.Name)
		}
	}
	nc := n.Config()
	nc.Aliases = aliases
	dir := r.dir(id)
	if c.State.Status == spec.Running {
		ep, err := network.Attach(network.AttachOptions{
			Network: nc, ID: id, Dir: dir, Pid: c.State.Pid, Iface: freeIface(c.State.Endpoints),
			Hostname: c.Config.Hostname, Names: append([]string{c.Config.Name, id[:12]}, aliases...),
		})
		if err != nil {
			return err
		}
		c.State.Endpoints = append(c.State.Endpoints, *ep)
		if err := spec.WriteJSON(filepath.Join(dir, spec.StateFile), &c.State); err != nil {
			network.Release(nc, []spec.Endpoint{*ep})
			return err
		}
		if err := network.RefreshHosts(nc); err != nil {
			return err
		}
	}
	c.Config.Networks = append(c.Config.Networks, nc)
	return spec.WriteJSON(filepath.Join(dir, spec.ConfigFile), &c.Config)
}

// Disconnect takes a container off a network.
func (r *Runtime) Disconnect(ctx context.Context, ref, netRef string) error {
	c, err := r.Inspect(ctx, ref)
	if err != nil {
		return err
	}
	n, err := r.Networks().Lookup(netRef)
	if err != nil {
		return err
	}
	id := c.Config.ID
	unlock, err := r.containerLock(id)
	if err != nil {
		return err
	}
	defer unlock()
	if c, err = r.load(id); err != nil {
		return err
	}
	i := slices.IndexFunc(c.Config.Networks, func(x spec.NetworkConfig) bool { return x.ID == n.ID })
	if i < 0 {
		return fmt.Errorf("container %s is not connected to network %s", c.Config.Name, n.Name)
	}
	nc := c.Config.Networks[i]
	dir := r.dir(id)
	if c.State.Status == spec.Running {
		var mine, rest []spec.Endpoint
		for _, ep := range c.State.Endpoints {
			if ep.NetworkID == n.ID {
				mine = append(mine, ep)
			} else {
				rest = append(rest, ep)
			}
		}
		if err := network.Release(nc, mine); err != nil {
			return err
		}
		c.State.Endpoints = rest
		if err := spec.WriteJSON(filepath.Join(dir, spec.StateFile), &c.State); err != nil {
			return err
		}
		network.RefreshHosts(nc)
	}
	c.Config.Networks = slices.Delete(c.Config.Networks, i, i+1)
	return spec.WriteJSON(filepath.Join(dir, spec.ConfigFile), &c.Config)
}

// freeIface is the first ethN none of eps uses (a disconnect may have
// left a gap).
func freeIface(eps []spec.Endpoint) string {
	for i := 0; ; i++ {
		name := fmt.Sprintf("eth%d", i)
		if !slices.ContainsFunc(eps, func(ep spec.Endpoint) bool { return ep.Iface == name }) {
			return name
		}
	}
}
