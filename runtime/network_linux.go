package runtime

import (
	"errors"
	"fmt"
	"os"

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
