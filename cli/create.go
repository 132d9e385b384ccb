package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/strata-engine/strata/network"
	"github.com/strata-engine/strata/runtime"
)

// Docker's rule for container names.
const validNameChars = `[a-zA-Z0-9][a-zA-Z0-9_.-]`

var validName = regexp.MustCompile(`^` + validNameChars + `+$`)

// containerOptions are the flags run and create share: what the container
// is, as Docker's "docker create" takes it.
type containerOptions struct {
	name        string
	interactive bool
	tty         bool
	env         []string
	envFiles    []string
	labels      []string
	workdir     string
	user        string
	hostname    string
	volumes     []string
	entrypoint  string
	readOnly    bool
	network     string
	autoRemove  bool
	pull        string
	resources   resourceOptions
	publish     []string
	publishAll  bool
	expose      []string
	warnings    []string // for the user, once the options are read
}

// addContainerFlags defines the shared flags on f. -h is the host name
// here, as in Docker, so help is --help alone.
func addContainerFlags(f *pflag.FlagSet, o *containerOptions) {
	f.SetInterspersed(false)
	f.Bool("help", false, "Print usage")
	f.StringVar(&o.name, "name", "", "Assign a name to the container")
	f.BoolVarP(&o.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	f.BoolVarP(&o.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	f.StringArrayVarP(&o.env, "env", "e", nil, "Set environment variables")
	f.StringArrayVar(&o.envFiles, "env-file", nil, "Read in a file of environment variables")
	f.StringArrayVarP(&o.labels, "label", "l", nil, "Set meta data on a container")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringVarP(&o.user, "user", "u", "", `Username or UID (format: "<name|uid>[:<group|gid>]")`)
	f.StringVarP(&o.hostname, "hostname", "h", "", "Container host name")
	f.StringArrayVarP(&o.volumes, "volume", "v", nil, "Bind mount a host directory (HOST:CONTAINER[:ro])")
	f.StringVar(&o.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	f.BoolVar(&o.readOnly, "read-only", false, "Mount the container's root filesystem as read only")
	f.StringVar(&o.network, "network", "default", `Connect a container to a network ("bridge" as root, "slirp4netns" otherwise, "none", "host" or a network's name)`)
	f.BoolVar(&o.autoRemove, "rm", false, "Automatically remove the container when it exits")
	f.StringVar(&o.pull, "pull", pullMissing, `Pull image before creating ("always", "missing", "never")`)
	addResourceFlags(f, &o.resources)
	f.VarP(&typedList{&o.publish, "list"}, "publish", "p", "Publish a container's port(s) to the host")
	f.BoolVarP(&o.publishAll, "publish-all", "P", false, "Publish all exposed ports to random ports")
	f.Var(&typedList{&o.expose, "list"}, "expose", "Expose a port or a range of ports")
}

// createOptions turns the flags and the IMAGE [COMMAND] [ARG...] arguments
// into the runtime's options. Every mistake is found here, before anything
// is created.
func (o *containerOptions) createOptions(f *pflag.FlagSet, args []string, getenv func(string) (string, bool)) (runtime.CreateOptions, error) {
	co := runtime.CreateOptions{
		Image:      args[0],
		Name:       o.name,
		Tty:        o.tty,
		OpenStdin:  o.interactive,
		WorkingDir: o.workdir,
		User:       o.user,
		Hostname:   o.hostname,
		ReadOnly:   o.readOnly,
		AutoRemove: o.autoRemove,
	}
	if len(args) > 1 {
		co.Cmd = args[1:]
	}
	if o.entrypoint != "" {
		co.Entrypoint = []string{o.entrypoint}
	} else if f.Changed("entrypoint") {
		// --entrypoint= resets the image's: the command alone runs.
		co.Entrypoint = []string{}
	}
	if o.name != "" && !validName.MatchString(strings.TrimPrefix(o.name, "/")) {
		return co, fmt.Errorf("Invalid container name (%s), only %s are allowed", o.name, validNameChars)
	}
	co.Name = strings.TrimPrefix(o.name, "/")
	if err := checkPullPolicy(o.pull); err != nil {
		return co, err
	}
	if o.workdir != "" && !strings.HasPrefix(o.workdir, "/") {
		return co, fmt.Errorf("the working directory '%s' is invalid, it needs to be an absolute path", o.workdir)
	}
	switch o.network {
	case "default", "":
		// Docker's default network as root; an unprivileged user
		// can make no bridge: slirp4netns where it can run, else
		// loopback only, said once per container.
		co.NetworkMode = "bridge"
		if os.Geteuid() != 0 {
			co.NetworkMode = network.Slirp4netns
			if err := network.SlirpAvailable(); err != nil {
				co.NetworkMode = "none"
				o.warnings = append(o.warnings, fmt.Sprintf("WARNING: %v: the container has no network but loopback (--network none)", err))
			}
		}
	default:
		// none, host, bridge or a user-defined network: the
		// runtime resolves it.
		co.NetworkMode = o.network
	}

	for _, p := range o.publish {
		b, err := parsePublish(p)
		if err != nil {
			return co, err
		}
		co.Ports = append(co.Ports, b)
	}
	co.PublishAll, co.Expose = o.publishAll, o.expose
	res, err := o.resources.resources()
	if err != nil {
		return co, err
	}
	co.Resources = res

	env, err := environment(o.env, o.envFiles, getenv)
	if err != nil {
		return co, err
	}
	co.Env = env
	for _, l := range o.labels {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return co, fmt.Errorf("invalid label '%s': empty name", l)
		}
		if co.Labels == nil {
			co.Labels = map[string]string{}
		}
		co.Labels[k] = v
	}
	for _, v := range o.volumes {
		m, err := parseVolume(v)
		if err != nil {
			return co, err
		}
		co.Mounts = append(co.Mounts, m)
	}
	return co, nil
}

// parseVolume reads -v HOST:CONTAINER[:ro|rw]. Strata has no named or
// anonymous volumes, so the host part must be a path; a relative one
// ("./data") is taken from the working directory, as Docker's CLI does.
func parseVolume(spec string) (runtime.Mount, error) {
	parts := strings.Split(spec, ":")
	var m runtime.Mount
	switch len(parts) {
	case 2, 3:
		m.Source, m.Destination = parts[0], parts[1]
	default:
		return m, fmt.Errorf("invalid volume specification: '%s': strata supports only bind mounts (HOST:CONTAINER[:ro])", spec)
	}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			m.ReadOnly = true
		case "rw":
		default:
			return m, fmt.Errorf("invalid mode: %s", parts[2])
		}
	}
	if m.Source == "" || m.Destination == "" {
		return m, fmt.Errorf("invalid volume specification: '%s'", spec)
	}
	if !strings.HasPrefix(m.Source, "/") {
		if !strings.HasPrefix(m.Source, ".") {
			return m, fmt.Errorf("invalid volume specification: '%s': named volumes are not supported, give a host path", spec)
		}
		abs, err := filepath.Abs(m.Source)
		if err != nil {
			return m, err
		}
		m.Source = abs
	}
	if !strings.HasPrefix(m.Destination, "/") {
		return m, fmt.Errorf("invalid mount config for type \"bind\": invalid mount path: '%s' mount path must be absolute", m.Destination)
	}
	m.Source = filepath.Clean(m.Source)
	m.Destination = filepath.Clean(m.Destination)
	return m, nil
}

// environment reads the -e and --env-file flags of run, create and exec
// into KEY=VALUE pairs, the files' first.
func environment(vars, files []string, getenv func(string) (string, bool)) ([]string, error) {
	var env []string
	for _, path := range files {
		kv, err := readEnvFile(path, getenv)
		if err != nil {
			return nil, err
		}
		env = append(env, kv...)
	}
	for _, e := range vars {
		k, _, hasValue := strings.Cut(e, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid environment variable: %s", e)
		}
		if !hasValue {
			// "-e NAME" passes the caller's value, if it has one.
			v, ok := getenv(k)
			if !ok {
				continue
			}
			e = k + "=" + v
		}
		env = append(env, e)
	}
	return env, nil
}

// readEnvFile reads an --env-file as Docker does: KEY=VALUE lines, blank
// lines and "#" comments skipped, a KEY alone taking the caller's value
// if it has one.
func readEnvFile(path string, getenv func(string) (string, bool)) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimLeftFunc(sc.Text(), unicode.IsSpace)
		if line == "" || line[0] == '#' {
			continue
		}
		k, _, hasValue := strings.Cut(line, "=")
		switch {
		case k == "":
			return nil, fmt.Errorf("invalid env file (%s): no variable name on line '%s'", path, line)
		case strings.ContainsAny(k, " \t"):
			return nil, fmt.Errorf("invalid env file (%s): variable '%s' contains whitespaces", path, k)
		case hasValue:
			out = append(out, line)
		default:
			if v, ok := getenv(k); ok {
				out = append(out, k+"="+v)
			}
		}
	}
	return out, sc.Err()
}

func (a *app) newCreateCommand() *cobra.Command {
	var o containerOptions
	c := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container",
		Args:  minArgs(1),
		Annotations: map[string]string{
			annotAliases: "strata container create, strata create",
		},
		RunE: func(c *cobra.Command, args []string) error {
			co, err := o.createOptions(c.Flags(), args, a.lookupEnv)
			if err != nil {
				return runError("create", exitEngine, err)
			}
			for _, w := range o.warnings {
				fmt.Fprintln(a.err, w)
			}
			rt, _, err := a.runtime()
			if err != nil {
				return runError("create", exitEngine, err)
			}
			if err := a.ensureImage(c.Context(), o.pull, co.Image); err != nil {
				return runError("create", exitEngine, err)
			}
			ctr, err := a.create(c.Context(), rt, co, "create")
			if err != nil {
				return err
			}
			fmt.Fprintln(a.out, ctr.ID())
			return nil
		},
	}
	addContainerFlags(c.Flags(), &o)
	return c
}

// lookupEnv looks a variable up in the app's environment. getenv cannot
// tell an empty variable from an unset one; both count as unset.
func (a *app) lookupEnv(k string) (string, bool) {
	v := a.getenv(k)
	return v, v != ""
}

// create makes the container, reporting failures as Docker's run and
// create do (status 125).
func (a *app) create(ctx context.Context, rt *runtime.Runtime, co runtime.CreateOptions, cmd string) (*runtime.Container, error) {
	ctr, err := rt.Create(ctx, co)
	switch {
	case err == nil:
		return ctr, nil
	case errors.Is(err, runtime.ErrNameInUse):
		id := "?"
		if other, ierr := rt.Inspect(ctx, co.Name); ierr == nil {
			id = other.ID()
		}
		err = fmt.Errorf("Conflict. The container name %q is already in use by container %q. You have to remove (or rename) that container to be able to reuse that name.", "/"+co.Name, id)
	}
	return nil, runError(cmd, exitEngine, err)
}

// runError reports a failure of run or create the way Docker does: the
// program's name, the error, and a pointer to the command's help, with
// the given status.
func runError(cmd string, code int, err error) error {
	var se *runtime.StartError
	if errors.As(err, &se) {
		code = se.Code
	}
	return &exitError{code: code, err: &usageError{fmt.Sprintf("strata: %s\n\nRun 'strata %s --help' for more information", err, cmd)}}
}
