package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/network"
	"github.com/strata-engine/strata/runtime"
	"github.com/strata-engine/strata/runtime/spec"
)

// containerInspect is a container as "inspect" shows it, in the JSON shape
// of Docker's container inspect, so that templates written for Docker
// ({{.State.Status}}, {{.NetworkSettings.IPAddress}}, {{.Config.Env}})
// work unchanged. What strata has no notion of (restart policies, cgroups,
// graph drivers) is left out or shown empty.
type containerInspect struct {
	ID              string                  `json:"Id"`
	Created         string                  `json:"Created"`
	Path            string                  `json:"Path"`
	Args            []string                `json:"Args"`
	State           containerInspectState   `json:"State"`
	Image           string                  `json:"Image"`
	ResolvConfPath  string                  `json:"ResolvConfPath"`
	HostnamePath    string                  `json:"HostnamePath"`
	HostsPath       string                  `json:"HostsPath"`
	LogPath         string                  `json:"LogPath"`
	Name            string                  `json:"Name"`
	RestartCount    int                     `json:"RestartCount"`
	Driver          string                  `json:"Driver"`
	Platform        string                  `json:"Platform"`
	HostConfig      containerHostConfig     `json:"HostConfig"`
	Mounts          []containerMount        `json:"Mounts"`
	Config          containerConfig         `json:"Config"`
	NetworkSettings containerNetworkSetting `json:"NetworkSettings"`
}

type containerInspectState struct {
	Status     string `json:"Status"`
	Running    bool   `json:"Running"`
	Paused     bool   `json:"Paused"`
	Restarting bool   `json:"Restarting"`
	OOMKilled  bool   `json:"OOMKilled"`
	Dead       bool   `json:"Dead"`
	Pid        int    `json:"Pid"`
	ExitCode   int    `json:"ExitCode"`
	Error      string `json:"Error"`
	StartedAt  string `json:"StartedAt"`
	FinishedAt string `json:"FinishedAt"`
}

type containerHostConfig struct {
	Binds          []string        `json:"Binds"`
	NetworkMode    string          `json:"NetworkMode"`
	AutoRemove     bool            `json:"AutoRemove"`
	ReadonlyRootfs bool            `json:"ReadonlyRootfs"`
	CpuShares      int64           `json:"CpuShares"`
	Memory         int64           `json:"Memory"`
	NanoCpus       int64           `json:"NanoCpus"`
	MemorySwap     int64           `json:"MemorySwap"`
	PidsLimit      *int64          `json:"PidsLimit"`
	Ulimits        []inspectUlimit `json:"Ulimits"`
}

type inspectUlimit struct {
	Name string `json:"Name"`
	Hard int64  `json:"Hard"`
	Soft int64  `json:"Soft"`
}

type containerMount struct {
	Type        string `json:"Type"`
	Source      string `json:"Source"`
	Destination string `json:"Destination"`
	Mode        string `json:"Mode"`
	RW          bool   `json:"RW"`
	Propagation string `json:"Propagation"`
}

type containerConfig struct {
	Hostname     string            `json:"Hostname"`
	Domainname   string            `json:"Domainname"`
	User         string            `json:"User"`
	AttachStdin  bool              `json:"AttachStdin"`
	AttachStdout bool              `json:"AttachStdout"`
	AttachStderr bool              `json:"AttachStderr"`
	Tty          bool              `json:"Tty"`
	OpenStdin    bool              `json:"OpenStdin"`
	StdinOnce    bool              `json:"StdinOnce"`
	Env          []string          `json:"Env"`
	Cmd          []string          `json:"Cmd"`
	Image        string            `json:"Image"`
	Volumes      map[string]any    `json:"Volumes"`
	WorkingDir   string            `json:"WorkingDir"`
	Entrypoint   []string          `json:"Entrypoint"`
	OnBuild      []string          `json:"OnBuild"`
	Labels       map[string]string `json:"Labels"`
	StopSignal   string            `json:"StopSignal,omitempty"`
	ExposedPorts map[string]any    `json:"ExposedPorts,omitempty"`
}

// containerNetworkSetting has Docker's fields; a container of strata has
// no address of its own (network "none" or the host's).
type containerNetworkSetting struct {
	Bridge      string         `json:"Bridge"`
	SandboxID   string         `json:"SandboxID"`
	SandboxKey  string         `json:"SandboxKey"`
	Ports       map[string]any `json:"Ports"`
	Gateway     string         `json:"Gateway"`
	IPAddress   string         `json:"IPAddress"`
	IPPrefixLen int            `json:"IPPrefixLen"`
	IPv6Gateway string         `json:"IPv6Gateway"`
	MacAddress  string         `json:"MacAddress"`
	Networks    map[string]any `json:"Networks"`
}

// endpointSettings is one network of NetworkSettings.Networks.
type endpointSettings struct {
	IPAMConfig          any      `json:"IPAMConfig"`
	Links               []string `json:"Links"`
	Aliases             []string `json:"Aliases"`
	MacAddress          string   `json:"MacAddress"`
	NetworkID           string   `json:"NetworkID"`
	EndpointID          string   `json:"EndpointID"`
	Gateway             string   `json:"Gateway"`
	IPAddress           string   `json:"IPAddress"`
	IPPrefixLen         int      `json:"IPPrefixLen"`
	IPv6Gateway         string   `json:"IPv6Gateway"`
	GlobalIPv6Address   string   `json:"GlobalIPv6Address"`
	GlobalIPv6PrefixLen int      `json:"GlobalIPv6PrefixLen"`
	DNSNames            []string `json:"DNSNames"`
}

// networkSettings fills NetworkSettings as Docker does: every network
// the container is on, with its address while it runs; the top-level
// IPAddress, Gateway and MacAddress are the default bridge network's.
func networkSettings(c *runtime.Container) containerNetworkSetting {
	cfg := c.Config
	ns := containerNetworkSetting{Ports: portMap(c), Networks: map[string]any{}}
	if len(cfg.Networks) == 0 {
		ns.Networks[cfg.NetworkMode] = map[string]any{}
		return ns
	}
	if c.State.Status == runtime.Running && c.State.Pid > 0 {
		ns.SandboxKey = fmt.Sprintf("/proc/%d/ns/net", c.State.Pid)
		ns.SandboxID = cfg.ID
	}
	for _, n := range cfg.Networks {
		es := endpointSettings{NetworkID: n.ID, Aliases: n.Aliases}
		for _, ep := range c.State.Endpoints {
			if ep.Network != n.Name {
				continue
			}
			es.MacAddress, es.Gateway, es.IPAddress, es.IPPrefixLen = ep.MacAddress, ep.Gateway, ep.IPAddress, ep.IPPrefixLen
			es.EndpointID = ep.HostVeth
			es.DNSNames = append([]string{cfg.Name, cfg.ID[:12]}, n.Aliases...)
			if n.Name == network.DefaultName {
				ns.Bridge = ep.Bridge
				ns.IPAddress, ns.Gateway, ns.IPPrefixLen, ns.MacAddress = ep.IPAddress, ep.Gateway, ep.IPPrefixLen, ep.MacAddress
				es.DNSNames = nil // Docker's default network has no DNS
			}
		}
		ns.Networks[n.Name] = es
	}
	return ns
}

// portMap is NetworkSettings.Ports: each published port with its host
// bindings ("80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]), the
// ports actually bound while the container runs.
func portMap(c *runtime.Container) map[string]any {
	out := map[string]any{}
	for _, e := range c.Config.ExposedPorts {
		out[e] = nil
	}
	ports := c.Config.Ports
	if c.State.Status == runtime.Running {
		ports = nil
		for _, ep := range c.State.Endpoints {
			ports = append(ports, ep.Ports...)
		}
	}
	for _, p := range ports {
		k := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
		list, _ := out[k].([]map[string]string)
		ip := p.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		port := ""
		if p.HostPort > 0 {
			port = fmt.Sprint(p.HostPort)
		}
		out[k] = append(list, map[string]string{"HostIp": ip, "HostPort": port})
	}
	return out
}

// inspectTime is a time as Docker's inspect writes it; the zero time is
// "0001-01-01T00:00:00Z".
func inspectTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

func (a *app) newContainerInspect(c *runtime.Container, img *layers.Image) *containerInspect {
	cfg, st := c.Config, c.State
	dir := a.containerDir(cfg.ID)
	v := &containerInspect{
		ID:      cfg.ID,
		Created: inspectTime(cfg.Created),
		Args:    []string{},
		State: containerInspectState{
			Status:     string(st.Status),
			Running:    st.Status == runtime.Running,
			OOMKilled:  st.OOMKilled,
			Pid:        st.Pid,
			ExitCode:   st.ExitCode,
			Error:      st.Error,
			StartedAt:  inspectTime(st.StartedAt),
			FinishedAt: inspectTime(st.FinishedAt),
		},
		Image:          cfg.ImageID,
		ResolvConfPath: filepath.Join(dir, spec.ResolvConf),
		HostnamePath:   filepath.Join(dir, spec.HostnameF),
		HostsPath:      filepath.Join(dir, spec.HostsFile),
		LogPath:        filepath.Join(dir, spec.LogFile),
		Name:           "/" + cfg.Name,
		Driver:         "strata",
		Platform:       "linux",
		HostConfig: containerHostConfig{
			NetworkMode:    cfg.NetworkMode,
			AutoRemove:     cfg.AutoRemove,
			ReadonlyRootfs: cfg.ReadOnly,
		},
		Mounts: []containerMount{},
		Config: containerConfig{
			Hostname:     cfg.Hostname,
			User:         cfg.Process.User,
			AttachStdout: true,
			AttachStderr: true,
			Tty:          cfg.Process.Tty,
			OpenStdin:    cfg.OpenStdin,
			Env:          containerEnv(c, img),
			Image:        cfg.Image,
			WorkingDir:   cfg.Process.Cwd,
			Labels:       containerLabels(c, img),
			StopSignal:   cfg.StopSignal,
		},
		NetworkSettings: networkSettings(c),
	}
	for _, p := range cfg.ExposedPorts {
		if v.Config.ExposedPorts == nil {
			v.Config.ExposedPorts = map[string]any{}
		}
		v.Config.ExposedPorts[p] = struct{}{}
	}
	v.HostConfig.Ulimits = []inspectUlimit{}
	if r := cfg.Resources; r != nil {
		h := &v.HostConfig
		h.Memory, h.MemorySwap, h.NanoCpus, h.CpuShares = r.Memory, r.MemorySwap, r.NanoCPUs, r.CPUShares
		if r.PidsLimit > 0 {
			h.PidsLimit = &r.PidsLimit
		}
		for _, u := range r.Ulimits {
			h.Ulimits = append(h.Ulimits, inspectUlimit{Name: u.Name, Hard: u.Hard, Soft: u.Soft})
		}
	}
	if args := cfg.Process.Args; len(args) > 0 {
		v.Path, v.Args = args[0], append(v.Args, args[1:]...)
	}
	for _, m := range cfg.Mounts {
		bind := m.Source + ":" + m.Destination
		mode := ""
		if m.ReadOnly {
			bind += ":ro"
			mode = "ro"
		}
		v.HostConfig.Binds = append(v.HostConfig.Binds, bind)
		v.Mounts = append(v.Mounts, containerMount{
			Type: "bind", Source: m.Source, Destination: m.Destination,
			Mode: mode, RW: !m.ReadOnly, Propagation: "rprivate",
		})
	}
	v.Config.Entrypoint, v.Config.Cmd = effectiveCommand(c, img)
	if img != nil && cfg.Process.Cwd == "/" && img.Config.Config.WorkingDir == "" {
		v.Config.WorkingDir = "" // the default, which Docker shows empty
	}
	return v
}

func (a *app) newContainerInspectCommand() *cobra.Command {
	var (
		fmtText string
		sizes   bool
	)
	c := &cobra.Command{
		Use:   "inspect [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Display detailed information on one or more containers",
		Args:  minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			rt, s, err := a.runtime()
			if err != nil {
				return err
			}
			return a.inspect(fmtText, args, func(ref string) (any, error) {
				return a.inspectContainer(c.Context(), rt, s, ref)
			})
		},
	}
	f := c.Flags()
	f.StringVarP(&fmtText, "format", "f", "", inspectFormatHelp)
	f.BoolVarP(&sizes, "size", "s", false, "Display total file sizes")
	return c
}

// inspectContainer is the inspect view of the container ref names.
func (a *app) inspectContainer(ctx context.Context, rt *runtime.Runtime, s *layers.Store, ref string) (any, error) {
	c, err := lookup(ctx, rt, ref)
	if err != nil {
		return nil, err
	}
	var img *layers.Image
	if c.Config.ImageID != "" {
		img, _ = s.ResolveImage(ctx, c.Config.ImageID)
	}
	return a.newContainerInspect(c, img), nil
}
