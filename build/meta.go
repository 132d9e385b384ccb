package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// dispatch runs one instruction of a stage.
func (b *builder) dispatch(ctx context.Context, st *stage, cmd instructions.Command) error {
	if a, ok := cmd.(*instructions.ArgCommand); ok {
		return b.arg(ctx, st, a)
	}
	lex := b.lex()
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
		env := b.env(st)
		err := ex.Expand(func(w string) (string, error) {
			out, _, err := lex.ProcessWord(w, env)
			return out, err
		})
		if err != nil {
			return err
		}
	}
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansionRaw); ok {
		raw := b.lex()
		raw.SkipProcessQuotes = true
		env := b.env(st)
		err := ex.ExpandRaw(func(w string) (string, error) {
			out, _, err := raw.ProcessWord(w, env)
			return out, err
		})
		if err != nil {
			return err
		}
	}
	switch c := cmd.(type) {
	case *instructions.RunCommand:
		return b.run(ctx, st, c)
	case *instructions.CopyCommand:
		return b.copy(ctx, st, c.SourcesAndDest, c.From, c.Chown, c.Chmod, false, c.Link, c.Parents, c.ExcludePatterns)
	case *instructions.AddCommand:
		if c.Checksum != "" || c.KeepGitDir != nil || c.Unpack != nil {
			return errors.New("ADD --checksum, --keep-git-dir and --unpack are not supported")
		}
		return b.copy(ctx, st, c.SourcesAndDest, "", c.Chown, c.Chmod, true, c.Link, false, c.ExcludePatterns)
	case *instructions.ShellCommand:
		data, err := json.Marshal(c.Shell)
		if err != nil {
			return err
		}
		err = b.meta(ctx, st, c, "SHELL "+jsonArray(c.Shell), func(cfg *ocispec.ImageConfig) error {
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			cfg.Labels[ShellLabel] = string(data)
			return nil
		})
		st.shell = append([]string{}, c.Shell...)
		return err
	case *instructions.CmdCommand:
		args := b.withShell(st, c.ShellDependantCmdLine)
		st.cmdSet = true
		return b.meta(ctx, st, c, "CMD "+jsonArray(args), func(cfg *ocispec.ImageConfig) error {
			cfg.Cmd = args
			return nil
		})
	case *instructions.EntrypointCommand:
		args := b.withShell(st, c.ShellDependantCmdLine)
		return b.meta(ctx, st, c, "ENTRYPOINT "+jsonArray(args), func(cfg *ocispec.ImageConfig) error {
			cfg.Entrypoint = args
			if !st.cmdSet {
				cfg.Cmd = nil // a new ENTRYPOINT drops the base's CMD
			}
			return nil
		})
	case *instructions.HealthCheckCommand:
		data, err := json.Marshal(c.Health)
		if err != nil {
			return err
		}
		return b.meta(ctx, st, c, "HEALTHCHECK "+string(data), func(cfg *ocispec.ImageConfig) error {
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			cfg.Labels[HealthcheckLabel] = string(data)
			return nil
		})
	case *instructions.MaintainerCommand:
		b.warn = append(b.warn, "MAINTAINER is deprecated: use a LABEL instead")
		return b.meta(ctx, st, c, "MAINTAINER "+c.Maintainer, func(*ocispec.ImageConfig) error {
			st.cfg.Author = c.Maintainer
			return nil
		})
	case *instructions.OnbuildCommand:
		switch strings.ToUpper(strings.Fields(c.Expression + " x")[0]) {
		case "ONBUILD", "FROM", "MAINTAINER":
			return fmt.Errorf("%s isn't allowed as an ONBUILD trigger", strings.Fields(c.Expression)[0])
		}
		return b.meta(ctx, st, c, "ONBUILD "+c.Expression, func(cfg *ocispec.ImageConfig) error {
			return Apply(cfg, c)
		})
	case *instructions.EnvCommand, *instructions.ExposeCommand, *instructions.LabelCommand,
		*instructions.UserCommand, *instructions.WorkdirCommand, *instructions.VolumeCommand,
		*instructions.StopSignalCommand:
		return b.meta(ctx, st, c, describe(c), func(cfg *ocispec.ImageConfig) error {
			return Apply(cfg, c)
		})
	default:
		return fmt.Errorf("%s is not supported", strings.ToUpper(cmd.Name()))
	}
}

// ShellLabel records SHELL (a JSON array), so that images built FROM the
// result run their RUNs with it too, as Docker's config Shell does.
const ShellLabel = "dev.strata.shell"

// HealthcheckLabel records HEALTHCHECK (as JSON of Docker's
// HealthcheckConfig): OCI image configs have no field for it.
const HealthcheckLabel = "dev.strata.healthcheck"

// withShell turns a shell-form command line into the exec form the
// config records, with the stage's SHELL.
func (b *builder) withShell(st *stage, c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return append([]string{}, c.CmdLine...)
	}
	return append(append([]string{}, st.shell...), strings.Join(c.CmdLine, " "))
}

func jsonArray(a []string) string {
	q := make([]string, len(a))
	for i, s := range a {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, " ") + "]"
}

// describe is an expanded metadata instruction as history records it.
func describe(cmd instructions.Command) string {
	switch c := cmd.(type) {
	case *instructions.EnvCommand:
		return "ENV " + kvs(c.Env)
	case *instructions.LabelCommand:
		return "LABEL " + kvs(c.Labels)
	case *instructions.ExposeCommand:
		return "EXPOSE " + strings.Join(c.Ports, " ")
	case *instructions.UserCommand:
		return "USER " + c.User
	case *instructions.WorkdirCommand:
		return "WORKDIR " + c.Path
	case *instructions.VolumeCommand:
		return "VOLUME " + jsonArray(c.Volumes)
	case *instructions.StopSignalCommand:
		return "STOPSIGNAL " + c.Signal
	}
	return strings.ToUpper(cmd.Name())
}

func kvs(p instructions.KeyValuePairs) string {
	var out []string
	for _, kv := range p {
		out = append(out, kv.Key+"="+kv.Value)
	}
	return strings.Join(out, " ")
}

// meta runs a metadata instruction: a new config, an empty_layer history
// entry, no layer.
func (b *builder) meta(ctx context.Context, st *stage, cmd instructions.Command, text string, apply func(*ocispec.ImageConfig) error) error {
	key := b.key(st, cmd, text)
	if b.cached(st, key) {
		return nil
	}
	if err := apply(&st.cfg.Config); err != nil {
		return err
	}
	return b.commit(ctx, st, nil, "/bin/sh -c #(nop)  "+text, key)
}

// addLabels applies --label to the result, as one more metadata step.
func (b *builder) addLabels(ctx context.Context, st *stage) error {
	var kv instructions.KeyValuePairs
	for _, k := range sortedKeys(b.opts.Labels) {
		kv = append(kv, instructions.KeyValuePair{Key: k, Value: b.opts.Labels[k]})
	}
	c := &instructions.LabelCommand{Labels: kv}
	return b.meta(ctx, st, c, describe(c), func(cfg *ocispec.ImageConfig) error {
		return Apply(cfg, c)
	})
}
