// Package spec holds the data that the processes of a container share: what
// to run (Config, in config.json), what happened (State, in state.json), and
// how the runtime's binary is told which hidden entry point to run. It
// imports nothing of the project but internal/flock, so the monitor, the
// container's init and the API can all depend on it.
package spec

import (
	"time"
)

// EntryEnv is the environment variable that makes strata-runtime, or the
// strata binary, run one of its hidden entry points (package entry)
// instead of the CLI. It is set only on processes
// the runtime starts itself and never reaches a container's command.
const EntryEnv = "_STRATA_ENTRY"

// The hidden entry points.
const (
	EntryMonitor = "monitor" // the per-container monitor (detached)
	EntryUserns  = "userns"  // rootless: waits for newuidmap, then re-execs as the monitor
	EntryInit    = "init"    // pid 1 of the container: sets up the root, starts commands
)

// Config is what a container runs; it never changes after create except
// for the name.
type Config struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`

	// Image is the reference the user gave, ImageID the image it resolved
	// to. RootfsDir, when set, is a plain directory used as the root
	// instead of an image (tests, and --rootfs style use).
	Image     string `json:"image,omitempty"`
	ImageID   string `json:"imageId,omitempty"`
	RootfsDir string `json:"rootfsDir,omitempty"`

	// Entrypoint and Cmd are as the user and the image gave them; Process
	// is the merged result that is actually run.
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	Process    Process  `json:"process"`

	Hostname    string            `json:"hostname"`
	OpenStdin   bool              `json:"openStdin,omitempty"`
	Mounts      []Mount           `json:"mounts,omitempty"`
	ReadOnly    bool              `json:"readOnly,omitempty"`
	NetworkMode string            `json:"networkMode,omitempty"` // "none" (default) or "host"
	AutoRemove  bool              `json:"autoRemove,omitempty"`
	StopSignal  string            `json:"stopSignal,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Resources   *Resources        `json:"resources,omitempty"`
	// Networks are the bridge networks the container joins at start
	// (NetworkMode "bridge" or a user network's name), resolved at
	// create; empty for "none" and "host".
	Networks []NetworkConfig `json:"networks,omitempty"`
	// Ports are the published ports (-p, -P).
	Ports []PortBinding `json:"ports,omitempty"`
	// ExposedPorts are the image's EXPOSE and --expose, "80/tcp".
	ExposedPorts []string `json:"exposedPorts,omitempty"`
}

// NetworkConfig is one network a container joins: its name and the
// bridge and subnet it was made with (package network).
type NetworkConfig struct {
	Name    string   `json:"name"`
	ID      string   `json:"id"`
	Bridge  string   `json:"bridge"`
	Subnet  string   `json:"subnet"`
	Aliases []string `json:"aliases,omitempty"`
}

// PortBinding publishes a container port on the host: HostPort 0 is a
// free port chosen at start; the one chosen is in the state's endpoint.
type PortBinding struct {
	HostIP        string `json:"hostIp,omitempty"`
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Proto         string `json:"proto"` // tcp or udp
}

// Endpoint is a running container's attachment to one network.
type Endpoint struct {
	Network     string        `json:"network"`
	NetworkID   string        `json:"networkId"`
	Bridge      string        `json:"bridge"`
	IPAddress   string        `json:"ipAddress"`
	IPPrefixLen int           `json:"ipPrefixLen"`
	Gateway     string        `json:"gateway"`
	MacAddress  string        `json:"macAddress"`
	HostVeth    string        `json:"hostVeth"`
	Iface       string        `json:"iface,omitempty"` // inside: eth0, eth1, …
	Aliases     []string      `json:"aliases,omitempty"`
	Ports       []PortBinding `json:"ports,omitempty"` // as bound: host ports chosen
}

// Resources are a container's limits, as Docker's HostConfig has them.
// Zero means unset (no limit) everywhere; MemorySwap -1 is unlimited swap.
// Everything but Ulimits is enforced through a cgroup (package
// runtime/cgroups); Ulimits are rlimits that init sets on itself before
// forking commands.
type Resources struct {
	Memory     int64    `json:"memory,omitempty"`     // bytes
	MemorySwap int64    `json:"memorySwap,omitempty"` // bytes, memory plus swap; -1 unlimited
	NanoCPUs   int64    `json:"nanoCpus,omitempty"`   // CPUs × 1e9 (--cpus)
	CPUShares  int64    `json:"cpuShares,omitempty"`  // relative weight, 1024 = default
	PidsLimit  int64    `json:"pidsLimit,omitempty"`  // tasks; 0 unset
	Ulimits    []Ulimit `json:"ulimits,omitempty"`
}

// NeedsCgroup reports whether r asks for anything a cgroup enforces.
func (r *Resources) NeedsCgroup() bool {
	return r != nil && (r.Memory != 0 || r.MemorySwap != 0 || r.NanoCPUs != 0 || r.CPUShares != 0 || r.PidsLimit != 0)
}

// Ulimit is one --ulimit: an rlimit by Docker's name (nofile, nproc, …).
type Ulimit struct {
	Name string `json:"name"`
	Soft int64  `json:"soft"`
	Hard int64  `json:"hard"`
}

// Process is one command to run inside a container: the container's main
// process or an exec'd one.
type Process struct {
	Args []string `json:"args"`
	Env  []string `json:"env"`
	Cwd  string   `json:"cwd"`
	// User is as docker takes it: name, uid, name:group or uid:gid,
	// resolved inside the container's /etc/passwd and /etc/group.
	User string `json:"user,omitempty"`
	Tty  bool   `json:"tty,omitempty"`
}

// Mount is a bind mount of a host path into the container (-v).
type Mount struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	ReadOnly    bool   `json:"readOnly,omitempty"`
}

// Status is a container's life stage.
type Status string

const (
	Created Status = "created"
	Running Status = "running"
	Exited  Status = "exited"
)

// State is what happened to a container. The runtime writes it at create
// and start, the monitor when the container exits.
type State struct {
	Status     Status    `json:"status"`
	Pid        int       `json:"pid,omitempty"`        // host pid of the container's init
	MonitorPid int       `json:"monitorPid,omitempty"` // host pid of the monitor
	ExitCode   int       `json:"exitCode"`
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	OOMKilled  bool      `json:"oomKilled,omitempty"`
	// Endpoints are the running container's network attachments,
	// written at start and cleared at exit.
	Endpoints []Endpoint `json:"endpoints,omitempty"`
}
