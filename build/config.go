package build

// This file holds the metadata instructions (CMD, ENV, …) as changes to an
// image config: `strata import --change` and `strata commit --change` apply
// them alone, and the builder applies them step by step.

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrInvalidChange is wrapped by every error of ApplyChanges.
var ErrInvalidChange = errors.New("invalid change")

// changeError reports a bad --change with Docker's text ("run is not a
// valid change command"), which scripts match, and is ErrInvalidChange.
type changeError struct {
	change string
	err    error
}

func (e *changeError) Error() string { return e.err.Error() }

func (e *changeError) Unwrap() []error { return []error{ErrInvalidChange, e.err} }

// defaultShell is what shell-form CMD and ENTRYPOINT run under.
var defaultShell = []string{"/bin/sh", "-c"}

// ApplyChanges applies Dockerfile instructions, one per string (the
// values of docker import/commit --change), to cfg. Only the instructions
// Docker accepts there are allowed: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
// ONBUILD, STOPSIGNAL, USER, VOLUME and WORKDIR.
func ApplyChanges(cfg *ocispec.ImageConfig, changes []string) error {
	for _, ch := range changes {
		if err := applyChange(cfg, ch); err != nil {
			return &changeError{change: ch, err: err}
		}
	}
	return nil
}

func applyChange(cfg *ocispec.ImageConfig, change string) error {
	res, err := parser.Parse(strings.NewReader(change + "\n"))
	if err != nil {
		return err
	}
	if len(res.AST.Children) == 0 {
		return errors.New("invalid change: empty instruction")
	}
	if len(res.AST.Children) > 1 {
		return fmt.Errorf("invalid change: %d instructions in one --change", len(res.AST.Children))
	}
	node := res.AST.Children[0]
	cmd, err := instructions.ParseCommand(node)
	if err != nil {
		return err
	}
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
		lex := shell.NewLex('\\')
		env := shell.EnvsFromSlice(cfg.Env)
		if err := ex.Expand(func(w string) (string, error) {
			out, _, err := lex.ProcessWord(w, env)
			return out, err
		}); err != nil {
			return err
		}
	}
	return Apply(cfg, cmd)
}

// Apply applies one parsed metadata instruction to cfg. Instructions that
// change the filesystem, or do not belong in a config, are errors.
func Apply(cfg *ocispec.ImageConfig, cmd instructions.Command) error {
	switch c := cmd.(type) {
	case *instructions.CmdCommand:
		cfg.Cmd = cmdLine(c.ShellDependantCmdLine)
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = cmdLine(c.ShellDependantCmdLine)
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
		}
	case *instructions.ExposeCommand:
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range c.Ports {
			port, err := exposedPort(p)
			if err != nil {
				return err
			}
			cfg.ExposedPorts[port] = struct{}{}
		}
	case *instructions.LabelCommand:
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range c.Labels {
			cfg.Labels[kv.Key] = kv.Value
		}
	case *instructions.UserCommand:
		cfg.User = c.User
	case *instructions.WorkdirCommand:
		wd := c.Path
		if !path.IsAbs(wd) {
			base := cfg.WorkingDir
			if base == "" {
				base = "/"
			}
			wd = path.Join(base, wd)
		}
		cfg.WorkingDir = path.Clean(wd)
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			if v == "" {
				return errors.New("VOLUME specified can not be an empty string")
			}
			cfg.Volumes[v] = struct{}{}
		}
	case *instructions.StopSignalCommand:
		cfg.StopSignal = c.Signal
	case *instructions.OnbuildCommand:
		// OCI configs have no ONBUILD field; it is kept as a label the
		// builder reads back, the way Docker keeps it beside the config.
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		n := 0
		for k := range cfg.Labels {
			if strings.HasPrefix(k, OnbuildLabel) {
				n++
			}
		}
		cfg.Labels[fmt.Sprintf("%s.%d", OnbuildLabel, n)] = c.Expression
	default:
		return fmt.Errorf("%s is not a valid change command", strings.ToLower(cmd.Name()))
	}
	return nil
}

// OnbuildLabel prefixes the labels that carry ONBUILD triggers.
const OnbuildLabel = "dev.strata.onbuild"

func cmdLine(c instructions.ShellDependantCmdLine) []string {
	if c.PrependShell {
		return append(append([]string{}, defaultShell...), strings.Join(c.CmdLine, " "))
	}
	return append([]string{}, c.CmdLine...)
}

// exposedPort checks an EXPOSE argument (80, 80/udp, 8000-8010/tcp) and
// returns it with its protocol.
func exposedPort(p string) (string, error) {
	ports, proto, ok := strings.Cut(p, "/")
	if !ok {
		proto = "tcp"
	}
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return "", fmt.Errorf("invalid proto: %s", proto)
	}
	lo, hi, isRange := strings.Cut(ports, "-")
	for _, n := range []string{lo, hi} {
		if !isRange && n == hi {
			continue
		}
		v, err := strconv.Atoi(n)
		if err != nil || v < 1 || v > 65535 {
			return "", fmt.Errorf("invalid containerPort: %s", ports)
		}
	}
	return ports + "/" + proto, nil
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if name, _, _ := strings.Cut(e, "="); name == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}
