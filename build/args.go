package build

import (
	"context"
	goruntime "runtime"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// argSet is the ARGs in scope, in the order they were declared.
type argSet struct {
	keys []string
	vals map[string]string
}

func newArgSet() *argSet { return &argSet{vals: map[string]string{}} }

func (a *argSet) set(k, v string) {
	if _, ok := a.vals[k]; !ok {
		a.keys = append(a.keys, k)
	}
	a.vals[k] = v
}

func (a *argSet) get(k string) (string, bool) {
	v, ok := a.vals[k]
	return v, ok
}

func (a *argSet) environ() []string {
	out := make([]string, 0, len(a.keys))
	for _, k := range a.keys {
		out = append(out, k+"="+a.vals[k])
	}
	return out
}

// predefinedArgs may be passed with --build-arg without an ARG: the proxy
// variables, which RUN sees and history does not record (Docker's rule).
var predefinedArgs = map[string]bool{
	"HTTP_PROXY": true, "http_proxy": true, "HTTPS_PROXY": true, "https_proxy": true,
	"FTP_PROXY": true, "ftp_proxy": true, "NO_PROXY": true, "no_proxy": true,
	"ALL_PROXY": true, "all_proxy": true,
}

// platformArgs are the automatic platform ARGs of the global scope, as
// BuildKit defines them; a stage sees them after a bare "ARG NAME".
func platformArgs() [][2]string {
	p := "linux/" + goruntime.GOARCH
	return [][2]string{
		{"BUILDPLATFORM", p}, {"BUILDOS", "linux"}, {"BUILDARCH", goruntime.GOARCH}, {"BUILDVARIANT", ""},
		{"TARGETPLATFORM", p}, {"TARGETOS", "linux"}, {"TARGETARCH", goruntime.GOARCH}, {"TARGETVARIANT", ""},
	}
}

// metaArgs evaluates the ARGs before the first FROM: the global scope,
// which FROM lines expand with.
func (b *builder) metaArgs(meta []instructions.ArgCommand) (*argSet, error) {
	g := newArgSet()
	for _, kv := range platformArgs() {
		v := kv[1]
		if ov, ok := b.opts.BuildArgs[kv[0]]; ok {
			v = ov
		}
		g.set(kv[0], v)
	}
	lex := b.lex()
	for _, a := range meta {
		for _, kv := range a.Args {
			switch v, ok := b.opts.BuildArgs[kv.Key]; {
			case ok:
				b.used[kv.Key] = true
				g.set(kv.Key, v)
			case kv.Value != nil:
				out, _, err := lex.ProcessWord(*kv.Value, shell.EnvsFromSlice(g.environ()))
				if err != nil {
					return nil, locate(b.opts.DockerfileName, err)
				}
				g.set(kv.Key, out)
			default:
				// declared without a value: expands to nothing, but a
				// stage's bare ARG still inherits nothing from it
			}
		}
	}
	return g, nil
}

func (b *builder) expandGlobal(w string) (string, error) {
	out, _, err := b.lex().ProcessWord(w, shell.EnvsFromSlice(b.global.environ()))
	return out, err
}

// arg declares ARGs in a stage: the --build-arg value, else the default
// (expanded), else the global value of the same name. Each ARG is a
// metadata step, as in Docker.
func (b *builder) arg(ctx context.Context, st *stage, c *instructions.ArgCommand) error {
	lex := b.lex()
	var text []string
	for _, kv := range c.Args {
		v, has := b.opts.BuildArgs[kv.Key]
		switch {
		case has:
			b.used[kv.Key] = true
		case kv.Value != nil:
			out, _, err := lex.ProcessWord(*kv.Value, b.env(st))
			if err != nil {
				return err
			}
			v, has = out, true
		default:
			v, has = b.global.get(kv.Key)
		}
		if has {
			st.args.set(kv.Key, v)
			text = append(text, kv.Key+"="+v)
		} else {
			text = append(text, kv.Key)
		}
	}
	return b.meta(ctx, st, c, "ARG "+strings.Join(text, " "), func(*ocispec.ImageConfig) error { return nil })
}

// runEnv is what a RUN sees beyond the image's ENV: the stage's ARGs that
// ENV does not override, and the proxy variables given as build args.
// history is the "|N K=V … " prefix Docker records for the ARGs.
func (b *builder) runEnv(st *stage) (env []string, history string) {
	inEnv := map[string]bool{}
	for _, kv := range st.cfg.Config.Env {
		k, _, _ := strings.Cut(kv, "=")
		inEnv[k] = true
	}
	var recorded []string
	for _, k := range st.args.keys {
		if inEnv[k] {
			continue
		}
		kv := k + "=" + st.args.vals[k]
		env = append(env, kv)
		recorded = append(recorded, kv)
	}
	for _, k := range sortedKeys(b.opts.BuildArgs) {
		if predefinedArgs[k] && !inEnv[k] {
			if _, declared := st.args.get(k); !declared {
				env = append(env, k+"="+b.opts.BuildArgs[k])
			}
		}
	}
	if len(recorded) > 0 {
		history = "|" + strconv.Itoa(len(recorded)) + " " + strings.Join(recorded, " ") + " "
	}
	return env, history
}
