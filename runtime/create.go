package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/strata-engine/strata/network"
	"github.com/strata-engine/strata/runtime/phase"
	"github.com/strata-engine/strata/runtime/spec"
)

// CreateOptions describe a container, as `docker create` takes them.
type CreateOptions struct {
	// Image names the image (reference, id or unique id prefix).
	// RootfsDir instead uses a plain directory as the root, in place.
	Image     string
	RootfsDir string

	Name string
	// Entrypoint, when not nil, replaces the image's (and then the
	// image's Cmd is dropped, as with --entrypoint). Cmd, when not nil,
	// replaces the image's Cmd.
	Entrypoint []string
	Cmd        []string
	Env        []string // KEY=VALUE, over the image's
	Tty        bool
	OpenStdin  bool
	WorkingDir string
	User       string
	Hostname   string
	Mounts     []Mount
	ReadOnly   bool
	// NetworkMode is "none" (the default: a private network namespace
	// with only loopback), "host", "bridge" (the default network, as
	// root) or the name of a user-defined network (package network).
	NetworkMode string
	AutoRemove  bool
	Labels      map[string]string
	// Resources are the limits (--memory, --cpus, --ulimit, …); nil for
	// none. Limits enforced by a cgroup need one this process can make
	// (cgroups.Available): without, Create refuses them rather than run
	// the container unlimited.
	Resources *spec.Resources
	// Ports are published (-p); PublishAll also publishes every exposed
	// port (the image's EXPOSE and Expose) on a free host port (-P).
	Ports      []spec.PortBinding
	PublishAll bool
	Expose     []string // "80/tcp"
}

// imageConfig is what a container inherits from its image.
type imageConfig struct {
	id                  string
	entrypoint, cmd     []string
	env                 []string
	workingDir, user    string
	stopSignal, imgName string
	exposed             []string
}

func (r *Runtime) imageConfig(ctx context.Context, ref string) (*imageConfig, error) {
	if r.store == nil {
		return nil, errors.New("no image store")
	}
	img, err := r.store.ResolveImage(ctx, ref)
	if err != nil {
		return nil, err
	}
	c := img.Config.Config
	ic := &imageConfig{
		id: img.ID.String(), entrypoint: c.Entrypoint, cmd: c.Cmd, env: c.Env,
		workingDir: c.WorkingDir, user: c.User, stopSignal: c.StopSignal, imgName: ref,
	}
	for p := range c.ExposedPorts {
		ic.exposed = append(ic.exposed, p)
	}
	return ic, nil
}

// Create records a new container; it does not start it.
func (r *Runtime) Create(ctx context.Context, opts CreateOptions) (*Container, error) {
	img := &imageConfig{}
	switch {
	case opts.Image != "" && opts.RootfsDir != "":
		return nil, errors.New("create: both an image and a root directory given")
	case opts.Image != "":
		var err error
		if img, err = r.imageConfig(ctx, opts.Image); err != nil {
			return nil, err
		}
		phase.Mark("create: image resolved")
	case opts.RootfsDir != "":
		if !filepath.IsAbs(opts.RootfsDir) {
			return nil, fmt.Errorf("create: root directory %q is not absolute", opts.RootfsDir)
		}
	default:
		return nil, errors.New("create: no image given")
	}
	if opts.NetworkMode == "" {
		opts.NetworkMode = "none"
	}
	var networks []spec.NetworkConfig
	if opts.NetworkMode == network.Slirp4netns {
		if err := network.SlirpAvailable(); err != nil {
			return nil, fmt.Errorf("%w: network slirp4netns: %w", ErrNetwork, err)
		}
	} else if opts.NetworkMode != "none" && opts.NetworkMode != "host" {
		n, err := r.lookupNetwork(opts.NetworkMode)
		if err != nil {
			return nil, err
		}
		networks = []spec.NetworkConfig{n}
	}
	exposed, ports, err := publishedPorts(img.exposed, opts)
	if err != nil {
		return nil, err
	}
	if len(ports) > 0 && len(networks) == 0 {
		if opts.NetworkMode == "none" {
			return nil, fmt.Errorf("create: published ports need a network: --network none has none")
		}
		if opts.NetworkMode == "host" {
			ports = nil // Docker discards them
		}
	}
	for _, m := range opts.Mounts {
		if !filepath.IsAbs(m.Source) || !strings.HasPrefix(m.Destination, "/") {
			return nil, fmt.Errorf("create: invalid mount %s:%s: paths must be absolute", m.Source, m.Destination)
		}
	}
	if opts.Name != "" && !validName.MatchString(opts.Name) {
		return nil, fmt.Errorf("create: invalid container name %q, only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", opts.Name)
	}
	if err := checkResources(opts.Resources); err != nil {
		return nil, err
	}

	id, err := newID()
	if err != nil {
		return nil, err
	}
	args := img.cmd
	entry := img.entrypoint
	if opts.Entrypoint != nil {
		entry, args = opts.Entrypoint, nil
	}
	if opts.Cmd != nil {
		args = opts.Cmd
	}
	hostname := opts.Hostname
	if hostname == "" {
		hostname = id[:12]
		if opts.NetworkMode == "host" {
			hostname, _ = os.Hostname()
		}
	}
	cfg := spec.Config{
		ID: id, Created: time.Now().UTC(),
		Image: opts.Image, ImageID: img.id, RootfsDir: opts.RootfsDir,
		Entrypoint: opts.Entrypoint, Cmd: opts.Cmd,
		Process: spec.Process{
			Args: append(append([]string(nil), entry...), args...),
			Env:  containerEnv(img.env, opts.Env, hostname, opts.Tty),
			Cwd:  firstOf(opts.WorkingDir, img.workingDir, "/"),
			User: firstOf(opts.User, img.user),
			Tty:  opts.Tty,
		},
		Hostname: hostname, OpenStdin: opts.OpenStdin, Mounts: opts.Mounts,
		ReadOnly: opts.ReadOnly, NetworkMode: opts.NetworkMode, AutoRemove: opts.AutoRemove,
		StopSignal: img.stopSignal, Labels: opts.Labels, Resources: opts.Resources,
		Networks: networks, Ports: ports, ExposedPorts: exposed,
	}
	if len(cfg.Process.Args) == 0 {
		return nil, errors.New("create: no command specified")
	}

	unlock, err := r.storeLock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	taken, err := r.names()
	if err != nil {
		return nil, err
	}
	phase.Mark("create: names listed (%d)", len(taken))
	if opts.Name != "" {
		if other, ok := taken[opts.Name]; ok {
			return nil, fmt.Errorf("%w: the container name %q is already in use by container %q", ErrNameInUse, "/"+opts.Name, other)
		}
		cfg.Name = opts.Name
	} else {
		used := make(map[string]bool, len(taken))
		for n := range taken {
			used[n] = true
		}
		cfg.Name = generateName(used)
	}
	c := &Container{Config: cfg, State: spec.State{Status: spec.Created}}
	// The image is held before the record exists (config.json), so
	// that no crash leaves a container whose image may be pruned.
	var hold func() error
	if cfg.ImageID != "" {
		hold = func() error { return r.store.Hold(id, img.digest()) }
	}
	if err := r.writeNew(c, hold); err != nil {
		os.RemoveAll(r.dir(id))
		if hold != nil {
			r.store.Release(id)
		}
		return nil, err
	}
	phase.Mark("create: recorded")
	return c, nil
}

// writeNew lays out a new container directory, running alongside (when
// not nil) while it writes. config.json comes last: a directory without it
// is not a container (a crash mid-create). The other files (and
// alongside) are written concurrently, so that their fsyncs share journal
// commits instead of waiting for one each; a --rm container's skip the
// fsync (nobody needs them after a crash; load copes with a lost
// state.json), but its config.json is durable like any other.
func (r *Runtime) writeNew(c *Container, alongside func() error) error {
	dir := r.dir(c.Config.ID)
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return err
	}
	if c.Config.RootfsDir == "" {
		for _, d := range []string{spec.RootfsDir, spec.UpperDir, spec.WorkDir} {
			if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
				return err
			}
		}
	}
	hosts, resolv := etcFiles(c.Config.NetworkMode == "host", len(c.Config.Networks) > 0)
	if c.Config.NetworkMode == network.Slirp4netns {
		// slirp4netns's DNS forwarder.
		resolv = []byte("nameserver " + network.SlirpDNS + "\n")
	}
	state, err := json.MarshalIndent(&c.State, "", "  ")
	if err != nil {
		return err
	}
	write := spec.WriteFile
	if c.Config.AutoRemove {
		write = spec.WriteFileTransient
	}
	files := []struct {
		name string
		data []byte
	}{
		{spec.HostsFile, hosts}, {spec.ResolvConf, resolv},
		{spec.HostnameF, []byte(c.Config.Hostname + "\n")}, {spec.StateFile, append(state, '\n')},
	}
	errs := make([]error, len(files)+1)
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Go(func() { errs[i] = write(filepath.Join(dir, f.name), f.data, 0o644) })
	}
	if alongside != nil {
		wg.Go(func() { errs[len(files)] = alongside() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return spec.WriteJSON(filepath.Join(dir, spec.ConfigFile), &c.Config)
}

// etcFiles returns /etc/hosts and /etc/resolv.conf for a container. With
// the host's network it sees the host's files; without a network, only
// loopback names, and the host's resolv.conf minus loopback servers, as
// Docker writes them (a resolver on the host's 127.0.0.1 is unreachable).
func etcFiles(hostNet, bridged bool) (hosts, resolv []byte) {
	hostResolv, _ := os.ReadFile("/etc/resolv.conf")
	if hostNet {
		hosts, _ = os.ReadFile("/etc/hosts")
		return hosts, hostResolv
	}
	hosts = []byte("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(string(hostResolv), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" && (strings.HasPrefix(f[1], "127.") || f[1] == "::1") {
			continue
		}
		out.WriteString(line)
	}
	if bridged && !bytes.Contains(out.Bytes(), []byte("nameserver")) {
		// Docker's fallback when the host has only local resolvers.
		out.WriteString("nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
	}
	return hosts, out.Bytes()
}

// containerEnv merges the image's environment with the user's (the user
// wins, key by key) and adds what Docker adds: PATH when missing,
// HOSTNAME, and TERM=xterm with a terminal.
func containerEnv(image, user []string, hostname string, tty bool) []string {
	defaults := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=" + hostname}
	if tty {
		defaults = append(defaults, "TERM=xterm")
	}
	return mergeEnv(defaults, image, user)
}

// mergeEnv merges KEY=VALUE lists; a later list's value wins and keeps
// the key's first position.
func mergeEnv(lists ...[]string) []string {
	var keys []string
	vals := map[string]string{}
	for _, l := range lists {
		for _, kv := range l {
			k, _, _ := strings.Cut(kv, "=")
			if _, ok := vals[k]; !ok {
				keys = append(keys, k)
			}
			vals[k] = kv
		}
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = vals[k]
	}
	return out
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func (c *imageConfig) digest() digest.Digest { return digest.Digest(c.id) }
