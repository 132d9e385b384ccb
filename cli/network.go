package cli

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/cli/format"
	"github.com/strata-engine/strata/network"
	"github.com/strata-engine/strata/runtime"
)

// newNetworkCommand is "strata network", Docker's network management
// commands over strata's bridge networks.
func (a *app) newNetworkCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "network",
		Short: "Manage networks",
		Args:  noArgs,
		RunE:  showHelp,
	}
	c.AddCommand(
		a.newNetworkConnectCommand(),
		a.newNetworkCreateCommand(),
		a.newNetworkDisconnectCommand(),
		a.newNetworkInspectCommand(),
		a.newNetworkLsCommand(),
		a.newNetworkRmCommand(),
	)
	return c
}

func (a *app) newNetworkCreateCommand() *cobra.Command {
	var (
		driver, subnet string
		labels, opts   []string
	)
	c := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if driver != "bridge" {
				return fmt.Errorf("plugin %q not found: strata has only the bridge driver", driver)
			}
			o := network.CreateOptions{Name: args[0], Subnet: subnet}
			for _, l := range labels {
				k, v, _ := strings.Cut(l, "=")
				if o.Labels == nil {
					o.Labels = map[string]string{}
				}
				o.Labels[k] = v
			}
			for _, kv := range opts {
				k, v, _ := strings.Cut(kv, "=")
				if k != "com.docker.network.bridge.name" {
					return fmt.Errorf("unsupported network option %q (only com.docker.network.bridge.name)", k)
				}
				o.Bridge = v
			}
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			n, err := rt.Networks().Create(o)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.out, n.ID)
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&driver, "driver", "d", "bridge", "Driver to manage the Network")
	f.StringVar(&subnet, "subnet", "", "Subnet in CIDR format that represents a network segment")
	f.Var(&typedList{&labels, "list"}, "label", "Set metadata on a network")
	f.VarP(&typedList{&opts, "map"}, "opt", "o", "Set driver specific options")
	return c
}

// networkRow is one line of "network ls".
type networkRow struct {
	ID, Name, Driver, Scope, CreatedAt string
}

var networkHeaders = map[string]string{"ID": "NETWORK ID"}

func (a *app) newNetworkLsCommand() *cobra.Command {
	var (
		quiet, noTrunc bool
		fmtText        string
	)
	c := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			all, err := rt.Networks().List()
			if err != nil {
				return err
			}
			// none and host are networks too, as in Docker.
			rows := []networkRow{}
			for _, n := range all {
				id := n.ID
				if !noTrunc {
					id = shortID(id)
				}
				rows = append(rows, networkRow{ID: id, Name: n.Name, Driver: "bridge", Scope: "local", CreatedAt: createdAt(n.Created)})
			}
			for _, m := range []string{"host", "none"} {
				id := fmt.Sprintf("%x", sha(m))
				if !noTrunc {
					id = shortID(id)
				}
				drv := m
				if m == "none" {
					drv = "null"
				}
				rows = append(rows, networkRow{ID: id, Name: m, Driver: drv, Scope: "local"})
			}
			return format.List(a.out, listFormat(fmtText, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", quiet), networkHeaders, rows)
		},
	}
	f := c.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "Only display network IDs")
	f.BoolVar(&noTrunc, "no-trunc", false, "Do not truncate the output")
	f.StringVar(&fmtText, "format", "", formatHelp)
	return c
}

// networkInspect is a network as Docker's "network inspect" shows it.
type networkInspect struct {
	Name       string                      `json:"Name"`
	ID         string                      `json:"Id"`
	Created    string                      `json:"Created"`
	Scope      string                      `json:"Scope"`
	Driver     string                      `json:"Driver"`
	EnableIPv6 bool                        `json:"EnableIPv6"`
	IPAM       networkIPAM                 `json:"IPAM"`
	Internal   bool                        `json:"Internal"`
	Attachable bool                        `json:"Attachable"`
	Containers map[string]networkContainer `json:"Containers"`
	Options    map[string]string           `json:"Options"`
	Labels     map[string]string           `json:"Labels"`
}

type networkIPAM struct {
	Driver string              `json:"Driver"`
	Config []map[string]string `json:"Config"`
}

type networkContainer struct {
	Name        string `json:"Name"`
	EndpointID  string `json:"EndpointID"`
	MacAddress  string `json:"MacAddress"`
	IPv4Address string `json:"IPv4Address"`
	IPv6Address string `json:"IPv6Address"`
}

func (a *app) newNetworkInspectCommand() *cobra.Command {
	var fmtText string
	c := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			return a.inspect(fmtText, args, func(ref string) (any, error) {
				n, err := rt.Networks().Lookup(ref)
				if err != nil {
					return nil, err
				}
				v := &networkInspect{
					Name: n.Name, ID: n.ID, Created: inspectTime(n.Created), Scope: "local", Driver: "bridge",
					IPAM:       networkIPAM{Driver: "default", Config: []map[string]string{{"Subnet": n.Subnet, "Gateway": n.Gateway}}},
					Containers: map[string]networkContainer{},
					Options:    map[string]string{"com.docker.network.bridge.name": n.Bridge},
					Labels:     n.Labels,
				}
				if v.Labels == nil {
					v.Labels = map[string]string{}
				}
				users, err := rt.NetworkUsers(c.Context(), n)
				if err != nil {
					return nil, err
				}
				for _, u := range users {
					for _, ep := range u.State.Endpoints {
						if ep.NetworkID == n.ID && u.State.Status == runtime.Running {
							v.Containers[u.Config.ID] = networkContainer{
								Name: u.Config.Name, EndpointID: ep.HostVeth, MacAddress: ep.MacAddress,
								IPv4Address: fmt.Sprintf("%s/%d", ep.IPAddress, ep.IPPrefixLen),
							}
						}
					}
				}
				return v, nil
			})
		},
	}
	c.Flags().StringVarP(&fmtText, "format", "f", "", inspectFormatHelp)
	return c
}

func (a *app) newNetworkRmCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Args:    minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			var errs []error
			for _, ref := range args {
				if err := rt.RemoveNetwork(c.Context(), ref); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(a.out, ref)
			}
			return errors.Join(errs...)
		},
	}
}

func (a *app) newNetworkConnectCommand() *cobra.Command {
	var aliases []string
	c := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Args:  exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			return rt.Connect(c.Context(), args[1], args[0], aliases)
		},
	}
	c.Flags().Var(&typedList{&aliases, "strings"}, "alias", "Add network-scoped alias for the container")
	return c
}

func (a *app) newNetworkDisconnectCommand() *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			return rt.Disconnect(c.Context(), args[1], args[0])
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "Force the container to disconnect from a network")
	return c
}

// sha names the built-in networks (host, none) with stable ids.
func sha(s string) [32]byte { return sha256.Sum256([]byte("strata network " + s)) }
